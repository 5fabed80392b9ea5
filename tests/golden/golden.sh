#!/bin/sh
# SPDX-License-Identifier: MIT
# golden.sh - golden-log test: a scenario with a fixed seed must reproduce
# its checked-in event log exactly, and a second run must store the same
# database rows.
#   golden.sh UKFORK DIR NAME [REPS]
#   UKF_GOLDEN_UPDATE=1 golden.sh ...   rewrites DIR/NAME.expected
set -u
UKFORK=$1
DIR=$2
NAME=$3
REPS=${4:-1}
T=$(mktemp -d "${TMPDIR:-/tmp}/ukf-golden.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL [golden $NAME]: $*" >&2; exit 1; }

for k in 1 2; do
	"$UKFORK" run "$DIR/$NAME.lua" --seed 11 --reps "$REPS" --quiet \
		--trace "$T/trace$k" --db "$T/db$k" 2>"$T/err$k" ||
		{ cat "$T/err$k" >&2; fail "run $k failed"; }
done
if [ "${UKF_GOLDEN_UPDATE:-0}" = 1 ]; then
	cp "$T/trace1" "$DIR/$NAME.expected"
	echo "updated $DIR/$NAME.expected"
fi
[ -s "$T/trace1" ] || fail "empty event log"
diff -u "$DIR/$NAME.expected" "$T/trace1" >"$T/diff" ||
	{ head -40 "$T/diff" >&2; fail "event log differs from $NAME.expected (UKF_GOLDEN_UPDATE=1 to accept a deliberate change)"; }
cmp -s "$T/trace1" "$T/trace2" || fail "two runs with the same seed logged differently"

# The same rows in both databases (ids of runs may differ: join on config/rep).
dump() {
	sqlite3 "$1" "
	  select r.config, r.seed, r.rep, r.backend, r.scenario_hash,
	         r.settings_json, r.events, r.sim_end_ns from runs r
	  order by r.config, r.rep;
	  select r.config, r.rep, i.id, i.parent, i.app, i.origin, i.node,
	         i.start, i.remote, i.template_fetched, i.template_made,
	         i.delta_bytes, i.dirty_pages, i.t_request, i.t_placed,
	         i.t_start, i.t_ready, i.t_exit, i.status, i.fail_reason
	  from instances i join runs r on r.id = i.run
	  order by r.config, r.rep, i.id;
	  select r.config, r.rep, s.t, s.node, s.instances, s.vcpus_used,
	         s.mem_used, s.cache_used, s.templates
	  from samples s join runs r on r.id = s.run
	  order by r.config, r.rep, s.t, s.node;" || fail "sqlite3 failed on $1"
}
dump "$T/db1" >"$T/rows1"
dump "$T/db2" >"$T/rows2"
[ "$(grep -c . "$T/rows1")" -gt 1 ] || fail "no rows stored"
cmp -s "$T/rows1" "$T/rows2" ||
	{ diff "$T/rows1" "$T/rows2" | head -20 >&2; fail "database rows differ between two runs with the same seed"; }
exit 0
