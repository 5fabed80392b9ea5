#!/bin/sh
# SPDX-License-Identifier: MIT
# report_outages.sh UKFORK - node failures and link cuts in `ukfork report`: per
# configuration their counts and the seconds nodes were down or cut off,
# in the text table (whole and in --width blocks) and in --json, for
# outages a scenario makes at known times and for churn{} against SQL
# over the outages rows.
set -u
UKFORK=$1
T=$(mktemp -d "${TMPDIR:-/tmp}/ukf-outages.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL (outages): $*" >&2; cat "$T/out" >&2 2>/dev/null; exit 1; }
command -v jq >/dev/null || { echo "SKIP: jq is not installed"; exit 77; }
command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 is not installed"; exit 77; }

# Node 2 cut 0.5-1.25 s (0.75 s), node 1 down 1-2.5 s (1.5 s), node 3
# cut at 3 s and failed at 3.5 s (0.5 s cut off, then down to the end
# at 5 s: 1.5 s). So 2 node failures, 3 s down, 2 cuts, 1.25 s cut off;
# none in the other configuration.
cat >"$T/s.lua" <<'LUA'
cluster { nodes = 4, vcpus = 4, memory = "2G" }
run { duration = "5s" }
app("svc", "mem=64M init=50ms work=300ms")
local o = param("outages", { "none", "some" })
process(function()
  for i = 1, 40 do spawn("svc", 0) sleep("100ms") end
  sleep(10) -- the run lasts its duration: an open outage ends with it
end)
if o == "some" then
  process(function()
    sleep(0.5) fail_link(2, "port")
    sleep(0.5) fail_node(1, "power")
    sleep(0.25) recover_link(2)
    sleep(1.25) recover_node(1)
    sleep(0.5) fail_link(3, "port")
    sleep(0.5) fail_node(3, "power")
  end)
end
LUA
"$UKFORK" run "$T/s.lua" --reps 2 --db "$T/r.db" -q || fail "run exited $?"
"$UKFORK" report "$T/r.db" --json >"$T/out" || fail "report --json exited $?"
jq -e '
	(.scenarios[0].configs[0]) as $n | (.scenarios[0].configs[1]) as $s
	| $n.config == "outages=none" and $s.config == "outages=some"
	and $n.node_failures.mean == 0 and $n.node_down_s.mean == 0
	and $n.link_cuts.mean == 0 and $n.link_down_s.mean == 0
	and $s.node_failures.mean == 2 and $s.link_cuts.mean == 2
	and ($s.node_down_s.mean - 3 | fabs) < 1e-9
	and ($s.link_down_s.mean - 1.25 | fabs) < 1e-9
	and $s.node_down_s.n == 2
	and ([$s.per_run[].node_down_s] | map(. - 3 | fabs) | max) < 1e-9
	and ([$s.per_run[].link_cuts] | add) == 4
	and (.outage_method | test("summed over nodes"))' "$T/out" >/dev/null ||
	fail "JSON figures: $(jq -c '[.scenarios[0].configs[] | {config, node_failures: .node_failures.mean, node_down_s: .node_down_s.mean, link_cuts: .link_cuts.mean, link_down_s: .link_down_s.mean}]' "$T/out")"
"$UKFORK" report "$T/r.db" >"$T/out" || fail "report exited $?"
grep -q '^outages: node failures and link cuts' "$T/out" || fail "text header says nothing of outages"
for row in 'node failures +0\.0 ±0\.0 +2\.0 ±0\.0$' 'node downtime \(s\) +0\.000 ±0\.000 +3\.000 ±0\.000$' \
	'link cuts +0\.0 ±0\.0 +2\.0 ±0\.0$' 'link downtime \(s\) +0\.000 ±0\.000 +1\.250 ±0\.000$'; do
	grep -Eq "^  $row" "$T/out" || fail "no row /$row/"
done
# in blocks of one configuration each: the rows in both, same cells
"$UKFORK" report "$T/r.db" --width 60 >"$T/out" || fail "report --width 60 exited $?"
[ "$(grep -c '^  configurations [12]-[12] of 2:' "$T/out")" = 2 ] || fail "not two blocks"
for row in 'node failures +0\.0 ±0\.0$' 'node failures +2\.0 ±0\.0$' 'node downtime \(s\) +3\.000 ±0\.000$' \
	'link downtime \(s\) +0\.000 ±0\.000$' 'link downtime \(s\) +1\.250 ±0\.000$'; do
	grep -Eq "^  $row" "$T/out" || fail "--width 60: no row /$row/"
done
for r in 'node failures' 'node downtime (s)' 'link cuts' 'link downtime (s)'; do
	[ "$(grep -c "^  $r  " "$T/out")" = 2 ] || fail "--width 60: '$r' not once in each block"
done

# churn{}: the figures against SQL over the rows (a node-fail to its
# node's next node-recover in rowid order, else to the run's end)
cat >"$T/c.lua" <<'LUA'
cluster { nodes = 6, vcpus = 4, memory = "2G" }
run { duration = "6s" }
churn { mtbf = param("mtbf", { "2s", "4s" }), mttr = "400ms" }
app("svc", "mem=64M init=50ms work=300ms")
poisson { app = "svc", rate = 20 }
LUA
"$UKFORK" run "$T/c.lua" --reps 3 --db "$T/c.db" -q || fail "churn run exited $?"
q() { sqlite3 "$T/c.db" "$1"; }
down="select r.id run, r.config config, count(f.rowid) n,
	total((coalesce((select o.t from outages o where o.run = f.run and o.node = f.node
		and o.kind = 'node-recover' and o.rowid > f.rowid order by o.rowid limit 1),
		r.sim_end_ns) - f.t) / 1e9) s
	from runs r left join outages f on f.run = r.id and f.kind = 'node-fail' group by r.id"
[ "$(q "select count(*) from outages where kind = 'node-fail'")" -ge 10 ] ||
	fail "only $(q "select count(*) from outages where kind = 'node-fail'") node failures"
"$UKFORK" report "$T/c.db" --json >"$T/out" || fail "report --json exited $?"
for cfg in mtbf=2s mtbf=4s; do
	n=$(q "select avg(n) from ($down) where config = '$cfg'")
	s=$(q "select avg(s) from ($down) where config = '$cfg'")
	jq -e --arg c "$cfg" --argjson n "$n" --argjson s "$s" '
		(.scenarios[0].configs[] | select(.config == $c)) as $x
		| ($x.node_failures.mean - $n | fabs) < 1e-9
		and ($x.node_down_s.mean - $s | fabs) < 1e-6
		and $x.node_down_s.mean > 0 and $x.link_cuts.mean == 0' "$T/out" >/dev/null ||
		fail "$cfg: want $n node failures, $s s down; got $(jq -c --arg c "$cfg" '.scenarios[0].configs[] | select(.config == $c) | [.node_failures.mean, .node_down_s.mean]' "$T/out")"
done
exit 0
