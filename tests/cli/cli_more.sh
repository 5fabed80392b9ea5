#!/bin/sh
# SPDX-License-Identifier: MIT
# cli_more.sh - more behaviour tests of `ukfork`: every refusal of a bad
# scenario or API call names its file:line and cause, stores nothing; the
# values the API returns; subcommand usage; progress on a terminal and its
# ETA; a damaged results database; processes left suspended.
#   cli_more.sh UKFORK SCENARIO_DIR CASE     (CASE "list" lists them)
set -u
. "$(dirname "$0")/lib.sh"
cli_args ukf-cli "$1" "$2" "$3"

# the message must be there as given (fixed string, not a pattern)
expect_err() { grep -q -F -e "$1" "$T/err" || fail "stderr lacks '$1'"; }
expect_out() { grep -q -F -e "$1" "$T/out" || fail "stdout lacks '$1'"; }

# The header of every generated scenario: one app, named web.
HEAD='app("web", "mem=64M init=1ms work=1ms")'

# refused LUA MESSAGE [ARGS]: a scenario of HEAD and the line LUA run with
# ARGS exits 2 with "s.lua:2: MESSAGE" on stderr and stores no run.
refused() {
	printf '%s\n%s\n' "$HEAD" "$1" >"$T/s.lua"
	rm -f "$T/db"
	l=$1; m=$2; shift 2
	run run "$T/s.lua" --db "$T/db" "$@"
	set -- "$l" "$m"
	[ "$rc" -eq 2 ] || fail "'$1': exit status $rc, expected 2"
	grep -q -F -e "s.lua:2: $2" "$T/err" || fail "'$1': stderr lacks 's.lua:2: $2'"
	no_runs "$T/db"
}

# logged LUA: a scenario of HEAD and LUA that must run; its log() lines
# (the text after " lua ") in $T/log
logged() {
	printf '%s\n%s\n' "$HEAD" "$1" >"$T/s.lua"
	run run "$T/s.lua" --trace "$T/trace" --quiet
	[ "$rc" -eq 0 ] || fail "'$1': exit status $rc"
	sed -n 's/^[0-9.]* lua //p' "$T/trace" >"$T/log"
}

case "$CASE" in
list)
	sed -n 's/^\([a-z_]*\))$/\1/p' "$0" | grep -v '^list$'
	;;
settings_refused)
	# a bad value of each kind of setting, in the file
	refused 'cluster { memory = -1 }' "setting 'memory': bad value '-1': expected a size >= 0"
	refused 'cluster { bandwidth = 0 }' "setting 'bandwidth': bad value '0': bandwidth must be > 0"
	refused 'policy { fetch = "bogus" }' "setting 'fetch': bad value 'bogus': unknown fetch mode (valid: peer, cold)"
	refused 'policy { placement = 5 }' "setting 'placement': bad value '5': expected a name (a string)"
	refused 'cluster { nodes = true }' "setting 'nodes': bad value 'true': expected a whole number (decimal digits)"
	refused 'cluster { nodes = 2.5 }' "setting 'nodes': bad value '2.5': expected a whole number >= 0"
	refused 'cluster { nodes = print }' "setting 'nodes': got a function, expected a number, string or list"
	# a p99 without a median is named at its line (it named no line)
	refused 'cluster { dir_delay = 0, dir_delay_p99 = "5ms" }' "setting 'dir_delay_p99' (5000000 ns) with a median of 0 (dir_delay at "
	# a text value longer than 255 bytes was cut there without a word
	# (a param() gave the scenario 255 of its 300 bytes): refused, alone,
	# in a list, computed on a later pass, or as a built-in's value
	refused 'local v = param("v", string.rep("x", 300))' "setting 'v': a text value of 300 bytes ('xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'): at most 255 bytes"
	refused 'param("v", {"a", string.rep("x", 256)})' "setting 'v': a text value of 256 bytes"
	refused 'local n = param("n", 1); param("w", string.rep("x", 250 + n))' "setting 'w': a text value of 256 bytes" --set n=1,6
	refused 'run { model = string.rep("m", 300) }' "setting 'model': a text value of 300 bytes"
	# 255 bytes are given whole; --set gives any length
	printf '%s\n' 'local v = param("v", string.rep("x", 255))' 'process(function() log("len", #v) end)' >"$T/s.lua"
	run run "$T/s.lua" --trace "$T/tr" --quiet; expect_rc 0
	grep -q " lua len 255$" "$T/tr" || fail "255 bytes: $(grep ' len ' "$T/tr")"
	run run "$T/s.lua" --trace "$T/tr" --quiet --set "v=$(printf '%300s' '' | tr ' ' y)"; expect_rc 0
	grep -q " lua len 300$" "$T/tr" || fail "--set of 300 bytes: $(grep ' len ' "$T/tr")"
	refused 'cluster { [1] = 2 }' "cluster{}: keys must be names"
	refused 'policy { placement = {} }' "setting 'placement': empty list of values"
	refused 'policy { placement = { {} } }' "setting 'placement': value 1 is a table, expected a number or string"
	refused 'cluster("x")' "bad argument #1 to 'cluster' (table expected, got string)"
	refused 'local x = param("nodes", 1)' "param: 'nodes' is a built-in setting; give it in cluster{}"
	refused 'local x = param("a-b", 1)' "param: bad name 'a-b' (letters, digits, _)"
	refused 'local x = param("x")' "param 'x': a default value is required"
	refused 'local x = setting("nope")' "setting: unknown setting 'nope'"
	refused 'cluster { faults = "bogus" }' "setting 'faults': faults: 'bogus' is not key=probability"
	;;
settings_values)
	# values of each kind given in the file reach the run: a size as a
	# number of bytes, fetch by name, a param with a fraction
	printf '%s\n%s\n' "$HEAD" 'cluster { nodes = 2, memory = 1073741824, bandwidth = "1G" }
policy { fetch = "cold" }
local x = param("x", 1.5)
assert(x == 1.5 and setting("memory") == 1073741824, "values")
constant { app = "web", interval = "100ms", node = 1 }' >"$T/s.lua"
	run run "$T/s.lua" --db "$T/db" --quiet; expect_rc 0
	j=$(q "$T/db" "select settings_json from runs")
	echo "$j" | grep -q '"memory":1073741824,' || fail "memory in bytes: $j"
	echo "$j" | grep -q '"fetch":"cold"' || fail "fetch=cold: $j"
	# fetch=cold: node 1 made its own template, fetched none
	[ "$(q "$T/db" "select sum(template_fetched), sum(template_made) from instances where node = 1")" = "0|1" ] ||
		fail "fetch=cold: $(q "$T/db" "select sum(template_fetched), sum(template_made) from instances where node = 1")"
	;;
declarations_refused)
	refused 'app("web", "")' "app 'web' declared twice"
	refused 'app("img", "", { image = string.rep("x", 300) })' "app 'img': image path too long"
	refused 'hosts { count = {} }' "hosts{} count: expected a number or string"
	refused 'hosts { count = 1, vcpus = "x" }' "hosts{} vcpus: bad value 'x': expected a whole number (decimal digits)"
	refused 'hosts { count = 0 }' "hosts{} count: must be > 0"
	refused 'hosts { count = 1, vcpus = 1e12 }' "hosts{}: vcpus too large"
	refused 'constant { app = "web" }' "constant{}: missing argument 'interval'"
	refused 'constant { app = "web", interval = 0 }' "constant{}: interval must be > 0"
	refused 'poisson { app = "web" }' "poisson{}: missing argument 'rate'"
	refused 'constant { app = "web", interval = 1, node = -1 }' "constant{} node: expected a node number >= 0"
	refused 'constant { app = "nope", interval = 1 }' "constant{}: unknown app 'nope' (declare it with app() first)"
	refused 'constant { interval = 1 }' "constant{}: missing argument 'app' (an app name)"
	refused 'bursts { app = "web", every = 1, size = 2, spread = 2 }' "bursts{}: spread must be shorter than every"
	refused 'trace { }' "trace{}: missing argument 'file' (a path)"
	refused 'trace { file = "/nonexistent/x" }' "trace{}: cannot open '/nonexistent/x': No such file or directory"
	refused 'cluster { nodes = 2 }; constant { app = "web", interval = "100ms", node = 5 }' "node 5 does not exist (the cluster has 2 nodes)"
	refused 'cluster { nodes = 1, vcpus = 1 }; app("big", "vcpus=2")' "app 'big' needs 2 vCPUs but the largest node has 1"
	# memory that is no whole MiB is written exactly (memory = "1K" was
	# "0 MiB"); web (64M, line 1) fits
	refused 'cluster { nodes = 1, memory = "65537K" }; app("big", "mem=128M")' "app 'big' needs 128 MiB of memory but the largest node has 65537 KiB"
	# declarations belong at the top level, not in a process
	for d in 'hosts { count = 1 }' 'poisson { app = "web", rate = 1 }' 'constant { app = "web", interval = 1 }'; do
		refused "process(function() $d end)" "${d%% *}{} is a declaration: call it at the top level"
	done
	refused 'process(function() cluster { nodes = 2 } end)' "cluster{} is a declaration: call it at the top level of the scenario"
	refused 'process(function() app("x", "") end)' "app() is a declaration: call it at the top level"
	refused 'app("", "")' "app: bad name ''"
	refused 'constant { app = "web", interval = 1, start = -1 }' "constant{} start: bad time -1.0 (must be >= 0 seconds)"
	refused 'bursts { app = "web", every = 1, size = 0.5 }' "bursts{}: size must be a whole number >= 1 (got 0.5)"
	refused 'hosts { count = 600000 }; hosts { count = 600000 }' "hosts{} declare 1200000 nodes, more than the 1000000 a simulated cluster may have"
	# a trace file's lines: each fault named with the file's line
	# (a relative path is the scenario's directory's)
	printf '0.5\n' >"$T/t1.trace"
	refused 'trace { file = "t1.trace" }' "trace{}: $T/t1.trace:1: expected 'time app [node]'"
	printf '99999999999 web\n' >"$T/t1.trace"
	refused 'trace { file = "t1.trace" }' "trace{}: $T/t1.trace:1: bad time '99999999999'"
	printf '1 web\n0.5 web\n' >"$T/t1.trace"
	refused 'trace { file = "t1.trace" }' "trace{}: $T/t1.trace:2: time goes backwards"
	;;
api_refused)
	# each misuse of the process API: exit 2 at its line
	refused 'process(function() sleep(-1) end)' "sleep: bad duration -1.0 (seconds >= 0)"
	refused 'process(function() sleep(true) end)' "sleep: expected a time, got a boolean"
	refused 'process(function() sleep("5") end)' "sleep: bad time '5' (seconds as a number, or a string with ns/us/ms/s)"
	refused 'process(function() wait("x") end)' "wait: expected an instance id"
	refused 'process(function() fork(999) end)' "fork: unknown instance 999 (not spawned or forked by this scenario)"
	# an instance's args are checked where they are given, not left to
	# fail each instance as it starts ("cold_boot refused (-22)")
	refused 'process(function() spawn("web", "bogus=1") end)' "spawn: bad args 'bogus=1' for app 'web': unknown key 'bogus'"
	refused 'process(function() spawn("web", "work=abc", 0) end)' "spawn: bad args 'work=abc' for app 'web': work=abc: expected a time"
	refused 'poisson { app = "web", rate = 1, args = "mem=-4" }' "poisson{}: bad args 'mem=-4' for app 'web'"
	refused 'bursts { app = "web", every = 1, size = 2, args = "units=x" }' "bursts{}: bad args 'units=x' for app 'web'"
	# placement and admission count the app's mem and vCPUs: an instance
	# may not ask for others (16 instances of 512M were admitted on 1G)
	refused 'process(function() spawn("web", "mem=512M") end)' "spawn: bad args 'mem=512M' for app 'web': mem differs from the app's"
	refused 'constant { app = "web", interval = 1, args = "vcpus=3" }' "constant{}: bad args 'vcpus=3' for app 'web': vcpus differs from the app's"
	# an error value that is not text still names its file:line (it was
	# "error" or "error in a process", alone on stderr)
	refused 'error({})' "error() with a table value, not a message"
	refused 'process(function() sleep(0.1) error() end)' "error() with a nil value, not a message"
	# fork() of one of the scenario's instances that is not running
	# answers nil and why, as wait() does (it raised an error: a race
	# no scenario can rule out stopped the whole sweep)
	refused 'process(function() local id = spawn("web"); wait(id); error(select(2, fork(id))) end)' "instance 1 is not running (it has ended)"
	refused 'process(function() error(select(2, fork(spawn("web")))) end)' "instance 1 is not running (not ready yet)"
	refused 'process(function() spawn("nope") end)' "spawn: unknown app 'nope'"
	refused 'process(function() wait(spawn("web", nil, 9)) end)' "spawn: bad node 9 (expected 0..0)"
	refused 'process(function() uniform(3, 2) end)' "uniform: need a <= b"
	refused 'process(function() uniform("a", 2) end)' "bad argument #1 to 'uniform' (number expected, got string)"
	refused 'process(function() exponential(0) end)' "exponential: mean must be > 0"
	refused 'process(function() uniform(1, "x") end)' "bad argument #2 to 'uniform' (number expected, got string)"
	refused 'process(function() stream("k"):uniform(3, 2) end)' "uniform: need a <= b"
	refused 'process(function() stream("k"):exponential(0) end)' "exponential: mean must be > 0"
	# one waiter per instance; wait and ready only in a process, while
	# the scenario runs (not in a coroutine of a process either)
	refused 'process(function() local id = spawn("web"); process(function() wait(id) end); wait(id) end)' "wait: instance 1 is already waited for by another process"
	refused 'process(function() local id = spawn("web"); process(function() ready(id) end); ready(id) end)' "ready: instance 1 is already awaited by another process"
	refused 'wait(1)' "wait() can only be called while the scenario runs, inside a process"
	refused 'process(function() local co = coroutine.wrap(function() sleep(1) end); co() end)' "sleep() was called from a coroutine: only a process's own function"
	;;
api_values)
	# a keyed stream's draws: the same key gives the same numbers, each
	# in its range; an exponential's mean is near its parameter
	logged 'process(function()
  local a, b = stream("k"), stream("k")
  local same, inr, sum = true, true, 0
  for i = 1, 2000 do
    local x, y = a:exponential(2), b:exponential(2)
    same = same and x == y
    inr = inr and x >= 0
    sum = sum + x
    local u = a:uniform(5, 6); b:uniform(5, 6)
    inr = inr and u >= 5 and u < 6
  end
  log("streams", tostring(same), tostring(inr), string.format("%.1f", sum / 2000))
end)'
	grep -q '^streams true true 2\.[0-1]$' "$T/log" || grep -q '^streams true true 1\.9$' "$T/log" ||
		fail "stream draws: $(cat "$T/log")"
	# ready() of an instance that exited answers at once: true (it was
	# ready); of one that failed before ready: false and why
	logged 'app("slow", "mem=64M init=5s work=1ms")
process(function()
  local id = spawn("web"); wait(id)
  log("after", tostring(ready(id)))
  local s = spawn("slow"); kill(s)
  local ok, why = ready(s)
  log("killed", tostring(ok), tostring(why ~= nil))
end)'
	grep -q '^after true$' "$T/log" || fail "ready() after the exit: $(cat "$T/log")"
	grep -q '^killed false true$' "$T/log" || fail "ready() of a killed instance: $(cat "$T/log")"
	# wait() of an instance killed while it waits: nil and why
	logged 'app("slow", "mem=64M init=5s work=1ms")
process(function()
  local s = spawn("slow")
  process(function() sleep(0.1); kill(s) end)
  local st, why = wait(s)
  log("waited", tostring(st), why)
end)'
	grep -q '^waited nil killed$' "$T/log" || fail "wait() of an instance killed meanwhile: $(cat "$T/log")"
	# hundreds of instances in flight from one process: every wait()
	# returns its own instance's status
	logged 'process(function()
  local ids, ok = {}, 0
  for i = 1, 300 do ids[i] = spawn("web") end
  for i = 1, 300 do if wait(ids[i]) == 0 then ok = ok + 1 end end
  log("waited", ok, ids[300] - ids[1])
end)'
	grep -q '^waited 300 299$' "$T/log" || fail "300 instances: $(cat "$T/log")"
	# plain coroutines work inside a process; their random() draws
	# from the scenario's stream; uniform(a, b, s) is s:uniform(a, b)
	logged 'process(function()
  local co = coroutine.create(function(a) coroutine.yield(a + 1) end)
  local ok, v = coroutine.resume(co, 1)
  local x = coroutine.wrap(function() return random() end)()
  log("co", tostring(ok), v, tostring(x >= 0 and x < 1))
  log("u", tostring(uniform(0, 1, stream("k")) == stream("k"):uniform(0, 1)))
end)'
	grep -q '^co true 2 true$' "$T/log" || fail "coroutines in a process: $(cat "$T/log")"
	grep -q '^u true$' "$T/log" || fail "uniform with a stream: $(cat "$T/log")"
	# an arrival's args reach its instances (here their work time) and
	# only theirs
	printf '%s\n%s\n' "$HEAD" 'run { duration = "2s" }
constant { app = "web", interval = "500ms", args = "work=300ms" }
constant { app = "web", interval = "500ms" }' >"$T/a.lua"
	run run "$T/a.lua" --db "$T/a.db" --quiet; expect_rc 0
	[ "$(q "$T/a.db" "select sum(t_exit - t_ready > 100000000) || ' ' || sum(t_exit - t_ready < 50000000) from instances")" = "4 4" ] ||
		fail "args=work=300ms: work times $(q "$T/a.db" "select group_concat((t_exit - t_ready) / 1000000) from instances") ms"
	;;
sweep_refused)
	# a sweep runs the scenario once per point: what it declares must
	# not change from the first pass, except single values computed from
	# a param(), each checked at its point
	refused 'local x = param("x", 1); if x == 2 then cluster { nodes = 3 } end' "setting 'nodes' was not declared on the first pass" --set x=1,2
	refused 'local x = param("x", 1); cluster { nodes = (x == 1) and 3 or { 3, 4 } }' "setting 'nodes': this list of values differs from the one of the first pass" --set x=1,2
	refused 'local x = param("x", 1); cluster { nodes = (x == 1) and { 3, 4 } or 3 }' "setting 'nodes': one value here but a list on the first pass" --set x=1,2
	refused 'local x = param("x", 1); cluster { nodes = (x == 1) and 3 or "bad" }' "setting 'nodes': bad value 'bad': expected a whole number (decimal digits)" --set x=1,2
	refused 'local x = param("x", 1); policy { placement = (x == 1) and "local" or "bogus" }' "setting 'placement': unknown placement policy 'bogus'" --set x=1,2
	;;
set_refused)
	# --set forms that are not name=value
	for v in =5 x= nodes=; do
		run run "$S/ok.lua" --set "$v" --db "$T/db"
		expect_rc 2; expect_err "ukfork run: --set $v: expected name=value[,value...]"
		no_runs "$T/db"
	done
	# a name too long is named as such (it was cut to 127 bytes: another name)
	run run "$S/ok.lua" --set "$(printf '%130s' '' | tr ' ' n)=1" --db "$T/db"
	expect_rc 2; expect_err "a name of 130 bytes (at most 127)"; no_runs "$T/db"
	run run "$S/ok.lua" --set 'a b=1' --db "$T/db"
	expect_rc 2; expect_err "--set a b=1: unknown setting 'a b'"; no_runs "$T/db"
	# an empty number is no number
	run run "$S/ok.lua" --seed '' --db "$T/db"
	expect_rc 2; expect_err "ukfork run: --seed: bad number ''"; no_runs "$T/db"
	run run "$S/ok.lua" --reps '' --db "$T/db"
	expect_rc 2; expect_err "ukfork run: --reps: expected 1..1000000, got ''"; no_runs "$T/db"
	run run "$S/ok.lua" --backend bogus --db "$T/db"
	expect_rc 2; expect_err "--backend: unknown backend 'bogus' (valid: sim, kvm)"; no_runs "$T/db"
	# nodes out of range: one message, with the prefix, whichever side
	# (-1 said "whole number >= 0", 0 "1..1000000" without the prefix)
	for v in -1 0 1000001 4,0; do
		run run "$S/ok.lua" --set nodes=$v --db "$T/db"
		expect_rc 2; expect_err "ukfork run: --set nodes=$v: bad value '${v#4,}' for 'nodes': expected a count of nodes from 1 to 1000000"
		no_runs "$T/db"
	done
	run run "$S/ok.lua" --cluster "$T/nope.conf" --db "$T/db"
	expect_rc 2; expect_err "ukfork run: --cluster: $T/nope.conf: No such file or directory"; no_runs "$T/db"
	;;
scenario_files)
	# a directory is no scenario; --db may not name the scenario
	run run "$T" --db "$T/db"; expect_rc 2
	expect_err "ukfork run: cannot read scenario '$T': Is a directory"; no_runs "$T/db"
	cp "$S/ok.lua" "$T/s.lua"
	run run "$T/s.lua" --db "$T/s.lua"; expect_rc 2
	expect_err "--db $T/s.lua is the scenario file itself"
	cmp -s "$S/ok.lua" "$T/s.lua" || fail "the scenario was overwritten"
	# a byte order mark and a #! line are skipped as Lua skips them; line
	# numbers stay the file's
	printf '\357\273\277#!/usr/bin/env ukfork\n%s\nerror("on line 3")\n' "$HEAD" >"$T/bom.lua"
	run run "$T/bom.lua" --db "$T/db"; expect_rc 2
	expect_err "bom.lua:3: on line 3"; no_runs "$T/db"
	printf '#!/usr/bin/env ukfork\n%s\nconstant { app = "web", interval = "1s" }\n' "$HEAD" >"$T/bang.lua"
	run run "$T/bang.lua" --db "$T/db" --quiet; expect_rc 0
	[ "$(q "$T/db" "select count(*) from instances")" -gt 0 ] || fail "the #! scenario ran no request"
	;;
subcommands)
	run agent; expect_rc 2; expect_err "usage: ukfork agent status --cluster FILE"
	run agent --help; expect_rc 0; expect_out "usage: ukfork agent status --cluster FILE"
	[ -s "$T/err" ] && fail "agent --help wrote on stderr"
	run agent frob; expect_rc 2; expect_err "ukfork agent: unknown subcommand 'frob' (valid: status)"
	run report "$T/x.db" --plot; expect_rc 2; expect_err "ukfork report: --plot needs a directory"
	run report "$T/x.db" --frob; expect_rc 2; expect_err "ukfork report: unknown option '--frob'"
	# `--plot --json` made a directory named --json and printed text
	(cd "$T" && "$UKFORK" report x.db --plot --json >out 2>err); rc=$?
	expect_rc 2; expect_err "ukfork report: --plot needs a directory, got the option '--json'"
	[ -e "$T/--json" ] && fail "report --plot --json made a directory --json"
	# "--" ends the options: a database named -x.db is read
	run run "$S/ok.lua" --db "$T/ok.db" --quiet; expect_rc 0
	cp "$T/ok.db" "$T/-d.db"
	(cd "$T" && "$UKFORK" report -- -d.db >out 2>err); rc=$?
	expect_rc 0; expect_out "ukfork report: -d.db (results schema 1)"
	[ -e "$T/x.db" ] && fail "a refused report created its database"
	run keys --help
	if [ "$rc" -ne 0 ] && grep -q "not built" "$T/err"; then
		echo "SKIP: ukfork built without the agent"; exit 77
	fi
	expect_rc 0; expect_out "usage: ukfork keys NAME"
	run testbed --help; expect_rc 0; expect_out "usage: ukfork testbed COMMAND"
	;;
settings_json)
	# a setting's text with a quote, a backslash and a tab is stored as
	# valid JSON that reads back as given
	f=$(printf '%s/m"o\\d\tel.conf' "$T")
	cp "$S/../../../data/model.conf" "$f" || fail "cannot copy data/model.conf"
	run run "$S/ok.lua" --set "model=$f" --db "$T/db" --quiet; expect_rc 0
	[ "$(q "$T/db" "select json_valid(settings_json) from runs")" = 1 ] ||
		fail "settings_json is not JSON: $(q "$T/db" "select settings_json from runs")"
	# (the path through a file: sqlite3's quoting of the tab and quote)
	printf "select json_extract(settings_json, '\$.model') from runs;\n" >"$T/q.sql"
	[ "$(sqlite3 "$T/db" <"$T/q.sql")" = "$f" ] ||
		fail "model read back as '$(sqlite3 "$T/db" <"$T/q.sql")', given '$f'"
	# injected faults are part of a run's settings (a sweep over them
	# tells its runs apart by them)
	run run "$S/ok.lua" --set "faults=boot=0.05 crash=0.01" --db "$T/f.db" --quiet; expect_rc 0
	[ "$(q "$T/f.db" "select json_extract(settings_json, '\$.faults') from runs")" = "boot=0.05 crash=0.01" ] ||
		fail "faults not stored: $(q "$T/f.db" "select settings_json from runs")"
	# network{} too (the simulated fabric a run had is part of its
	# settings): each run stores the values it was given
	for r in 1 2; do
		printf '%s\n' 'cluster { nodes = 2 }' "network{ racks = $r, rack_uplink = \"100M\" }" \
			'app("a", "mem=64M init=1ms work=1ms")' 'process(function() wait(spawn("a")) end)' >"$T/n$r.lua"
		run run "$T/n$r.lua" --db "$T/n.db" --quiet; expect_rc 0
	done
	[ "$(q "$T/n.db" "select group_concat(json_extract(settings_json, '\$.network.racks') || '/' || json_extract(settings_json, '\$.network.rack_uplink_Bps') || '/' || json_extract(settings_json, '\$.network.sharing'), ',') from runs")" = "1/104857600/max-min,2/104857600/max-min" ] ||
		fail "network{} not stored: $(q "$T/n.db" "select settings_json from runs")"
	;;
progress_tty)
	# on a terminal, a run longer than a second shows its progress (the
	# world time reached); with --quiet, or off a terminal, nothing
	command -v script >/dev/null || { echo "SKIP: no script(1)"; exit 77; }
	# each step sleeps 0.3 s of wall-clock time (the shell's sleep,
	# --trusted): at least 1.5 s in all, however loaded the machine (a
	# CPU-bound loop took over 60 s under load in a gcov build)
	printf '%s\n' 'run { duration = "10s" }' 'process(function()' \
		'  for i = 1, 5 do os.execute("sleep 0.3"); sleep(1) end' \
		'end)' >"$T/slow.lua"
	script -qec "\"$UKFORK\" run \"$T/slow.lua\" --trusted --db \"$T/db\"" "$T/tty" >/dev/null 2>&1 ||
		fail "the run failed on a terminal: $(cat "$T/tty")"
	grep -q "rep 0: [0-9.]* / 10.000 s world time, [0-9]* events" "$T/tty" || fail "no progress line: $(cat "$T/tty")"
	script -qec "\"$UKFORK\" run \"$T/slow.lua\" --trusted --quiet" "$T/tty2" >/dev/null 2>&1 ||
		fail "the quiet run failed on a terminal"
	grep -q "world time" "$T/tty2" && fail "--quiet showed progress: $(cat "$T/tty2")"
	run run "$T/slow.lua" --trusted; expect_rc 0
	grep -q "world time" "$T/err" && fail "progress on a stderr that is no terminal"
	exit 0
	;;
summary_template_boots)
	# prewarm boots the app's template on each node at start: those boots
	# are the engine's own VMs, no requests: their rows are in
	# template_boots, and the summary counts the 3 requests (the parent
	# from node 0's template, 2 forks) - 3 requests, cold fraction 0, not
	# 5 requests with 2 cold. (A remote fork no longer boots a template
	# under fetch=cold: its child fetches the parent's own version.)
	printf '%s\n' 'cluster { nodes = 2 }' \
		'policy { placement = "round-robin", templates = "prewarm", prewarm = 1, fetch = "cold" }' \
		'app("fanout", "mem=64M init=20ms work=20ms dirty=256 fork=2 units=1")' \
		'process(function() wait(spawn("fanout", nil, 0)) end)' >"$T/tb.lua"
	run run "$T/tb.lua" --db "$T/db"; expect_rc 0
	tb=$(q "$T/db" "select group_concat(node || ':' || template_made || ':' || status, ',') from (select * from template_boots order by node)")
	[ "$(q "$T/db" "select count(*) from instances")|$tb" = "3|0:1:0,1:1:0" ] ||
		fail "rows: $(q "$T/db" "select count(*) from instances") instances, template boots '$tb'"
	# ... and shows the 2 template boots apart (tboots), every request
	# ready (ready 1.000)
	grep -Eq '^default +1 +3 +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +0\.000 +0 +1\.000 +2$' "$T/out" ||
		fail "summary: $(cat "$T/out")"
	;;
progress_eta)
	# --progress: the ETA in the unit that fits it. Each world second
	# costs 0.4 s of wall-clock time (sleep(1) of the shell, --trusted;
	# a CPU-bound loop took 15 s per second under load and made it
	# hours), so a run of 1000 s of world time is minutes away (7-60 m)
	# and one of 100000 s hours; the scenario stops itself after 3 steps
	# with an error (exit 2 at its line)
	for d in 1000:'m[0-5][0-9]s' 100000:'h[0-5][0-9]m'; do
		printf '%s\nrun { duration = "%ss" }\n%s\n' "$HEAD" "${d%%:*}" 'process(function() for i = 1, 3 do os.execute("sleep 0.4"); sleep(1) end; error("enough") end)' >"$T/p.lua"
		run run "$T/p.lua" --progress --trusted; expect_rc 2; expect_err "p.lua:3: enough"
		grep -Eq "^point 1/1, run 1/1: default rep 0: [0-9.]+ / ${d%%:*}\\.000 s world time, .*, ETA [1-9][0-9]*${d#*:}\$" "$T/err" ||
			fail "no ETA in the form [1-9][0-9]*${d#*:} for ${d%%:*} s"
	done
	;;
seed_random)
	# a seed computed from random draws changes when the scenario runs
	# with it: refused at its line, nothing stored
	refused 'run { seed = math.floor(random() * 1000000) + 1 }' "setting 'seed' changed when the scenario ran with it (it must not depend on random draws)"
	;;
stuck_many)
	# 12 processes still in wait() at the end: the first 10 named with
	# their line, then how many more, on stderr and in the trace
	printf '%s\n%s\n' "$HEAD" 'app("slow", "mem=64M init=50s work=1ms")
run { duration = "1s" }
for i = 1, 12 do process(function() wait(spawn("slow")) end) end' >"$T/s.lua"
	run run "$T/s.lua" --trace "$T/trace" --quiet; expect_rc 0
	expect_err "default rep 0: warning: process 9 still suspended in wait(10) at $T/s.lua:4 when the run ended"
	expect_err "default rep 0: warning: 2 more processes still suspended in wait() or ready()"
	[ "$(grep -c 'still suspended in wait([0-9]' "$T/err")" = 10 ] || fail "not 10 processes named"
	grep -q '^1\.000000000 run warning: 2 more processes still suspended' "$T/trace" ||
		fail "the trace lacks the count of the others: $(grep warning "$T/trace")"
	;;
db_damaged)
	# a database that is not ukfork's, or whose instances table is not
	# ukfork's: the run fails naming the file and the cause, adds no run
	cp "$S/ok.lua" "$T/s.lua"
	sqlite3 "$T/x.db" "create table runs(x)"
	run run "$T/s.lua" --db "$T/x.db"; expect_rc 1
	expect_err "ukfork run: $T/x.db: a SQLite database, but not a ukfork results database (no ukfork meta table)"
	[ "$(q "$T/x.db" "select count(*) from runs")" = 0 ] || fail "a run stored in the foreign database"
	run run "$T/s.lua" --db "$T/db" --quiet; expect_rc 0
	q "$T/db" "drop table instances; create table instances(x)"
	run run "$T/s.lua" --db "$T/db"; expect_rc 1
	expect_err "ukfork run: $T/db: preparing statements: table instances has 1 columns"
	[ "$(q "$T/db" "select count(*) from runs")" = 1 ] || fail "a run added to the damaged database"
	# a time that is not an integer (a hand edit): report refuses it,
	# naming the row (it counted the row as completed, with a negative
	# mean latency)
	rm -f "$T/db"
	run run "$T/s.lua" --db "$T/db" --quiet; expect_rc 0
	q "$T/db" "update instances set t_ready = 'abc' where id = 2"
	run report "$T/db"; expect_rc 1
	expect_err "instances: 1 row(s) with a time or status that is not an integer (the first: run 1, id 2, column t_ready): not rows ukfork wrote"
	;;
usage_more)
	# report takes one database; agent status needs its cluster file;
	# validate needs a scenario
	run report "$T/a.db" "$T/b.db"; expect_rc 2
	expect_err "ukfork report: one database only (extra argument '$T/b.db')"
	[ -e "$T/a.db" ] && fail "a refused report created its database"
	run agent status
	if grep -q "not built" "$T/err"; then echo "SKIP: ukfork built without the agent"; exit 77; fi
	expect_rc 2; expect_err "ukfork agent status: --cluster FILE is required"
	run agent status --cluster --timeout 3; expect_rc 2
	expect_err "ukfork agent status: --cluster needs a value (found the option '--timeout')"
	run validate; expect_rc 2; expect_err "ukfork validate: missing SCENARIO.lua (or --from-db DB)"
	;;
db_busy)
	# another process holds the database's write lock (sqlite3 here, as
	# a run of another ukfork run does while it lasts): the run waits
	# for it and says so on stderr after 2 s (it looked hung), then
	# stores its run. The holder lets go once the message is there (at
	# most 60 s: then the message is missing and the case fails)
	run run "$S/ok.lua" --db "$T/db" --quiet; expect_rc 0
	printf '%s\n' 'BEGIN IMMEDIATE;' ".shell touch '$T/held'; i=0; while [ \$i -lt 600 ] && ! grep -q waiting '$T/err'; do sleep 0.1; i=\$((i + 1)); done" 'COMMIT;' |
		sqlite3 "$T/db" >/dev/null 2>&1 &
	holder=$!
	i=0; while [ ! -f "$T/held" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
	[ -f "$T/held" ] || fail "sqlite3 did not take the lock"
	run run "$S/ok.lua" --db "$T/db" --quiet
	wait "$holder"
	expect_rc 0
	expect_err "ukfork: $T/db: waiting for another process that is writing to it (another run's end; up to 10 minutes)"
	[ "$(grep -c waiting "$T/err")" = 1 ] || fail "the wait is not said once"
	[ "$(q "$T/db" "select count(*) from runs")" = 2 ] || fail "the run was not stored after the wait"
	# the wait (2 s at least: the message comes after 2 s) is not the
	# run's: its wall_s was 2 s and more
	w=$(q "$T/db" "select wall_s < 1.5 from runs where id = 2")
	[ "$w" = 1 ] || fail "wall_s $(q "$T/db" "select wall_s from runs where id = 2") s counts the wait for the lock"
	;;
interrupt)
	# SIGINT (Ctrl-C) or SIGTERM in a sweep's second run: the first run
	# stays stored, the second is not, a word on stderr, and the process
	# dies of the signal as before (130, 143)
	printf '%s\n' 'cluster { nodes = 4 }' 'local r = param("r", 1)' \
		'run { duration = r == 1 and "1s" or "100000s" }' \
		'app("web", "mem=16M init=1ms work=1ms")' 'poisson { app = "web", rate = 2000 }' >"$T/i.lua"
	for sig in INT TERM; do
		rm -f "$T/db"
		# a script's background job ignores SIGINT: env gives it back
		env --default-signal=INT "$UKFORK" run "$T/i.lua" --set r=1,2 --db "$T/db" >"$T/out" 2>"$T/err" &
		p=$!
		i=0
		while ! { [ -s "$T/db" ] && [ "$(sqlite3 -readonly "$T/db" "select count(*) from runs" 2>/dev/null)" = 1 ]; } && [ $i -lt 600 ]; do
			sleep 0.1; i=$((i + 1))
		done
		sleep 0.5 # into the second run
		kill -"$sig" "$p"
		wait "$p"; rc=$?
		want=130; [ "$sig" = TERM ] && want=143
		[ "$rc" = "$want" ] || fail "SIG$sig: exit status $rc, expected $want: $(cat "$T/err")"
		expect_err "interrupted (SIG$sig) at "
		expect_err "this run is not stored"
		[ "$(q "$T/db" "select count(*) || ' ' || group_concat(config) from runs")" = "1 r=1" ] ||
			fail "SIG$sig: runs stored: $(q "$T/db" "select config from runs")"
		# the first run's line (stdout, a file: buffered) is not lost
		expect_out "run r=1 rep 0: "
	done
	;;
db_readonly)
	# a database this user may not write is refused when it is opened,
	# naming why, not at the first run with "attempt to write a readonly
	# database" (or "cannot read" from the schema check): a read-only
	# file, and a writable file in a directory where its DB-wal and
	# DB-shm cannot be made; exit 1, nothing stored
	as_other() {
		if [ "$(id -u)" = 0 ]; then
			setpriv --reuid=65534 --regid=65534 --clear-groups "$UKFORK" "$@" >"$T/out" 2>"$T/err"; rc=$?
		else
			run "$@"
		fi
	}
	[ "$(id -u)" != 0 ] || command -v setpriv >/dev/null || { echo "SKIP: root without setpriv"; exit 77; }
	mkdir "$T/ro"
	run run "$S/ok.lua" --db "$T/ro/db" --quiet; expect_rc 0
	# the other user reads the scenario from $T: the checkout may sit in
	# a directory only its owner can enter (a clone into `mktemp -d`)
	cp "$S/ok.lua" "$T/ok.lua" && chmod 644 "$T/ok.lua"
	chmod 755 "$T" "$T/ro"; chmod 444 "$T/ro/db"
	as_other run "$T/ok.lua" --db "$T/ro/db" --quiet
	expect_rc 1; expect_err "ukfork run: $T/ro/db: cannot write: no write permission on the file"
	chmod 555 "$T/ro"; chmod 666 "$T/ro/db"
	as_other run "$T/ok.lua" --db "$T/ro/db" --quiet
	chmod 755 "$T/ro"
	expect_rc 1; expect_err "ukfork run: $T/ro/db: cannot write: attempt to write a readonly database (DB-wal and DB-shm must be created beside it: no write permission on its directory?)"
	[ "$(q "$T/ro/db" "select count(*) from runs")" = 1 ] || fail "a run was stored"
	;;
db_write_fail)
	# a write to the database that fails (a trigger raises "disk full")
	# while the run is recorded, when an instance ends, when a node is
	# sampled: the run fails (exit 1) naming the database and what it
	# was writing, and is not stored - the database keeps its one run
	printf 'run { sample_every = "100ms" }\n' >"$T/s.lua"
	cat "$S/ok.lua" >>"$T/s.lua"
	for w in runs:'the run' instances:'an instance' samples:'a sample'; do
		rm -f "$T/db"
		run run "$T/s.lua" --db "$T/db" --quiet; expect_rc 0
		q "$T/db" "create trigger full before insert on ${w%%:*} begin select raise(abort, 'database or disk is full'); end"
		run run "$T/s.lua" --db "$T/db" --quiet; expect_rc 1
		expect_err "database: $T/db: recording ${w#*:}: database or disk is full"
		[ "$(q "$T/db" "select count(*) from runs")" = 1 ] ||
			fail "writes to ${w%%:*} failed, yet $(q "$T/db" "select count(*) from runs") runs stored"
	done
	# the last write of a run (its totals) failing: the same
	q "$T/db" "drop trigger full"
	q "$T/db" "create trigger full before update on runs begin select raise(abort, 'database or disk is full'); end"
	run run "$T/s.lua" --db "$T/db" --quiet; expect_rc 1
	expect_err "database: $T/db: finishing the run: database or disk is full"
	[ "$(q "$T/db" "select count(*) from runs")" = 1 ] ||
		fail "finishing the run failed, yet $(q "$T/db" "select count(*) from runs") runs stored"
	# a new database that cannot be made (a file size limit of 0: its
	# writes fail as on a full disk) fails the run naming it, and is not
	# left behind empty (0 bytes, a file `ukfork report` refuses)
	rm -f "$T/new.db"
	msg=$(sh -c 'trap "" XFSZ; ulimit -f 0; "$1" run "$2" --db "$3" --quiet >/dev/null; echo "rc=$?"' \
	    sh "$UKFORK" "$S/ok.lua" "$T/new.db" 2>&1)
	case $msg in
	"ukfork run: $T/new.db: "*"rc=1") ;;
	*) fail "a database that cannot be made: $msg" ;;
	esac
	[ ! -e "$T/new.db" ] || fail "an empty database left behind ($(wc -c <"$T/new.db") bytes)"
	;;
run_outputs)
	# more than 100000 sweep points are refused before anything runs
	printf '%s\n%s\n' "$HEAD" 'local a, b = param("a", 1), param("b", 1)' >"$T/s.lua"
	run run "$T/s.lua" --set "a=$(seq -s, 1 400)" --set "b=$(seq -s, 1 400)" --db "$T/db"
	expect_rc 2; expect_err "ukfork run: 160000 sweep points: too many"; no_runs "$T/db"
	# eight lists of 256 values: 2^64 points, which wrapped around to 0
	# (no run, exit 0), are refused as well
	printf '%s\n' 'local function seq(n) local t = {} for i = 1, n do t[i] = i end return t end' \
		'for i = 1, 8 do param("p" .. i, seq(256)) end' >"$T/s.lua"
	run run "$T/s.lua" --db "$T/db"
	expect_rc 2; expect_err "ukfork run: more than 16777216 sweep points: too many (at most 100000)"; no_runs "$T/db"
	# a trace that cannot be written (a full disk) fails the run
	run run "$S/ok.lua" --trace /dev/full --quiet; expect_rc 1
	expect_err "ukfork run: writing the trace '/dev/full' failed: No space left on device"
	# so does a summary that cannot be written (without --db, the only
	# result): exit 1 naming the error, and where the runs are if stored
	"$UKFORK" run "$S/ok.lua" >/dev/full 2>"$T/err"; rc=$?
	expect_rc 1; expect_err "ukfork run: writing the output failed: No space left on device"
	"$UKFORK" run "$S/ok.lua" --db "$T/full.db" >/dev/full 2>"$T/err"; rc=$?
	expect_rc 1; expect_err "writing the output failed: No space left on device (the runs are stored in $T/full.db)"
	[ "$(q "$T/full.db" "select count(*) from runs")" = 1 ] || fail "the run was not stored"
	"$UKFORK" run "$S/ok.lua" --quiet >/dev/full 2>"$T/err"; rc=$?
	expect_rc 0
	# coroutine.yield in a process woken from sleep() is refused at its
	# line, as on its first step
	refused 'process(function() sleep(1); coroutine.yield(5) end)' "coroutine.yield is reserved: a process suspends itself only through sleep, wait or ready"
	;;
read_errors)
	# a trace file that opens but cannot be read (/proc/self/mem: EIO
	# at offset 0) is refused at its line, not taken as an empty trace
	refused 'trace { file = "/proc/self/mem" }' "trace{}: reading '/proc/self/mem' failed: Input/output error"
	# a spawn whose argument string is too long for an instance (over
	# 511 bytes) and a fork past max_children are refused at their
	# line, naming the call
	refused 'process(function() spawn("web", string.rep("x", 2048)) end)' "spawn: bad args 'xxxx"
	refused 'app("long", "mem=64M init=1ms work=10s"); policy { max_children = 1 }; process(function() local id = spawn("long"); ready(id); fork(id); fork(id) end)' "fork 1: Resource temporarily unavailable"
	# `ukfork testbed` when bash cannot be started says so (exit 1)
	env PATH=/nonexistent "$UKFORK" testbed up >"$T/out" 2>"$T/err"
	rc=$?; expect_rc 1
	expect_err "ukfork testbed: cannot run "
	expect_err "testbed.sh: No such file or directory"
	;;
refusals_more)
	# --max-instructions takes a count only (decimal digits)
	run run "$S/ok.lua" --max-instructions 1e9 --db "$T/db"
	expect_rc 2; expect_err "ukfork run: --max-instructions: expected a count (0: no limit), got '1e9'"
	no_runs "$T/db"
	# an arrival whose argument string is too long for an instance:
	# refused at the declaration's line before any run, nothing stored
	refused 'constant { app = "web", interval = "100ms", args = string.rep("x", 2048) }' "constant{}: bad args 'xxxx"
	expect_err "2048 bytes, at most 511"
	# --backend kvm: an image path that fits as written but not once
	# made relative to the scenario's directory is refused at its app()
	printf '%s\n' 'app("web", "mem=64M", { image = "d/" .. string.rep("a", 250) })' \
		'constant { app = "web", interval = "1s" }' >"$T/im.lua"
	run run "$T/im.lua" --backend kvm --db "$T/im.db"
	expect_rc 2; expect_err "$T/im.lua:1: app 'web': guest image path too long"
	no_runs "$T/im.db"
	# cores: the simulator's only, and a count that fits
	run run "$S/ok.lua" --backend kvm --set cores=2 --db "$T/c.db"
	expect_rc 2; expect_err "--set cores=2: setting 'cores': only the simulator models host cores"
	run run "$S/ok.lua" --set cores=4294967296 --db "$T/c.db"
	expect_rc 2; expect_err "--set cores=4294967296: setting 'cores': a count of cores per host, >= 0"
	no_runs "$T/c.db"
	;;
network_refused)
	# each refusal of network{} at its line, nothing stored: in a
	# process, twice, an unknown key, sharing not one of its two names,
	# racks not a whole number of 1.., bandwidths without racks, racks
	# with the per-link model, a bandwidth of the wrong type or text
	refused 'process(function() network{} end)' "network{} is a declaration: call it at the top level of the scenario"
	refused 'network{}; network{ racks = 1 }' "network{} given twice (first at $T/s.lua:2)"
	refused 'network{ bogus = 1 }' "network{}: unknown argument 'bogus' (valid: sharing, racks, rack_uplink, core)"
	refused 'network{ [1] = 2 }' "network{}: keys must be names"
	refused 'network("x")' "bad argument #1 to 'network' (table expected, got string)"
	refused 'network{ sharing = 5 }' "network{}: bad value sharing=5 (valid: max-min, per-link)"
	refused 'network{ sharing = "fair" }' "network{}: bad value sharing=fair (valid: max-min, per-link)"
	refused 'network{ racks = 1.5 }' "network{}: bad value racks=1.5 (a whole number of racks, 1..nodes)"
	refused 'network{ racks = 0 }' "network{}: bad value racks=0 (a whole number of racks, 1..nodes)"
	refused 'network{ racks = "2" }' "network{}: bad value racks=2 (a whole number of racks, 1..nodes)"
	refused 'network{ racks = 1000001 }' "network{}: bad value racks=1000001 (a whole number of racks, 1..nodes)"
	refused 'network{ rack_uplink = "1G" }' "network{}: rack_uplink and core need racks (racks = R)"
	refused 'network{ core = 1000 }' "network{}: rack_uplink and core need racks (racks = R)"
	refused 'network{ racks = 1, sharing = "per-link" }' "network{}: racks need sharing = \"max-min\" (the per-link model has no racks)"
	refused 'network{ racks = 1, core = {} }' "network{}: core must be a bandwidth, not a table"
	refused 'network{ racks = 1, rack_uplink = print }' "network{}: rack_uplink must be a bandwidth, not a function"
	refused 'network{ racks = 1, rack_uplink = "fast" }' "network{}: bad value rack_uplink=fast: expected bytes/s: a number or a size like \"1G\" (per second)"
	refused 'network{ racks = 1, core = 0 }' "network{}: bad value core=0: bandwidth must be > 0"
	refused 'network{ racks = 1, core = -5 }' "network{}: bad value core=-5: expected a size >= 0"
	# more racks than nodes: refused when the world is made, at the
	# network{} line, for the point that has too few nodes
	refused 'network{ racks = 3 }' "network{}: racks=3 is more than the 1 nodes"
	refused 'cluster { nodes = 2 }; network{ racks = 2, sharing = "max-min" }' "network{}: racks=2 is more than the 1 nodes" --set nodes=2,1
	# a sweep runs the scenario once per point: one network{} each is
	# no "given twice"; per-link alone (no racks) is the plain model
	printf '%s\n%s\n' "$HEAD" 'local x = param("x", 1)
network{ sharing = "per-link" }
process(function() wait(spawn("web")) end)' >"$T/sw.lua"
	run run "$T/sw.lua" --set x=1,2 --db "$T/sw.db" --quiet; expect_rc 0
	[ "$(q "$T/sw.db" "select group_concat(json_extract(settings_json, '\$.network.sharing') || '/' || json_extract(settings_json, '\$.network.racks'), ',') from runs")" = "per-link/0,per-link/0" ] ||
		fail "network{} in a sweep: $(q "$T/sw.db" "select settings_json from runs")"
	;;
outage_refused)
	# the outage calls: a node of the cluster (a whole number 0..N-1),
	# a string reason, only while the scenario runs and in a process
	# itself, and a change of state only (a failed node fails once)
	for f in fail_node recover_node fail_link recover_link node_state; do
		refused "$f(0)" "$f() can only be called while the scenario runs, inside a process"
		refused "process(function() $f(1) end)" "$f: bad node 1 (expected 0..0)"
	done
	refused 'process(function() fail_node(-1) end)' "fail_node: bad node -1 (expected 0..0)"
	refused 'process(function() recover_node(0.5) end)' "recover_node: bad node 0.5 (expected 0..0)"
	refused 'process(function() fail_link(nil) end)' "fail_link: bad node nil (expected 0..0)"
	refused 'process(function() node_state("x") end)' "node_state: bad node x (expected 0..0)"
	refused 'process(function() fail_node(0, {}) end)' "bad argument #2 to 'fail_node' (string expected, got table)"
	refused 'process(function() fail_link(0, {}) end)' "bad argument #2 to 'fail_link' (string expected, got table)"
	refused 'process(function() local co = coroutine.wrap(function() fail_node(0) end); co() end)' "fail_node() was called from a coroutine: only a process's own function (process(function() ... end)) may call it"
	refused 'process(function() fail_node(0); fail_node(0) end)' "fail_node(0): node 0 has already failed"
	refused 'process(function() recover_node(0) end)' "recover_node(0): node 0 has not failed"
	refused 'process(function() fail_link(0); recover_node(0) end)' "recover_node(0): node 0 has not failed"
	refused 'process(function() recover_link(0) end)' "recover_link(0): node 0's link has not failed"
	refused 'process(function() fail_node(0); recover_link(0) end)' "recover_link(0): node 0's link has not failed"
	refused 'process(function() fail_link(0); fail_link(0) end)' "fail_link(0): node 0 is already cut off"
	refused 'process(function() fail_node(0); fail_link(0) end)' "fail_link(0): node 0 is already failed"
	# a spawn with a failed node named is refused at its line
	refused 'cluster { nodes = 2 }; process(function() fail_node(1); spawn("web", nil, 1) end)' "spawn 'web': node 1 has failed (fail_node): it takes no requests until recover_node"
	;;
outage_values)
	# a node failed then recovered, a link cut then restored: node_state
	# at each step; the failed node's instances end as failed with
	# "node 1 lost: WHY" (wait returns nil and it; "failed" without a
	# reason), stored so; the other node's instance runs on; the node
	# takes work again once recovered; the trace logs each change
	run run "$S/outage.lua" --db "$T/db" --trace "$T/trace" --quiet; expect_rc 0
	sed -n 's/^[0-9.]* lua //p' "$T/trace" | tr '\n' ';' >"$T/log"
	[ "$(cat "$T/log")" = "state up;state failed;waited nil node 1 lost: power;spawn-on-failed false;state up;state cut;state up;waited nil node 1 lost: failed;after 0;" ] ||
		fail "log: $(cat "$T/log")"
	[ "$(q "$T/db" "select group_concat(id || ':' || node || ':' || status || ':' || ifnull(fail_reason, '-'), ',') from (select * from instances order by id)")" = "1:1:-1000:node 1 lost: power,2:0:0:-,3:1:-1000:node 1 lost: failed,4:1:0:-" ] ||
		fail "rows: $(q "$T/db" "select id, node, status, fail_reason from instances")"
	for l in ' 1 node-fail node=1 reason=power' ' 1 node-recover' ' 0 link-fail node=0 reason=cable' ' 0 link-recover' ' 1 node-fail node=1 reason=failed'; do
		grep -q -F -e "$l" "$T/trace" || fail "the trace lacks '$l'"
	done
	;;
bool_values)
	# a Lua boolean is no time, size or bandwidth (it came through as 0
	# or 1: 1 byte/s): refused at its line naming the setting
	refused 'cluster { bandwidth = true }' "setting 'bandwidth': bad value 'true': expected bytes/s, not a boolean"
	refused 'cluster { latency = false }' "setting 'latency': bad value 'false': expected a time, not a boolean"
	refused 'cluster { memory = true }' "setting 'memory': bad value 'true': expected a size, not a boolean"
	refused 'cluster { nodes = 2 }; network{ racks = 1, rack_uplink = true }' "network{}: bad value rack_uplink=true: expected bytes/s, not a boolean"
	;;
outage_requester)
	# a request node 1 made that runs on node 0 runs on when node 1 fails
	# (its row completes), but its requester asked through node 1: wait
	# returns nil and "node 1 lost: WHY" instead of waiting forever
	printf '%s\n' 'cluster { nodes = 2 }' 'app("slow", "mem=64M init=1ms work=10s")' \
		'process(function() local a = spawn("slow", nil, 1); ready(a); local b = spawn("slow", nil, 1); ready(b)' \
		'  fail_node(1, "x"); log("b", wait(b)) end)' >"$T/req.lua"
	run run "$T/req.lua" --db "$T/db" --trace "$T/trace" --quiet; expect_rc 0
	! grep -q "still suspended" "$T/err" || fail "a process was left waiting: $(cat "$T/err")"
	grep -q ' lua b nil node 1 lost: x$' "$T/trace" || fail "wait(b) did not return the loss: $(grep ' lua ' "$T/trace")"
	[ "$(q "$T/db" "select group_concat(id || ':' || node || ':' || status, ',') from (select * from instances order by id)")" = "1:1:-1000,2:0:0" ] ||
		fail "rows: $(q "$T/db" "select id, node, status, fail_reason from instances")"
	;;
end_rows)
	# requests still starting when the run ends, on their origin's node
	# and on another one, cold and waiting for a template: one row each
	# (the instance's, status -1001), not also a failed "not placed
	# before the end" row from the origin (end_leftovers read its ids
	# from a buffer it had not filled, and an ended instance left its
	# request behind, ended again at destroy)
	printf '%s\n' 'cluster { nodes = 2 }' \
		'policy { templates = param("tp", "none"), placement = "random" }' \
		'run { duration = "0.92s" }' 'app("a", "mem=64M init=50ms work=10ms")' \
		'process(function() sleep(0.9) for k = 1, 6 do spawn("a", nil, 0) end end)' >"$T/end.lua"
	run run "$T/end.lua" --db "$T/db" --set tp=none,on-demand --quiet; expect_rc 0
	[ "$(q "$T/db" "select count(*) || ' ' || count(distinct run || ':' || id) || ' ' || sum(status = -1001) || ' ' || count(distinct node) from instances")" = "12 12 12 2" ] ||
		fail "rows: $(q "$T/db" "select run, id, node, status, fail_reason from instances order by run, id")"
	;;
rows_twice)
	# under churn a request can end twice: its host wrote its row, the
	# notice to its origin was lost with a failed node (queued behind a
	# 256 MiB template on a 50 Mbit/s link) and the origin placed it
	# again, or failed itself and ended it as lost. One row per request
	# all the same (the first); each later one is named in the trace,
	# and the run's line counts them. Five reps give both kinds (30 ids
	# failed by their origin's churn, 1 placed again and exited twice).
	printf '%s\n' 'cluster { nodes = 4, vcpus = 4, memory = "4G", bandwidth = "50M" }' \
		'policy { placement = "least-loaded", templates = "prewarm" }' \
		'run { duration = "6s" }' \
		'churn { mtbf = "2s", mttr = "500ms", detect = "100ms" }' \
		'app("svc", "mem=256M init=50ms work=300ms")' \
		'process(function() for i = 1, 80 do spawn("svc") sleep("50ms") end end)' >"$T/twice.lua"
	run run "$T/twice.lua" --db "$T/db" --reps 5 --trace "$T/trace"; expect_rc 0
	[ "$(q "$T/db" "select count(*) - count(distinct run || ':' || id) from instances")" = 0 ] ||
		fail "duplicate rows: $(q "$T/db" "select run, id, count(*) from instances group by run, id having count(*) > 1")"
	ex=$(grep -c 'ended again (exited on node [0-9]*): its first row is kept' "$T/trace")
	fa=$(grep -c 'ended again (failed: node [0-9]* lost: churn): its first row is kept' "$T/trace")
	[ "$ex" -ge 1 ] && [ "$fa" -ge 1 ] || fail "trace: $ex exited again, $fa failed again"
	said=$(sed -n 's/^    (\([0-9]*\) requests* ended twice after a notice lost with a failed node.*/\1/p' "$T/out" | awk '{s += $1} END {print s + 0}')
	all=$(grep -c ' ended again (.*): its first row is kept, this one is not stored$' "$T/trace")
	[ "$said" = "$all" ] || fail "the run lines say $said ended twice, the trace $all"
	;;
samples_end)
	# a world that goes idle at 1.93 s of a 20 s (or 2.5 s, 2.05 s)
	# run, sampled every 1 s or 700 ms: the run ends at its last event
	# as without samples, and no sample lies after it. Before the fix
	# the sample that found the world idle was taken all the same and
	# moved the run's end (sim_end_ns) to its own time (2 s, 2.1 s), or
	# the clock to the duration (2.05 s) when that sample lay past it.
	run run "$S/samples_end.lua" --set se=0,1s,700ms --set dur=20s,2.5s,2.05s --db "$T/db" --quiet; expect_rc 0
	[ "$(q "$T/db" "select count(distinct sim_end_ns) from runs")" = 1 ] ||
		fail "the run's end depends on sampling: $(q "$T/db" "select config, sim_end_ns from runs")"
	last=$(q "$T/db" "select max(t_exit) from instances")
	[ "$(q "$T/db" "select sim_end_ns - $last from runs limit 1")" -lt 10000000 ] ||
		fail "the run ends at $(q "$T/db" "select sim_end_ns from runs limit 1") ns, its last exit at $last"
	[ "$(q "$T/db" "select count(*) from samples s join runs r on r.id = s.run where s.t > r.sim_end_ns")" = 0 ] ||
		fail "samples after the run's end: $(q "$T/db" "select r.config, s.t, r.sim_end_ns from samples s join runs r on r.id = s.run where s.t > r.sim_end_ns")"
	# every sample time of the period up to the end is there, and the
	# events are those of the run without samples plus one per sample
	q "$T/db" "select r.config, r.events - (select events from runs z where z.config like '%se=0' and z.config like substr(r.config, 1, instr(r.config, ' ')) || '%'), (select count(distinct t) from samples s where s.run = r.id), (select max(t) from samples s where s.run = r.id) from runs r where r.config not like '%se=0'" >"$T/ev"
	while IFS='|' read -r cfg extra nt maxt; do
		case $cfg in *se=1s) want="2 1000000000" ;; *) want="3 1400000000" ;; esac
		[ "$nt $maxt" = "$want" ] || fail "$cfg: $nt sample times, the last at $maxt ns; expected $want"
		[ "$extra" = "$nt" ] || fail "$cfg: $extra events more than without samples, $nt sample times"
	done <"$T/ev"
	;;
samples_instant)
	# a sample sees the state after every other event of its instant:
	# the arrivals at 0 and 0.5 s are in the samples at 0 and 0.5 s
	# (before: the one at 0 had none, and the mean memory of a run whose
	# instance ran from 0 to the end was below its size)
	run run "$S/samples_instant.lua" --db "$T/db" --quiet; expect_rc 0
	got=$(q "$T/db" "select group_concat((t / 100000000) || ':' || instances || ':' || (mem_used / 1048576), ' ') from (select * from samples order by t)")
	want="0:1:16 1:1:16 2:1:16 3:1:16 4:1:16 5:2:32 6:2:32 7:2:32 8:2:32 9:2:32 10:2:32"
	[ "$got" = "$want" ] || fail "samples (t/100ms:instances:MiB): $got; expected $want"
	# (one event per sample taken: as many events as without the
	# deferral, checked by samples_end)
	;;
minimal_build)
	# a ukfork built with core, sim, results and Lua only (tests/cli
	# ukfork_minimal): each command it lacks says so and exits 1; a kvm
	# or --cluster run is refused (exit 2) with nothing stored; a
	# simulated run stores its run as in the full build
	for c in bootbench:bootbench calibrate:calib exec:live keys:agent testbed:agent; do
		run "${c%%:*}"; expect_rc 1
		expect_err "ukfork ${c%%:*}: not built (${c#*:}/ missing)"
	done
	run agent status; expect_rc 1; expect_err "ukfork agent: not built (agent/ missing)"
	printf '%s\n%s\n' "$HEAD" 'constant { app = "web", interval = "100ms" }' >"$T/s.lua"
	run run "$T/s.lua" --backend kvm --db "$T/db"; expect_rc 2
	expect_err "backend 'kvm' not built"; no_runs "$T/db"
	run run "$T/s.lua" --cluster "$T/c.toml" --db "$T/db"; expect_rc 2
	expect_err "ukfork run: --cluster $T/c.toml: node agents not built in this ukfork"
	no_runs "$T/db"
	run run "$T/s.lua" --db "$T/db" --quiet; expect_rc 0
	[ "$(q "$T/db" "select count(*) || ' ' || backend from runs")" = "1 sim" ] ||
		fail "runs: $(q "$T/db" "select id, backend from runs")"
	[ "$(q "$T/db" "select count(*) > 0 from instances")" = 1 ] || fail "no instances stored"
	;;
kvm_unavailable)
	# --backend kvm where /dev/kvm is missing: the run fails (exit 1)
	# saying so when the world is made, and stores nothing
	[ -e /dev/kvm ] && { echo "SKIP: /dev/kvm exists here"; exit 77; }
	printf '%s\n%s\n' "$HEAD" 'constant { app = "web", interval = "100ms" }' >"$T/s.lua"
	run run "$T/s.lua" --backend kvm --db "$T/db"
	grep -q "not built\|guest image" "$T/err" && { echo "SKIP: no live world or guest images"; exit 77; }
	expect_rc 1
	expect_err "backend kvm: live world: backend kvm is not available here: cannot open /dev/kvm"
	no_runs "$T/db"
	;;
arrivals_refused)
	# arrivals at a node while it has failed are refused: the run goes
	# on and its line says how many (here 5 of 10: at 300 .. 700 ms;
	# node 1 failed from 250 to 750 ms), each stored as a failed request
	# with an id no engine gives (-1 .. -5), so that the report counts
	# them (before: no row; 5 requests, success rate 1 instead of 0.5)
	printf '%s\n' 'cluster { nodes = 2 }' 'run { duration = "1s" }' "$HEAD" \
		'constant { app = "web", interval = "100ms", node = 1 }' \
		'process(function() sleep(0.25); fail_node(1, "x"); sleep(0.5); recover_node(1) end)' >"$T/s.lua"
	run run "$T/s.lua" --db "$T/db"; expect_rc 0
	expect_out "(5 arrivals refused: no engine took them; stored as failed rows, ids -1, -2, ...)"
	[ "$(q "$T/db" "select count(*) from instances")" = 10 ] ||
		fail "$(q "$T/db" "select count(*) from instances") instances stored, expected 10"
	want='-1|1|||unknown|300000000|||300000000|-1000|arrival refused: node 1 is down
-2|1|||unknown|400000000|||400000000|-1000|arrival refused: node 1 is down
-3|1|||unknown|500000000|||500000000|-1000|arrival refused: node 1 is down
-4|1|||unknown|600000000|||600000000|-1000|arrival refused: node 1 is down
-5|1|||unknown|700000000|||700000000|-1000|arrival refused: node 1 is down'
	got=$(q "$T/db" "select id, origin, node, t_placed, start, t_request, t_start, t_ready, t_exit, status, fail_reason from instances where id < 0 order by id desc")
	[ "$got" = "$want" ] || fail "refused rows: $got"
	# (the trace names each, with its id)
	run run "$T/s.lua" --db "$T/db2" --trace "$T/trace"; expect_rc 0
	grep -q '^0.300000000 1 arrival -1 app=web refused: node 1 is down$' "$T/trace" ||
		fail "no trace line of the refusal: $(grep refused "$T/trace")"
	run report "$T/db"; expect_rc 0
	grep -E '^ *success rate \(ready / requests\) +0\.5' "$T/out" >/dev/null ||
		fail "report does not count the refused arrivals: $(cat "$T/out")"
	# without the failure: all 10 stored, no such line
	sed -i '/fail_node/d' "$T/s.lua"
	run run "$T/s.lua" --db "$T/db1"; expect_rc 0
	! grep -q "refused" "$T/out" || fail "arrivals refused without a failure: $(cat "$T/out")"
	[ "$(q "$T/db1" "select count(*) from instances")" = 10 ] ||
		fail "without the failure: $(q "$T/db1" "select count(*) from instances") instances stored, expected 10"
	;;
calibrate_usage)
	# calibrate's usage and a bad option (no KVM needed)
	run calibrate --help
	grep -q "not built" "$T/err" && { echo "SKIP: calibrate not built"; exit 77; }
	expect_rc 0; expect_out "usage: ukfork calibrate --backend kvm"
	run calibrate --bogus; expect_rc 2
	expect_err "ukfork calibrate: unknown option '--bogus'"
	;;
cluster_unreachable)
	# --cluster FILE whose agent does not answer: `run` and `exec` fail
	# (exit 1) naming the node and its endpoint, after connecting for
	# 10 s (both at once here); the run stores nothing
	run keys runner --dir "$T"
	grep -q "not built" "$T/err" && { echo "SKIP: node agents not built"; exit 77; }
	expect_rc 0
	run keys node0 --dir "$T"; expect_rc 0
	printf '[cluster]\nname = t\n\n[node 0]\nendpoint = tcp://127.0.0.1:1\npublic_key = %s\nsecret_key_file = node0.key\n\n[client runner]\npublic_key = %s\nsecret_key_file = runner.key\n' \
		"$(cat "$T/node0.pub")" "$(cat "$T/runner.pub")" >"$T/c.conf"
	printf '%s\n%s\n' "$HEAD" 'constant { app = "web", interval = "100ms" }' >"$T/s.lua"
	"$UKFORK" exec --cluster "$T/c.conf" synth >"$T/xout" 2>"$T/xerr" &
	xpid=$!
	run run "$T/s.lua" --cluster "$T/c.conf" --db "$T/db"
	wait "$xpid"; xrc=$?
	m="no answer within 10.0 s from the agent of node 0 (tcp://127.0.0.1:1) - is ukforkd running there"
	# the file named once (it was "cluster FILE: FILE: no answer ...")
	expect_rc 1; expect_err "cluster $T/c.conf: $m"; no_runs "$T/db"
	! grep -q -F -e "$T/c.conf: $T/c.conf" "$T/err" || fail "the file named twice: $(cat "$T/err")"
	[ "$xrc" -eq 1 ] || fail "exec: exit status $xrc, expected 1"
	# a missing guest image is refused before connecting (at once)
	printf '%s\n' 'app("web", "mem=64M", { image = "no-such-guest" })' >"$T/img.lua"
	run run "$T/img.lua" --cluster "$T/c.conf" --db "$T/db"; expect_rc 2
	expect_err "img.lua:1: app 'web': guest image"; expect_err "no-such-guest"; no_runs "$T/db"
	grep -q -F -e "ukfork exec: --cluster $T/c.conf: $m" "$T/xerr" ||
		fail "exec: stderr lacks the agent's name: $(cat "$T/xerr")"
	# the client's key file missing: run, exec and agent status say so
	# naming the cluster file once, at the line of the key (it was "cluster
	# FILE: KEY (secret_key_file of [client runner], FILE:9): ...")
	mv "$T/runner.key" "$T/runner.away"
	m="$T/c.conf:9: secret_key_file $T/runner.key of [client runner]: No such file or directory"
	run run "$T/s.lua" --cluster "$T/c.conf" --db "$T/db"
	expect_rc 1; expect_err "cluster $m"; no_runs "$T/db"
	[ "$(grep -o -F -e "$T/c.conf" "$T/err" | wc -l)" = 1 ] ||
		fail "run: the file not named once: $(cat "$T/err")"
	"$UKFORK" exec --cluster "$T/c.conf" synth >"$T/xout" 2>"$T/xerr"
	[ $? = 1 ] && [ "$(cat "$T/xerr")" = "ukfork exec: --cluster $m" ] ||
		fail "exec: $(cat "$T/xerr")"
	run agent status --cluster "$T/c.conf"
	expect_rc 2
	[ "$(cat "$T/err")" = "ukfork agent status: $m" ] || fail "agent status: $(cat "$T/err")"
	;;
outage_spawn_draw)
	# spawn() without a node while node 1 has failed draws among the
	# nodes up (docs/scenarios.md fail_node): all 30 requests run, on
	# nodes 0 and 2 (placement local: where they were made), none on 1
	printf '%s\n' 'cluster { nodes = 3 }' 'policy { placement = "local" }' "$HEAD" \
		'process(function() fail_node(1, "x"); for i = 1, 30 do wait(spawn("web")) end; recover_node(1) end)' >"$T/s.lua"
	run run "$T/s.lua" --db "$T/db" --quiet; expect_rc 0
	[ "$(q "$T/db" "select count(*) || ' ' || sum(status = 0) || ' ' || sum(node = 1) || ' ' || (sum(node = 0) > 0) || ' ' || (sum(node = 2) > 0) from instances")" = "30 30 0 1 1" ] ||
		fail "rows (node, status, count): $(q "$T/db" "select node, status, count(*) from instances group by 1, 2")"
	;;
progress_tty_error)
	# on a terminal, a run that fails after progress lines: its error
	# starts a line of its own, not glued to the last progress line;
	# exit 2, nothing stored
	command -v script >/dev/null || { echo "SKIP: no script(1)"; exit 77; }
	# 1.5 s of wall-clock time at least (see progress_tty), then an error
	printf '%s\n' 'run { duration = "10s" }' 'process(function()' \
		'  for i = 1, 5 do os.execute("sleep 0.3"); sleep(1) end' \
		'  error("boom")' 'end)' >"$T/slow.lua"
	script -qec "\"$UKFORK\" run \"$T/slow.lua\" --trusted --db \"$T/db\"" "$T/tty" >/dev/null 2>&1
	rc=$?; expect_rc 2
	tr -d '\r' <"$T/tty" >"$T/tty.txt"
	grep -q "world time" "$T/tty.txt" || fail "no progress line: $(cat "$T/tty.txt")"
	grep -q -F -x -e "$T/slow.lua:4: boom" "$T/tty.txt" ||
		fail "the error does not stand on a line of its own: $(cat -A "$T/tty.txt")"
	no_runs "$T/db"
	;;
one_value_list)
	# a list of one value is that value, not a sweep: one run, config
	# "default", nodes 2 and round-robin placement (instances on both)
	printf '%s\n' 'cluster { nodes = { 2 } }' 'policy { placement = { "round-robin" } }' "$HEAD" \
		'constant { app = "web", interval = "100ms" }' >"$T/s.lua"
	run run "$T/s.lua" --db "$T/db" --quiet; expect_rc 0
	[ "$(q "$T/db" "select count(*) || ' ' || config from runs")" = "1 default" ] ||
		fail "runs: $(q "$T/db" "select config from runs")"
	j=$(q "$T/db" "select settings_json from runs")
	echo "$j" | grep -q '"nodes":2,.*"placement":"round-robin"' || fail "settings: $j"
	[ "$(q "$T/db" "select count(distinct node) from instances")" = 2 ] ||
		fail "instances on $(q "$T/db" "select count(distinct node) from instances") nodes, expected 2"
	# ... so a one-value list may be computed from a swept param()
	printf '%s\n' 'local n = param("n", 2)' 'cluster { nodes = { n } }' "$HEAD" \
		'constant { app = "web", interval = "100ms" }' >"$T/p.lua"
	run run "$T/p.lua" --set n=2,3 --db "$T/p.db" --quiet; expect_rc 0
	[ "$(q "$T/p.db" "select group_concat(config || ':' || json_extract(settings_json, '$.nodes'), ' ') from runs")" = "n=2:2 n=3:3" ] ||
		fail "runs: $(q "$T/p.db" "select config, settings_json from runs")"
	;;
churn_outage_refused)
	# churn{} inside a process, or on kvm: refused at its line, nothing
	# stored
	refused 'process(function() churn { mtbf = "1s", mttr = "1s" } end)' "churn{} is a declaration: call it at the top level of the scenario"
	refused 'churn { mtbf = "1s", mttr = "1s" }' "churn{}: only the simulated world has churn (this run's backend is kvm)" --backend kvm
	# a node failure that cannot be stored (the outages table's write
	# fails) fails the run (exit 1) saying so; the run is not stored
	printf '%s\n' 'cluster { nodes = 2 }' "$HEAD" 'process(function() fail_node(1, "x") end)' >"$T/o.lua"
	run run "$T/o.lua" --db "$T/o.db" --quiet; expect_rc 0
	q "$T/o.db" "create trigger full before insert on outages begin select raise(abort, 'database or disk is full'); end"
	run run "$T/o.lua" --db "$T/o.db" --quiet; expect_rc 1
	expect_err "database: $T/o.db: recording an outage: database or disk is full"
	[ "$(q "$T/o.db" "select count(*) from runs")" = 1 ] || fail "the failed run was stored"
	;;
seed_rerun_error)
	# run{seed = param(...)} swept: each point's script runs again with
	# its seed (its streams are keyed by it); an error only that
	# execution meets is the scenario's, at its line, before any run
	# (exit 2, nothing stored): here a draw of stream "a" under seed 3
	# (the point s=3), not under seed 1
	printf '%s\n' 'run { seed = param("s", 1) }' "$HEAD" \
		'if stream("a"):random() < 0.5 then error("draw") end' >"$T/s.lua"
	run run "$T/s.lua" --set s=1,3 --db "$T/db"; expect_rc 2
	expect_err "s.lua:3: draw"; no_runs "$T/db"
	run run "$T/s.lua" --set s=1 --db "$T/db1" --quiet; expect_rc 0
	[ "$(q "$T/db1" "select seed from runs")" = 1 ] || fail "seed $(q "$T/db1" "select seed from runs"), expected 1"
	;;
model_refused)
	# a jitter over 5 (the simulated world's limit): exit 2 naming the
	# scenario's line, the model file's line and the limit, nothing
	# stored (the loader took it and the world refused it, naming
	# neither the file nor the key)
	sed 's/^jitter .*/jitter = 6/' "$S/../../../data/model.conf" >"$T/m6.conf"
	line=$(grep -n '^jitter = 6' "$T/m6.conf" | cut -d: -f1)
	[ -n "$line" ] || fail "no jitter line in data/model.conf"
	printf '%s\n' 'run { model = "m6.conf", duration = "1s" }' "$HEAD" >"$T/s.lua"
	run run "$T/s.lua" --db "$T/db"; expect_rc 2
	expect_err "s.lua:1: setting 'model': $T/m6.conf:$line: bad value '6' for 'jitter' (expected a lognormal sigma from 0 to 5)"
	no_runs "$T/db"
	;;
options_twice)
	# an option that takes one value, given twice: exit 2 naming it, as
	# report's --width twice was (the last one silently won: --reps 2
	# --reps 3 ran 3 runs per point, --db a --db b stored in b only)
	for o in "--seed 5 --seed 6" "--reps 2 --reps 3" "--db $T/a.db --db $T/b.db" \
		"--trace $T/t1 --trace $T/t2" "--backend sim --backend sim" \
		"--template-dir $T/d1 --template-dir $T/d2" \
		"--max-instructions 0 --max-instructions 5"; do
		# shellcheck disable=SC2086
		run run "$S/ok.lua" $o --quiet; expect_rc 2
		expect_err "ukfork run: ${o%% *} given twice"
		expect_err "(try \`ukfork run --help\`)"
	done
	[ -e "$T/a.db" ] || [ -e "$T/b.db" ] || [ -e "$T/t1" ] || [ -e "$T/t2" ] &&
		fail "a refused run wrote a file"
	# --set repeats (one setting each), and so do the flags
	run run "$S/ok.lua" --set nodes=2 --set vcpus=2 --quiet --quiet --db "$T/ok.db"
	expect_rc 0
	run run "$S/ok.lua" --db "$T/ok.db" --quiet; expect_rc 0
	run report "$T/ok.db" --plot "$T/pa" --plot "$T/pb"; expect_rc 2
	expect_err "ukfork report: --plot given twice"
	[ -e "$T/pa" ] || [ -e "$T/pb" ] && fail "a refused report made a plot directory"
	run report "$T/ok.db" --json --json; expect_rc 0
	;;
*)
	echo "unknown case $CASE" >&2; exit 2
	;;
esac
exit 0
