#!/bin/sh
# SPDX-License-Identifier: MIT
# kvm_measure.sh - `ukfork calibrate --backend kvm` end to end on a small plan: samples stored (with boot_init: cold boots with the app's init too), model file written and loadable; 77 (skip) without /dev/kvm, where the command itself must say so.
# usage: kvm_measure.sh UKFORK
set -u
UKF=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# gap and idle spells far apart: a clone goes with the spell nearest, by
# ratio, to the one it followed, and inside scripts/kvm-vm (emulated) a
# clone 1 ms after the last exit followed one of 8 ms or more, nearer 60
# ms than 1 ms (9 clone_idle_60 samples, not 4, in a fresh-clone suite)
printf 'boot_mem = 8M 16M\nboot_init = 0 30ms\nclone_mem = 8M\nops = none\nalone_mem = 8M 16M\nalone_dirty = 64 512\nalone_forks = 2\ngap = 20ms\nidle = 300ms 1s\nidle_n = 2\n' >"$T/small.plan"
"$UKF" calibrate --backend kvm --plan "$T/small.plan" -n 3 --db "$T/c.db" \
	--out "$T/m.conf" >"$T/out" 2>"$T/err"
rc=$?
if [ $rc -eq 77 ]; then
	grep -q '/dev/kvm not usable' "$T/err" || fail "exit 77 without saying why: $(cat "$T/err")"
	echo "SKIP: no usable /dev/kvm"
	exit 77
fi
[ $rc -eq 0 ] || fail "exit $rc: $(cat "$T/err")"
grep -q '^boot_base_ns = ' "$T/m.conf" || fail "no boot_base_ns in the model"
grep -q '^boot_dist = \(lognormal\|gamma\|weibull\|loglogistic\) ' "$T/m.conf" || fail "no boot_dist in the model"
grep -q '^clone_base_ns = ' "$T/m.conf" || fail "no clone_base_ns in the model"
grep -q '^# KVM: modules' "$T/m.conf" || fail "no provenance"
grep -q '^boot ' "$T/out" || fail "no summary on stdout"
grep -q 'cold boots at 8 MiB' "$T/err" || fail "no progress on stderr"
grep -q 'cold boots at 16 MiB, init 30.000 ms' "$T/err" || fail "no boot_init progress on stderr"
# the alone step (template clones and forks one at a time through the
# engine): the first clone at each size apart, as clone_first_ns; the fork
# line from its forks
grep -q 'template clones and live forks one at a time' "$T/err" || fail "no alone step progress on stderr"
grep -q '^fork_base_ns = [0-9]' "$T/m.conf" ||
	fail "no fork_base_ns in the model; samples by op: $(sqlite3 "$T/c.db" "SELECT op, count(*) FROM calib_samples WHERE op LIKE 'fork%' GROUP BY op")"
grep -q '^clone_first_ns = [0-9]' "$T/m.conf" || fail "no clone_first_ns in the model: $(cat "$T/m.conf")"
# the idle spells (plan key idle): 2 clones per size after each, and 2
# cold boots per size; both curves in the model (first point the base)
for op in clone_idle_300 clone_idle_1000 boot_idle_300 boot_idle_1000; do
	n=$(sqlite3 "$T/c.db" "SELECT count(*) FROM calib_samples WHERE op = '$op'")
	[ "${n:-0}" -eq 4 ] || fail "$op samples: ${n:-none}, expected 4 (2 per size)"
done
grep -q '^idle_curve = [0-9]* 0 ' "$T/m.conf" || fail "no idle_curve in the model: $(cat "$T/m.conf")"
grep -q '^boot_idle_curve = 0 0 300000000 ' "$T/m.conf" || fail "no boot_idle_curve in the model: $(cat "$T/m.conf")"
n=$(sqlite3 "$T/c.db" "SELECT count(*) FROM calib_samples WHERE op = 'clone_first'")
[ "${n:-0}" -eq 2 ] || fail "clone_first samples: ${n:-none}, expected 2 (one per size)"
# boot_init: per memory size the line against init and the init-30ms
# samples (2 or more; the --from-db refit below reads them back from the
# database), in the file and on stdout
for m in 8 16; do
	grep -q "^# $m MiB: c0 = " "$T/m.conf" || fail "no boot_init line for $m MiB in the model"
	grep -q "^boot_init  *$m  *30.000  *[2-9] " "$T/out" || fail "no boot_init row for $m MiB (2+ samples) on stdout: $(cat "$T/out")"
done
[ "$(grep -c '^#   init    30.000  n   [2-9]  measured' "$T/m.conf")" -eq 2 ] || fail "no per-init comparison in the model"
grep -q "^# sim's composition .*%, additive (no overlap) .*%" "$T/m.conf" || fail "no composition check in the model"
# the stored samples refit to the same file (line 2 names the file)
"$UKF" calibrate --from-db "$T/c.db" --out "$T/m2.conf" >/dev/null 2>&1 || fail "--from-db refit failed"
sed 2d "$T/m.conf" >"$T/a"
sed 2d "$T/m2.conf" >"$T/b"
cmp -s "$T/a" "$T/b" || fail "the refit differs from the measured run's file: $(diff "$T/a" "$T/b")"
# the simulator accepts it
cat >"$T/s.lua" <<'LUA'
cluster { nodes = 1, vcpus = 4, memory = "1G" }
run { duration = "1s" }
app("a", "mem=8M init=1ms work=1ms")
constant { app = "a", interval = "100ms", start = "0s", stop = "0.5s" }
LUA
"$UKF" run "$T/s.lua" --set model="$T/m.conf" --quiet >/dev/null 2>"$T/serr" ||
	fail "sim rejects the model: $(cat "$T/serr")"
echo ok
