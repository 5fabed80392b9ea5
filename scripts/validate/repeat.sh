#!/bin/sh
# SPDX-License-Identifier: MIT
# repeat.sh - the real side of a validation twice, to see how far real differs from real: held-out.lua on this machine's KVM twice (R reps each), then the simulator once, and `ukfork validate --from-db` tables: second real vs first real, sim vs first real, sim vs both real pooled, then per app the first and last of those.
#
# usage: scripts/validate/repeat.sh BUILD_DIR [MODEL.conf] [OUT.db]
#   MODEL.conf  cost model of the sim side (default data/kvm-vm-calibrated.conf)
#   OUT.db      where the database is copied at the end (default BUILD_DIR/repeat.db)
# Environment: VAL_REPS (3), VAL_SIM_REPS (the simulator's replications:
# 10 x VAL_REPS; seed VAL_SEED, reps 0.., so the first VAL_REPS are the real
# runs' seed and reps; a simulated run costs milliseconds, and its
# quantiles are then not the noise of a dozen draws), VAL_SEED (1), VAL_SCENARIO
# (scripts/validate/held-out.lua), VAL_PACE (held-out.lua's pace: 0.25 runs
# its workload 4x faster; not given: the scenario's own). Needs a usable
# /dev/kvm: on a machine without one, run it inside scripts/kvm-vm/run
# (timings EMULATED); the database lives in /tmp while the runs write it
# (SQLite cannot lock on the 9p share). Exit status: 0 when all ran (the
# tables' verdicts are printed, not returned: real against real is
# expected to differ), 1 when a run failed, 2 bad arguments, 77 no usable
# /dev/kvm.
set -u
[ $# -ge 1 ] || { sed -n '5,19p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
B=$(cd "$1" && pwd) || exit 2
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
MODEL=${2:-$REPO/data/kvm-vm-calibrated.conf}
OUT=${3:-$B/repeat.db}
# absolute: the scenario runner reads a relative model path against the
# scenario's directory
case "$MODEL" in /*) ;; *) MODEL=$(pwd)/$MODEL ;; esac
case "$OUT" in /*) ;; *) OUT=$(pwd)/$OUT ;; esac
[ -r "$MODEL" ] || { echo "repeat.sh: cannot read the model $MODEL" >&2; exit 2; }
SCEN=${VAL_SCENARIO:-$HERE/held-out.lua}
R=${VAL_REPS:-3}
S=${VAL_SEED:-1}
PROG=repeat.sh
. "$REPO/scripts/lib/settings.sh"
need_count VAL_REPS "$R"
need_seed VAL_SEED "$S"
SR=${VAL_SIM_REPS:-$((R * 10))}; need_count VAL_SIM_REPS "$SR"
U="$B/ukfork"
[ -x "$U" ] || { echo "repeat.sh: build ukfork in $B" >&2; exit 2; }
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "repeat.sh: /dev/kvm not usable (run inside scripts/kvm-vm/run)" >&2
	exit 77
fi
# the pace, if given, as a --set of every run (set -- keeps it one word)
if [ -n "${VAL_PACE:-}" ]; then set -- --set "pace=$VAL_PACE"; else set --; fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
DB=$TMP/repeat.db
for i in 1 2; do
	echo "repeat.sh: real side $i: $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
	"$U" run "$SCEN" --backend kvm --reps "$R" --seed "$S" --db "$DB" --quiet "$@" ||
		{ echo "repeat.sh: real run $i failed" >&2; exit 1; }
done
echo "repeat.sh: real sides done: $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
cp "$DB" "$OUT" || exit 1 # the real runs are kept whatever follows
"$U" run "$SCEN" --backend sim --set model="$MODEL" --reps "$SR" --seed "$S" \
	--db "$DB" --quiet "$@" || { echo "repeat.sh: sim run failed" >&2; exit 1; }
cp "$DB" "$OUT" || exit 1
A="1-$R" Bn="$((R + 1))-$((2 * R))" P="1-$((2 * R))"
echo "== real (runs $Bn) against real (runs $A): the same scenario and seeds, run again"
"$U" validate --from-db "$OUT" --real-runs "$A" --sim-backend kvm --sim-runs "$Bn"
echo "== sim against real (runs $A)"
"$U" validate --from-db "$OUT" --real-runs "$A"
echo "== sim against real (runs $P, both pooled)"
"$U" validate --from-db "$OUT" --real-runs "$P"
# per app: a start kind pooled over apps of different sizes has its
# quantiles between their modes (docs/validation.md, --app)
for a in $(sqlite3 "$OUT" "SELECT DISTINCT app FROM instances WHERE app IS NOT NULL ORDER BY app" 2>/dev/null); do
	echo "== app $a: real (runs $Bn) against real (runs $A)"
	"$U" validate --from-db "$OUT" --real-runs "$A" --sim-backend kvm --sim-runs "$Bn" --app "$a"
	echo "== app $a: sim against real (runs $P, both pooled)"
	"$U" validate --from-db "$OUT" --real-runs "$P" --app "$a"
done
echo "repeat.sh: database in $OUT" >&2
exit 0
