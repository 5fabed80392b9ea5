#!/bin/sh
# SPDX-License-Identifier: MIT
# outages.sh - node and link outages reach the database's outages table:
# one row per node-fail, node-detect, node-recover, link-fail and
# link-recover line of the event log, with its time, node and reason; a
# churn{} sweep's configurations see the same outages (common random
# numbers); settings_json carries churn{}; `mpirun -n 2` stores the rows a
# serial run stores (with MPI only).
#   outages.sh UKFORK SRCDIR [mpi]
set -u
UKFORK=$1
SRC=$2
MPI=${3:-}
T=$(mktemp -d "${TMPDIR:-/tmp}/ukf-out.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL [outages]: $*" >&2; exit 1; }
command -v sqlite3 >/dev/null 2>&1 || { echo "SKIP: no sqlite3"; exit 77; }
q() { sqlite3 "$T/$1" "$2" || fail "sqlite3 $1: $2"; }

# every outage line of the log, as "run-less" t|node|kind|reason rows: the
# log's times are seconds with 9 decimals, the table's nanoseconds
from_log() {
	awk '$3 ~ /^(node|link)-(fail|detect|recover)$/ {
		t = $1; sub(/\./, "", t); sub(/^0+/, "", t); if (t == "") t = 0
		r = ""
		for (i = 4; i <= NF; i++)
			if ($i ~ /^reason=/) { r = substr($i, 8); for (k = i + 1; k <= NF; k++) r = r " " $k }
		print t "|" $2 "|" $3 "|" r
	}' "$1"
}

for s in outage churn; do
	"$UKFORK" run "$SRC/$s.lua" --quiet --db "$T/$s.db" --trace "$T/$s.log" \
		>/dev/null 2>"$T/err" || fail "$s: $(cat "$T/err")"
	from_log "$T/$s.log" | sort >"$T/$s.want"
	[ -s "$T/$s.want" ] || fail "$s: no outage in the log"
	q "$s.db" "select t || '|' || node || '|' || kind || '|' || ifnull(reason, '')
		   from outages" | sort >"$T/$s.got"
	cmp -s "$T/$s.want" "$T/$s.got" ||
		fail "$s: table != log: $(diff "$T/$s.want" "$T/$s.got" | head -5)"
done

# outage.lua: each kind once, with the scenario's reasons
[ "$(q outage.db "select group_concat(kind || ':' || node || ':' || ifnull(reason, '-'), ',')
	from (select * from outages order by t, rowid)")" = \
  "node-fail:2:power lost,node-recover:2:-,link-fail:1:switch port down,link-recover:1:-" ] ||
	fail "outage.lua rows: $(q outage.db 'select * from outages')"

# churn.lua: two placements, one churn trace; reason churn; detections
[ "$(q churn.db 'select count(distinct run) from outages')" = 2 ] ||
	fail "churn: not both runs have outages"
a=$(q churn.db "select group_concat(t || node || kind, ',') from (select * from outages where run = 1 order by t, rowid)")
b=$(q churn.db "select group_concat(t || node || kind, ',') from (select * from outages where run = 2 order by t, rowid)")
[ "$a" = "$b" ] || fail "churn: the two placements saw other outages"
[ "$(q churn.db "select count(*) from outages where kind = 'node-fail' and reason != 'churn'")" = 0 ] ||
	fail "churn: a failure not by churn"
[ "$(q churn.db "select count(*) from outages where kind = 'node-detect'")" -gt 0 ] ||
	fail "churn: no detection rows"
[ "$(q churn.db "select json_extract(settings_json, '\$.churn.mtbf_ns') || ':' ||
	json_extract(settings_json, '\$.churn.detect_ns') from runs where id = 1")" = \
  "3000000000:100000000" ] || fail "churn: settings_json lacks churn{}"

[ "$MPI" = mpi ] || exit 0
command -v mpirun >/dev/null 2>&1 || exit 0
mpirun --allow-run-as-root --oversubscribe -n 2 "$UKFORK" run "$SRC/churn.lua" \
	--quiet --db "$T/m.db" >/dev/null 2>"$T/err" </dev/null ||
	fail "mpirun: $(cat "$T/err")"
for d in churn m; do
	q "$d.db" "select r.config, o.t, o.node, o.kind, o.reason from outages o
		   join runs r on r.id = o.run order by r.config, o.t, o.rowid" >"$T/$d.rows"
done
cmp -s "$T/churn.rows" "$T/m.rows" ||
	fail "mpirun -n 2 stored other outages: $(diff "$T/churn.rows" "$T/m.rows" | head -5)"
