#!/bin/sh
# SPDX-License-Identifier: MIT
# kvm_cluster.sh - `ukfork calibrate --cluster` end to end on a 2-node testbed (two network namespaces, one ukforkd each) with a small plan: remote-op samples stored, the model file has the remote keys and the simulator loads it; 77 (skip) without /dev/kvm or root.
# usage: kvm_cluster.sh UKFORK SOURCE_DIR
set -u
UKF=$1
SRC=$2
export UKFORK="$UKF" UKFORKD="$(dirname "$UKF")/ukforkd"
fail() { echo "FAIL: $*" >&2; exit 1; }
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "SKIP: no usable /dev/kvm"
	exit 77
fi
[ "$(id -u)" = 0 ] || { echo "SKIP: the testbed needs root"; exit 77; }
[ -x "$UKFORKD" ] || fail "no $UKFORKD"
T=$(mktemp -d)
trap '"$UKF" testbed down --state "$T/tb" >/dev/null 2>&1; rm -rf "$T"' EXIT
# dash runs no EXIT trap when a signal kills it: exit instead, so the
# testbed comes down on Ctrl-C or SIGTERM too
trap 'exit 130' INT; trap 'exit 143' TERM; trap 'exit 129' HUP

# --peer-timeout: under emulation one VM operation can keep an agent from
# its heartbeats for seconds (as scripts/validate/testbed.sh)
"$UKF" testbed up --nodes 2 --state "$T/tb" --wait 120 --peer-timeout 15s \
	>"$T/tb.log" 2>&1 || fail "testbed up: $(tail -5 "$T/tb.log")"

# 2 template sizes x 2 apps, 3 forks each: 12 remote forks, 4 of them
# after a template fetch
cat >"$T/small.plan" <<EOF
cluster_ops = $SRC/scripts/calibrate/cluster-ops.lua
tmpl_mem = 8M 16M
fork_units = 3
fork_dirty = 128
gap = 2ms
# (an instance is filed by the nearer, by ratio, of the gap and the
# spell to the time before its request since the last exit: under
# emulation that time was 10 ms and more after a 2 ms gap, nearer 50 ms,
# and the alone step once kept 1 gap clone of 4: 200 ms puts the line
# at 20 ms)
idle = 200ms
idle_n = 2
EOF
"$UKF" calibrate --cluster "$T/tb/cluster.conf" --plan "$T/small.plan" -n 2 \
	--db "$T/c.db" --out "$T/m.conf" --note "EMULATED (kvm_cluster test)" \
	>"$T/out" 2>"$T/err"
rc=$?
cat "$T/err" >&2
cat "$T/out"
[ $rc -eq 0 ] || fail "calibrate --cluster: exit $rc"
grep -q 'remote forks and template fetches on the 2 node agents' "$T/err" ||
	fail "no progress line on stderr"
# 2 x 2 apps x 3 forks: 12 remote forks in all, 4 of them after a fetch
grep -q ': 12 remote forks (8 without a template fetch' "$T/err" ||
	fail "the count of remote forks: $(grep 'remote forks (' "$T/err")"
# the plan's alone step, through the agent of node 0: its clones and forks
# (the first at each size apart) are the file's local costs
grep -q 'template clones and live forks one at a time through the agent of node 0' "$T/err" ||
	fail "no alone step through the agents"
if command -v sqlite3 >/dev/null; then
	n=$(sqlite3 "$T/c.db" "SELECT count(*) FROM calib_samples WHERE op = 'clone_engine'")
	[ "${n:-0}" -ge 2 ] || fail "clone_engine samples of the alone step: ${n:-none}"
	# every instance of the alone run on node 0 (placement local)
	nodes=$(sqlite3 "$T/c.db" "SELECT group_concat(DISTINCT node) FROM instances WHERE run = (SELECT max(id) FROM runs)")
	[ "$nodes" = 0 ] || fail "the alone step's instances ran on nodes '$nodes', not on node 0 alone"
fi
# the idle step's remote forks (app idlef) after the gap and the spell:
# filed apart, none of them among the 12 above, and the model says what
# it made of them
grep -q 'remote forks after the gap or an idle spell (apps idlef and idlew' "$T/err" ||
	fail "no idle forks on stderr"
grep -q '^# Remote forks after idle spells' "$T/m.conf" ||
	fail "no delta_idle_curve comment in the model: $(cat "$T/m.conf")"
# and the forks of app idlew back to node 0 (its parent placed on node 1),
# from which the model chooses delta_idle_since
grep -q '^# The same of the remote forks back to the node' "$T/m.conf" ||
	fail "no comment on the forks back to the requesting node: $(cat "$T/m.conf")"
if grep -q '^delta_idle_curve =' "$T/m.conf"; then
	grep -Eq '^(delta_idle_since = (message|activity) |# delta_idle_since not written: no spell fitted)' "$T/m.conf" ||
		fail "a delta_idle_curve without delta_idle_since or the reason: $(cat "$T/m.conf")"
fi
if command -v sqlite3 >/dev/null; then
	n=$(sqlite3 "$T/c.db" "SELECT count(*) FROM calib_samples WHERE op LIKE 'dsave\_%' ESCAPE '\'")
	[ "${n:-0}" -ge 2 ] || fail "dsave samples of the idle forks: ${n:-none}"
	n=$(sqlite3 "$T/c.db" "SELECT count(*) FROM calib_samples WHERE op LIKE 'dsavew\_%' ESCAPE '\'")
	[ "${n:-0}" -ge 1 ] || fail "dsavew samples (forks back to node 0): ${n:-none}; $(sqlite3 "$T/c.db" "SELECT id, app, origin, node, start, parent, remote FROM instances WHERE app IN ('idlew', 'idlepre')")"
fi
# the link is in the run's settings (report tells runs over different
# links apart, as cluster.sh makes them, instead of counting them once)
command -v sqlite3 >/dev/null &&
	{ sqlite3 "$T/c.db" "SELECT config FROM runs" | grep -q 'link=no delay / no rate limit' ||
		fail "no link in the run's config: $(sqlite3 "$T/c.db" "SELECT config FROM runs")"; }
# samples per remote op, from the summary of a refit of the stored samples
"$UKF" calibrate --from-db "$T/c.db" --out "$T/m2.conf" >"$T/refit" 2>&1 ||
	fail "--from-db refit: $(cat "$T/refit")"
for op in rfork_save rfork_restore tfetch rfork; do
	n=$(awk -v op=$op '$1 == op { print $2 }' "$T/refit")
	[ -n "$n" ] && [ "$n" -ge 2 ] || fail "too few $op samples: '$n'"
done
# two template sizes: the fetch is a line (a curve needs 3); the
# workload's template clones, placed in turn on both nodes, give
# peer_msg_ns
for k in save_ns_per_page restore_base_ns restore_ns_per_page load_base_ns \
	load_ns_per_byte peer_msg_ns; do
	grep -q "^$k = " "$T/m.conf" || fail "no $k in the model file"
done
grep -q '^# Cluster: .*(2 nodes, directory embedded, compress zstd)' "$T/m.conf" ||
	fail "no cluster provenance in the model file"
grep -q 'Link: no delay added, rate not limited (the testbed' "$T/m.conf" ||
	fail "no link provenance in the model file"
# the refit writes the same file (line 2 names it)
sed 2d "$T/m.conf" >"$T/a"
sed 2d "$T/m2.conf" >"$T/b"
cmp -s "$T/a" "$T/b" || fail "the refit differs: $(diff "$T/a" "$T/b")"
# the simulator loads it, on a scenario with remote forks
cat >"$T/s.lua" <<'LUA'
cluster { nodes = 2, vcpus = 4, memory = "1G" }
policy { placement = "least-loaded", templates = "on-demand", fetch = "peer" }
run { duration = "2s" }
app("a", "mem=8M init=1ms work=1ms dirty=64 fork=2 units=1")
constant { app = "a", interval = "100ms", start = "0s", stop = "1s" }
LUA
"$UKF" run "$T/s.lua" --backend sim --set model="$T/m.conf" --quiet \
	>/dev/null 2>"$T/serr" || fail "sim rejects the model: $(cat "$T/serr")"
echo ok
