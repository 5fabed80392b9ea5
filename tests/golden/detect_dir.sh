#!/bin/sh
# SPDX-License-Identifier: MIT
# detect_dir.sh - the failure-detection delay defaults to the imitated
# directory's measured one (data/directory.conf: embedded 2.97 s, etcd and
# etcd3 2.87 s); churn{ detect = } wins, 0 included; no directory: at once
# (no node-detect line); settings_json's churn.detect_ns is the delay in
# effect.
#   detect_dir.sh UKFORK SRCDIR
set -u
UKFORK=$1
SRC=$2
T=$(mktemp -d "${TMPDIR:-/tmp}/ukf-det.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL [detect_dir]: $*" >&2; exit 1; }

# detect_at ARGS...: the time of the node-detect line of node 2 ("-": none)
detect_at() {
	"$UKFORK" run "$SRC/detect_dir.lua" --quiet --trace "$T/log" "$@" \
		>/dev/null 2>"$T/err" || fail "$*: $(cat "$T/err")"
	grep -q '^1.000000000 2 node-fail ' "$T/log" || fail "$*: node 2 did not fail at 1 s"
	awk '$2 == 2 && $3 == "node-detect" { print $1; n++ } END { if (!n) print "-" }' "$T/log"
}

check() {
	want=$1
	shift
	got=$(detect_at "$@")
	[ "$got" = "$want" ] || fail "$*: detected at $got, want $want"
}

check - 
check 3.970000000 --set dir=embedded
check 3.870000000 --set dir=etcd
check 3.870000000 --set dir=etcd3
check 1.200000000 --set dir=etcd --set detect=200ms
check - --set dir=etcd --set detect=0s
check 1.300000000 --set detect=300ms

command -v sqlite3 >/dev/null 2>&1 || { echo "SKIP: no sqlite3 (the delays passed)"; exit 77; }
"$UKFORK" run "$SRC/detect_dir.lua" --quiet --db "$T/d.db" --set dir=etcd \
	--set mtbf=1000s >/dev/null 2>"$T/err" || fail "db run: $(cat "$T/err")"
"$UKFORK" run "$SRC/detect_dir.lua" --quiet --db "$T/d.db" --set dir=etcd \
	--set mtbf=1000s --set detect=50ms >/dev/null 2>"$T/err" || fail "db run: $(cat "$T/err")"
got=$(sqlite3 "$T/d.db" "select group_concat(json_extract(settings_json, '\$.churn.detect_ns'), ',')
	from (select * from runs order by id)")
[ "$got" = "2870000000,50000000" ] || fail "settings_json churn.detect_ns: $got"
echo "detect_dir: ok"
