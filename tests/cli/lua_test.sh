#!/bin/sh
# SPDX-License-Identifier: MIT
# lua_test.sh - the edges of the scenario language (docs/scenarios.md) an
# exploratory run found: each refusal names its file:line and cause, exits
# 2 and stores nothing; values at the edge of a range run as written.
#   lua_test.sh UKFORK SCENARIO_DIR CASE     (CASE "list" lists them)
set -u
. "$(dirname "$0")/lib.sh"
cli_args ukf-lua "$1" "$2" "$3"

expect_err() { grep -q -F -e "$1" "$T/err" || fail "stderr lacks '$1'"; }

# The header of every generated scenario: two nodes, one app named web.
HEAD='cluster { nodes = 2 } run { duration = "1s" } app("web", "mem=64M init=1ms work=1ms")'

# scen LUA...: $T/s.lua is HEAD then each LUA argument on a line of its own
scen() { printf '%s\n' "$HEAD" "$@" >"$T/s.lua"; }

# refused LINE MESSAGE [ARGS]: $T/s.lua run with ARGS exits 2 with
# "s.lua:LINE: MESSAGE" on stderr and stores no run.
refused() {
	l=$1; m=$2; shift 2
	rm -f "$T/db"
	run run "$T/s.lua" --db "$T/db" "$@"
	[ "$rc" -eq 2 ] || fail "exit status $rc, expected 2 for: $(cat "$T/s.lua")"
	expect_err "s.lua:$l: $m"
	no_runs "$T/db"
}

case "$CASE" in
list)
	sed -n 's/^\([a-z_]*\))$/\1/p' "$0" | grep -v '^list$'
	;;
param_read)
	# param() in a process reads the param the top level declared. Before
	# the fix param("n", 99) there gave 99 (and setting("n") after it),
	# while the run was stored as n = 2: 99 instances of a run labelled
	# and recorded as 2. Now: read with no default, or the same one.
	scen 'local n = param("n", 2)' 'local l = param("l", {1, 3})' \
		'process(function() log("n", param("n"), param("n", 2), param("l"), param("l", {1, 3}), setting("n")) end)'
	run run "$T/s.lua" --trace "$T/trace" --quiet; expect_rc 0
	[ "$(grep -c ' lua n 2 2 [13] [13] 2$' "$T/trace")" = 2 ] || fail "reads: $(grep ' lua ' "$T/trace")"
	run run "$T/s.lua" --set n=5 --trace "$T/trace" --quiet; expect_rc 0
	[ "$(grep -c ' lua n 5 5 [13] [13] 5$' "$T/trace")" = 2 ] || fail "reads with --set: $(grep ' lua ' "$T/trace")"
	scen 'local n = param("n", 2)' 'process(function() spawn("web", param("n", 99)) end)'
	refused 3 "param 'n': default '99' differs from this run's value '2' (declared at "
	scen 'local l = param("l", {1, 3})' 'process(function() log(param("l", {1, 2})) end)'
	refused 3 "param 'l': this list differs from the one declared at "
	;;
memory)
	# A scenario's Lua state holds at most UKF_LUA_MEMORY (default 4 GiB):
	# a runaway table stops at its line, exit 2, instead of growing until
	# the watchdog (here 5e7 instructions: ~256 MiB before the limit) or
	# the machine's memory ends; Lua's own "not enough memory" named no
	# line. At the top level, in a process, in a coroutine of a process.
	export UKF_LUA_MEMORY=32M
	scen 'local t = {} for i = 1, 1e9 do t[i] = i end'
	refused 2 "out of memory: the scenario's Lua values would take more than 32 MiB" \
		--max-instructions 50000000
	expect_err "UKF_LUA_MEMORY=SIZE changes the limit"
	scen 'process(function() sleep(0.1)' \
		'  local t = {} for i = 1, 1e9 do t[i] = "x" .. i end end)'
	refused 3 "out of memory" --max-instructions 50000000
	scen 'process(function() local c = coroutine.wrap(function()' \
		'  local s = "x" for i = 1, 40 do s = s .. s end end)' 'c() end)'
	refused 4 "out of memory"
	# a refusal a pcall catches is Lua's error value; the run goes on
	scen 'local ok, e = pcall(string.rep, "x", 1e8)' \
		'assert(not ok and e == "not enough memory", tostring(e))' \
		'process(function() spawn("web") end)'
	run run "$T/s.lua" --quiet; expect_rc 0
	# 0: no limit; a bad size is refused before the run
	scen 'local s = string.rep("x", 1e8)'
	refused 2 "out of memory"
	UKF_LUA_MEMORY=0 run run "$T/s.lua" --quiet; expect_rc 0
	UKF_LUA_MEMORY=12x run run "$T/s.lua" --db "$T/db"; expect_rc 2
	expect_err "UKF_LUA_MEMORY: bad size '12x'"; no_runs "$T/db"
	unset UKF_LUA_MEMORY
	# the benchmark of 10,000 processes is far below the default
	run run "$S/../../../scripts/bench/sleepers.lua" --set procs=10000 \
		--set sleeps=2 --quiet
	expect_rc 0
	;;
args_long)
	# args over 511 bytes (UKF_APP_ARGS_MAX - 1) were taken at the check
	# and every instance then failed "cold_boot refused (-22)": refused at
	# the line, for arrivals and spawn, apps with an image too
	scen 'poisson { app = "web", rate = 10, args = "units=1" .. string.rep(" ", 600) }'
	refused 2 "poisson{}: bad args 'units=1" ; expect_err "for app 'web': 607 bytes, at most 511"
	scen 'process(function() spawn("web", "units=1" .. string.rep(" ", 505)) end)'
	refused 2 "spawn: bad args 'units=1" ; expect_err "512 bytes, at most 511"
	scen 'app("img", "mem=1M", { image = "hello" })' \
		'process(function() spawn("img", string.rep("a", 600)) end)'
	refused 3 "spawn: bad args 'aaaa"
	# 511 bytes run, and each instance gets them
	scen 'process(function() local id = spawn("web", "units=2" .. string.rep(" ", 504))' \
		'  assert(wait(id) == 0, "exit") end)'
	run run "$T/s.lua" --quiet; expect_rc 0
	;;
args_overlay)
	# an instance's args on top of its app's: past 511 bytes together the
	# app's own keys were dropped without a word (work=300ms gone: the
	# default unit of work instead)
	scen 'app("long", "mem=64M init=1ms work=300ms" .. string.rep(" ", 450))' \
		'process(function() local id = spawn("long", "units=2" .. string.rep(" ", 100))' \
		'  assert(wait(id) == 0, "exit") end)'
	rm -f "$T/db"
	run run "$T/s.lua" --db "$T/db" --quiet; expect_rc 0
	w=$(q "$T/db" "select t_exit - t_ready from instances where app = 'long'")
	[ "$w" -ge 600000000 ] && [ "$w" -lt 700000000 ] ||
		fail "2 units of 300 ms took $w ns from ready to exit"
	# an app with its own image: sim takes the args as its guest's
	# command line, not as keys (every instance failed "cold_boot
	# refused (-22)")
	scen 'app("img", "mem=1M work=5ms", { image = "hello" })' \
		'process(function() local id = spawn("img", "hello world")' \
		'  assert(wait(id) == 0, "exit") end)'
	rm -f "$T/db"
	run run "$T/s.lua" --db "$T/db" --quiet; expect_rc 0
	[ "$(q "$T/db" "select count(*) from instances where app = 'img' and status = 0 and t_exit is not null")" = 1 ] ||
		fail "the image app's instance did not exit 0: $(q "$T/db" "select status, fail_reason from instances")"
	;;
param_names)
	# an empty name was taken; one over 127 bytes could never be --set
	scen 'local x = param("", 1)'
	refused 2 "param: bad name '' (1 to 127"
	scen "local x = param(\"$(printf '%128s' '' | tr ' ' p)\", 1)"
	refused 2 "param: bad name 'ppp"
	# a process reads a param the top level declared; declaring one
	# there said "was not declared on the first pass"
	scen 'local a = param("a", 3)' \
		'process(function() assert(param("a", 3) == 3); local b = param("b", 1) end)'
	refused 3 "param 'b' is a declaration: call it at the top level"
	;;
value_ranges)
	# a number past a key's range says the range (it said "expected a
	# whole number (decimal digits)" of 99999999999, "a size >= 0" of
	# 1e300)
	scen 'app("big", "mem=64M units=99999999999")'
	refused 2 "app 'big': units=99999999999: expected a whole number 0 to 4294967295"
	scen 'cluster { memory = 1e300 }'
	refused 2 "setting 'memory': bad value '1e+300': expected a size >= 0 and below 16 EiB"
	# 0/0 is named nan (the C library's text was "-nan")
	scen 'cluster { vcpus = 0/0 }'
	refused 2 "setting 'vcpus': bad value 'nan':"
	;;
count_range)
	# the policy's counts are 32-bit: 4294967296 was taken as 0 (no
	# children at all), 4294967297 retries as 1, without a word
	for k in prewarm max_children max_queue max_retries; do
		scen "policy { $k = 4294967296 }"
		refused 2 "setting '$k': 4294967296 is too large (a count of at most 4294967295)"
	done
	run run "$T/s.lua" --set max_retries=99999999999 --db "$T/db"; expect_rc 2
	expect_err "setting 'max_retries': 99999999999 is too large"; no_runs "$T/db"
	scen 'policy { max_children = 4294967295, max_retries = 4294967295 }'
	run run "$T/s.lua" --db "$T/db" --quiet; expect_rc 0
	j=$(q "$T/db" "select settings_json from runs")
	echo "$j" | grep -q '"max_children":4294967295' || fail "max_children: $j"
	;;
integral_float)
	# a node or an id computed as a float with a whole value (Lua's 4/2 is
	# 2.0) is that integer: "bad node 1.0 (expected 0..1)" contradicted
	# itself; a fraction is still refused, the value named
	scen 'poisson { app = "web", rate = 5, node = 4 / 4 }' \
		'process(function() local id = spawn("web", nil, 2 / 2)' \
		'  assert(wait(id * 1.0) == 0 and ready(id + 0.0), "values")' \
		'  local id2 = spawn("web", 2 / 2)' \
		'  assert(node_state(2 / 2) == "up" and wait(id2) == 0, "values") end)'
	run run "$T/s.lua" --quiet; expect_rc 0
	scen 'process(function() spawn("web", nil, 0.5) end)'
	refused 2 "spawn: bad node 0.5 (expected 0..1)"
	scen 'process(function() wait(1.5) end)'
	refused 2 "wait: expected an instance id, got 1.5"
	scen 'constant { app = "web", interval = 1, node = 0 / 0 }'
	refused 2 "constant{} node: expected a node number >= 0, got"
	;;
trace_fields)
	# fields of any length: a field over 127 bytes was read in pieces,
	# its tail taken for the next field (a 200-digit fraction made
	# "unknown app '111...'", a long node "unexpected field"); long
	# fields are quoted cut short
	awk 'BEGIN { s = "0."; for (i = 0; i < 200; i++) s = s "1"; print s " web 1" }' >"$T/long_time.txt"
	scen 'trace { file = "long_time.txt" }'
	run run "$T/s.lua" --trace "$T/trace" --quiet; expect_rc 0
	grep -q '^0\.111111111 1 spawn 1 app=web' "$T/trace" || fail "$(grep spawn "$T/trace")"
	awk 'BEGIN { s = ""; for (i = 0; i < 200; i++) s = s "1"; print "0.1 web " s }' >"$T/long_node.txt"
	scen 'trace { file = "long_node.txt" }'
	refused 2 "trace{}: $T/long_node.txt:1: bad node '111111111111111111111111111111111111111111111111111111111111...'"
	awk 'BEGIN { s = ""; for (i = 0; i < 200; i++) s = s "a"; print "0.1 " s }' >"$T/long_app.txt"
	scen 'trace { file = "long_app.txt" }'
	refused 2 "trace{}: $T/long_app.txt:1: unknown app 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'"
	# a NUL byte ended the line for C: the rest of it dropped unseen
	printf '0.1 web\n\000garbage 1 2\n0.2 web\n' >"$T/nul.txt"
	scen 'trace { file = "nul.txt" }'
	refused 2 "trace{}: $T/nul.txt:2: a NUL byte in the line (not a text file?)"
	# tabs, vertical tabs and form feeds separate fields, CR ends a line
	printf '0.1\tweb\v1\f\r\n' >"$T/blanks.txt"
	scen 'trace { file = "blanks.txt" }'
	run run "$T/s.lua" --trace "$T/trace" --quiet; expect_rc 0
	grep -q '^0\.100000000 1 spawn 1 app=web' "$T/trace" || fail "$(grep spawn "$T/trace")"
	;;
stream_names)
	# stream(name) was keyed by "user:" and the first 250 bytes of the
	# name: two long names differing past them (or after a NUL) drew the
	# same numbers. Every byte counts now; short names keep their streams
	# (the same numbers as before: the golden logs rely on them).
	scen 'local a = string.rep("a", 300)' \
		'assert(stream(a .. "1"):random() ~= stream(a .. "2"):random(), "long")' \
		'assert(stream("a\0b"):random() ~= stream("a\0c"):random(), "nul")' \
		'assert(stream(a .. "1"):random() == stream(a .. "1"):random(), "same")' \
		'log(string.format("%.17g", stream("x"):random()))'
	run run "$T/s.lua" --seed 1 --trace "$T/trace" --quiet; expect_rc 0
	grep -q ' lua 0.88505549082004' "$T/trace" || fail "stream x: $(grep ' lua ' "$T/trace")"
	;;
error_place)
	# error("x", 0), error(42) and a rethrow (error(e, 0) of a message
	# with no place) named no file or line: "boom" alone. They get the
	# line of the error in front, at the top level and in a process; a
	# message that names a place keeps it as it is.
	scen 'error("boom", 0)'
	refused 2 "boom"
	scen 'process(function() sleep(0.1)' '  error(42) end)'
	refused 3 "42"
	scen 'local ok, e = pcall(error, "inner")' 'error(e, 0)'
	refused 3 "inner"
	scen 'local ok, e = pcall(function() local x = nil; return x.y end)' \
		'error(e, 0)'
	refused 2 "attempt to index a nil value (local 'x')"
	grep -q 's.lua:3:' "$T/err" && fail "a place added to a message naming one"
	scen 'load("error(\"in chunk\")")()'
	run run "$T/s.lua"; expect_rc 2
	expect_err '[string "error("in chunk")"]:1: in chunk'
	;;
log_lines)
	# one event is one line of the --trace log: a newline in a log()
	# text wrote a line that read as another event (here a spawn that
	# never happened); control characters are escaped. The top level's
	# log() lines came before the run's "# run" line (in the previous
	# run, for a reader); they follow it now, at time 0.
	scen 'log("top")' \
		'process(function() log("a\n0.5 0 spawn 99 app=web", "\1\127\t\r") end)'
	run run "$T/s.lua" --reps 2 --trace "$T/trace" --quiet; expect_rc 0
	grep -q '^0.5 0 spawn 99' "$T/trace" && fail "a log() text made an event line"
	grep -q -F -x '0.000000000 lua a\n0.5 0 spawn 99 app=web \x01\x7f\t\r' "$T/trace" ||
		fail "escaped line: $(grep ' lua a' "$T/trace")"
	[ "$(sed -n 1p "$T/trace")" = "# run config=default seed=1 rep=0" ] ||
		fail "first line: $(sed -n 1p "$T/trace")"
	[ "$(sed -n 2p "$T/trace")" = "0.000000000 lua top" ] ||
		fail "second line: $(sed -n 2p "$T/trace")"
	[ "$(grep -A1 '^# run config=default seed=1 rep=1' "$T/trace" | sed -n 2p)" = "0.000000000 lua top" ] ||
		fail "rep 1: $(grep -A1 '^# run' "$T/trace")"
	[ "$(grep -c ' lua top$' "$T/trace")" = 2 ] || fail "top-level lines: $(grep -c ' lua top' "$T/trace")"
	# bytes from 0x80 go as they are, valid UTF-8 or not (the report's
	# escaping checks UTF-8; the trace's is byte by byte)
	scen 'process(function() log("hi \128 \195\169") end)'
	run run "$T/s.lua" --trace "$T/trace" --quiet; expect_rc 0
	printf '0.000000000 lua hi \200 \303\251\n' >"$T/want"
	grep -q -F -x -f "$T/want" "$T/trace" ||
		fail "bytes from 0x80: $(grep ' lua hi' "$T/trace" | od -c | head -3)"
	;;
time_messages)
	# a time too large said "must be >= 0 seconds" of a positive value;
	# sleep() without an argument said "got a no value"
	scen 'poisson { app = "web", rate = 10, stop = 1e300 }'
	refused 2 "poisson{} stop: bad time 1e+300 (must be at most 9.2e9 seconds)"
	scen 'constant { app = "web", interval = math.huge }'
	refused 2 "constant{} interval: bad time inf (must be at most 9.2e9 seconds)"
	scen 'poisson { app = "web", rate = 10, start = -1 }'
	refused 2 "poisson{} start: bad time -1.0 (must be >= 0 seconds)"
	scen 'process(function() sleep() end)'
	refused 2 "sleep: expected a time, got no value"
	;;
app_names)
	# an app's name is written between blanks in trace files and the
	# event log (app=NAME): a blank or control character in it made an
	# app no trace file could name and log lines that split wrongly
	for n in '"we b"' '"we\tb"' '"we\nb"' '"we\0b"' '""' 'string.rep("a", 64)'; do
		scen "app($n, \"mem=1M\")"
		refused 2 "app: bad name '"
		expect_err "(1 to 63 bytes, no blanks or control characters"
	done
	scen 'app(string.rep("a", 63), "mem=1M")' 'app("wéb", "mem=1M")' \
		'poisson { app = "wéb", rate = 10 }'
	run run "$T/s.lua" --quiet; expect_rc 0
	;;
coroutine_calls)
	# sleep() or spawn() from a coroutine a process created said "can
	# only be called inside a process", which the caller was
	scen 'process(function() local c = coroutine.wrap(function() sleep(0.1) end) c() end)'
	refused 2 "sleep() was called from a coroutine: only a process's own function"
	scen 'process(function() local c = coroutine.create(function() spawn("web") end)' \
		'  local ok, e = coroutine.resume(c) error(e, 0) end)'
	refused 2 "spawn() was called from a coroutine"
	# caught by coroutine.resume, it stops the run all the same (the
	# process went on, exit 0, as if the call had not been made)
	scen 'process(function() local c = coroutine.create(function() sleep(1) end)' \
		'  coroutine.resume(c) log("after") end)'
	refused 2 "sleep() was called from a coroutine"
	# the top level itself keeps its message
	scen 'sleep(1)'
	refused 2 "sleep() can only be called while the scenario runs, inside a process"
	;;
trace_file_type)
	# file = a list (a sweep of traces?) or a number said "missing
	# argument 'file'", which was there
	scen 'trace { file = { "a.txt", "b.txt" } }'
	refused 2 "trace{}: file must be a path (a string), got a table"
	scen 'trace { node = 1 }'
	refused 2 "trace{}: missing argument 'file' (a path)"
	;;
finalizer)
	# Lua runs a __gc metamethod with its hooks off: one that loops hung
	# ukfork past the watchdog (at a collection, or when the state was
	# closed after the run). The sandbox refuses __gc at setmetatable.
	scen 'do local x = setmetatable({}, { __gc = function() while true do end end }) end' \
		'collectgarbage()'
	timeout 60 "$UKFORK" run "$T/s.lua" --max-instructions 1000000 --db "$T/db" >"$T/out" 2>"$T/err"
	rc=$?
	[ "$rc" -eq 124 ] && fail "a looping __gc hung the run"
	[ "$rc" -eq 2 ] || fail "exit status $rc, expected 2"
	expect_err "s.lua:2: setmetatable: a __gc metamethod is not available to a scenario in the sandbox"
	no_runs "$T/db"
	# other metatables, a __gc set afterwards (Lua then never finalizes),
	# and --trusted's full Lua
	scen 'local mt = {} local x = setmetatable({}, mt) mt.__gc = function() end' \
		'local y = setmetatable({}, { __index = function() return 1 end }) assert(y.z == 1)'
	run run "$T/s.lua" --quiet; expect_rc 0
	scen 'do local x = setmetatable({}, { __gc = function() end }) end collectgarbage()'
	run run "$T/s.lua" --trusted --quiet; expect_rc 0
	;;
xpcall_handler)
	# the watchdog raises its error from a hook, and Lua keeps hooks off
	# until a pcall catches it: an xpcall handler that looped then ran
	# unwatched and hung ukfork (--trusted too). The handler is not run
	# on the watchdog's error; otherwise it works as before, also around
	# a sleep in a process.
	for mode in "" --trusted; do
		scen 'xpcall(function() error("x") end, function() while true do end end)'
		timeout 60 "$UKFORK" run "$T/s.lua" --max-instructions 1000000 $mode >"$T/out" 2>"$T/err"
		rc=$?
		[ "$rc" -eq 124 ] && fail "a looping xpcall handler hung the run ($mode)"
		[ "$rc" -eq 2 ] || fail "exit status $rc, expected 2 ($mode)"
		expect_err "s.lua:2: more than 1000000 Lua instructions"
	done
	scen 'local ok, m = xpcall(function() error("x") end, function(m) return "h: " .. m end)' \
		'assert(not ok and m == "h: " .. "'"$T"'/s.lua:2: x", m)' \
		'process(function() local ok, a, t = xpcall(function(a) sleep(0.1) return a, now() end, print, "arg")' \
		'  assert(ok and a == "arg" and t == 0.1, "yield") end)'
	run run "$T/s.lua" --quiet; expect_rc 0
	;;
time_overflow)
	# in a run of 9.2e9 s, a next arrival or a wake-up past the ns
	# clock's end (int64) wrapped to a time in the past: 201 requests
	# at one instant instead of 1, a sleep(5e9) at 5e9 s that ended at
	# once. Such a time is now never.
	scen 'constant { app = "web", interval = 9e9, start = 8e9 }' \
		'bursts { app = "web", every = 9e9, size = 1, start = 8e9 }' \
		'process(function() sleep(5e9) log("a", now()) sleep(5e9) log("b", now()) end)'
	run run "$T/s.lua" --set duration=9199999999s --trace "$T/trace" --quiet
	expect_rc 0
	[ "$(grep -c ' request ' "$T/trace")" = 2 ] || fail "$(grep -c ' request ' "$T/trace") requests, expected 2"
	grep -q ' lua a 5000000000' "$T/trace" || fail "no a"
	grep -q ' lua b' "$T/trace" && fail "the second sleep ended at once"
	;;
close_handler)
	# a coroutine stopped by the watchdog was closed by coroutine.wrap
	# (or coroutine.close) with Lua's hooks still off: a __close handler
	# that looped hung ukfork (--trusted too). After the watchdog's
	# error such a thread is not closed; wrap behaves as Lua's otherwise.
	for mode in "" --trusted; do
		scen 'local co = coroutine.wrap(function()' \
			'  local x <close> = setmetatable({}, { __close = function() while true do end end })' \
			'  while true do end end)' 'co()'
		timeout 60 "$UKFORK" run "$T/s.lua" --max-instructions 1000000 $mode >"$T/out" 2>"$T/err"
		rc=$?
		[ "$rc" -eq 124 ] && fail "a looping __close hung the run ($mode)"
		[ "$rc" -eq 2 ] || fail "exit status $rc, expected 2 ($mode)"
		expect_err "more than 1000000 Lua instructions"
	done
	scen 'local g = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end)' \
		'assert(g(1) == 2 and g(5) == 10, "values")' \
		'local ok, e = pcall(g) assert(e == "cannot resume dead coroutine", e)' \
		'local closed = false' \
		'local h = coroutine.wrap(function() local x <close> = setmetatable({}, { __close = function() closed = true end }) error("e") end)' \
		'ok, e = pcall(h) assert(closed and e == "'"$T"'/s.lua:6: e", e)' \
		'ok, e = pcall(coroutine.wrap(function() error({}) end)) assert(type(e) == "table", "table")' \
		'ok, e = pcall(coroutine.wrap, 5) assert(e:find("bad argument #1 to .wrap. %(function expected, got number%)"), e)'
	run run "$T/s.lua" --quiet; expect_rc 0
	;;
*)
	echo "unknown case $CASE" >&2; exit 2
	;;
esac
exit 0
