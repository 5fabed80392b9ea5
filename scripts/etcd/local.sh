#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# local.sh - real etcd clusters on this machine for tests, benchmarks and the
# testbed: one directory per cluster, members started, killed, restarted and
# stopped by number, each optionally inside a network namespace.
#
#   local.sh start DIR [--members N] [--host IP] [--base-port P] ...
#   local.sh stop DIR [--clean] [--grace S]
#   local.sh kill DIR K          SIGKILL member K
#   local.sh restart DIR K       start member K again, wait until healthy
#   local.sh endpoints DIR       the client URLs, comma-separated
#   local.sh status DIR          each member: pid alive?, healthy?
# `local.sh --help` for all of it. Exit status: 0 ok, 1 failed (the reason on
# stderr), 2 bad usage, 3 (status only) a member is down or unhealthy.
set -euo pipefail

PROG=${UKF_ETCD_PROG:-local.sh}
# alive, stop_pids
. "$(dirname "${BASH_SOURCE[0]}")/../lib/procs.sh"
ETCD=${UKF_ETCD:-etcd}
ETCDCTL=${UKF_ETCDCTL:-etcdctl}
HEARTBEAT_MS=50  # short, so that a killed member is noticed quickly
ELECTION_MS=500
DEFAULT_WAIT=20

# etcd and etcdctl read ETCD_* and ETCDCTL_* from the environment; ours come
# from the command line only.
for v in $(compgen -e); do
	case $v in ETCD_* | ETCDCTL_*) unset "$v" ;; esac
done
export ETCDCTL_API=3

say() { printf '%s: %s\n' "$PROG" "$*" >&2; }
usage_err() {
	say "$*"
	say "see '$PROG --help'"
	exit 2
}
die() {
	say "error: $*"
	exit 1
}
is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
is_ipv4() {
	[[ $1 =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] || return 1
	local o
	for o in 1 2 3 4; do [ "${BASH_REMATCH[$o]}" -le 255 ] || return 1; done
}
# An option's value: present and not another option.
optval() { # OPTION [VALUE]
	[ $# -ge 2 ] && [ -n "$2" ] && [[ $2 != --* ]] || usage_err "$1 needs a value"
}

main_help() {
	cat <<EOF
usage: $PROG COMMAND DIR [options]
Real etcd clusters on this machine (etcd $("$ETCD" --version 2>/dev/null | sed -n 's/^etcd Version: //p' || true)), one per directory DIR.

  start DIR [--members N] [--host IP] [--base-port P] [--wait S]
            [--netns NS0,NS1,... [--hosts IP0,IP1,...]]
      Start an N-member cluster (N 1..5, default 1), member K with its data
      in DIR/member-K.data and its log in DIR/member-K.log, listening on
      http://IP:CLIENT and http://IP:PEER (IP default 127.0.0.1). Ports:
      the first free ones from P on (default: a random even port in
      20000..31998), never 2379/2380; client and peer port of a member
      are two consecutive free ports. --netns runs member K inside network
      namespace NS_K (via 'ip netns exec', root only), on address IP_K of
      --hosts (default --host for all). Heartbeat ${HEARTBEAT_MS} ms, election
      timeout ${ELECTION_MS} ms. Waits up to S seconds (default $DEFAULT_WAIT) until every
      member answers 'etcdctl endpoint health'; prints the client URLs
      (also in DIR/endpoints) on stdout. On failure it names the member,
      prints its log's tail and stops the members it started. Writes
      DIR/pids (member K's pid on line K+1), DIR/member-K.args (member K's
      command line, shell-quoted), DIR/members ("K NS-or-- CLIENT PEER").
  stop DIR [--clean] [--grace S]
      SIGTERM every member, SIGKILL those alive after S seconds (default
      5). Only processes named etcd whose --data-dir is DIR/member-K.data
      are signalled: those in DIR/pids and any found in /proc (a crash
      before the pid was written). --clean then removes DIR.
  kill DIR K          SIGKILL member K and wait until it is gone.
  restart DIR K [--wait S]
                      start member K again from DIR/member-K.args (its data
                      dir kept: it rejoins), wait until it is healthy.
  endpoints DIR       print DIR/endpoints.
  status DIR          one line per member: URL, pid alive or DEAD, healthy
                      or not; exit 3 if any member is dead or unhealthy.

Needs etcd and etcdctl 3.4 (Debian: apt-get install etcd-server etcd-client);
UKF_ETCD and UKF_ETCDCTL name other binaries.
Exit status: 0 ok, 1 failed (the reason on stderr), 2 bad usage, 3 see status.
EOF
}

# ---- the cluster directory ---------------------------------------------------

# DIR made absolute (member processes are matched by their --data-dir).
abs_dir() { # DIR
	local d=$1
	case $d in /*) ;; *) d=$PWD/$d ;; esac
	while [[ $d == */ && $d != / ]]; do d=${d%/}; done
	printf '%s' "$d"
}
# Is DIR a cluster directory made by start?
is_cluster_dir() { [ -f "$1/members" ] || [ -f "$1/member-0.args" ]; }

# Read DIR/members into M_NS[], M_CLIENT[], M_PEER[]; N_MEMBERS.
load_members() { # DIR
	local k ns c p
	M_NS=() M_CLIENT=() M_PEER=()
	[ -f "$1/members" ] || die "$1 is not a cluster directory of $PROG (no $1/members)"
	while read -r k ns c p; do
		is_uint "$k" || continue
		[ "$ns" = -- ] && ns=
		M_NS[k]=$ns M_CLIENT[k]=$c M_PEER[k]=$p
	done <"$1/members"
	N_MEMBERS=${#M_CLIENT[@]}
	((N_MEMBERS > 0)) || die "$1/members lists no member"
}
member_arg() { # DIR K  (range-checked member number)
	is_uint "$2" || usage_err "member '$2' is not a member number"
	[ "$2" -lt "$N_MEMBERS" ] || usage_err "$1 has members 0..$((N_MEMBERS - 1)), not $2"
}

# Is PID member K of DIR: a live process named etcd whose --data-dir is
# DIR/member-K.data? The only processes this script ever signals.
is_member() { # PID DIR K
	alive "$1" || return 1
	[ "$(cat "/proc/$1/comm" 2>/dev/null || true)" = etcd ] || return 1
	tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | grep -qxF -- "$2/member-$3.data"
}
# Member K's pid from DIR/pids, if it is still that member.
member_pid() { # DIR K
	local p
	p=$(sed -n "$(($2 + 1))p" "$1/pids" 2>/dev/null || true)
	if is_uint "${p:-x}" && is_member "$p" "$1" "$2"; then
		printf '%s' "$p"
	fi
}
# Every process that is a member of DIR: "PID K" lines, found in /proc (so
# also a member whose pid never reached DIR/pids).
all_members() { # DIR
	local f p k c
	for f in /proc/[0-9]*/comm; do
		c=''
		read -r c 2>/dev/null <"$f" || true # a builtin: no process per pid
		[ "$c" = etcd ] || continue
		p=${f#/proc/}
		p=${p%/comm}
		for ((k = 0; k < 5; k++)); do
			if is_member "$p" "$1" "$k"; then
				echo "$p $k"
				break
			fi
		done
	done
}
# Replace line K+1 of DIR/pids with PID.
set_pid() { # DIR K PID
	local i lines=()
	[ -f "$1/pids" ] && mapfile -t lines <"$1/pids"
	for ((i = ${#lines[@]}; i <= $2; i++)); do lines[i]=-; done
	lines[$2]=$3
	printf '%s\n' "${lines[@]}" >"$1/pids.tmp" && mv "$1/pids.tmp" "$1/pids"
}

# Run a command inside network namespace NS (empty: here).
in_ns() { # NS CMD...
	local ns=$1
	shift
	if [ -n "$ns" ]; then ip netns exec "$ns" "$@"; else "$@"; fi
}
# Does member K answer 'endpoint health'? Asked from its own namespace
# (root only; others ask from here, which reaches a testbed's namespaces).
healthy() { # K
	local ns=${M_NS[$1]}
	[ "$(id -u)" = 0 ] || ns=''
	in_ns "$ns" "$ETCDCTL" --endpoints "${M_CLIENT[$1]}" --dial-timeout 1s \
		--command-timeout 2s endpoint health >/dev/null 2>&1
}
# The member that is the leader (-1: none answers). After load_members.
leader() {
	local k ns
	for ((k = 0; k < N_MEMBERS; k++)); do
		ns=${M_NS[k]}
		[ "$(id -u)" = 0 ] || ns=''
		if in_ns "$ns" "$ETCDCTL" --endpoints "${M_CLIENT[k]}" --dial-timeout 1s \
			--command-timeout 1s endpoint status 2>/dev/null | awk -F', ' '$5 == "true" { f = 1 } END { exit !f }'; then
			echo "$k"
			return 0
		fi
	done
	echo -1
}
log_tail() { # DIR K
	say "last lines of $1/member-$2.log:"
	tail -n 15 "$1/member-$2.log" 2>/dev/null | sed 's/^/    /' >&2 || true
}


need_etcd() {
	command -v "$ETCD" >/dev/null 2>&1 ||
		die "etcd not found ('$ETCD'): install the package etcd-server (apt-get install etcd-server etcd-client)"
	command -v "$ETCDCTL" >/dev/null 2>&1 ||
		die "etcdctl not found ('$ETCDCTL'): install the package etcd-client (apt-get install etcd-client)"
}

# ---- start ------------------------------------------------------------------

# Listening TCP ports in namespace NS (empty: here), one per line.
busy_ports() { # NS
	local out
	if [ -n "$1" ]; then
		out=$(ss -N "$1" -Hltn 2>/dev/null) || die "cannot list the listening ports in namespace $1 ('ss -N $1 -ltn' failed)"
	else
		out=$(ss -Hltn 2>/dev/null) || die "cannot list the listening ports ('ss -ltn' failed; iproute2 installed?)"
	fi
	awk '{ n = split($4, a, ":"); print a[n] }' <<<"$out"
}

# The etcd command line of member K: ARGS[] (with 'ip netns exec NS' first).
member_args() { # DIR K INITIAL-CLUSTER TOKEN
	local k=$2
	ARGS=()
	[ -z "${M_NS[k]}" ] || ARGS+=(ip netns exec "${M_NS[k]}")
	ARGS+=("$ETCD" --name "member-$k" --data-dir "$1/member-$k.data"
		--listen-client-urls "${M_CLIENT[k]}" --advertise-client-urls "${M_CLIENT[k]}"
		--listen-peer-urls "${M_PEER[k]}" --initial-advertise-peer-urls "${M_PEER[k]}"
		--initial-cluster "$3" --initial-cluster-token "$4" --initial-cluster-state new
		--heartbeat-interval "$HEARTBEAT_MS" --election-timeout "$ELECTION_MS"
		--logger zap --log-outputs stderr)
}

# Start member K from DIR/member-K.args in its own session; its pid in DIR/pids.
spawn() { # DIR K
	local args line
	line=$(cat "$1/member-$2.args") || die "cannot read $1/member-$2.args"
	eval "args=($line)"
	case ${args[0]} in ip | */etcd | etcd) ;; *) die "$1/member-$2.args does not start etcd: $line" ;; esac
	printf '\n==== %s: member %s started: %s\n' "$(date '+%F %T')" "$2" "$line" >>"$1/member-$2.log"
	# setsid: the member outlives this script and its terminal; setsid and
	# 'ip netns exec' exec in place, so $! is etcd's own pid.
	setsid "${args[@]}" </dev/null >>"$1/member-$2.log" 2>&1 &
	SPAWNED=$!
	set_pid "$1" "$2" "$SPAWNED"
}

# Is member K's recorded pid alive but not etcd yet: the subshell spawn
# started, before setsid (or ip netns exec) and etcd exec in its place? On a
# loaded machine that takes a while; such a member is still starting.
starting() { # DIR K
	local p
	p=$(sed -n "$(($2 + 1))p" "$1/pids" 2>/dev/null || true)
	is_uint "${p:-x}" && alive "$p" &&
		[ "$(cat "/proc/$p/comm" 2>/dev/null || true)" != etcd ]
}
# Wait until each member of MEMBERS is healthy; 0, or 1 (FAILED_K, FAILED_WHY).
wait_healthy() { # DIR WAIT-S K...
	local dir=$1 deadline=$((SECONDS + $2)) k p pending still
	shift 2
	pending=("$@")
	FAILED_K='' FAILED_WHY=''
	while :; do
		still=()
		for k in "${pending[@]}"; do
			p=$(member_pid "$dir" "$k")
			if [ -z "$p" ] && starting "$dir" "$k"; then
				still+=("$k")
				continue
			fi
			# not etcd at the first look, etcd at the second: it
			# exec'd in between (a member restarted under load was
			# reported as exited so, session 34's CI)
			[ -n "$p" ] || p=$(member_pid "$dir" "$k")
			if [ -z "$p" ]; then
				FAILED_K=$k FAILED_WHY="member $k (${M_CLIENT[k]}) exited before it was healthy"
				return 1
			fi
			healthy "$k" || still+=("$k")
		done
		((${#still[@]})) || return 0
		pending=("${still[@]}")
		if ((SECONDS >= deadline)); then
			FAILED_K=${pending[0]}
			FAILED_WHY="member $FAILED_K (${M_CLIENT[FAILED_K]}) not healthy within $2 s ('etcdctl --endpoints ${M_CLIENT[FAILED_K]} endpoint health' fails)"
			return 1
		fi
		sleep 0.2
	done
}

cmd_start() {
	local dir='' n=1 host='' hosts='' netns='' base='' wait_s=$DEFAULT_WAIT
	while [ $# -gt 0 ]; do
		case $1 in
		-h | --help) main_help; exit 0 ;;
		--members) optval "$@"; n=$2; shift 2 ;;
		--host) optval "$@"; host=$2; shift 2 ;;
		--hosts) optval "$@"; hosts=$2; shift 2 ;;
		--netns) optval "$@"; netns=$2; shift 2 ;;
		--base-port) optval "$@"; base=$2; shift 2 ;;
		--wait) optval "$@"; wait_s=$2; shift 2 ;;
		-*) usage_err "start: unknown option '$1'" ;;
		*) [ -z "$dir" ] || usage_err "start: one directory only ('$dir', then '$1')"; dir=$1; shift ;;
		esac
	done
	[ -n "$dir" ] || usage_err "start: want a directory: $PROG start DIR [options]"
	is_uint "$n" && [ "$n" -ge 1 ] && [ "$n" -le 5 ] || usage_err "--members $n: want 1..5"
	[ -z "$host" ] || is_ipv4 "$host" || usage_err "--host $host: want an IPv4 address such as 127.0.0.1"
	[ -z "$base" ] || { is_uint "$base" && [ "$base" -ge 1024 ] && [ "$base" -le 65000 ]; } ||
		usage_err "--base-port $base: want a port 1024..65000"
	is_uint "$wait_s" && [ "$wait_s" -ge 1 ] || usage_err "--wait $wait_s: want whole seconds >= 1"
	local nss=() hs=() k
	if [ -n "$netns" ]; then
		IFS=, read -r -a nss <<<"$netns"
		[ "${#nss[@]}" = "$n" ] || usage_err "--netns $netns: names ${#nss[@]} namespaces for $n members"
		for k in "${nss[@]}"; do
			[[ $k =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || usage_err "--netns: '$k' is not a namespace name"
		done
	fi
	if [ -n "$hosts" ]; then
		[ -z "$host" ] || usage_err "--host and --hosts: give one of them"
		IFS=, read -r -a hs <<<"$hosts"
		[ "${#hs[@]}" = "$n" ] || usage_err "--hosts $hosts: names ${#hs[@]} addresses for $n members"
		for k in "${hs[@]}"; do is_ipv4 "$k" || usage_err "--hosts: '$k' is not an IPv4 address"; done
	fi
	dir=$(abs_dir "$dir")
	need_etcd
	command -v ss >/dev/null 2>&1 || die "the 'ss' program is not installed (it finds free ports): apt-get install iproute2"
	if [ -n "$netns" ]; then
		[ "$(id -u)" = 0 ] || die "--netns needs root ('ip netns exec')"
		for k in "${nss[@]}"; do [ -e "/run/netns/$k" ] || die "--netns: namespace $k does not exist"; done
	fi
	if [ -e "$dir" ]; then
		[ -d "$dir" ] || die "$dir exists and is not a directory"
		if is_cluster_dir "$dir"; then
			[ -z "$(all_members "$dir")" ] || die "a cluster of $dir is running; '$PROG stop $dir' first"
			die "$dir holds a stopped cluster; '$PROG restart $dir K' restarts a member, '$PROG stop $dir --clean' removes it"
		fi
	fi
	mkdir -p "$dir" || die "cannot create $dir"
	# etcd preallocates its write-ahead log: two 64 MB files per member
	local need_mb=$((n * 130)) free_mb
	free_mb=$(df -Pk "$dir" | awk 'NR == 2 { print int($4 / 1024) }')
	[ -z "$free_mb" ] || [ "$free_mb" -ge "$need_mb" ] ||
		die "$n member(s) need about $need_mb MB in $dir (etcd preallocates two 64 MB log files per member); its filesystem has $free_mb MB free"

	local try base_p
	[ -n "$base" ] && base_p=$base || base_p=$((20000 + (RANDOM % 6000) * 2))
	for try in 1 2 3; do
		if start_once "$dir" "$n" "${host:-127.0.0.1}" "$base_p" "$wait_s" "${nss[*]}" "${hs[*]}"; then
			cat "$dir/endpoints"
			return 0
		fi
		# a port taken between probing and binding (another cluster starting
		# at the same time): again, on other ports
		if [ "$try" -lt 3 ] && grep -q 'address already in use' "$dir"/member-*.log 2>/dev/null; then
			say "a port was taken meanwhile; trying again on other ports"
			rm -rf "$dir"/member-*.data "$dir"/member-*.log
			base_p=$((base_p + 100 + (RANDOM % 50) * 2))
			continue
		fi
		break
	done
	die "$FAILED_WHY (the log: $dir/member-$FAILED_K.log)"
}

# One attempt: pick ports, write the files, start and wait; on failure stop
# what was started and return 1 (FAILED_K, FAILED_WHY set).
start_once() { # DIR N HOST BASE WAIT "NS..." "HOST..."
	local dir=$1 n=$2 base=$4 k key p cport pport ic='' token nsl hsl
	read -r -a nsl <<<"$6"
	read -r -a hsl <<<"$7"
	declare -A cursor=() busy=()
	M_NS=() M_CLIENT=() M_PEER=()
	for ((k = 0; k < n; k++)); do
		M_NS[k]=${nsl[k]:-}
		local h=${hsl[k]:-$3}
		key="${M_NS[k]}|$h"
		if [ -z "${busy[n${M_NS[k]}]+x}" ]; then
			busy[n${M_NS[k]}]=" $(busy_ports "${M_NS[k]}" | tr '\n' ' ') 2379 2380 "
		fi
		p=${cursor[$key]:-$base}
		while [[ ${busy[n${M_NS[k]}]} == *" $p "* ]]; do p=$((p + 1)); done
		cport=$p
		p=$((p + 1))
		while [[ ${busy[n${M_NS[k]}]} == *" $p "* ]]; do p=$((p + 1)); done
		pport=$p
		((pport <= 65535)) || die "no free port pair from $base up in ${M_NS[k]:-this namespace}"
		cursor[$key]=$((p + 1))
		busy[n${M_NS[k]}]+="$cport $pport "
		M_CLIENT[k]=http://$h:$cport
		M_PEER[k]=http://$h:$pport
		ic+="${ic:+,}member-$k=${M_PEER[k]}"
	done
	N_MEMBERS=$n
	token=ukf-$(printf '%s' "$dir" | cksum | cut -d' ' -f1)-$$
	: >"$dir/pids"
	{
		for ((k = 0; k < n; k++)); do echo "$k ${M_NS[k]:---} ${M_CLIENT[k]} ${M_PEER[k]}"; done
	} >"$dir/members"
	(IFS=,; echo "${M_CLIENT[*]}") >"$dir/endpoints"
	local started=()
	for ((k = 0; k < n; k++)); do
		member_args "$dir" "$k" "$ic" "$token"
		printf '%q ' "${ARGS[@]}" | sed 's/ $//' >"$dir/member-$k.args"
		echo >>"$dir/member-$k.args"
		spawn "$dir" "$k"
		started+=("$SPAWNED")
		say "member $k: ${M_CLIENT[k]} (peer ${M_PEER[k]})${M_NS[k]:+ in namespace ${M_NS[k]}}, pid $SPAWNED"
	done
	local ks=()
	for ((k = 0; k < n; k++)); do ks+=("$k"); done
	if wait_healthy "$dir" "$5" "${ks[@]}"; then
		say "$n member(s) healthy: $(cat "$dir/endpoints")"
		return 0
	fi
	say "$FAILED_WHY"
	log_tail "$dir" "$FAILED_K"
	stop_pids 2 "${started[@]}" || true
	return 1
}

# ---- stop, kill, restart, endpoints, status -----------------------------------

cmd_stop() {
	local dir='' clean=0 grace=5
	while [ $# -gt 0 ]; do
		case $1 in
		-h | --help) main_help; exit 0 ;;
		--clean) clean=1; shift ;;
		--grace) optval "$@"; grace=$2; shift 2 ;;
		-*) usage_err "stop: unknown option '$1'" ;;
		*) [ -z "$dir" ] || usage_err "stop: one directory only"; dir=$1; shift ;;
		esac
	done
	[ -n "$dir" ] || usage_err "stop: want a directory: $PROG stop DIR [--clean]"
	is_uint "$grace" || usage_err "--grace $grace: want whole seconds"
	dir=$(abs_dir "$dir")
	if [ ! -e "$dir" ]; then
		say "nothing to stop: no $dir"
		return 0
	fi
	is_cluster_dir "$dir" || [ -z "$(ls -A "$dir")" ] ||
		die "$dir is not a cluster directory of $PROG (no members, no member-0.args); not touching it"
	local pids=() first=() last=() p k lead=-1
	# the leader last: a leader stopping while its peers stop too waits
	# seconds for a leadership transfer; alone, it stops at once
	if [ -f "$dir/members" ] && command -v "$ETCDCTL" >/dev/null 2>&1; then
		load_members "$dir"
		((N_MEMBERS < 2)) || lead=$(leader)
	fi
	while read -r p k; do
		[ -n "$p" ] || continue
		pids+=("$p")
		if [ "$k" = "$lead" ]; then last+=("$p"); else first+=("$p"); fi
	done < <(all_members "$dir")
	if ((${#pids[@]})); then
		stop_pids "$grace" "${first[@]}" && stop_pids "$grace" "${last[@]}" ||
			die "member pids ${pids[*]}: some survived SIGKILL"
	fi
	say "stopped ${#pids[@]} member(s) of $dir"
	if [ "$clean" = 1 ]; then
		rm -rf -- "$dir" || die "cannot remove $dir"
		say "removed $dir"
	fi
}

cmd_kill() { # DIR K
	[ $# = 2 ] || usage_err "kill: want a directory and a member: $PROG kill DIR K"
	local dir p i
	dir=$(abs_dir "$1")
	load_members "$dir"
	member_arg "$dir" "$2"
	p=$(member_pid "$dir" "$2")
	[ -n "$p" ] || die "member $2 of $dir is not running"
	kill -KILL "$p"
	for ((i = 0; i < 50; i++)); do alive "$p" || break; sleep 0.1; done
	alive "$p" && die "member $2 (pid $p) survived SIGKILL"
	say "member $2 (pid $p, ${M_CLIENT[$2]}) killed"
}

cmd_restart() { # DIR K [--wait S]
	local dir='' k='' wait_s=$DEFAULT_WAIT
	while [ $# -gt 0 ]; do
		case $1 in
		--wait) optval "$@"; wait_s=$2; shift 2 ;;
		-*) usage_err "restart: unknown option '$1'" ;;
		*)
			if [ -z "$dir" ]; then dir=$1; elif [ -z "$k" ]; then k=$1; else usage_err "restart: too many arguments"; fi
			shift ;;
		esac
	done
	[ -n "$k" ] || usage_err "restart: want a directory and a member: $PROG restart DIR K"
	is_uint "$wait_s" && [ "$wait_s" -ge 1 ] || usage_err "--wait $wait_s: want whole seconds >= 1"
	dir=$(abs_dir "$dir")
	load_members "$dir"
	member_arg "$dir" "$k"
	need_etcd
	[ -z "$(member_pid "$dir" "$k")" ] || die "member $k of $dir is running (pid $(member_pid "$dir" "$k")); '$PROG kill $dir $k' first"
	if [ -n "$(all_members "$dir" | awk -v k="$k" '$2 == k')" ]; then
		die "an etcd with member $k's data dir ($dir/member-$k.data) runs already"
	fi
	spawn "$dir" "$k"
	say "member $k: restarted, pid $SPAWNED"
	if ! wait_healthy "$dir" "$wait_s" "$k"; then
		say "$FAILED_WHY"
		log_tail "$dir" "$k"
		exit 1
	fi
	say "member $k: healthy at ${M_CLIENT[k]}"
}

cmd_endpoints() {
	[ $# = 1 ] || usage_err "endpoints: want a directory: $PROG endpoints DIR"
	local dir
	dir=$(abs_dir "$1")
	[ -f "$dir/endpoints" ] || die "no $dir/endpoints (not started with '$PROG start $dir'?)"
	cat "$dir/endpoints"
}

cmd_status() {
	[ $# = 1 ] || usage_err "status: want a directory: $PROG status DIR"
	local dir k p st bad=0
	dir=$(abs_dir "$1")
	load_members "$dir"
	need_etcd
	for ((k = 0; k < N_MEMBERS; k++)); do
		st="member $k: ${M_CLIENT[k]}${M_NS[k]:+ (netns ${M_NS[k]})}"
		p=$(member_pid "$dir" "$k")
		if [ -z "$p" ]; then
			st+=", DEAD"
			bad=1
		elif healthy "$k"; then
			st+=", pid $p alive, healthy"
		else
			st+=", pid $p alive, UNHEALTHY"
			bad=1
		fi
		echo "$st"
	done
	[ $bad = 0 ] || exit 3
}

[ $# -gt 0 ] || { main_help >&2; exit 2; }
CMD=$1
shift
case $CMD in
start) cmd_start "$@" ;;
stop) cmd_stop "$@" ;;
kill) cmd_kill "$@" ;;
restart) cmd_restart "$@" ;;
endpoints) cmd_endpoints "$@" ;;
status) cmd_status "$@" ;;
-h | --help | help) main_help ;;
*) usage_err "unknown command '$CMD'; want start, stop, kill, restart, endpoints or status" ;;
esac
