#!/bin/sh
# SPDX-License-Identifier: MIT
# sweep_test.sh - sweeps and runs as a researcher sees them (issue 11):
# settings computed from swept params, labels, arrival windows, stuck
# processes, progress. One case per call.
#   sweep_test.sh UKFORK SCENARIO_DIR CASE     (CASE "list" lists them)
set -u
. "$(dirname "$0")/lib.sh"
cli_args ukf-sweep "$1" "$2" "$3"

expect_err() { grep -q -e "$1" "$T/err" || fail "stderr lacks '$1'"; }
expect_out() { grep -q -e "$1" "$T/out" || fail "stdout lacks '$1'"; }
# per run (in order): label, then what the query $2 (on instances i of
# run r) gives
per_run() { q "$1" "select group_concat(v, ';') from (select r.config || ':' || ($2) v from runs r order by r.id)"; }
# the most instances running at once in run r
CONC="select max((select count(*) from instances j where j.run = r.id and j.t_start <= i.t_start and j.t_exit > i.t_start)) from instances i where i.run = r.id"

case "$CASE" in
list)
	sed -n 's/^\([a-z_]*\))$/\1/p' "$0" | grep -v '^list$'
	;;
computed)
	# cluster{vcpus = param("c")} swept: each point runs with its vcpus
	# (eight 1-vCPU jobs at once on node 0, placement local), stores it
	# in settings_json, and a param whose default is computed follows
	run run "$S/sweep_computed.lua" --set c=1,2,4,8 --set pl=local --db "$T/c.db" --trace "$T/c.trace" --quiet
	expect_rc 0
	got=$(per_run "$T/c.db" "json_extract(r.settings_json, '$.vcpus')")
	[ "$got" = "c=1 pl=local:1;c=2 pl=local:2;c=4 pl=local:4;c=8 pl=local:8" ] || fail "settings_json vcpus per run: $got"
	got=$(per_run "$T/c.db" "$CONC")
	[ "$got" = "c=1 pl=local:1;c=2 pl=local:2;c=4 pl=local:4;c=8 pl=local:8" ] || fail "jobs running at once per run: $got"
	got=$(per_run "$T/c.db" "json_extract(r.settings_json, '$.params.twice')")
	[ "$got" = "c=1 pl=local:2;c=2 pl=local:4;c=4 pl=local:8;c=8 pl=local:16" ] || fail "param computed from c: $got"
	[ "$(grep -c ' lua twice ' "$T/c.trace")" = 4 ] || fail "trace: $(grep ' lua twice ' "$T/c.trace")"
	grep -q " lua twice 8 vcpus 4$" "$T/c.trace" || fail "setting('vcpus') at c=4: $(grep ' lua twice ' "$T/c.trace")"
	# policy{placement = param("pl")} swept: local keeps every job on
	# node 0 (2 vCPUs: the others wait), least-loaded sends some to node 1
	run run "$S/sweep_computed.lua" --set c=2 --set pl=local,least-loaded --db "$T/p.db" --quiet
	expect_rc 0
	got=$(per_run "$T/p.db" "json_extract(r.settings_json, '$.placement')")
	[ "$got" = "c=2 pl=local:local;c=2 pl=least-loaded:least-loaded" ] || fail "settings_json placement per run: $got"
	got=$(per_run "$T/p.db" "select count(*) > 0 from instances i where i.run = r.id and i.node = 1")
	[ "$got" = "c=2 pl=local:0;c=2 pl=least-loaded:1" ] || fail "jobs on node 1 per run: $got"
	# run{duration = param("d") .. "s", seed = param("s")}: each point's
	# own duration and seed (the streams keyed by it: --seed gives the same)
	run run "$S/sweep_computed.lua" --set d=5,7 --set s=3,4 --db "$T/r.db" --quiet
	expect_rc 0
	got=$(per_run "$T/r.db" "json_extract(r.settings_json, '$.duration_ns') || '/' || r.seed")
	[ "$got" = "d=5 s=3:5000000000/3;d=5 s=4:5000000000/4;d=7 s=3:7000000000/3;d=7 s=4:7000000000/4" ] || fail "duration and seed per run: $got"
	run run "$S/sweep_computed.lua" --seed 4 --db "$T/s4.db" --quiet
	expect_rc 0
	arr() { q "$1" "select group_concat(t_ready, ',') from (select i.t_ready from instances i join runs r on r.id = i.run where $2 order by i.id)"; }
	[ "$(arr "$T/r.db" "r.config = 'd=5 s=4'")" = "$(arr "$T/s4.db" "1")" ] || fail "s=4 did not run as --seed 4"
	[ "$(arr "$T/r.db" "r.config = 'd=5 s=4'")" != "$(arr "$T/r.db" "r.config = 'd=5 s=3'")" ] || fail "s=3 and s=4 drew the same costs"
	# a computed value is checked like a written one, before any run
	run run "$S/sweep_computed.lua" --set pl=local,bogus --db "$T/bad.db"
	expect_rc 2; expect_err "sweep_computed.lua:10: setting 'placement': unknown placement policy 'bogus'"
	[ -f "$T/bad.db" ] && fail "a database was written"
	# the same for a template policy computed from a swept param
	printf '%s\n' 'local p = param("p", 1)' 'local t = p == 1 and "on-demand" or "bogus"' \
		'policy { templates = t }' 'app("web", "mem=64M init=1ms work=1ms")' \
		'constant { app = "web", interval = "100ms" }' >"$T/t.lua"
	run run "$T/t.lua" --set p=1,2 --db "$T/t.db"
	expect_rc 2; expect_err "t.lua:3: setting 'templates': unknown template policy 'bogus' (valid: none on-demand prewarm)"
	[ -f "$T/t.db" ] && fail "a database was written"
	run run "$S/sweep_computed.lua" --set c=2,0
	expect_rc 2; expect_err "setting 'vcpus' must be"
	run run "$S/sweep_computed.lua" --set d=1,x
	expect_rc 2; expect_err "sweep_computed.lua:11: setting 'duration': bad value 'xs'"
	;;
label)
	# runs of separate invocations are labelled by what --set gave
	for c in 2 4; do
		run run "$S/sweep_computed.lua" --set c=$c --db "$T/db" --quiet
		expect_rc 0
	done
	run run "$S/sweep_computed.lua" --db "$T/db"
	expect_rc 0; expect_out "^default "
	[ "$(q "$T/db" "select group_concat(config, ';') from (select config from runs order by id)")" = "c=2;c=4;default" ] || fail "labels: $(q "$T/db" "select group_concat(config, ';') from runs")"
	# beside a swept setting, in the scenario's order
	run run "$S/sweep_computed.lua" --set pl=local,least-loaded --set c=2
	expect_rc 0; expect_out "^c=2 pl=local "; expect_out "^c=2 pl=least-loaded "
	# a decimal swept in the file is labelled as --set writes it (r=0.1,
	# not %.17g's r=0.10000000000000001): runs added later with --set
	# r=0.1 are more replications of that configuration, not another
	printf '%s\n' 'local r = param("r", {0.1, 0.25})' 'run { duration = "1s" }' \
		'app("a", "mem=64M init=1ms work=1ms")' 'poisson { app = "a", rate = 100 * r }' >"$T/f.lua"
	run run "$T/f.lua" --db "$T/f.db"; expect_rc 0; expect_out "^r=0.1 "
	run run "$T/f.lua" --set r=0.1 --seed 2 --db "$T/f.db" --quiet; expect_rc 0
	[ "$(q "$T/f.db" "select group_concat(config, ';') from (select config from runs order by id)")" = "r=0.1;r=0.25;r=0.1" ] || fail "labels: $(q "$T/f.db" "select group_concat(config, ';') from runs")"
	run report "$T/f.db"; expect_rc 0
	grep -q "^== scenario .*f.lua (sha [0-9a-f]*), 2 configurations$" "$T/out" || fail "report: $(grep '^== ' "$T/out")"
	grep -Eq "^  runs \(replications\) +2 +1$" "$T/out" || fail "report: $(grep 'runs (rep' "$T/out")"
	;;
window)
	# no arrival at or after the end of its window: stop, or the run's end
	run run "$S/window.lua" --db "$T/db" --quiet
	expect_rc 0
	got=$(q "$T/db" "select group_concat(t_request / 1000000, ',') from (select t_request from instances where app = 'a' order by id)")
	[ "$got" = "0,250,500,750" ] || fail "constant to the end of the run: requests at $got ms"
	got=$(q "$T/db" "select group_concat(t_request / 1000000, ',') from (select t_request from instances where app = 'b' order by id)")
	[ "$got" = "500,600,700" ] || fail "constant with stop: requests at $got ms"
	[ "$(q "$T/db" "select count(*) from instances where app = 'c' and t_request >= 700000000")" = 0 ] || fail "bursts: $(q "$T/db" "select count(*) from instances where app = 'c' and t_request >= 700000000") requests at or after stop"
	n=$(q "$T/db" "select count(*) from instances where app = 'c'")
	[ "$n" -gt 100 ] && [ "$n" -lt 150 ] || fail "bursts: $n requests (two whole bursts of 50 and part of a third)"
	;;
spin)
	# a process spinning on sleep(0) at one instant (under pcall) fails
	# the run naming the process and its line instead of hanging past
	# the duration; the sweep point before it stays stored
	timeout -k 10 120 "$UKFORK" run "$S/spin.lua" --db "$T/db" --trace "$T/trace" >"$T/out" 2>"$T/err"; rc=$?
	[ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || fail "the run hung (stopped by the test's 120 s guard)"
	expect_rc 2
	expect_err "spin.lua:16: process 1 called sleep(0) 1000000 times in a row at 0.500000000 s of world time"
	[ "$(q "$T/db" "select group_concat(config, ';') from runs")" = "spin=0" ] || fail "stored: $(q "$T/db" "select group_concat(config, ';') from runs"), expected the run of spin=0 only"
	grep -q " lua spinner done$" "$T/trace" || fail "spin=0: the second process did not finish"
	grep -q " lua patient done$" "$T/trace" || fail "spin=0: the first process did not finish"
	;;
progress)
	# --progress: lines on a stderr that is not a terminal, even with
	# --quiet, at least one at the end of each run, naming the point and
	# run of how many, the label and rep, world time, events, events/s
	# and the ETA (0 at the end)
	run run "$S/sweep_computed.lua" --set c=1,2 --reps 2 --progress --quiet
	expect_rc 0
	[ -s "$T/out" ] && fail "--quiet printed on stdout: $(cat "$T/out")"
	n=0
	for pr in "1/2, run 1/4: c=1 rep 0" "1/2, run 2/4: c=1 rep 1" "2/2, run 3/4: c=2 rep 0" "2/2, run 4/4: c=2 rep 1"; do
		n=$((n + 1))
		sed -n "${n}p" "$T/err" | grep -q "^point $pr: [0-9]*\.[0-9]\{3\} / 10\.000 s world time, [0-9]* events, [0-9]*\.[0-9]\{2\} M events/s, ETA [0-9?]" || fail "line $n is not the end of point $pr: $(sed -n "${n}p" "$T/err")"
	done
	[ "$(grep -c . "$T/err")" = 4 ] || fail "$(grep -c . "$T/err") lines on stderr, expected one per run"
	tail -n 1 "$T/err" | grep -q ", ETA 0 s$" || fail "the last run's ETA: $(tail -n 1 "$T/err")"
	# without it, a stderr that is not a terminal gets none
	run run "$S/sweep_computed.lua" --set c=1,2
	expect_rc 0
	[ -s "$T/err" ] && fail "progress on a non-terminal stderr: $(cat "$T/err")"
	expect_out "^run c=2 rep 0: "
	;;
bool_param)
	# a boolean param is a boolean in the scenario (it came as the number
	# 0 or 1, true to Lua: a swept flag took one branch at both points),
	# and so are true and false given by --set for it; settings_json
	# holds JSON booleans, the same for both, so report pools them
	printf '%s\n' 'local f = param("f", {true, false})' 'local g = param("g", false)' \
		'run { duration = "1ms" }' \
		'process(function() log("flags", type(f), f and "on" or "off", type(g), g and "on" or "off", tostring(setting("f"))) end)' >"$T/b.lua"
	run run "$T/b.lua" --trace "$T/t1" --db "$T/db" --quiet; expect_rc 0
	[ "$(grep ' lua flags ' "$T/t1" | cut -d' ' -f4- | tr '\n' ';')" = "boolean on boolean off true;boolean off boolean off false;" ] ||
		fail "flags: $(grep ' lua flags ' "$T/t1")"
	run run "$T/b.lua" --set f=false --set g=true --seed 2 --trace "$T/t2" --db "$T/db" --quiet; expect_rc 0
	[ "$(grep ' lua flags ' "$T/t2" | cut -d' ' -f4-)" = "boolean off boolean on false" ] ||
		fail "--set flags: $(grep ' lua flags ' "$T/t2")"
	got=$(q "$T/db" "select group_concat(config || ':' || json_extract(settings_json, '$.params'), ';') from (select * from runs order by id)")
	[ "$got" = 'f=true:{"f":true,"g":false};f=false:{"f":false,"g":false};f=false g=true:{"f":false,"g":true}' ] ||
		fail "settings_json params: $got"
	run run "$T/b.lua" --set f=false --seed 3 --db "$T/db" --quiet; expect_rc 0
	run report "$T/db"; expect_rc 0
	grep -q "^== scenario .*b.lua (sha [0-9a-f]*), 3 configurations$" "$T/out" || fail "report: $(grep '^== ' "$T/out")"
	# other text stays text (documented: --set gives strings)
	run run "$T/b.lua" --set f=maybe --trace "$T/t3" --quiet; expect_rc 0
	grep -q ' lua flags string on ' "$T/t3" || fail "f=maybe: $(grep ' lua flags ' "$T/t3")"
	;;
seed_override)
	# --seed replaces every run's seed: beside a seed swept by a list
	# (the scenario's or --set's), given by --set or computed from a
	# swept param, each point would be the same run under another
	# label. Refused (exit 2) before anything is stored
	for a in "--set s=3,4 --set seed=1,2" "--set s=3 --set seed=7"; do
		# shellcheck disable=SC2086 # a holds several arguments
		run run "$S/sweep_computed.lua" --seed 5 $a --db "$T/db"
		expect_rc 2
		expect_err "ukfork run: --seed 5 and setting 'seed' (--set seed=.*) both give the seed"
		[ -f "$T/db" ] && fail "$a: a database was written"
	done
	run run "$S/sweep_computed.lua" --seed 5 --set s=3,4 --db "$T/db"
	expect_rc 2
	expect_err "sweep_computed.lua:11: setting 'seed' is 4 at sweep point s=4 but 3 at the first: --seed 5 would replace both"
	[ -f "$T/db" ] && fail "computed seed: a database was written"
	# a seed the same at every point is --seed's to replace (documented)
	run run "$S/sweep_computed.lua" --seed 5 --set s=3 --set d=1,2 --db "$T/db" --quiet
	expect_rc 0
	[ "$(q "$T/db" "select group_concat(seed, ',') from runs")" = "5,5" ] || fail "--seed over one seed: $(q "$T/db" "select group_concat(seed, ',') from runs")"
	;;
cores)
	# cluster{cores}: 200 instances of 100 ms of work started together on
	# one host share its 8 cores (processor sharing): the last ends at
	# 200 x 100 ms / 8 = 2.5 s of work; with cores=0 (off) each takes its
	# 100 ms. Swept, stored in settings_json; negative refused at its line
	printf '%s\n' 'cluster { nodes = 1, vcpus = 1000, memory = "16G", cores = param("c", 0) }' \
		'policy { templates = "none" }' 'run { duration = "100s" }' \
		'app("a", "mem=1M init=1ms work=100ms image=1M")' \
		'for i = 1, 200 do process(function() wait(spawn("a")) end) end' >"$T/c.lua"
	sed 's/^jitter = .*/jitter = 0/' "$S/../../../data/model.conf" >"$T/m.conf"
	run run "$T/c.lua" --set model="$T/m.conf" --set c=0,8 --db "$T/c.db" --quiet
	expect_rc 0
	got=$(per_run "$T/c.db" "ifnull(json_extract(r.settings_json, '$.cores'), 0) || ' ' || (select max(t_exit - t_ready) / 1000000 from instances i where i.run = r.id)")
	case $got in
	"c=0 "*":0 100;c=8 "*":8 2500") ;;
	*) fail "cores per run, longest ready-to-exit in ms: $got" ;;
	esac
	printf '%s\n' 'cluster { cores = -1 }' >"$T/bad.lua"
	run run "$T/bad.lua"; expect_rc 2; expect_err "bad.lua:1:"
	;;
json)
	# settings_json is UTF-8 JSON (json-c) that reads back as given: the
	# model path with a quote, a backslash and a tab, params with a slash
	# and a tab, a byte that is not UTF-8 (stored as U+FFFD), 0.1
	command -v jq >/dev/null || { echo "SKIP: jq is not installed"; exit 77; }
	m=$(printf '%s/m"o\\d\tel.conf' "$T")
	echo "jitter = 0" >"$m"
	run run "$S/json_text.lua" --set "model=$m" --db "$T/db" --quiet
	expect_rc 0
	sqlite3 "$T/db" "select settings_json from runs" >"$T/json" || fail "sqlite3"
	iconv -f UTF-8 -t UTF-8 "$T/json" >/dev/null 2>&1 || fail "settings_json is not UTF-8: $(cat "$T/json")"
	jq -e --arg m "$m" '.model == $m and .params.t == "a/b\tc\"d\\e"
		and .params.u == "x\ufffdy" and .params.n == 0.1
		and .apps["w\\x"] == "mem=16M init=1ms work=1ms"
		and .duration_ns == 1000000000 and .nodes == 1' "$T/json" >/dev/null ||
		fail "settings_json does not read back: $(cat "$T/json")"
	;;
report_width)
	# 12 configurations side by side made one line per figure of about
	# 300 columns (300 configurations: 6,600): printed in blocks of
	# configurations no wider than --width, the same cells as one table
	printf '%s\n' 'cluster { nodes = 2 }' 'run { duration = "200ms" }' \
		'local r = param("r", 10)' 'app("web", "mem=16M init=1ms work=1ms")' \
		'poisson { app = "web", rate = r }' >"$T/w.lua"
	run run "$T/w.lua" --set r=$(seq -s, 10 10 120) --db "$T/db" --quiet
	expect_rc 0
	run report "$T/db" --width 0; expect_rc 0
	cp "$T/out" "$T/one"
	[ "$(grep -c '^  requests ' "$T/one")" -eq 1 ] || fail "--width 0: not one table"
	[ "$(awk '{ if (length($0) > m) m = length($0) } END { print m }' "$T/one")" -gt 160 ] ||
		fail "--width 0: the table fits in 160 columns, the case tests nothing"
	for w in 100 160; do
		if [ "$w" = 160 ]; then
			run report "$T/db" # not a terminal: 160
		else
			run report "$T/db" --width "$w"
		fi
		expect_rc 0
		# the configurations' table (the paired differences after it
		# have one row per configuration)
		awk -v w="$w" '/^== scenario/ { t = 1 } /paired differences/ { t = 0 }
			t && length($0) > w { print "line " NR " has " length($0) " columns" ; bad = 1 } END { exit bad }' "$T/out" ||
			fail "--width $w: a line of the table wider than $w"
		grep -q '^  configurations 1-[0-9]* of 12:$' "$T/out" || fail "--width $w: no first block heading"
		# each row's cells, blocks joined, equal the one table's
		for row in '  requests' '  latency p95 (ms, completed)' '  pooled p99 (ms) [95% OS CI]'; do
			cells() { awk -v p="$row" 'index($0, p) == 1 { print substr($0, length(p) + 1) }' "$1" |
				sed 's/^ *//; s/ \{2,\}/|/g' | paste -s -d '|'; }
			a=$(cells "$T/one"); b=$(cells "$T/out")
			[ -n "$a" ] && [ "$a" = "$b" ] || fail "--width $w: row '$row' is '$b', one table: '$a'"
		done
		# every label once, in order
		a=$(grep -o 'r=[0-9]*' "$T/one" | head -12 | paste -s -d ' ')
		b=$(grep -E '^ {3,}r=' "$T/out" | grep -o 'r=[0-9]*' | paste -s -d ' ')
		[ "$a" = "$b" ] || fail "--width $w: labels '$b', expected '$a'"
	done
	run report "$T/db" --width x; expect_rc 2; expect_err "width needs a number of columns"
	run report "$T/db" --width 1 --width 2; expect_rc 2; expect_err "width given twice"
	run report "$T/db" --width; expect_rc 2
	run report "$T/db" --json --width 100; expect_rc 0
	run report "$T/db" --json; expect_rc 0
	;;
file_edits)
	# a model file or trace{} file edited between two invocations of the
	# same scenario: the runs are two configurations, not one run and a
	# "duplicate" (before the fix the report kept the first, 53 ms mean
	# latency, and dropped the second, 558 ms, as counted once)
	printf '%s\n' 'boot_base_ns = 5ms' >"$T/m.conf"
	printf '%s\n' '0 web' '0.1 web' >"$T/arr.txt"
	printf '%s\n' 'cluster { nodes = 2 }' 'run { duration = "2s", model = "m.conf" }' \
		'app("web", "mem=16M init=1ms work=1ms")' 'trace { file = "arr.txt" }' >"$T/s.lua"
	run run "$T/s.lua" --db "$T/db" --quiet; expect_rc 0
	printf '%s\n' 'boot_base_ns = 500ms' >"$T/m.conf"
	run run "$T/s.lua" --db "$T/db" --quiet; expect_rc 0
	printf '%s\n' '0 web' '0.1 web' '0.2 web' >"$T/arr.txt"
	run run "$T/s.lua" --db "$T/db" --quiet; expect_rc 0
	run run "$T/s.lua" --db "$T/db" --quiet; expect_rc 0 # a true re-run
	[ "$(q "$T/db" "select count(distinct json_extract(settings_json, '$.model_digest')) || '/' || count(distinct json_extract(settings_json, '$.trace_digests[0]')) from runs")" = "2/2" ] || fail "digests: $(q "$T/db" "select settings_json from runs")"
	run report "$T/db"; expect_rc 0
	grep -q '^== scenario .*s.lua (sha [0-9a-f]*), 3 configurations$' "$T/out" || fail "report: $(grep '^== ' "$T/out")"
	[ "$(grep -c 'duplicates run' "$T/err")" = 1 ] || fail "duplicates: $(cat "$T/err")"
	grep -q 'run 4 duplicates run 3' "$T/err" || fail "duplicates: $(cat "$T/err")"
	;;
trace_header)
	# every run's lines follow its "# run" line: prewarm's template boots
	# at time 0 came before it, as if they were the previous run's
	printf '%s\n' 'cluster { nodes = 2 }' 'policy { templates = param("tp", {"none", "prewarm"}) }' \
		'run { duration = "200ms" }' 'app("web", "mem=16M init=1ms work=1ms")' \
		'poisson { app = "web", rate = 20 }' >"$T/s.lua"
	run run "$T/s.lua" --trace "$T/trace" --quiet; expect_rc 0
	grep -q ' prewarm ' "$T/trace" || fail "no prewarm line: $(head "$T/trace")"
	awk '/^# run config=tp=prewarm/ { p = 1 } / prewarm / && !p { print; bad = 1 } END { exit bad }' "$T/trace" ||
		fail "prewarm lines before their run's header: $(grep -n '# run\| prewarm ' "$T/trace")"
	;;
template_too_big)
	# a template larger than the whole cache is made once per node, not
	# at every spawn (each maker paused for a make whose template was
	# then dropped, "cache full": 35 makes for 35 requests)
	printf '%s\n' 'cluster { nodes = 2, cache = "8M" }' 'policy { templates = "on-demand", placement = "local" }' \
		'run { duration = "2s" }' 'app("a", "mem=16M init=10ms work=5ms")' \
		'constant { app = "a", interval = "100ms", node = 0 }' >"$T/s.lua"
	run run "$T/s.lua" --trace "$T/trace" --db "$T/db" --quiet; expect_rc 0
	[ "$(grep -c ' template-too-big app=a node=0 bytes=16777216 cache=8388608' "$T/trace")" = 1 ] ||
		fail "too-big lines: $(grep -c 'template-too-big' "$T/trace")"
	[ "$(grep -c ' template-make ' "$T/trace")" = 1 ] || fail "$(grep -c ' template-make ' "$T/trace") template makes"
	[ "$(q "$T/db" "select count(*) || ' ' || sum(start = 'cold') from instances")" = "20 20" ] ||
		fail "starts: $(q "$T/db" "select start, count(*) from instances group by start")"
	;;
report_paths)
	# runs of s.lua and ./s.lua (and .//s.lua) are one scenario: they
	# made separate sections of one replication each
	printf '%s\n' 'cluster { nodes = 2 }' 'run { duration = "200ms" }' \
		'app("web", "mem=16M init=1ms work=1ms")' 'poisson { app = "web", rate = 50 }' >"$T/s.lua"
	cd "$T" || fail "cd $T"
	for p in s.lua ./s.lua .//s.lua; do
		n=$((${n:-0} + 1))
		run run "$p" --seed "$n" --db "$T/db" --quiet; expect_rc 0
	done
	run run "$T/s.lua" --seed 4 --db "$T/db" --quiet; expect_rc 0
	run report "$T/db"; expect_rc 0
	[ "$(grep -c '^== scenario' "$T/out")" -eq 2 ] || fail "sections: $(grep '^== ' "$T/out")"
	grep -q '^== scenario s.lua (sha [0-9a-f]*), 1 configuration$' "$T/out" || fail "no section s.lua: $(grep '^== ' "$T/out")"
	grep -Eq "^  runs \(replications\) +3$" "$T/out" || fail "s.lua: $(grep 'runs (rep' "$T/out")"
	;;
*)
	echo "unknown case $CASE" >&2; exit 2
	;;
esac
exit 0
