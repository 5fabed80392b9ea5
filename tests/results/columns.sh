#!/bin/sh
# SPDX-License-Identifier: MIT
# columns.sh UKFORK - the instance rows of a small simulated run hold the
# values its events imply, column by column (not only the same values run
# after run): a cold start that makes its app's template, a local fork of
# it, a template clone placed on the other node with the template fetched
# from its peer, and that clone's own fork.
set -u
UKFORK=$1
T=$(mktemp -d "${TMPDIR:-/tmp}/ukf-columns.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL (columns): $*" >&2; sqlite3 -header "$T/r.db" 'select * from instances order by id' >&2; exit 1; }
cat >"$T/c.lua" <<'LUA'
cluster { nodes = 2, vcpus = 4, memory = "4G" }
policy { placement = "round-robin", templates = "on-demand", fetch = "peer" }
run { duration = "10s" }
app("a", "mem=64M init=20ms work=10ms dirty=256 fork=1 units=1")
process(function()
  local p = spawn("a", nil, 0) -- round-robin: node 0, cold
  wait(p)
  sleep(0.1)
  local q = spawn("a", nil, 0) -- round-robin: node 1, which has no template
  wait(q)
end)
LUA
"$UKFORK" run "$T/c.lua" --db "$T/r.db" -q || fail "run exited $?"
row() { sqlite3 "$T/r.db" "select $2 from instances where id = $1"; }
n=$(sqlite3 "$T/r.db" 'select count(*) from instances')
[ "$n" = 4 ] || fail "$n rows, want 4 (two spawns, each forking once)"
# 1: cold on node 0; its ready() made the app's template there
[ "$(row 1 'parent,origin,node,start,remote,template_fetched,template_made,status')" = "0|0|0|cold|0|0|1|0" ] ||
	fail "row 1: $(row 1 'parent,origin,node,start,remote,template_fetched,template_made,status')"
# 2: 1's fork, on 1's node; it made no template; it dirtied its parent's
# pages and its own
[ "$(row 2 'parent,origin,node,start,remote,template_fetched,template_made,status')" = "1|0|0|fork|0|0|0|0" ] ||
	fail "row 2: $(row 2 'parent,origin,node,start,remote,template_fetched,template_made,status')"
[ "$(row 2 'dirty_pages >= 256')" = 1 ] || fail "row 2 dirty_pages $(row 2 dirty_pages)"
# 3: asked at node 0, placed on node 1 (remote), started from the template
# fetched from node 0; the fetch took time between placement and start
[ "$(row 3 'parent,origin,node,start,remote,template_fetched,template_made,status')" = "0|0|1|template|1|1|0|0" ] ||
	fail "row 3: $(row 3 'parent,origin,node,start,remote,template_fetched,template_made,status')"
[ "$(row 3 't_start > t_placed')" = 1 ] || fail "row 3: no fetch time between placement and start"
# 4: 3's fork, handled where 3 runs
[ "$(row 4 'parent,origin,node,start,remote,template_made')" = "3|1|1|fork|0|0" ] ||
	fail "row 4: $(row 4 'parent,origin,node,start,remote,template_made')"
# times in order for every row; a parent exits after its child
[ "$(sqlite3 "$T/r.db" 'select count(*) from instances where not (t_request <= t_placed and t_placed <= t_start and t_start <= t_ready and t_ready <= t_exit)')" = 0 ] ||
	fail "a row's times are out of order"
[ "$(sqlite3 "$T/r.db" 'select count(*) from instances c join instances p on p.id = c.parent and p.run = c.run where p.t_exit < c.t_exit')" = 0 ] ||
	fail "a parent exited before its child"
echo "ok (columns)"
