#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# etcd_local_test.sh - scripts/etcd/local.sh starts real etcd clusters that
# serve puts and gets, survive the loss of one of three members, take it back,
# and leave nothing running once stopped. Exit 0 pass, 1 fail, 77 skipped (no
# etcd installed).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
L=$(cd "$HERE/../../scripts/etcd" && pwd)/local.sh
# kill_naming
. "$HERE/../../scripts/lib/procs.sh"
ETCD=${UKF_ETCD:-/usr/bin/etcd}
ETCDCTL=${UKF_ETCDCTL:-/usr/bin/etcdctl}
[ -x "$ETCD" ] || { echo "SKIP: $ETCD is missing (apt-get install etcd-server etcd-client)"; exit 77; }
[ -x "$ETCDCTL" ] || { echo "SKIP: $ETCDCTL is missing (apt-get install etcd-client)"; exit 77; }
export UKF_ETCD=$ETCD UKF_ETCDCTL=$ETCDCTL ETCDCTL_API=3
T=$(mktemp -d /tmp/ukf-etcd-test.XXXXXX)

cleanup() {
	bash "$L" stop "$T/one" >/dev/null 2>&1
	bash "$L" stop "$T/three" >/dev/null 2>&1
	# last resort, should a stop have failed: no process naming this run's files
	kill_naming "$T"
	rm -rf "$T"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	echo "--- last output:"
	tail -n 30 "$T/err" 2>/dev/null
	exit 1
}
ctl() { "$ETCDCTL" --dial-timeout 2s --command-timeout 5s "$@"; }
# No process has this run's directory on its command line (etcd is matched
# by its --data-dir).
none_running() { # WHAT
	local f p
	for f in $(grep -laF -- "$T/" /proc/[0-9]*/cmdline 2>/dev/null); do
		p=${f#/proc/}
		p=${p%/cmdline}
		[ "$p" = $$ ] || [ "$p" = "$BASHPID" ] && continue
		grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null && continue
		fail "$1: process left: $p $({ tr '\0' ' ' <"$f"; } 2>/dev/null)"
	done
}

# 1. one member: put and get, then stop (the directory stays without --clean)
bash "$L" start "$T/one" >"$T/out" 2>"$T/err" || fail "start (1 member): exit $?"
eps=$(cat "$T/out")
[[ $eps =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || fail "start printed '$eps', want one client URL"
[ "$(cat "$T/one/endpoints")" = "$eps" ] || fail "DIR/endpoints differs from what start printed"
case $eps in *:2379) fail "member uses the default client port 2379" ;; esac
[ "$(wc -l <"$T/one/pids")" = 1 ] || fail "DIR/pids has not 1 line"
[ -s "$T/one/member-0.args" ] && [ -s "$T/one/member-0.log" ] || fail "no member-0.args or member-0.log"
ctl --endpoints "$eps" put /ukf/test hello >/dev/null 2>"$T/err" || fail "put to the 1-member cluster"
[ "$(ctl --endpoints "$eps" get --print-value-only /ukf/test)" = hello ] || fail "get did not return the value put"
bash "$L" stop "$T/one" 2>"$T/err" || fail "stop (1 member)"
none_running "after stop of the 1-member cluster"
[ -d "$T/one/member-0.data" ] || fail "stop without --clean removed the data"
"$ETCDCTL" --endpoints "$eps" --dial-timeout 1s --command-timeout 1s get /ukf/test >/dev/null 2>&1 && fail "the stopped member still answers"
bash "$L" stop "$T/one" --clean 2>"$T/err" || fail "stop --clean of a stopped cluster"
[ ! -e "$T/one" ] || fail "stop --clean left $T/one"

# 2. three members: the leader killed, a put still succeeds through the
# endpoints list; restarted, it is healthy again and has the value written
# meanwhile
bash "$L" start "$T/three" --members 3 >"$T/out" 2>"$T/err" || fail "start (3 members): exit $?"
eps=$(cat "$T/out")
IFS=, read -r -a ep <<<"$eps"
[ "${#ep[@]}" = 3 ] || fail "start printed '$eps', want three client URLs"
[ "$(wc -l <"$T/three/pids")" = 3 ] || fail "DIR/pids has not 3 lines"
ctl --endpoints "$eps" endpoint health >/dev/null 2>"$T/err" || fail "3 members: endpoint health"
# the leader (endpoint status: URL, ID, version, db size, is leader, ...)
K=$(ctl --endpoints "$eps" endpoint status 2>"$T/err" | awk -F', ' '$5 == "true" { print $1 }')
for k in 0 1 2; do [ "${ep[k]}" = "$K" ] && K=$k; done
[[ $K =~ ^[012]$ ]] || fail "no member is the leader (endpoint status: '$K')"
left="${ep[(K + 1) % 3]},${ep[(K + 2) % 3]}"
p1=$(sed -n "$((K + 1))p" "$T/three/pids")
bash "$L" kill "$T/three" "$K" 2>"$T/err" || fail "kill member $K (the leader)"
[ -d "/proc/$p1" ] && ! grep -q '^State:.*Z' "/proc/$p1/status" && fail "member $K (pid $p1) still running after kill"
# A put in flight while the leader is lost fails (its proposal goes with the
# old leader); a client tries again. With 50/500 ms heartbeat/election the
# cluster takes puts again well within 10 s, through the whole list (a dead
# endpoint is passed over) and through the remaining members' endpoints.
try_put() { # ENDPOINTS KEY VALUE
	local i
	for ((i = 0; i < 5; i++)); do
		"$ETCDCTL" --endpoints "$1" --dial-timeout 1s --command-timeout 2s put "$2" "$3" >/dev/null 2>>"$T/err" && return 0
	done
	return 1
}
t0=$SECONDS
try_put "$eps" /ukf/while-down yes || fail "put with member $K down (via $eps): 5 tries of 2 s failed"
try_put "$left" /ukf/while-down2 yes || fail "put with member $K down (via $left)"
echo "member $K (the leader) killed: puts succeed again after $((SECONDS - t0)) s"
"$ETCDCTL" --endpoints "${ep[K]}" --dial-timeout 1s --command-timeout 1s endpoint health >/dev/null 2>&1 && fail "the killed member $K still answers"
bash "$L" status "$T/three" >"$T/out" 2>"$T/err"
[ $? = 3 ] || fail "status with member $K dead: want exit 3"
grep -q "^member $K: .*DEAD" "$T/out" || fail "status does not say member $K is dead: $(cat "$T/out")"
bash "$L" restart "$T/three" "$K" 2>"$T/err" || fail "restart member $K"
[ "$(sed -n "$((K + 1))p" "$T/three/pids")" != "$p1" ] || fail "DIR/pids still has member $K's old pid"
ctl --endpoints "${ep[K]}" endpoint health >/dev/null 2>"$T/err" || fail "restarted member $K is not healthy"
# the restarted member has caught up: a serializable read answers from it alone
v=''
for _ in $(seq 50); do
	v=$(ctl --endpoints "${ep[K]}" get --consistency=s --print-value-only /ukf/while-down 2>/dev/null) && [ "$v" = yes ] && break
	sleep 0.1
done
[ "$v" = yes ] || fail "restarted member $K lacks the value put while it was down (got '$v')"
bash "$L" status "$T/three" >"$T/out" 2>"$T/err" || fail "status after restart: exit $? ($(cat "$T/out"))"
pids=$(cat "$T/three/pids")
bash "$L" stop "$T/three" --clean 2>"$T/err" || fail "stop --clean (3 members)"
[ ! -e "$T/three" ] || fail "stop --clean left $T/three"
for p in $pids; do
	[ -d "/proc/$p" ] && ! grep -q '^State:.*Z' "/proc/$p/status" && fail "member pid $p survived stop"
done
none_running "after stop --clean of the 3-member cluster"

# 3. usage errors exit 2 naming the bad value; a missing etcd exits 1 naming its package
bash "$L" start "$T/bad" --members 9 2>"$T/err"
[ $? = 2 ] && grep -qF -- "--members 9: want 1..5" "$T/err" || fail "--members 9: want exit 2 naming it"
UKF_ETCD=/nonexistent/etcd bash "$L" start "$T/bad" 2>"$T/err"
[ $? = 1 ] && grep -qF "etcd-server" "$T/err" || fail "missing etcd: want exit 1 naming etcd-server"
[ ! -e "$T/bad" ] || fail "a refused start left $T/bad"
# 4. a member slow to become etcd (a loaded machine: the started process is
# still the script's subshell or setsid for a while) is waited for, not taken
# for one that exited: a setsid that takes 1.5 s to exec (seen: three
# starts failing "exited before it was healthy" in one suite at load 9)
mkdir -p "$T/slowbin"
printf '#!/bin/sh\nsleep 1.5\nexec %s "$@"\n' "$(command -v setsid)" >"$T/slowbin/setsid"
chmod +x "$T/slowbin/setsid"
PATH="$T/slowbin:$PATH" bash "$L" start "$T/one" >"$T/out" 2>"$T/err" || fail "start with a slow exec: exit $?"
ctl --endpoints "$(cat "$T/out")" endpoint health >/dev/null 2>"$T/err" || fail "member started slowly is not healthy"
bash "$L" stop "$T/one" --clean 2>"$T/err" || fail "stop --clean after the slow start"
none_running "after stop of the slowly started member"
echo "ok: etcd_local"
