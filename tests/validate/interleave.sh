#!/bin/sh
# SPDX-License-Identifier: MIT
# interleave.sh UKFORK SRC - scripts/validate/interleave.sh end to end on a
# 2-node testbed, small: 2 blocks, each a one-node and a cluster
# calibration (a small plan) and 1 real replication of a short 2-node
# scenario with remote forks, with its own seed; one model over the 4
# calibrations; the simulator with both seeds; the comparison. Bad
# settings first (exit 2, before anything runs). 77 without a usable
# /dev/kvm, root or sqlite3.
set -u
UKF=$1 SRC=$2
B=$(dirname "$UKF")
S=$SRC/scripts/validate/interleave.sh
T=$(mktemp -d /tmp/ukf-interleave-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "interleave.sh test: FAIL: $*" >&2; exit 1; }

# bad settings: refused, naming the setting
for bad in VAL_BLOCKS=0 VAL_REPS=x VAL_NODES=01 CAL_N=0 VAL_SIM_REPS=-1 VAL_COMPRESS=gzip; do
	env "$bad" sh "$S" "$B" "$T/o" >/dev/null 2>"$T/err"
	rc=$?
	[ $rc -eq 2 ] || fail "$bad: exit $rc, expected 2"
	grep -q "${bad%%=*}" "$T/err" || fail "$bad: the error does not name it: $(cat "$T/err")"
done
for v in CAL_PLAN CAL_NODE_PLAN; do
	env "$v=$T/none.plan" sh "$S" "$B" "$T/o" >/dev/null 2>"$T/err"
	[ $? -eq 2 ] && grep -q "cannot read the plan $T/none.plan" "$T/err" ||
		fail "$v missing: $(cat "$T/err")"
done
sh "$S" >/dev/null 2>"$T/err"
[ $? -eq 2 ] && grep -q 'usage' "$T/err" || fail "no usage without arguments"

if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "SKIP: no usable /dev/kvm"
	exit 77
fi
[ "$(id -u)" -eq 0 ] || { echo "SKIP: not root (namespaces)"; exit 77; }
command -v sqlite3 >/dev/null || { echo "SKIP: no sqlite3 command"; exit 77; }

# UKF_TEST_VAL_NODES: the testbed's nodes (2; 3 checks a 3-node
# validation, which docs/validation.md recommends, by hand)
NODES=${UKF_TEST_VAL_NODES:-2}
# the cluster calibration's plan: remote forks, fetches at 3 sizes, and
# the alone step through the agent; the one-node one: cold boots only.
# On N nodes each app's first N - 1 children go to the N - 1 other nodes
# in turn, each fetching the template: the units after them give the
# remote forks without a fetch
UNITS=2
[ "$NODES" -gt 2 ] && UNITS=$((NODES + 1))
cat >"$T/small.plan" <<EOF
alone_mem = 8M
alone_dirty = 64
alone_forks = 2
tmpl_mem = 8M 16M 32M
fork_units = $UNITS
fork_dirty = 64
idle = 100ms
idle_n = 2
EOF
printf 'boot_mem = 8M\nboot_init = 0\nclone_mem = 8M\nops = none\nalone = none\nidle = 100ms\nidle_n = 2\n' >"$T/node.plan"
cat >"$T/s.lua" <<'EOF'
cluster { nodes = 2, vcpus = 16, memory = "2G" }
policy  { placement = "least-loaded", templates = "on-demand", fetch = "peer" }
run     { duration = "3s" }
app("f", "mem=8M init=1ms work=1ms dirty=64 fork=2 units=1")
constant { app = "f", interval = "400ms", start = "0s", stop = "1.5s" }
EOF
VAL_NODES=$NODES VAL_BLOCKS=2 VAL_REPS=1 VAL_SIM_REPS=3 VAL_SEED=7 CAL_N=2 \
	CAL_PLAN=$T/small.plan CAL_NODE_PLAN=$T/node.plan VAL_SCENARIO=$T/s.lua \
	sh "$S" "$B" "$T/out" >"$T/stdout" 2>"$T/stderr"
rc=$?
[ $rc -eq 0 ] || [ $rc -eq 1 ] || fail "exit $rc: $(tail -20 "$T/stderr")"
for f in calib.db validate.db model.conf validate-cdf.dat real-runs.csv.gz \
	real-instances.csv.gz calib-runs.csv.gz calib-samples.csv.gz \
	calib-instances.csv.gz; do
	[ -s "$T/out/$f" ] || fail "no $f in OUT_DIR: $(ls "$T/out") $(tail -5 "$T/stderr")"
done
# the CSV copies: the real runs' rows alone (2 blocks x 1 rep), each
# calibration sample
n=$(gzip -dc "$T/out/real-runs.csv.gz" | tail -n +2 | wc -l)
[ "$n" -eq 2 ] || fail "real-runs.csv.gz: $n runs, want 2"
n=$(gzip -dc "$T/out/real-instances.csv.gz" | tail -n +2 | wc -l)
[ "$n" -eq "$(sqlite3 "$T/out/validate.db" "SELECT count(*) FROM instances i JOIN runs r ON r.id = i.run WHERE r.backend != 'sim'")" ] ||
	fail "real-instances.csv.gz: $n rows"
n=$(gzip -dc "$T/out/calib-samples.csv.gz" | tail -n +2 | wc -l)
[ "$n" -eq "$(sqlite3 "$T/out/calib.db" "SELECT count(*) FROM calib_samples")" ] ||
	fail "calib-samples.csv.gz: $n rows"
n=$(gzip -dc "$T/out/calib-runs.csv.gz" | tail -n +2 | wc -l)
[ "$n" -eq 4 ] || fail "calib-runs.csv.gz: $n calibrations, want 4"
gzip -dc "$T/out/calib-instances.csv.gz" | head -1 | grep -q '^config,backend,run,id,' ||
	fail "calib-instances.csv.gz: header $(gzip -dc "$T/out/calib-instances.csv.gz" | head -1)"
n=$(gzip -dc "$T/out/calib-instances.csv.gz" | tail -n +2 | wc -l)
[ "$n" -eq "$(sqlite3 "$T/out/calib.db" "SELECT count(*) FROM instances")" ] ||
	fail "calib-instances.csv.gz: $n rows"
# two blocks, each a one-node and a cluster calibration, in turns
[ "$(sqlite3 "$T/out/calib.db" "SELECT group_concat(c, ' ') FROM (SELECT CASE WHEN cluster IS NULL THEN '-' ELSE 'C' END AS c FROM calib_runs ORDER BY id)")" = "- C - C" ] ||
	fail "calibrations not in turns: $(sqlite3 "$T/out/calib.db" "SELECT id, cluster FROM calib_runs")"
grep -c '^#   calibration [0-9]*: ' "$T/out/model.conf" | grep -qx 4 ||
	fail "the model is not fitted over the 4 calibrations"
grep -q '^peer_msg_ns = ' "$T/out/model.conf" || fail "no peer_msg_ns in the model"
grep -q '^load_curve = ' "$T/out/model.conf" || fail "no load_curve in the model (3 template sizes)"
# the clones the model has are the agents' (the one-node plan has no
# engine workload): clone_engine samples of the cluster calibrations only
[ "$(sqlite3 "$T/out/calib.db" "SELECT group_concat(DISTINCT r.cluster IS NOT NULL) FROM calib_samples s JOIN calib_runs r ON r.id = s.calib WHERE s.op = 'clone_engine'")" = 1 ] ||
	fail "clone_engine samples from a one-node calibration"
# the real side: seed 7 then 8, one replication each; the simulated
# side: both seeds, 3 replications each, on the testbed's nodes
[ "$(sqlite3 "$T/out/validate.db" "SELECT group_concat(seed || ':' || rep, ' ') FROM (SELECT seed, rep FROM runs WHERE backend = 'kvm' ORDER BY id)")" = "7:0 8:0" ] ||
	fail "real runs: $(sqlite3 "$T/out/validate.db" "SELECT id, backend, seed, rep FROM runs")"
[ "$(sqlite3 "$T/out/validate.db" "SELECT group_concat(seed || ':' || rep, ' ') FROM (SELECT seed, rep FROM runs WHERE backend = 'sim' AND json_extract(settings_json, '$.nodes') = $NODES ORDER BY id)")" = "7:0 7:1 7:2 8:0 8:1 8:2" ] ||
	fail "simulated runs: $(sqlite3 "$T/out/validate.db" "SELECT id, backend, seed, rep FROM runs")"
grep -q '^real: 2 run(s)' "$T/stdout" || fail "no pooled comparison: $(cat "$T/stdout")"
grep -q 'of app f only' "$T/stdout" || fail "no per-app comparison: $(cat "$T/stdout")"
grep -q '^phases: ' "$T/stdout" || fail "no phases table: $(cat "$T/stdout")"
grep -q '(started on another node only)$' "$T/stdout" || fail "no comparison of the remote starts: $(cat "$T/stdout")"
# the fitted model's noise floor at the real side's size (2 blocks of 1)
grep -q "^noise floor: s.lua on $NODES node(s), model $T/out/model.conf$" "$T/stdout" ||
	fail "no noise floor: $(tail -12 "$T/stdout")"
grep -q '^the simulator against itself: 20 trials, each a stand-in real side of 2 runs' "$T/stdout" ||
	fail "the noise floor not at the real side's size: $(tail -12 "$T/stdout")"
[ -s "$T/out/noise-floor/noise-floor.txt" ] || fail "no noise-floor.txt in OUT_DIR"
grep -q 'block 2 of 2: 1 real replications, seed 8' "$T/stderr" || fail "no progress: $(cat "$T/stderr")"
echo ok
