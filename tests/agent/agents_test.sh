#!/bin/bash
# SPDX-License-Identifier: MIT
# agents_test.sh UKFORK UKFORKD CASE [DIRECTORY] - node agents (ukforkd) on
# loopback TCP, driven by ukfork: a cluster file with fresh keys, N agents,
# one case. DIRECTORY: embedded (default) or etcd (a real etcd started for
# the case by scripts/etcd/local.sh; `directory = etcd`, lease TTL 2 s).
#
# Cases without KVM (the agents start; no run needs a backend):
#   status       3 agents, `ukfork agent status` sees all up, each sees its
#                peers; an agent stopped with SIGTERM leaves cleanly
#   unknown_key  a client whose key the agents' file does not list is
#                refused (status gets no answer, the agent logs the refusal)
#   restart      an agent killed (SIGKILL) and started again is seen by its
#                peers as a new incarnation
#   foreign      the cleanup signals only processes this script still has:
#                a stand-in PID in PIDS (an agent's number reused) survives
#   drop         an agent SIGKILLed: every other agent drops it (embedded:
#                heartbeat timeout; etcd: lease expiry); prints how long
# etcd only:
#   etcd_unreachable  ukforkd with no etcd at its endpoints exits 2, saying so
#   etcd_lost    etcd killed under running agents: they report DEGRADED and
#                go on; etcd back: they report ok, the directory complete
# Cases with KVM (label kvm; inside scripts/kvm-vm where /dev/kvm is
# missing):
#   exec         `ukfork exec --cluster` fanout 16 over 3 agents: the right
#                answer, children on more than one node
#   run          `ukfork run --cluster` of a scenario with forks to other
#                nodes: rows in the database, remote ones among them, the
#                same columns as --backend sim
#   template     a spawn on a node that has no template of its app while a
#                peer has one: the template comes from the peer (fetch)
#   kill9        the agent that receives remote forks is SIGKILLed while
#                they run: the guest's parent gets errors or its children's
#                failures, the exec ends, the other agents go on
#   badimage     the scenario's image is not readable on node 1 (hidden
#                by a mount namespace) and node 1 has no guest of the
#                app's name: the run fails naming node 1 and the image
#   interrupted  `ukfork run --cluster` killed mid-run (no END sent): the
#                next run waits until the agents have dropped the old one
#                (peer_timeout) instead of being refused; it runs
#   lost         an agent SIGKILLed while its instances run under `ukfork
#                run --cluster`: the run says so on stderr naming the node
#                and its endpoint, every spawn keeps exactly one row (those
#                of the lost node failed, "was lost during the run"), the
#                outages table has the node's failure, the run is stored;
#                a process waiting on the lost node goes on at the loss,
#                node_state says failed, spawns without a node avoid it
#   paused       an agent SIGSTOPped during `ukfork run --cluster`: the
#                client keeps serving the other node (5 more of its spawns
#                before any request to the paused node times out); the
#                spawn it does not answer in 10 s gets a failed row, those
#                answered late are stopped: one row per spawn
#   estale       both agents boot the app cold and make their own template
#                of it (prewarm, fetch=cold: two different templates), then
#                a parent cloned from one node's template forks onto the
#                other: the child must run there (the engine brings the
#                parent's template over) instead of failing with "delta was
#                taken against another template"
set -u
UKFORK=$1
UKFORKD=$2
CASE=$3
DIRECTORY=${4:-embedded}
# lease TTL: 2 s, or 10 s where VMs run (under emulation in scripts/kvm-vm
# one etcd request can take a second)
case $CASE in
exec | run | tboot | template | kill9 | estale | lost | badimage | interrupted | paused) ETCD_TTL_DEFAULT=10s ;;
*) ETCD_TTL_DEFAULT=2s ;;
esac
SRC=$(cd "$(dirname "$0")/../.." && pwd)
# own_child
. "$SRC/scripts/lib/procs.sh"
case $DIRECTORY in
embedded) ;;
etcd) command -v etcd >/dev/null || { echo "SKIP: etcd is not installed (etcd-server)"; exit 77; } ;;
*) echo "agents_test: unknown directory '$DIRECTORY'" >&2; exit 2 ;;
esac
# long.lua: an instance on each of nodes 0 and 1 that runs 200 s;
# short.lua: one short instance on node 1 (the run after a stopped one)
long_short_lua() {
	cat >"$T/long.lua" <<'EOF'
run { duration = "300s" }
app("s", "mem=8M init=20ms work=200s")
process(function() spawn("s", nil, 0); spawn("s", nil, 1) end)
EOF
	cat >"$T/short.lua" <<'EOF'
run { duration = "120s" }
app("s", "mem=8M init=20ms work=10ms")
process(function() log("status " .. tostring(wait(spawn("s", nil, 1)))) end)
EOF
}

case $CASE in
exec | run | tboot | template | kill9 | estale | lost | badimage | interrupted | paused)
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || { echo "SKIP: no usable /dev/kvm"; exit 77; } ;;
esac
T=$(mktemp -d "${TMPDIR:-/tmp}/ukf-agents.XXXXXX")
PIDS=()

# Signal what this script started and still has: an agent a case killed
# and reaped (drop, kill9, lost ...) left its number in PIDS, and another
# test's process may have it now (seen: a concurrent test's etcd killed
# at its start, 'exited before it was healthy', when a drop case ended).
own_pids() {
	local p
	for p in "${PIDS[@]}"; do own_child "$p" $$ && echo "$p"; done
}
cleanup() {
	local p mine
	mine=$(own_pids)
	own_child "$GUARD" $$ && pkill -P "$GUARD" 2>/dev/null
	for p in $mine; do kill -TERM "$p" 2>/dev/null; done
	sleep 0.3
	for p in $(own_pids); do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -d "$T/etcd" ] && bash "$SRC/scripts/etcd/local.sh" stop "$T/etcd" >/dev/null 2>&1
	if [ -n "${KEEP:-}" ]; then echo "kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT
# A hang guard: no case takes this long even under emulation.
# (sleep holds no pipe of ctest's open: killing the guard ends it all)
(sleep 600 </dev/null >/dev/null 2>&1 && echo "agents_test: $CASE: hung, killing" >&2 && kill -TERM $$) &
GUARD=$!
PIDS+=("$GUARD")

fail() {
	echo "FAIL ($CASE): $*" >&2
	for f in "$T"/node*.log; do
		[ -e "$f" ] && { echo "--- $f" >&2; tail -n 30 "$f" >&2; }
	done
	[ -e "$T/trace" ] && { echo "--- engine events" >&2; tail -n 60 "$T/trace" >&2; }
	exit 1
}

# A free TCP port on 127.0.0.1: no socket of any state on it now, below the
# kernel's ephemeral range (a port there can be taken between this check and
# the agent's bind as the source port of some test's outgoing connection:
# seen, "bind tcp://127.0.0.1:43014: Address already in use" in a parallel
# suite), and not one this script handed out already. Into $FREE_PORT (not
# printed: a $(...) subshell would lose the list of ports handed out).
USED_PORTS=" "
free_port() {
	local p lo
	lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null) || lo=32768
	[ "${lo:-0}" -gt 21000 ] 2>/dev/null || lo=32768
	for _ in $(seq 1 200); do
		p=$((20000 + RANDOM % (lo - 20000)))
		case "$USED_PORTS" in *" $p "*) continue ;; esac
		if ! ss -Htan "sport = :$p" 2>/dev/null | grep -q .; then
			USED_PORTS="$USED_PORTS$p "
			FREE_PORT=$p
			return 0
		fi
	done
	return 1
}

# make_cluster N: keys and $T/cluster.conf for nodes 0..N-1 and client
# 'runner' (and a key pair 'stranger' that the file does not list).
make_cluster() {
	local n=$1 i port
	mkdir -p "$T/keys"
	for name in runner stranger $(seq -f 'node%g' 0 $((n - 1))); do
		"$UKFORK" keys "$name" --dir "$T/keys" >/dev/null ||
			fail "ukfork keys $name"
	done
	{
		# peer_timeout: under emulation (scripts/kvm-vm) one backend
		# operation (a 64 MiB template load) can keep an agent from its
		# heartbeats for seconds, over 10 s on a loaded host (seen:
		# agents_etcd_run's nodes silent for 10 s, run cut short): 30 s
		# there, 10 s elsewhere; cases that test detection set their own
		pt=10s
		[ -n "${UKF_IN_KVM_VM:-}" ] && pt=30s
		printf '[cluster]\nname = agents-test\nheartbeat = 250ms\npeer_timeout = %s\n' "${PEER_TIMEOUT:-$pt}"
		if [ "$DIRECTORY" = etcd ]; then
			# etcd's first election under emulation on a loaded host
			# took over local.sh's default 20 s (a coverage run)
			ew=20
			[ -n "${UKF_IN_KVM_VM:-}" ] && ew=120
			[ -d "$T/etcd" ] || ETCD_EPS=$(bash "$SRC/scripts/etcd/local.sh" start "$T/etcd" --wait "$ew" 2>"$T/etcd.err") ||
				fail "cannot start etcd: $(tail -3 "$T/etcd.err"; tail -n 5 "$T"/etcd/member-*.log 2>/dev/null)"
			printf 'directory = etcd\netcd_endpoints = %s\netcd_prefix = /ukfork/agents-test\netcd_lease_ttl = %s\n' "$ETCD_EPS" "${ETCD_TTL:-$ETCD_TTL_DEFAULT}"
		fi
		for i in $(seq 0 $((n - 1))); do
			free_port || fail "no free port"
			port=$FREE_PORT
			printf '\n[node %d]\nendpoint = tcp://127.0.0.1:%d\npublic_key = %s\nsecret_key_file = keys/node%d.key\nvcpus = 8\nmemory = 4G\ncache = 1G\n' \
				"$i" "$port" "$(cat "$T/keys/node$i.pub")" "$i"
		done
		printf '\n[client runner]\npublic_key = %s\nsecret_key_file = keys/runner.key\n' \
			"$(cat "$T/keys/runner.pub")"
	} >"$T/cluster.conf"
	NODES=$n
}

# start_agent K: ukforkd for node K in the background, log $T/nodeK.log.
declare -A APID
start_agent() {
	"$UKFORKD" --cluster "$T/cluster.conf" --node "$1" \
		--log "$T/node$1.log" --log-level debug &
	APID[$1]=$!
	PIDS+=("$!")
}

# wait_log K REGEX [SECONDS]: until node K's log has a line matching REGEX.
wait_log() {
	local k=$1 re=$2 s=${3:-30} i
	for i in $(seq 1 $((s * 10))); do
		grep -Eq "$re" "$T/node$k.log" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "node $k: no log line matching '$re' within $s s"
}

# all agents up and each seeing every peer
start_all() {
	local k j
	for k in $(seq 0 $((NODES - 1))); do start_agent "$k"; done
	for k in $(seq 0 $((NODES - 1))); do
		wait_log "$k" ' info: up: '
		for j in $(seq 0 $((NODES - 1))); do
			[ "$j" = "$k" ] || wait_log "$k" "node $j up"
		done
	done
}

case $CASE in
status)
	make_cluster 3
	start_all
	out=$("$UKFORK" agent status --cluster "$T/cluster.conf") ||
		fail "agent status exited $?: $out"
	echo "$out"
	[ "$(grep -c '^node [0-9]  .*  up  incarnation' <<<"$out")" = 3 ] ||
		fail "not 3 agents up"
	grep -q 'peers      0 up, 1 up' <<<"$out" || fail "node 2's peers"
	grep -q 'run        none' <<<"$out" || fail "no run line"
	if [ "$DIRECTORY" = etcd ]; then
		[ "$(grep -c 'directory  etcd .*: ok, revision [0-9]*, 3 nodes known' <<<"$out")" = 3 ] ||
			fail "not every agent reports etcd ok with 3 nodes: $out"
	else
		[ "$(grep -c 'directory  embedded' <<<"$out")" = 3 ] ||
			fail "not every agent reports the embedded directory: $out"
	fi
	# SIGTERM: a clean stop, its peers see it go
	kill -TERM "${APID[2]}"
	wait "${APID[2]}" || fail "ukforkd exited $? on SIGTERM"
	grep -q 'stopping (signal)' "$T/node2.log" || fail "no clean stop"
	wait_log 0 'node 2 down' 10
	out=$("$UKFORK" agent status --cluster "$T/cluster.conf" --timeout 1)
	[ $? = 1 ] || fail "status with a node down should exit 1"
	grep -q '^node 2 .* down' <<<"$out" || fail "node 2 not reported down: $out"
	# bad usage is refused, naming the problem
	"$UKFORK" agent status 2>"$T/err" && fail "status without --cluster passed"
	grep -q -- '--cluster FILE is required' "$T/err" || fail "usage message: $(cat "$T/err")"
	"$UKFORKD" --cluster "$T/cluster.conf" --node 7 2>"$T/err" && fail "node 7 accepted"
	grep -q 'has nodes 0..2' "$T/err" || fail "node 7 message: $(cat "$T/err")"
	;;
unknown_key)
	make_cluster 2
	start_all
	# the same cluster, but this client presents the stranger's keys
	# (Z85 keys hold characters sed would read: plain bash replacement)
	conf=$(cat "$T/cluster.conf")
	conf=${conf//"keys/runner.key"/"keys/stranger.key"}
	conf=${conf//"$(cat "$T/keys/runner.pub")"/"$(cat "$T/keys/stranger.pub")"}
	printf '%s\n' "$conf" >"$T/stranger.conf"
	out=$("$UKFORK" agent status --cluster "$T/stranger.conf" --timeout 2)
	rc=$?
	[ $rc = 1 ] || fail "a stranger's status exited $rc: $out"
	[ "$(grep -c ' down ' <<<"$out")" = 2 ] || fail "a stranger saw an agent: $out"
	# (it said "down (Host is down)": nothing about keys)
	[ "$(grep -c "down (no answer within 2.0 s: ukforkd not running there, or not with this cluster file's keys)" <<<"$out")" = 2 ] ||
		fail "the stranger is not told about keys: $out"
	# the agents go on serving the real client
	"$UKFORK" agent status --cluster "$T/cluster.conf" >/dev/null ||
		fail "the listed client is refused after a stranger"
	grep -q 'refused\|unknown' "$T/node0.log" ||
		fail "node 0 did not log the refusal"
	;;
restart)
	make_cluster 2
	start_all
	inc1=$(grep -o 'incarnation [0-9]*' "$T/node1.log" | head -1)
	kill -KILL "${APID[1]}"
	wait "${APID[1]}" 2>/dev/null
	sleep 0.2
	start_agent 1
	wait_log 0 'node 1 up, restarted' 20
	out=$("$UKFORK" agent status --cluster "$T/cluster.conf") ||
		fail "status after restart: $out"
	inc2=$(grep '^node 1 ' <<<"$out" | grep -o 'incarnation [0-9]*')
	[ -n "$inc2" ] && [ "$inc1" != "$inc2" ] ||
		fail "node 1's incarnation did not change ($inc1, $inc2)"
	;;
drop)
	PEER_TIMEOUT=${PEER_TIMEOUT:-3s} make_cluster 3
	start_all
	if [ "$DIRECTORY" = etcd ]; then
		gone='etcd: node 2 left the directory'
	else
		gone='node 2 down'
	fi
	t0=$(date +%s.%N)
	kill -KILL "${APID[2]}"
	wait "${APID[2]}" 2>/dev/null
	for k in 0 1; do wait_log "$k" "$gone" 30; done
	t1=$(date +%s.%N)
	awk -v d="$DIRECTORY" -v a="$t0" -v b="$t1" \
		'BEGIN { printf "drop (%s): every other agent dropped node 2 %.2f s after SIGKILL\n", d, b - a }'
	if [ "$DIRECTORY" = etcd ]; then
		# (the status request races nothing: node 0 logged the drop)
		for i in $(seq 1 25); do
			out=$("$UKFORK" agent status --cluster "$T/cluster.conf" --timeout 2)
			grep -A6 '^node 0 ' <<<"$out" | grep -q 'ok, revision [0-9]*, 2 nodes known' && break
			sleep 0.2
		done
		grep -A6 '^node 0 ' <<<"$out" | grep -q 'ok, revision [0-9]*, 2 nodes known' ||
			fail "node 0's directory still counts node 2: $out"
	fi
	;;
foreign)
	# a number in PIDS that is no longer this script's: an agent a case
	# killed and reaped, its number given since to another process (a
	# concurrent test's etcd was killed so at its start). The cleanup
	# must leave it alone.
	( sleep 60 </dev/null >/dev/null 2>&1 & echo $! >"$T/foreign" )
	fp=$(cat "$T/foreign")
	alive "$fp" || fail "the stand-in process did not start"
	own_child "$fp" $$ && fail "the stand-in ($fp) is this script's own child"
	PIDS+=("$fp")
	cleanup
	alive "$fp" || fail "the cleanup killed process $fp, which this script did not start"
	kill "$fp"
	echo "ok: a process not this script's own survives its cleanup"
	;;
etcd_unreachable)
	[ "$DIRECTORY" = etcd ] || fail "etcd_unreachable needs DIRECTORY etcd"
	make_cluster 2
	bash "$SRC/scripts/etcd/local.sh" stop "$T/etcd" >/dev/null 2>&1
	SECONDS=0
	"$UKFORKD" --cluster "$T/cluster.conf" --node 0 >"$T/out" 2>&1
	rc=$?
	cat "$T/out"
	[ $rc = 2 ] || fail "ukforkd without etcd exited $rc, want 2"
	grep -q 'etcd unreachable at start' "$T/out" || fail "no clear message"
	grep -q "$ETCD_EPS" "$T/out" || fail "the message does not name the endpoints"
	[ $SECONDS -lt 30 ] || fail "took $SECONDS s to give up"
	;;
etcd_lost)
	[ "$DIRECTORY" = etcd ] || fail "etcd_lost needs DIRECTORY etcd"
	make_cluster 2
	start_all
	bash "$SRC/scripts/etcd/local.sh" kill "$T/etcd" 0 >/dev/null ||
		fail "cannot kill etcd"
	for k in 0 1; do wait_log "$k" 'etcd lost' 20; done
	out=$("$UKFORK" agent status --cluster "$T/cluster.conf" --timeout 2) ||
		fail "an agent is down after etcd was lost: $out"
	[ "$(grep -c 'directory  etcd, .*DEGRADED' <<<"$out")" = 2 ] ||
		fail "not both agents report DEGRADED: $out"
	grep -q 'placement from the last replica of 2 nodes' <<<"$out" ||
		fail "the replica was not kept: $out"
	sleep 3 # longer than the lease TTL: nobody may be dropped meanwhile
	bash "$SRC/scripts/etcd/local.sh" restart "$T/etcd" 0 >/dev/null ||
		fail "cannot restart etcd"
	for k in 0 1; do wait_log "$k" 'etcd reachable again' 30; done
	for i in $(seq 1 50); do
		out=$("$UKFORK" agent status --cluster "$T/cluster.conf" --timeout 2)
		[ "$(grep -c ': ok, revision [0-9]*, 2 nodes known' <<<"$out")" = 2 ] && break
		sleep 0.2
	done
	[ "$(grep -c ': ok, revision [0-9]*, 2 nodes known' <<<"$out")" = 2 ] ||
		fail "not both agents ok with 2 nodes after etcd returned: $out"
	grep -q 'left the directory' "$T/node0.log" "$T/node1.log" &&
		fail "a node was dropped while etcd was away"
	;;
exec)
	make_cluster 3
	start_all
	out=$("$UKFORK" exec --cluster "$T/cluster.conf" --placement round-robin \
		fanout 16 10000000 2>"$T/err") || fail "exec exited $?: $out $(cat "$T/err")"
	echo "$out"
	grep -q 'primes below 10000000: 664579' <<<"$out" || fail "wrong answer"
	nodes=$(grep -o 'on node [0-9]*' <<<"$out" | sort -u | wc -l)
	[ "$nodes" -ge 2 ] || fail "children ran on $nodes node(s) only"
	grep -q inline <<<"$out" && fail "some slices were computed inline (forks refused)"
	;;
run)
	make_cluster 3
	start_all
	cat >"$T/scen.lua" <<'EOF'
policy { placement = "round-robin", templates = "on-demand", fetch = "peer" }
run { duration = "120s" }
app("fanout", "mem=64M init=20ms work=20ms dirty=256 fork=6 units=1")
process(function()
  local id = spawn("fanout")
  log("status " .. tostring(wait(id)))
end)
EOF
	"$UKFORK" run "$T/scen.lua" --cluster "$T/cluster.conf" \
		--db "$T/r.db" >"$T/out" 2>&1 ||
		fail "run --cluster exited $?: $(cat "$T/out")"
	cat "$T/out"
	rows=$(sqlite3 "$T/r.db" 'select count(*) from instances')
	remote=$(sqlite3 "$T/r.db" 'select count(*) from instances where remote = 1')
	nodes=$(sqlite3 "$T/r.db" 'select count(distinct node) from instances')
	backend=$(sqlite3 "$T/r.db" 'select backend from runs')
	[ "$rows" = 7 ] || fail "$rows instance rows, want 7 (a parent, 6 children)"
	[ "$remote" -ge 2 ] || fail "$remote remote rows"
	[ "$nodes" -ge 2 ] || fail "instances on $nodes node(s)"
	[ "$backend" = kvm ] || fail "backend column '$backend'"
	sqlite3 "$T/r.db" 'select settings_json from runs' | grep -q '"cluster"' ||
		fail "settings lack the cluster file"
	if [ "$DIRECTORY" = etcd ]; then
		grep -Eq 'etcd: node [12] record \(run [1-9]' "$T/node0.log" ||
			fail "node 0 got no peer record of the run from etcd"
	fi
	;;
tboot)
	# a remote fork to a node without the template, fetch=cold: node 1
	# boots the template itself - the engine's own boot, a template_boots
	# row, not an instance (issue 11 item 4; RECORD carries the flag). The
	# parent has no template (templates "none"): its delta is the whole
	# image, which any template serves (a parent with one needs that one,
	# which is fetched from its node whatever the policy: case estale)
	make_cluster 2
	start_all
	cat >"$T/scen.lua" <<'EOF'
policy { placement = "round-robin", templates = "none", fetch = "cold" }
run { duration = "120s" }
app("fanout", "mem=64M init=20ms work=20ms dirty=256 fork=2 units=1")
process(function()
  log("status " .. tostring(wait(spawn("fanout", nil, 0))))
end)
EOF
	"$UKFORK" run "$T/scen.lua" --cluster "$T/cluster.conf" --db "$T/r.db" \
		>"$T/out" 2>&1 || fail "run exited $?: $(cat "$T/out")"
	rows=$(sqlite3 "$T/r.db" 'select node, start, status from instances order by id')
	tb=$(sqlite3 "$T/r.db" 'select node, template_made, status from template_boots')
	echo "instances: $rows"; echo "template boots: $tb"
	[ "$(wc -l <<<"$rows")" = 3 ] || fail "$(wc -l <<<"$rows") instance rows, want 3 (a parent, 2 forks): $rows"
	grep -q '^1|1|0$' <<<"$tb" || fail "no template boot made on node 1: '$tb'"
	;;
template)
	make_cluster 2
	start_all
	cat >"$T/scen.lua" <<'EOF'
policy { placement = "local", templates = "on-demand", fetch = "peer" }
run { duration = "120s" }
app("synth", "mem=64M init=20ms work=1ms")
process(function()
  wait(spawn("synth", nil, 0)) -- cold on node 0, its template made there
  sleep(0.5)
  wait(spawn("synth", nil, 1)) -- node 1 has none: fetched from node 0
end)
EOF
	"$UKFORK" run "$T/scen.lua" --cluster "$T/cluster.conf" --db "$T/r.db" \
		>"$T/out" 2>&1 || fail "run exited $?: $(cat "$T/out")"
	rows=$(sqlite3 "$T/r.db" 'select node, start, template_fetched, status from instances order by t_request')
	echo "$rows"
	[ "$(sed -n 1p <<<"$rows")" = "0|cold|0|0" ] || fail "first row: $(sed -n 1p <<<"$rows")"
	[ "$(sed -n 2p <<<"$rows")" = "1|template|1|0" ] ||
		fail "second row (want node 1, a template fetched from node 0): $(sed -n 2p <<<"$rows")"
	grep -q 'template-fetch app=synth node=1 from=0' "$T/node1.log" ||
		grep -q 'template-fetch app=synth node=1 from=0' "$T/out" ||
		true # (the event log line is there with --trace only)
	;;
kill9)
	make_cluster 2
	start_all
	# children that run 3 s each, every other one on node 1
	"$UKFORK" exec --cluster "$T/cluster.conf" --placement round-robin \
		--trace synth mem=64M init=20ms work=3s dirty=16 fork=4 \
		>"$T/out" 2>"$T/err" &
	EX=$!
	# node 1 dies as soon as a fork reaches it (its restore under way)
	wait_log 1 'fork [0-9]+ parent=[0-9]+ .*-> node=1' 120
	kill -KILL "${APID[1]}"
	SECONDS=0
	wait $EX
	rc=$?
	cat "$T/out"
	# Either the fork in flight to node 1 is placed again (on node 0: the
	# policy allows it) and the parent never notices, or the parent's
	# fork or wait gets an error and it says so; never a hang, never a
	# child counted twice.
	grep -q 'node 1 down' "$T/node0.log" || fail "node 0 did not see node 1 go"
	grep -q 'peer-down node=1' "$T/node0.log" || fail "node 0's engine did not settle node 1"
	if [ $rc = 0 ]; then
		grep -q 'synth: done .* children=4 inline=0 failed=0' "$T/out" ||
			fail "exit 0 but not 4 children done: $(cat "$T/out")"
		grep -Eq 'retry [0-9]+ attempt=1' "$T/node0.log" ||
			fail "exit 0 with node 1 killed mid-fork, but no retry"
	else
		[ $rc = 1 ] || fail "exec exited $rc: $(tail -5 "$T/err")"
		grep -Eq 'synth: (done .* failed=[1-9]|fork .* failed|child wait)' "$T/out" ||
			fail "exit 1 but the parent reported no failure: $(cat "$T/out")"
	fi
	grep -Eq 'fork [0-9]+ .* -> node=1' "$T/node0.log" ||
		grep -Eq 'place [0-9]+ .* -> node=1' "$T/node0.log" ||
		fail "no fork was placed on node 1"
	# node 0 goes on, with nothing of the run left
	out=$("$UKFORK" agent status --cluster "$T/cluster.conf" --timeout 2)
	grep -q '^node 0 .*  up ' <<<"$out" || fail "node 0 is not up: $out"
	grep -A6 '^node 0 ' <<<"$out" | grep -q 'run        none' ||
		fail "node 0 still has a run: $out"
	# and serves the next run
	"$UKFORK" exec --cluster "$T/cluster.conf" hello >/dev/null 2>"$T/err2" &&
		fail "a run with node 1 down was accepted"
	grep -q 'no answer .* node 1' "$T/err2" || fail "no message naming node 1: $(cat "$T/err2")"
	;;
badimage)
	# node 1 cannot read the image the scenario names (a mount namespace
	# hides it) and has no guest of the app's name: the run must stop
	# with the reason naming node 1 and the image, not "engine start
	# failed" alone
	command -v unshare >/dev/null || { echo "SKIP: no unshare"; exit 77; }
	make_cluster 2
	mkdir -p "$T/img"
	cp "$(dirname "$UKFORK")/guest/synth" "$T/img/mysynth" || fail "no synth guest"
	start_agent 0
	unshare -m bash -c 'mount -t tmpfs none "$1" && shift && exec "$@"' _ "$T/img" \
		"$UKFORKD" --cluster "$T/cluster.conf" --node 1 --log "$T/node1.log" --log-level debug &
	APID[1]=$!
	PIDS+=("$!")
	for k in 0 1; do wait_log "$k" ' info: up: '; done
	wait_log 0 'node 1 up'
	cat >"$T/scen.lua" <<EOF
run { duration = "30s" }
app("myapp", "mem=8M init=20ms work=10ms", { image = "$T/img/mysynth" })
process(function() wait(spawn("myapp", nil, 0)) end)
EOF
	"$UKFORK" run "$T/scen.lua" --cluster "$T/cluster.conf" --db "$T/r.db" >"$T/out" 2>"$T/err"
	rc=$?
	cat "$T/out" "$T/err"
	[ $rc != 0 ] || fail "a run whose image node 1 cannot read passed"
	grep -q "node 1 (tcp://127.0.0.1:[0-9]*) did not start the run: node 1: app 'myapp': its image $T/img/mysynth is not readable there (No such file or directory), nor is a guest of that name (.*/guest/myapp)" "$T/err" ||
		fail "the error does not say which node and image: $(cat "$T/err")"
	grep -q "app 'myapp': its image $T/img/mysynth is not readable there" "$T/node1.log" ||
		fail "node 1 did not log the missing image"
	# an app named after a guest node 1 has: it boots that one, saying so
	sed -i 's/app("myapp"/app("synth"/; s/spawn("myapp", nil, 0)/spawn("synth", nil, 1)/' "$T/scen.lua"
	"$UKFORK" run "$T/scen.lua" --cluster "$T/cluster.conf" --db "$T/r2.db" >"$T/out" 2>"$T/err" ||
		fail "the run of 'synth' on node 1 exited $?: $(cat "$T/err")"
	grep -q "app synth: its image $T/img/mysynth is not readable here (No such file or directory): booting this node's own guest .*/guest/synth" "$T/node1.log" ||
		fail "node 1 did not say it boots its own synth"
	[ "$(sqlite3 "$T/r2.db" 'select node, status from instances')" = "1|0" ] ||
		fail "synth on node 1: $(sqlite3 "$T/r2.db" 'select * from instances')"
	;;
interrupted)
	# a client killed mid-run (SIGKILL, or a crash: it sends no END): the
	# next run must not be refused with "another client's run is in
	# progress" while the agents still hold the old one
	pt=3s
	[ -n "${UKF_IN_KVM_VM:-}" ] && pt=10s
	PEER_TIMEOUT=${PEER_TIMEOUT:-$pt} make_cluster 2
	start_all
	long_short_lua
	"$UKFORK" run "$T/long.lua" --cluster "$T/cluster.conf" --db "$T/l.db" \
		--trace "$T/trace1" >"$T/out1" 2>&1 &
	RUNP=$!
	PIDS+=("$RUNP")
	for _ in $(seq 1 1200); do
		grep -Eq 'ready [0-9]+ node=1' "$T/node1.log" && break
		sleep 0.1
	done
	grep -Eq 'ready [0-9]+ node=1' "$T/node1.log" || fail "node 1's instance is not ready"
	kill -KILL "$RUNP"
	wait "$RUNP"
	"$UKFORK" run "$T/short.lua" --cluster "$T/cluster.conf" --db "$T/s.db" \
		>"$T/out" 2>"$T/err" ||
		fail "the run after a killed client exited $?: $(cat "$T/err")"
	cat "$T/out" "$T/err"
	grep -q "is busy with another client's run: waiting" "$T/err" ||
		fail "no word of the wait for the old run: $(cat "$T/err")"
	[ "$(sqlite3 "$T/s.db" 'select count(*), sum(status = 0) from instances')" = "1|1" ] ||
		fail "the next run's row: $(sqlite3 "$T/s.db" 'select * from instances')"
	grep -q 'the client of run .* is gone: ending it' "$T/node1.log" ||
		fail "node 1 did not end the killed client's run"
	;;
stopped)
	# Ctrl-C or SIGTERM of the client mid-run: it stops the run, tells
	# the agents (END) and dies of the signal; nothing stored; the next
	# run finds the agents free (before, they held the run and its VMs
	# until peer_timeout: the next run waited or was refused)
	make_cluster 2
	start_all
	long_short_lua
	for sig in TERM INT; do
		rm -f "$T/l.db" "$T/s.db"
		n0=$(grep -Ec 'ready [0-9]+ node=1' "$T/node1.log")
		# a script's background job ignores SIGINT: env gives it back
		# (--trace: the agents log the engine's lines, "ready N node=1")
		env --default-signal=INT "$UKFORK" run "$T/long.lua" --cluster "$T/cluster.conf" --db "$T/l.db" \
			--trace "$T/trace1" >"$T/out1" 2>&1 &
		RUNP=$!
		PIDS+=("$RUNP")
		for _ in $(seq 1 1200); do
			[ "$(grep -Ec 'ready [0-9]+ node=1' "$T/node1.log")" -gt "$n0" ] && break
			kill -0 "$RUNP" 2>/dev/null || break
			sleep 0.1
		done
		[ "$(grep -Ec 'ready [0-9]+ node=1' "$T/node1.log")" -gt "$n0" ] ||
			fail "SIG$sig: node 1's instance is not ready: $(cat "$T/out1"; tail -5 "$T/node1.log")"
		kill -"$sig" "$RUNP"
		wait "$RUNP"
		rc=$?
		want=143; [ "$sig" = INT ] && want=130
		[ "$rc" = "$want" ] || fail "SIG$sig: the client exited $rc, expected $want: $(cat "$T/out1")"
		grep -q "interrupted (SIG$sig) at .* this run is not stored" "$T/out1" ||
			fail "SIG$sig: no word of the interrupted run: $(cat "$T/out1")"
		[ "$(sqlite3 "$T/l.db" 'select count(*) from runs')" = 0 ] ||
			fail "SIG$sig: the interrupted run was stored"
		"$UKFORK" run "$T/short.lua" --cluster "$T/cluster.conf" --db "$T/s.db" \
			>"$T/out" 2>"$T/err" ||
			fail "SIG$sig: the run after the stopped one exited $?: $(cat "$T/err")"
		! grep -q "busy with another client's run" "$T/err" ||
			fail "SIG$sig: the agents still held the stopped run: $(cat "$T/err")"
		[ "$(sqlite3 "$T/s.db" 'select count(*), sum(status = 0) from instances')" = "1|1" ] ||
			fail "SIG$sig: the next run's row: $(sqlite3 "$T/s.db" 'select * from instances')"
	done
	;;
lost)
	# node 1 is declared lost 5 s after it goes silent (15 s: emulation)
	pt=5s
	[ -n "${UKF_IN_KVM_VM:-}" ] && pt=15s
	PEER_TIMEOUT=${PEER_TIMEOUT:-$pt} make_cluster 2
	start_all
	cat >"$T/scen.lua" <<'EOF'
policy { placement = "local", templates = "none" }
run { duration = "300s" }
app("s", "mem=8M init=20ms work=200s")
process(function()
  spawn("s", "work=1s", 0); local b = spawn("s", nil, 1); spawn("s", nil, 1)
  -- the loss ends the wait; then node 1 is failed and spawn without a
  -- node draws node 0 only
  local st, why = wait(b)
  log("after the loss: " .. tostring(why) .. "; node 1 " .. node_state(1))
  for i = 1, 10 do spawn("s", "work=10ms") end
end)
EOF
	# arrivals at node 1 until past the loss (peer_timeout after the
	# kill): those after it are refused, as at a failed node in the
	# simulator (no rows)
	astop=12s
	[ -n "${UKF_IN_KVM_VM:-}" ] && astop=30s
	printf 'constant { app = "s", args = "work=10ms", interval = "1s", node = 1, stop = "%s" }\n' \
		"$astop" >>"$T/scen.lua"
	"$UKFORK" run "$T/scen.lua" --cluster "$T/cluster.conf" --db "$T/r.db" \
		--trace "$T/trace" >"$T/out" 2>"$T/err" &
	RUNP=$!
	PIDS+=("$RUNP")
	# both of node 1's instances ready, then node 1 dies
	for _ in $(seq 1 1200); do
		[ "$(grep -Ec 'ready [0-9]+ node=1' "$T/node1.log")" -ge 2 ] && break
		sleep 0.1
	done
	[ "$(grep -Ec 'ready [0-9]+ node=1' "$T/node1.log")" -ge 2 ] ||
		fail "node 1's instances are not ready"
	kill -KILL "${APID[1]}"
	wait "$RUNP"
	rc=$?
	cat "$T/out" "$T/err"
	[ $rc = 0 ] || fail "run exited $rc"
	grep -q "the agent of node 1 was lost during the run (tcp://127.0.0.1:" "$T/err" ||
		fail "stderr does not name the lost node: $(cat "$T/err")"
	rows=$(sqlite3 "$T/r.db" "select origin, status, coalesce(fail_reason, '') from instances order by origin")
	echo "$rows"
	[ "$(sqlite3 "$T/r.db" 'select count(*) = count(distinct id) from instances')" = 1 ] ||
		fail "want exactly one row for each request: $rows"
	# (an arrival sent after the kill fails as lost, or, when
	# peer_timeout is past the connect timeout (emulation: 15 s), as
	# unanswered, or, sent once the client saw the link down, as not
	# reachable: the last seen in a fresh-clone suite in scripts/kvm-vm)
	[ "$(sqlite3 "$T/r.db" "select count(*) from instances where status != 0 and (origin != 1 or fail_reason not in ('the agent of node 1 was lost during the run', 'the agent of node 1 did not answer within 10.0 s', 'the agent of node 1 was not reachable within 10.0 s', 'arrival refused: node 1 is down'))")" = 0 ] ||
		fail "failed rows other than node 1's lost: $rows"
	grep -Eq '\(([0-9]+) arrivals? refused: no engine took them; stored as failed rows, ids -1, -2, \.\.\.\)' "$T/out" ||
		fail "no arrival at node 1 refused after the loss: $(cat "$T/out")"
	# (each refused arrival is a failed row of its own, ids -1, -2, ...)
	nref=$(sed -nE 's/.*\(([0-9]+) arrivals? refused: .*/\1/p' "$T/out")
	[ "$(sqlite3 "$T/r.db" "select count(*) from instances where id < 0 and origin = 1 and node is null and fail_reason = 'arrival refused: node 1 is down'")" = "$nref" ] ||
		fail "not $nref refused rows: $rows"
	# (and the arrivals at node 1 sent between the kill and the loss)
	[ "$(grep -c '^1|-1000|the agent of node 1 was lost during the run$' <<<"$rows")" -ge 2 ] ||
		fail "node 1's two requests are not failed as lost: $rows"
	# (before: the wait ended with the run, node_state said up, and about
	# half the draws went to node 1: 'spawn: node 1 has failed', exit 2)
	grep -q 'lua after the loss: the agent of node 1 was lost during the run; node 1 failed' "$T/trace" ||
		fail "the process did not see the loss: $(grep lua "$T/trace")"
	[ "$(sqlite3 "$T/r.db" 'select count(*) from instances where origin = 0 and status = 0')" = 11 ] ||
		fail "the spawns after the loss did not all run on node 0: $rows"
	[ "$(sqlite3 "$T/r.db" "select node, kind from outages")" = "1|node-fail" ] ||
		fail "no outage of node 1 stored: $(sqlite3 "$T/r.db" 'select * from outages')"
	;;
paused)
	# One agent SIGSTOPped mid-run: the client goes on serving the other
	# node (its spawns are asynchronous); the paused node's requests wait
	# for it, and those it does not answer within the connect timeout
	# (10 s) get a failed row; the ones it answers late are stopped, so
	# every spawn keeps exactly one row. (Before, the client waited for
	# each answer: the first spawn to the paused node stopped the whole
	# run until it was answered or timed out.) peer_timeout well past
	# the pause: node 1 must not be declared lost.
	PEER_TIMEOUT=${PEER_TIMEOUT:-60s} make_cluster 2
	start_all
	cat >"$T/scen.lua" <<'EOF'
policy { placement = "local", templates = "on-demand" }
run { duration = "300s" }
app("s", "mem=8M init=20ms work=10ms")
-- (processes, not arrivals: their times count from the run's start,
-- which under emulation comes seconds after world time 0)
process(function()
  sleep(1)
  for i = 1, 20 do spawn("s", nil, 0); sleep(0.5) end
end)
process(function()
  sleep(1)
  for i = 1, 10 do spawn("s", nil, 1); sleep(1) end
end)
EOF
	"$UKFORK" run "$T/scen.lua" --cluster "$T/cluster.conf" --db "$T/r.db" \
		--trace "$T/trace" >"$T/out" 2>"$T/err" &
	RUNP=$!
	PIDS+=("$RUNP")
	# --trace: the agents log the engine's lines ("request N ... origin=K")
	req0() { grep -Ec 'request [0-9]+ app=s origin=0 .*kind=spawn' "$T/node0.log"; }
	for _ in $(seq 1 1200); do
		grep -Eq 'request [0-9]+ app=s origin=1 .*kind=spawn' "$T/node1.log" && break
		kill -0 "$RUNP" 2>/dev/null || break
		sleep 0.1
	done
	grep -Eq 'request [0-9]+ app=s origin=1 .*kind=spawn' "$T/node1.log" ||
		fail "node 1 got no spawn: $(cat "$T/err")"
	kill -STOP "${APID[1]}"
	n0=$(req0)
	# node 0 must get 5 more spawns before any request to node 1 times
	# out (the old client got at most 3: those due before its first
	# spawn to node 1, 1 s apart, then none until that one timed out)
	order=
	for _ in $(seq 1 1200); do
		if grep -q 'did not answer' "$T/err"; then order=timeout; break; fi
		if [ "$(req0)" -ge $((n0 + 5)) ]; then order=progress; break; fi
		kill -0 "$RUNP" 2>/dev/null || break
		sleep 0.1
	done
	[ "$order" = progress ] || {
		kill -CONT "${APID[1]}"
		fail "with node 1 paused node 0 got $(($(req0) - n0)) spawns before '${order:-the run ended}': $(cat "$T/err")"
	}
	# then a request to node 1 times out: its row fails (the pause goes on)
	for _ in $(seq 1 1200); do
		grep -q 'did not answer' "$T/err" && break
		kill -0 "$RUNP" 2>/dev/null || break
		sleep 0.1
	done
	kill -CONT "${APID[1]}"
	wait "$RUNP"
	rc=$?
	cat "$T/out" "$T/err"
	[ $rc = 0 ] || fail "run exited $rc"
	grep -q "the agent of node 1 (tcp://127.0.0.1:[0-9]*) did not answer a spawn within 10.0 s" "$T/err" ||
		fail "no request to node 1 timed out, or stderr does not name it: $(cat "$T/err")"
	grep -q 'was lost during the run' "$T/err" && fail "node 1 was declared lost"
	rows=$(sqlite3 "$T/r.db" "select origin, status, coalesce(fail_reason, '') from instances order by origin, t_request")
	echo "$rows"
	[ "$(sqlite3 "$T/r.db" 'select count(*), count(distinct id) from instances')" = "30|30" ] ||
		fail "want one row for each of the 30 spawns: $rows"
	[ "$(grep -c '^0|0|$' <<<"$rows")" = 20 ] || fail "node 0's 20 spawns did not all run: $rows"
	[ "$(grep -c '^1|' <<<"$rows")" = 10 ] || fail "node 1 has not 10 rows: $rows"
	nf=$(grep -c '^1|-1000|the agent of node 1 did not answer within 10.0 s$' <<<"$rows")
	[ "$nf" -ge 1 ] || fail "no failed row for node 1's unanswered spawns: $rows"
	[ "$(grep -c '^1|0|$' <<<"$rows")" = $((10 - nf)) ] ||
		fail "node 1's answered spawns did not all run: $rows"
	;;
estale)
	# two template boots at once under emulation keep an agent from its
	# heartbeats for tens of seconds
	PEER_TIMEOUT=${PEER_TIMEOUT:-90s} make_cluster 2
	# one vCPU per node: each node's prewarm boot holds it until its own
	# template is made; the parent then fills node 0, so its fork can
	# only go to node 1 (placed as soon as node 1's boot is done)
	sed -i 's/^vcpus = 8$/vcpus = 1/' "$T/cluster.conf"
	start_all
	cat >"$T/scen.lua" <<'EOF'
policy { placement = "least-loaded", templates = "prewarm", prewarm = 1, fetch = "cold",
         retry = "500ms", max_retries = 400 }
run { duration = "300s" }
app("synth", "mem=16M init=20ms work=20ms dirty=64 fork=1 units=1")
process(function()
  sleep(5)
  log("status " .. tostring(wait(spawn("synth", nil, 0))))
end)
EOF
	"$UKFORK" run "$T/scen.lua" --cluster "$T/cluster.conf" --db "$T/r.db" \
		--trace "$T/trace" >"$T/out" 2>&1 || fail "run exited $?: $(cat "$T/out")"
	tb=$(sqlite3 "$T/r.db" 'select node, template_made from template_boots order by node')
	rows=$(sqlite3 "$T/r.db" "select start, node, status, coalesce(fail_reason, '') from instances order by id")
	echo "template boots: $(tr '\n' ' ' <<<"$tb")"
	echo "instances:"; echo "$rows"
	[ "$tb" = "$(printf '0|1\n1|1')" ] ||
		fail "want one template made by each node's own boot: '$tb'"
	parent=$(grep -v '^fork|' <<<"$rows")
	child=$(grep '^fork|' <<<"$rows")
	[ "$(wc -l <<<"$parent")" = 1 ] && [ "$(wc -l <<<"$child")" = 1 ] ||
		fail "want a parent row and a fork row: $rows"
	pnode=$(cut -d'|' -f2 <<<"$parent")
	cnode=$(cut -d'|' -f2 <<<"$child")
	[ "$(cut -d'|' -f1 <<<"$parent")" = template ] ||
		fail "the parent did not start from its node's template: $parent"
	[ "$pnode" != "$cnode" ] || fail "the fork stayed on node $pnode: $rows"
	[ "$(cut -d'|' -f3 <<<"$child")" = 0 ] ||
		fail "the fork child on node $cnode failed: $child"
	[ "$(cut -d'|' -f3 <<<"$parent")" = 0 ] || fail "the parent failed: $parent"
	;;
*)
	echo "agents_test: unknown case '$CASE'" >&2
	exit 2
	;;
esac
echo "ok ($CASE)"
