#!/bin/sh
# SPDX-License-Identifier: MIT
# noise-floor.sh - what a perfect model's validation would show: the simulator against itself, its "real" side of the real side's size drawn with other seeds, many times; per metric how large the error gets from the real side's sampling alone, so a threshold can be judged against it (no KVM needed).
#
# usage: scripts/validate/noise-floor.sh BUILD_DIR MODEL.conf [OUT_DIR]
#   MODEL.conf  the cost model (e.g. a validation's OUT/model.conf)
#   OUT_DIR     the databases and noise-floor.txt (default
#               BUILD_DIR/noise-floor)
# Environment: VAL_SCENARIO (scripts/validate/held-out.lua), VAL_NODES
# (2: the world's nodes, --set nodes=N), VAL_PACE (0.25; held-out.lua's
# pace, as interleave.sh's validations run it; "" for none), VAL_REPS (the
# real side's runs, 24: interleave.sh's 4 blocks of 6), VAL_SIM_REPS (the
# simulated side's, 10 x VAL_REPS), VAL_SEED (1: the simulated side's
# seed; trial t's stand-in real side runs seed VAL_SEED + t), NF_TRIALS
# (20), VAL_THRESHOLD (5, in %), NF_METRICS (validate's --metrics,
# p50,p95), NF_APP and NF_WHERE (validate's --app and --where: the floor
# of one app's, or one place of start's, figures), NF_SET (more settings
# of every run, N=V separated by blanks, e.g. a testbed validation's
# "bandwidth=1000G latency=0").
#
# Each trial compares a stand-in real side (the simulator, VAL_REPS runs
# of another seed) with the one simulated side (VAL_SIM_REPS runs, its
# quantiles the mean over groups of the real side's size) through `ukfork
# validate --from-db`, as a validation would: both sides come from one
# model, so every error is the real side's sampling noise (and the
# simulated side's, smaller). Per metric: the median and the 90th
# percentile of |error| over the trials, the largest, and how many trials
# a threshold of VAL_THRESHOLD would fail. Where the 90th percentile is
# above the threshold, that metric cannot be judged at that threshold with
# VAL_REPS real runs: a right model fails it in more than 1 trial in 10.
# The stand-in real side's arrivals come from its own seed too (a real
# side shares the simulated side's): with random arrivals the floor is an
# upper bound; held-out.lua's arrivals are constant, and there it is the
# noise of the costs and the placements alone.
# Exit status: 0 when every trial ran, 1 a run failed, 2 bad usage.
set -u
[ $# -ge 2 ] || { sed -n '5,35p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
B=$(cd "$1" && pwd) || exit 2
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
MODEL=$2
case "$MODEL" in /*) ;; *) MODEL=$(pwd)/$MODEL ;; esac
[ -r "$MODEL" ] && [ -f "$MODEL" ] || { echo "noise-floor.sh: cannot read the model $MODEL" >&2; exit 2; }
OUT=${3:-$B/noise-floor}
SCEN=${VAL_SCENARIO:-$HERE/held-out.lua}
[ -r "$SCEN" ] || { echo "noise-floor.sh: cannot read the scenario $SCEN" >&2; exit 2; }
N=${VAL_NODES:-2}
R=${VAL_REPS:-24}
S=${VAL_SEED:-1}
T=${NF_TRIALS:-20}
TH=${VAL_THRESHOLD:-5}
MET=${NF_METRICS:-p50,p95}
PROG=noise-floor.sh
. "$REPO/scripts/lib/settings.sh"
need_count VAL_NODES "$N"
need_count VAL_REPS "$R"
need_seed VAL_SEED "$S"
need_count NF_TRIALS "$T"
need_count VAL_THRESHOLD "$TH"
SR=${VAL_SIM_REPS:-$((R * 10))}; need_count VAL_SIM_REPS "$SR"
U="$B/ukfork"
[ -x "$U" ] || { echo "noise-floor.sh: build ukfork in $B" >&2; exit 2; }
# every run's settings (set -- keeps each one word)
set -- --set "model=$MODEL" --set "nodes=$N"
PACE=${VAL_PACE-0.25}
[ -z "$PACE" ] || set -- "$@" --set "pace=$PACE"
for kv in ${NF_SET:-}; do
	case "$kv" in
	?*=?*) set -- "$@" --set "$kv" ;;
	*) echo "noise-floor.sh: NF_SET must be N=V words, got '$kv'" >&2; exit 2 ;;
	esac
done
mkdir -p "$OUT" || exit 1
OUT=$(cd "$OUT" && pwd)
BASE=$OUT/sim.db
rm -f "$BASE" "$OUT"/trial-*.db "$OUT/errors.txt"
echo "noise-floor.sh: the simulated side: $SR runs of seed $S" >&2
"$U" run "$SCEN" --backend sim --reps "$SR" --seed "$S" --db "$BASE" --quiet "$@" \
	>"$OUT/run.log" 2>&1 || { cat "$OUT/run.log" >&2; echo "noise-floor.sh: the simulated side failed" >&2; exit 1; }
lo=$((SR + 1)) hi=$((SR + R))
t=1
while [ "$t" -le "$T" ]; do
	echo "noise-floor.sh: trial $t of $T: a real side of $R runs of seed $((S + t))" >&2
	db=$OUT/trial-$t.db
	cp "$BASE" "$db" || exit 1
	"$U" run "$SCEN" --backend sim --reps "$R" --seed "$((S + t))" --db "$db" --quiet "$@" \
		>"$OUT/run.log" 2>&1 || { cat "$OUT/run.log" >&2; echo "noise-floor.sh: trial $t's runs failed" >&2; exit 1; }
	# runs 1..SR the simulated side, SR+1..SR+R the stand-in real one
	"$U" validate --from-db "$db" --real-backend sim --real-runs "$lo-$hi" \
		--sim-runs "1-$SR" --metrics "$MET" --threshold "$TH" \
		${NF_APP:+--app "$NF_APP"} ${NF_WHERE:+--where "$NF_WHERE"} >"$OUT/trial-$t.txt" 2>&1
	rc=$?
	[ "$rc" -le 1 ] || { cat "$OUT/trial-$t.txt" >&2; echo "noise-floor.sh: trial $t: validate exit $rc" >&2; exit 1; }
	# "TRIAL METRIC ERROR VERDICT" of each checked metric (its line ends
	# in ok or FAIL, then "(thin)" where its interval is too narrow; the
	# name is the table's first 22 columns, blanks made _; the error "-"
	# when a world has no value)
	awk -v t="$t" '{ l = $0; sub(/  \(thin\)$/, "", l) }
		l ~ / ok$| FAIL$| FAIL \(one world only\)$/ {
		name = substr(l, 1, 22); sub(/ +$/, "", name); gsub(/ /, "_", name)
		split(substr(l, 24), f, " "); e = f[5]; sub("%", "", e)
		print t, name, e, (l ~ / ok$/ ? "ok" : "FAIL") }' \
		"$OUT/trial-$t.txt" >>"$OUT/errors.txt"
	t=$((t + 1))
done
{
	echo "noise floor: $(basename "$SCEN") on $N node(s)${PACE:+, pace $PACE}${NF_APP:+, app $NF_APP}${NF_WHERE:+, started $NF_WHERE}, model $MODEL"
	echo "the simulator against itself: $T trials, each a stand-in real side of $R runs (seeds $((S + 1))..$((S + T))) against $SR simulated runs (seed $S)"
	printf '%-22s %6s %14s %16s %11s %s\n' metric trials "median |error|" "90% of trials <=" "largest" "trials beyond $TH% (validate's FAIL)"
	for m in $(awk '!seen[$2]++ { print $2 }' "$OUT/errors.txt"); do
		# |error| sorted, "-" (one world only) last; the FAILs counted
		awk -v m="$m" '$2 == m { v = $3 + 0; if (v < 0) v = -v; v += 0; print ($3 == "-" ? "inf" : v), $4 }' \
			"$OUT/errors.txt" | sort -g |
			awk -v m="$m" '{ v[NR] = $1; if ($2 == "FAIL") b++; if ($1 != "inf") n++ }
			END {
				gsub(/_/, " ", m)
				if (!n) { printf "%-22s %6d %14s %16s %11s %d of %d\n", m, NR, "-", "-", "-", b, NR; exit }
				k = int(0.9 * n); if (k < 0.9 * n) k++; if (k < 1) k = 1
				med = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
				printf "%-22s %6d %13.1f%% %15.1f%% %10.1f%% %d of %d%s\n", m, NR, med, v[k], v[n], b, NR,
					n < NR ? sprintf(" (%d in one world only)", NR - n) : ""
			}'
	done
} | tee "$OUT/noise-floor.txt"
echo "noise-floor.sh: tables and databases in $OUT" >&2
exit 0
