#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/validate/noise_floor.sh - scripts/validate/noise-floor.sh end to end on
# the simulator (no KVM): a few trials of held-out.lua, a stand-in real side
# per trial compared by `ukfork validate --from-db`; the summary's counts,
# largest error and trials beyond the threshold against the trials' own
# tables; a model that cannot be read refused (exit 2) before anything runs.
#
# usage: noise_floor.sh UKFORK SRC
set -u
UKF=$1 SRC=$2
B=$(dirname "$UKF")
T=$(mktemp -d /tmp/ukf-noise-floor-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "noise_floor.sh test: FAIL: $*" >&2; exit 1; }
NF=$SRC/scripts/validate/noise-floor.sh

sh "$NF" "$B" "$T/none.conf" "$T/o" >/dev/null 2>"$T/err"
[ $? -eq 2 ] && grep -q "cannot read the model $T/none.conf" "$T/err" ||
	fail "a missing model: not refused ($(cat "$T/err"))"
[ ! -e "$T/o" ] || fail "a refused run made its output"

NF_TRIALS=3 VAL_REPS=4 VAL_SIM_REPS=12 VAL_THRESHOLD=2 \
	sh "$NF" "$B" "$SRC/data/kvm-pvm-calibrated.conf" "$T/o" >"$T/out" 2>"$T/err" ||
	fail "exit $? ($(cat "$T/err"))"
grep -q 'trial 3 of 3: a real side of 4 runs of seed 4' "$T/err" || fail "no progress: $(cat "$T/err")"
grep -q '^the simulator against itself: 3 trials, each a stand-in real side of 4 runs (seeds 2..4) against 12 simulated runs (seed 1)$' "$T/out" ||
	fail "no header: $(cat "$T/out")"
for t in 1 2 3; do
	grep -q '^real: 4 run(s)' "$T/o/trial-$t.txt" || fail "trial $t: not 4 real runs: $(head -3 "$T/o/trial-$t.txt")"
	grep -q '^sim: each quantile the mean over 3 groups of 4' "$T/o/trial-$t.txt" ||
		fail "trial $t: the simulated side not in 3 groups: $(head -4 "$T/o/trial-$t.txt")"
done
[ "$(grep -c -E '^(cold|template|fork) p(50|95) ' "$T/out")" -eq 6 ] || fail "not 6 metrics: $(cat "$T/out")"
# each row against the trials' tables: the count, the largest |error|,
# the trials validate failed at 2%
for m in "cold p50" "template p95" "fork p50"; do
	row=$(grep "^$m (ms) " "$T/out")
	errs=$(cat "$T/o"/trial-*.txt | grep "^$m (ms) " | awk '{ for (i = 4; i <= NF; i++) if ($i ~ /%$/) { sub("%", "", $i); v = $i + 0; print (v < 0 ? -v : v); break } }')
	n=$(echo "$errs" | wc -l)
	big=$(echo "$errs" | sort -g | tail -1)
	beyond=$(cat "$T/o"/trial-*.txt | grep "^$m (ms) " | grep -c -E ' FAIL(  \(thin\))?$')
	echo "$row" | awk -v n="$n" -v big="$big" -v b="$beyond" '{
		if ($4 != n || sprintf("%.1f%%", big) != $(NF - 3) || $(NF - 2) != b) exit 1 }' ||
		fail "$m: '$row', from the trials: $n trials, largest $big, $beyond FAIL at 2%"
done
grep -q -- '-0[.]0%' "$T/out" && fail "a negative zero among the |error|s: $(cat "$T/out")"
# one place of start's floor: every trial compares those instances only
NF_TRIALS=2 VAL_REPS=4 VAL_SIM_REPS=8 NF_WHERE=remote NF_APP=f \
	sh "$NF" "$B" "$SRC/data/kvm-pvm-calibrated.conf" "$T/w" >"$T/out" 2>"$T/err" ||
	fail "NF_WHERE: exit $? ($(cat "$T/err"))"
grep -q '^noise floor: held-out.lua on 2 node(s), pace 0.25, app f, started remote, model ' "$T/out" ||
	fail "NF_WHERE: the header does not say it: $(head -1 "$T/out")"
for t in 1 2; do
	head -1 "$T/w/trial-$t.txt" | grep -q '(of app f, started on another node only)$' ||
		fail "NF_WHERE: trial $t not limited: $(head -1 "$T/w/trial-$t.txt")"
done
echo "ok: noise-floor.sh"
