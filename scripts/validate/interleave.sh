#!/bin/sh
# SPDX-License-Identifier: MIT
# interleave.sh - calibrate and validate in turns: K blocks, each a calibration then a block of real replications of the held-out scenario, so that the model and the real side are measured over the same minutes; then one model fitted over all the blocks' calibrations, the simulator with each block's seed, and `ukfork validate --from-db`.
#
# usage: scripts/validate/interleave.sh BUILD_DIR [OUT_DIR]
#   OUT_DIR   where the databases, the model and the plots go (default
#             BUILD_DIR/validate-interleave)
# Environment: VAL_NODES (1: this machine's KVM, one node, `--backend kvm`,
# calibrated by `calibrate --backend kvm`; 2 or more: a testbed of that
# many node agents, `ukfork testbed up`, calibrated by `calibrate
# --cluster` on it, which also measures the node's own clones and forks
# through an agent, and by `calibrate --backend kvm` for the cold boots
# only), VAL_BLOCKS (4),
# VAL_REPS (real replications per block, 6), VAL_SIM_REPS (simulated ones
# per block, 10 x VAL_REPS), VAL_SEED (1: block k runs seed VAL_SEED+k-1,
# reps 0.., in both worlds), VAL_PACE (held-out.lua's pace, e.g. 0.25),
# VAL_SCENARIO (scripts/validate/held-out.lua), CAL_N (apps per template
# size of the cluster calibration, 10: its template-fetch curve is a mean
# per size), VAL_COMPRESS (the agents' bulk compression, none, as
# scripts/calibrate/cluster.sh), VAL_THRESHOLD (validate's, 5), CAL_PLAN
# (a plan file for the calibration of the nodes: `--backend kvm` on one
# node, `--cluster` on a testbed; default: the built-in plan),
# CAL_NODE_PLAN (on a testbed, the plan of `--backend kvm`; default: the
# built-in plan with ops = none and alone = none: cold boots, and the
# clones of bootbench, which a model with the engine's own clones does
# not use), VAL_CAL_GAP and VAL_CAL_IDLE (without CAL_PLAN: the
# calibration plan's `gap` and `idle`, by default the built-in plan's 20ms
# and "300ms 1s 2s": the spell before each measured template clone, and
# the longer ones before the clones that fit idle_curve (VAL_CAL_IDLE
# quoted when a list); held-out.lua's nodes sit 0.5-2 s idle between
# requests, and a clone after a long spell costs more than one 20 ms after
# the last request; until session 36, with no idle key, this script
# calibrated at gap 300ms instead. With CAL_PLAN, the plan's gap and idle
# rule and VAL_CAL_GAP / VAL_CAL_IDLE are refused). Without CAL_PLAN, on
# 3 nodes or more the cluster calibration's plan has fork_dirty = 64 and
# fork_units = 8 (there the first N - 1 units' children fetch).
#
# Why: this shared machine's speed moves by more than 5% within minutes
# (docs/validation.md, sessions 30 and 31), and a calibration carries the
# speed of its own minute into the model. Needs a usable /dev/kvm (inside
# scripts/kvm-vm/run where there is none: timings EMULATED) and, for 2
# nodes or more, root (namespaces). Exit status: ukfork validate's (0
# pass, 1 fail), 1 a step failed (said which), 2 bad usage, 77 no /dev/kvm.
# The pooled comparison comes first, then one per app with its phases
# table (`validate --phases`: where each world's time goes), then one per
# place of start (`--where`: local, remote, fetched), then the noise
# floor of the fitted model at the real side's size (noise-floor.sh, 20
# trials of VAL_BLOCKS x VAL_REPS runs: OUT_DIR/noise-floor).
set -u
[ $# -ge 1 ] || { sed -n '5,48p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
B=$(cd "$1" && pwd) || exit 2
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${2:-$B/validate-interleave}
SCEN=${VAL_SCENARIO:-$HERE/held-out.lua}
U="$B/ukfork"
export UKFORK="$U" UKFORKD="$B/ukforkd"
PROG=interleave.sh
. "$HERE/../lib/settings.sh"
N=${VAL_NODES:-1}; need_count VAL_NODES "$N"
K=${VAL_BLOCKS:-4}; need_count VAL_BLOCKS "$K"
R=${VAL_REPS:-6}; need_count VAL_REPS "$R"
SR=${VAL_SIM_REPS:-$((R * 10))}; need_count VAL_SIM_REPS "$SR"
S=${VAL_SEED:-1}; need_count VAL_SEED "$S"
CN=${CAL_N:-10}; need_count CAL_N "$CN"
COMPRESS=${VAL_COMPRESS:-none}; need_compress VAL_COMPRESS "$COMPRESS"
GAP=${VAL_CAL_GAP:-}; [ -z "$GAP" ] || need_gap VAL_CAL_GAP "$GAP"
IDLE=${VAL_CAL_IDLE:-}
case "$IDLE" in '' | 0 | none) ;; *) for g in $IDLE; do need_gap VAL_CAL_IDLE "$g"; done ;; esac
[ -x "$U" ] || { echo "interleave.sh: build ukfork in $B" >&2; exit 2; }
[ "$N" -lt 2 ] || [ -x "$UKFORKD" ] || { echo "interleave.sh: build ukforkd in $B" >&2; exit 2; }
[ -r "$SCEN" ] || { echo "interleave.sh: cannot read the scenario $SCEN" >&2; exit 2; }
PLAN= NODEPLAN=
if [ -n "${CAL_PLAN:-}" ]; then
	[ -r "$CAL_PLAN" ] || { echo "interleave.sh: cannot read the plan $CAL_PLAN" >&2; exit 2; }
	[ -z "$GAP" ] || { echo "interleave.sh: VAL_CAL_GAP and CAL_PLAN: set 'gap = $GAP' in the plan $CAL_PLAN instead" >&2; exit 2; }
	[ -z "$IDLE" ] || { echo "interleave.sh: VAL_CAL_IDLE and CAL_PLAN: set 'idle = $IDLE' in the plan $CAL_PLAN instead" >&2; exit 2; }
	PLAN="--plan $CAL_PLAN"
fi
if [ -n "${CAL_NODE_PLAN:-}" ]; then
	[ -r "$CAL_NODE_PLAN" ] || { echo "interleave.sh: cannot read the plan $CAL_NODE_PLAN" >&2; exit 2; }
	NODEPLAN="--plan $CAL_NODE_PLAN"
fi
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "interleave.sh: /dev/kvm not usable (run inside scripts/kvm-vm/run)" >&2
	exit 77
fi
mkdir -p "$OUT" || exit 2
OUT=$(cd "$OUT" && pwd)
TMP=$(mktemp -d)
# its own testbed name (the state directory's): calib.kvm_cluster's "tb" may be
# up beside it in a parallel test run
ST=$TMP/il
trap '[ "$N" -lt 2 ] || "$U" testbed down --state "$ST" >/dev/null 2>&1; rm -rf "$TMP"' EXIT
# dash runs no EXIT trap when a signal kills it: exit instead
trap 'exit 130' INT; trap 'exit 143' TERM; trap 'exit 129' HUP
if [ -z "$PLAN" ] && { [ -n "$GAP$IDLE" ] || [ "$N" -ge 3 ]; }; then
	# the built-in plan but the spells given; on 3 nodes or more each
	# app's first N - 1 children fetch the template on the other nodes
	# in turn, and only the later units give remote forks without a
	# fetch: 8 units of 64 pages, so those span 64 (N - 1)..512 pages
	# (the default 6 of 128: 384..768 on 3 nodes, none near held-out's
	# 260)
	{ [ -z "$GAP" ] || printf 'gap = %s\n' "$GAP"
	  [ -z "$IDLE" ] || printf 'idle = %s\n' "$IDLE"
	  [ "$N" -lt 3 ] || printf 'fork_dirty = 64\nfork_units = 8\n'; } >"$TMP/cal.plan"
	PLAN="--plan $TMP/cal.plan"
fi
say() { echo "interleave.sh: $* ($(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg))" >&2; }

# Both worlds get the pace; on a testbed the real side its cluster file
# and the simulated side the same node count and the testbed's link: not
# shaped, so no latency and a bandwidth no transfer waits on (the agents'
# own delay is the model's peer_msg_ns; testbed.sh says more).
if [ -n "${VAL_PACE:-}" ]; then set -- --set "pace=$VAL_PACE"; else set --; fi
if [ "$N" -ge 2 ]; then
	say "testbed up, $N nodes"
	"$U" testbed up --nodes "$N" --state "$ST" --wait 120 --peer-timeout 15s \
		--compress "$COMPRESS" >"$TMP/tb.log" 2>&1 ||
		{ tail -20 "$TMP/tb.log" >&2; echo "interleave.sh: testbed up failed" >&2; exit 1; }
	REAL="--cluster $ST/cluster.conf"
	set -- "$@" --set bandwidth=1000G --set latency=0
	SIMSET="--set nodes=$N"
	# the clones, forks and agent samples come from the agents
	# (calibrate --cluster); the local KVM gives the cold boots
	if [ -z "$NODEPLAN" ]; then
		{ printf 'ops = none\nalone = none\n'
		  [ -z "$IDLE" ] || printf 'idle = %s\n' "$IDLE"; } >"$TMP/node.plan"
		NODEPLAN="--plan $TMP/node.plan"
	fi
else
	REAL="--backend kvm"
	SIMSET=
	NODEPLAN=$PLAN
fi
# SQLite cannot lock on scripts/kvm-vm's 9p share: the databases live in
# /tmp while written and are copied to OUT after each step
CAL=$TMP/calib.db VAL=$TMP/validate.db
k=1
while [ "$k" -le "$K" ]; do
	say "block $k of $K: calibrate"
	# shellcheck disable=SC2086 # NODEPLAN is two words or none
	"$U" calibrate --backend kvm $NODEPLAN --db "$CAL" --out "$TMP/one.conf" \
		--note "interleave.sh block $k" >"$TMP/c.out" 2>"$TMP/c.err" ||
		{ tail -5 "$TMP/c.err" >&2; echo "interleave.sh: calibrate failed (block $k)" >&2; exit 1; }
	if [ "$N" -ge 2 ]; then
		# shellcheck disable=SC2086
		"$U" calibrate --cluster "$ST/cluster.conf" $PLAN -n "$CN" --db "$CAL" \
			--out "$TMP/one.conf" --note "interleave.sh block $k" \
			>"$TMP/c.out" 2>"$TMP/c.err" ||
			{ tail -5 "$TMP/c.err" >&2; echo "interleave.sh: calibrate --cluster failed (block $k)" >&2; exit 1; }
	fi
	say "block $k of $K: $R real replications, seed $((S + k - 1))"
	# shellcheck disable=SC2086 # REAL is two words on purpose
	"$U" run "$SCEN" $REAL --reps "$R" --seed "$((S + k - 1))" --db "$VAL" \
		--quiet "$@" || { echo "interleave.sh: real runs failed (block $k)" >&2; exit 1; }
	cp "$CAL" "$OUT/calib.db" && cp "$VAL" "$OUT/validate.db" || exit 1
	k=$((k + 1))
done
# The real side and the calibrations as CSV (gzip: some hundred KB),
# to keep beside the model in data/measured/ (docs/validation.md): what
# a session on a machine without KVM can study
if command -v sqlite3 >/dev/null; then
	# (sqlite3 can exit 0 after an error in its SQL: its stderr tells)
	csv() {
		if sqlite3 -bail -header -csv "$1" "$2" >"$TMP/$3.csv" 2>"$TMP/$3.err" &&
			[ ! -s "$TMP/$3.err" ] && gzip -n <"$TMP/$3.csv" >"$OUT/$3.csv.gz"; then
			:
		else
			rm -f "$OUT/$3.csv.gz"
			echo "interleave.sh: warning: $3.csv.gz not written: $(cat "$TMP/$3.err")" >&2
		fi
	}
	csv "$VAL" "SELECT id, config, settings_json, seed, rep, backend, version, started_unix_ns, wall_s FROM runs WHERE backend IS NOT 'sim' ORDER BY id" real-runs
	csv "$VAL" "SELECT i.* FROM instances i JOIN runs r ON r.id = i.run WHERE r.backend IS NOT 'sim' ORDER BY i.run, i.id" real-instances
	csv "$CAL" "SELECT * FROM calib_runs ORDER BY id" calib-runs
	csv "$CAL" "SELECT * FROM calib_samples ORDER BY rowid" calib-samples
	csv "$CAL" "SELECT r.config, r.backend, i.* FROM instances i JOIN runs r ON r.id = i.run ORDER BY i.run, i.id" calib-instances
else
	echo "interleave.sh: warning: no sqlite3 program: no CSV copies of the real side" >&2
fi
say "one model over the $K blocks' calibrations"
"$U" calibrate --from-db "$CAL" --calib all --out "$OUT/model.conf" \
	>"$OUT/model.summary" 2>&1 ||
	{ cat "$OUT/model.summary" >&2; echo "interleave.sh: the fit failed" >&2; exit 1; }
[ "$N" -lt 2 ] || grep -q '^peer_msg_ns = ' "$OUT/model.conf" ||
	echo "interleave.sh: warning: the model has no peer_msg_ns (too few template clones on each node?): the simulated side charges nothing for a message between nodes" >&2
k=1
while [ "$k" -le "$K" ]; do
	# shellcheck disable=SC2086
	"$U" run "$SCEN" --backend sim --set model="$OUT/model.conf" $SIMSET \
		--reps "$SR" --seed "$((S + k - 1))" --db "$VAL" --quiet "$@" ||
		{ echo "interleave.sh: simulated runs failed (seed $((S + k - 1)))" >&2; exit 1; }
	k=$((k + 1))
done
cp "$VAL" "$OUT/validate.db" || exit 1
say "compare"
"$U" validate --from-db "$VAL" --threshold "${VAL_THRESHOLD:-5}" --plot "$OUT"
rc=$?
for app in $(sqlite3 "$VAL" "SELECT DISTINCT app FROM instances ORDER BY app" 2>/dev/null); do
	echo
	"$U" validate --from-db "$VAL" --threshold "${VAL_THRESHOLD:-5}" --app "$app" --phases
done
if [ "$N" -ge 2 ]; then
	for w in local remote fetched; do
		echo
		"$U" validate --from-db "$VAL" --threshold "${VAL_THRESHOLD:-5}" --where "$w"
	done
fi
# what a right model would show at this real side's size: the fitted
# model against itself (noise-floor.sh), seconds of simulation
say "noise floor"
echo
NFSET=
[ "$N" -lt 2 ] || NFSET="bandwidth=1000G latency=0"
VAL_SCENARIO="$SCEN" VAL_NODES="$N" VAL_PACE="${VAL_PACE:-}" \
	VAL_REPS="$((K * R))" VAL_SEED="$((S + 1000))" NF_TRIALS=20 \
	VAL_THRESHOLD="${VAL_THRESHOLD:-5}" NF_SET="$NFSET" \
	sh "$HERE/noise-floor.sh" "$B" "$OUT/model.conf" "$OUT/noise-floor" 2>"$TMP/nf.log" ||
	{ cat "$TMP/nf.log" >&2; echo "interleave.sh: warning: the noise floor failed (the comparison above stands)" >&2; }
echo "interleave.sh: databases, model and plots in $OUT" >&2
exit $rc
