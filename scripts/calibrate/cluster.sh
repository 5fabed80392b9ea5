#!/bin/sh
# SPDX-License-Identifier: MIT
# cluster.sh - `ukfork calibrate --cluster` across network settings: for each DELAY:RATE a fresh testbed of node agents (`ukfork testbed up --delay --rate`), one calibration appended to one database, then one model file fitted over all of them (`--from-db --calib all`).
#
# usage: scripts/calibrate/cluster.sh BUILD_DIR OUT.conf DB SETTING...
#   SETTING   DELAY:RATE, ms one way node to node and Mbit/s per node link;
#             empty for none: ":" (not shaped), "5:", ":100", "20:50"
# Environment: CAL_NODES (2), CAL_N (-n, apps per template size, 3),
#   CAL_PLAN (a plan file; default: the built-in plan), CAL_NOTE (--note),
#   CAL_PEER_TIMEOUT (the testbed's --peer-timeout, 15s: under an emulated
#   KVM one VM operation can keep an agent from its heartbeats for seconds),
#   CAL_COMPRESS (the agents' bulk compression, none: the simulator
#   charges a delta or a template its raw bytes on the link, so the
#   wire must carry those for the subtraction to hold; zstd or lz4 to see
#   what compression changes).
# Needs root (namespaces), a usable /dev/kvm and, for a delay, the netem
# qdisc (sch_netem; a rate needs sch_tbf): on a machine without them, run
# it inside scripts/kvm-vm/run (timings EMULATED), with DB in the VM's /tmp
# (SQLite cannot lock on its 9p share) copied out after. Each calibration
# keeps its setting in calib_runs (link, link_latency_ns, link_bandwidth);
# the fit subtracts each sample's own link charge (docs/calibration.md,
# "--cluster"); only this run's calibrations are fitted, whatever else DB
# holds. Exit status: 0 done, 1 a step failed (which one is said),
# 2 bad usage, 77 no /dev/kvm.
set -u
[ $# -ge 4 ] || { sed -n '5,24p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
B=$(cd "$1" && pwd) || exit 2
OUT=$2
DB=$3
shift 3
export UKFORK="$B/ukfork" UKFORKD="$B/ukforkd"
if [ ! -x "$UKFORK" ] || [ ! -x "$UKFORKD" ]; then
	echo "cluster.sh: build ukfork and ukforkd in $B" >&2
	exit 2
fi
for s in "$@"; do
	case "$s" in
	*:*) ;;
	*) echo "cluster.sh: '$s' is not DELAY:RATE" >&2; exit 2 ;;
	esac
done
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "cluster.sh: /dev/kvm not usable (run inside scripts/kvm-vm/run)" >&2
	exit 77
fi
IDS=
TMP=$(mktemp -d)
ST=$TMP/tb
trap '"$UKFORK" testbed down --state "$ST" >/dev/null 2>&1; rm -rf "$TMP"' EXIT
# dash runs no EXIT trap when a signal kills it: exit instead, so the
# testbed comes down on Ctrl-C or SIGTERM too
trap 'exit 130' INT; trap 'exit 143' TERM; trap 'exit 129' HUP
for s in "$@"; do
	d=${s%%:*}
	r=${s#*:}
	set -- --nodes "${CAL_NODES:-2}" --state "$ST" --wait 120 \
		--peer-timeout "${CAL_PEER_TIMEOUT:-15s}" \
		--compress "${CAL_COMPRESS:-none}"
	[ -n "$d" ] && set -- "$@" --delay "$d"
	[ -n "$r" ] && set -- "$@" --rate "$r"
	echo "cluster.sh: testbed up $*" >&2
	"$UKFORK" testbed up "$@" >"$TMP/tb.log" 2>&1 || {
		tail -20 "$TMP/tb.log" >&2
		echo "cluster.sh: testbed up failed for setting '$s'" >&2
		exit 1
	}
	set -- --cluster "$ST/cluster.conf" -n "${CAL_N:-3}" --db "$DB" \
		--out "$TMP/one.conf"
	[ -n "${CAL_PLAN:-}" ] && set -- "$@" --plan "$CAL_PLAN"
	[ -n "${CAL_NOTE:-}" ] && set -- "$@" --note "$CAL_NOTE"
	"$UKFORK" calibrate "$@" 2>"$TMP/err"
	rc=$?
	cat "$TMP/err" >&2
	[ $rc -eq 0 ] || {
		echo "cluster.sh: calibrate failed for setting '$s'" >&2
		exit 1
	}
	id=$(sed -n 's/.* samples stored in .* (calibration \([0-9]*\))$/\1/p' "$TMP/err")
	IDS=${IDS:+$IDS,}$id
	"$UKFORK" testbed down --state "$ST" >/dev/null 2>&1 || {
		echo "cluster.sh: testbed down failed after setting '$s'" >&2
		exit 1
	}
done
echo "cluster.sh: fitting calibrations $IDS of $DB together" >&2
"$UKFORK" calibrate --from-db "$DB" --calib "$IDS" --out "$OUT"
