#!/bin/sh
# SPDX-License-Identifier: MIT
# testbed.sh - ukfork validate on node agents: a testbed of N network namespaces on this machine (one ukforkd each), held-out.lua on it and in the simulator, then the testbed down.
#
# usage: scripts/validate/testbed.sh BUILD_DIR [MODEL.conf] [OUT_DIR]
#   MODEL.conf  cost model of the sim side (default data/kvm-vm-calibrated.conf)
#   OUT_DIR     where validate.db and the plots go (default: BUILD_DIR/validate-testbed)
# Environment: VAL_NODES (2), VAL_REPS (2), VAL_SIM_REPS (the simulator's
# replications: 10 x VAL_REPS, validate --sim-reps), VAL_COMPRESS (the
# agents' bulk compression: none, as scripts/calibrate/cluster.sh measures
# the remote keys; the model has no compression), VAL_SEED (1), VAL_SCENARIO
# (scripts/validate/held-out.lua), VAL_PACE (held-out.lua's pace: 0.25 runs
# its workload 4x faster; not given: the scenario's own). Needs root
# (namespaces) and a usable /dev/kvm: on a machine without one, run it
# inside scripts/kvm-vm/run (timings EMULATED). The database lives in /tmp while the runs write it
# (SQLite cannot lock on the 9p share of scripts/kvm-vm) and is copied to
# OUT_DIR. Exit status: ukfork validate's (0 pass, 1 fail, 2 bad input,
# 77 unavailable), or 1 when the testbed could not be brought up.
set -u
[ $# -ge 1 ] || { sed -n '5,18p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
B=$(cd "$1" && pwd) || exit 2
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
MODEL=${2:-$REPO/data/kvm-vm-calibrated.conf}
OUT=${3:-$B/validate-testbed}
SCEN=${VAL_SCENARIO:-$HERE/held-out.lua}
# the pace, if given, as a --set of both worlds (set -- keeps it one word)
if [ -n "${VAL_PACE:-}" ]; then set -- --set "pace=$VAL_PACE"; else set --; fi
# The testbed's link is not shaped: a calibration on such a testbed
# (cluster.sh ... :) charges nothing to the link, so its remote keys (delta
# save, template load) hold the real transfer. The simulated side must not
# charge the transfer again: a bandwidth no transfer waits on; nor a
# latency the link does not have (held-out.lua's 100 us): the agents' own
# delay on a message between nodes is the model's peer_msg_ns, which
# calibrate --cluster measures (docs/calibration.md). --set goes to both
# worlds: the real runs ignore both but keep them in their settings_json,
# so `ukfork report` lists them with a 0 ns, 1000G link. A model without
# peer_msg_ns (the committed ones, calibrations before session 31) keeps
# the scenario's latency instead, which then stands for that delay.
if grep -q '^peer_msg_ns = ' "$MODEL" 2>/dev/null; then
	set -- "$@" --set bandwidth=1000G --set latency=0
else
	echo "testbed.sh: $MODEL sets no peer_msg_ns: the simulated side keeps the scenario's latency for the agents' delay between nodes" >&2
	set -- "$@" --set bandwidth=1000G
fi
PROG=testbed.sh
. "$REPO/scripts/lib/settings.sh"
need_count VAL_NODES "${VAL_NODES:-2}"
need_seed VAL_SEED "${VAL_SEED:-1}"
R=${VAL_REPS:-2}; need_count VAL_REPS "$R"
SR=${VAL_SIM_REPS:-$((R * 10))}; need_count VAL_SIM_REPS "$SR"
COMPRESS=${VAL_COMPRESS:-none}; need_compress VAL_COMPRESS "$COMPRESS"
export UKFORK="$B/ukfork" UKFORKD="$B/ukforkd"
if [ ! -x "$UKFORK" ] || [ ! -x "$UKFORKD" ]; then
	echo "testbed.sh: build ukfork and ukforkd in $B" >&2
	exit 2
fi
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "testbed.sh: /dev/kvm not usable (run inside scripts/kvm-vm/run)" >&2
	exit 77
fi
mkdir -p "$OUT"
TMP=$(mktemp -d)
ST=$TMP/tb
trap '"$UKFORK" testbed down --state "$ST" >/dev/null 2>&1; rm -rf "$TMP"' EXIT
# dash runs no EXIT trap when a signal kills it: exit instead, so the
# testbed comes down on Ctrl-C or SIGTERM too
trap 'exit 130' INT; trap 'exit 143' TERM; trap 'exit 129' HUP
# --peer-timeout: under emulation one backend operation can hold an agent
# from its heartbeats for seconds (bench/cluster/run.sh does the same)
"$UKFORK" testbed up --nodes "${VAL_NODES:-2}" --state "$ST" --wait 120 \
	--peer-timeout 15s --compress "$COMPRESS" >"$TMP/tb.log" 2>&1 ||
	{ tail -20 "$TMP/tb.log" >&2; echo "testbed.sh: testbed up failed" >&2; exit 1; }
"$UKFORK" validate "$SCEN" --cluster "$ST/cluster.conf" --model "$MODEL" \
	--reps "$R" --sim-reps "$SR" \
	--seed "${VAL_SEED:-1}" --db "$TMP/validate.db" \
	--plot "$OUT" "$@"
rc=$?
cp "$TMP/validate.db" "$OUT/validate.db" 2>/dev/null
echo "testbed.sh: database and plots in $OUT" >&2
exit $rc
