#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# testbed.sh - a ukfork cluster on one machine: one node agent per network
# namespace, joined by veth pairs and a bridge, optionally slowed by tc netem
# (delay, jitter) and tbf (rate) so remote forks cross an emulated network.
#
#   testbed.sh up --nodes N [options]     make it, start the agents
#   testbed.sh status [--name NAME]       what exists, which agents live
#   testbed.sh exec [--name NAME] K CMD   run CMD inside node K's namespace
#   testbed.sh down [--name NAME]         stop and remove everything
# `testbed.sh COMMAND --help` for each; docs/testbed.md for the whole story.
# Exit status: 0 ok, 1 failed (the reason on stderr), 2 bad usage.
set -uo pipefail

PROG=${UKF_TESTBED_PROG:-testbed.sh}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# alive, stop_pids
. "$REPO/scripts/lib/procs.sh"
ROOT=${UKF_TESTBED_ROOT:-/run/ukfork-testbed}
LOCK=/run/ukfork-testbed.lock # one for all state roots: bridges are global
ETCD_LOCAL=$REPO/scripts/etcd/local.sh # starts and stops the etcd members
ETCD_PORT=23790 # members' client port (peer: +1), on their node's address
TAG_PREFIX=ukfork-testbed:

CMD=
NAME=
STATE=
UP_STARTED=0 # set once `up` may have created something: failures tear down

say() { printf '%s: %s\n' "$PROG" "$*" >&2; }
# Bad usage: exit 2 with the reason and where to look.
usage_err() {
	say "$*"
	say "see '$PROG ${CMD:+$CMD }--help'"
	exit 2
}
# A failure. Inside `up`, whatever was made so far is removed again.
die() {
	say "error: $*"
	if [ "$UP_STARTED" = 1 ]; then
		UP_STARTED=0
		say "removing what this 'up' made"
		teardown quiet || say "some of it is left; '$PROG down $(state_args)' retries"
	fi
	exit 1
}

# ---- checks and small helpers ---------------------------------------------

need_ip() {
	command -v ip >/dev/null 2>&1 ||
		die "the 'ip' program (iproute2) is not installed: apt-get install iproute2"
	ip netns list >/dev/null 2>&1 ||
		die "'ip netns' does not work here (no network namespace support?): $(ip netns list 2>&1 | head -1)"
}
need_root() {
	[ "$(id -u)" = 0 ] ||
		die "$CMD must run as root: it creates network namespaces, veth pairs and a bridge (try: sudo $PROG $CMD ...)"
}
need_prog() { # PROG WHY
	command -v "$1" >/dev/null 2>&1 || die "the '$1' program is not installed ($2): apt-get install iproute2"
}
is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
is_num() { [[ $1 =~ ^[0-9]+([.][0-9]+)?$ ]]; }
# Decimal arithmetic for option values (bash has integers only).
calc() { awk "BEGIN { printf \"%.0f\", ($1) }"; }

# An option's value: present and not another option.
optval() { # OPTION VALUE-OR-EMPTY
	[ -n "${2+x}" ] && [ -n "$2" ] && [[ $2 != --* ]] || usage_err "$1 needs a value"
}

# The testbed name and its state directory from --name/--state.
resolve_state() {
	if [ -z "$STATE" ]; then
		NAME=${NAME:-default}
		STATE=$ROOT/$NAME
	elif [ -z "$NAME" ]; then
		NAME=$(basename "$STATE")
	fi
	[[ $NAME =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$ ]] ||
		usage_err "testbed name '$NAME' is not usable: 1-32 of A-Z a-z 0-9 _ . - (pass --name NAME)"
	case $STATE in /*) ;; *) STATE=$PWD/$STATE ;; esac
	STATE=${STATE%/}
	TAG=$TAG_PREFIX$STATE
}
state_args() {
	if [ "$STATE" = "$ROOT/$NAME" ]; then
		[ "$NAME" = default ] || printf -- '--name %s' "$NAME"
	else
		printf -- '--state %s' "$STATE"
	fi
}

# Interface alias (our ownership tag) of LINK, in namespace NS or the root.
link_alias() { # NS-or-empty LINK
	if [ -n "$1" ]; then
		ip netns exec "$1" cat "/sys/class/net/$2/ifalias" 2>/dev/null
	else
		cat "/sys/class/net/$2/ifalias" 2>/dev/null
	fi
}
link_exists() { # NS-or-empty LINK
	if [ -n "$1" ]; then
		ip -n "$1" link show dev "$2" >/dev/null 2>&1
	else
		ip link show dev "$2" >/dev/null 2>&1
	fi
}
netns_exists() { [ -e "/run/netns/$1" ]; }

# ---- the state directory ----------------------------------------------------
# STATE/testbed.conf  key=value: what this testbed is (written first)
# STATE/journal       one line per thing made, written BEFORE making it:
#                     "bridge B", "netns NS", "link L", "etcd DIR",
#                     "agent K PID"
# STATE/keys/, STATE/cluster.conf, STATE/nodeK.log (agent's log),
# STATE/nodeK.out (agent's stdout and stderr), STATE/etcd/ (with
# --directory etcd: scripts/etcd/local.sh's cluster directory)

journal() { printf '%s\n' "$*" >>"$STATE/journal" || die "cannot write $STATE/journal"; }

# Read testbed.conf into CONF_<key> variables (no `source`: plain data).
load_conf() {
	local k v
	[ -f "$STATE/testbed.conf" ] || return 1
	while IFS='=' read -r k v; do
		[[ $k =~ ^[a-z_]+$ ]] || continue
		printf -v "CONF_$k" '%s' "$v"
	done <"$STATE/testbed.conf"
}

# ---- teardown (down, and a failed up) ---------------------------------------

# Remove everything the journal names, if it is still ours: links and the
# bridge carry TAG as their alias (an empty alias: made, crashed before
# tagging); a namespace is ours unless its eth0 carries another tag.
# Returns 0 when nothing is left (the state directory is then removed).
teardown() { # [quiet]
	local quiet=${1:-} kind a b ns l pid a_ns=() a_links=() a_bridges=() pids=() a_etcd=()
	local n_agents=0 n_ns=0 n_links=0 n_br=0 n_etcd=0 left=0 al
	[ -d "$STATE" ] || return 0 # a concurrent down was quicker
	[ -f "$STATE/journal" ] || : >"$STATE/journal"
	while read -r kind a b _; do
		case $kind in
		netns) a_ns+=("$a") ;;
		link) a_links+=("$a") ;;
		bridge) a_bridges+=("$a") ;;
		agent) pids+=("$b") ;;
		etcd) a_etcd+=("$a") ;;
		esac
	done <"$STATE/journal"

	# which namespaces are ours
	local mine_ns=()
	for ns in "${a_ns[@]}"; do
		netns_exists "$ns" || continue
		al=$(link_alias "$ns" eth0)
		if [ -n "$al" ] && [ "$al" != "$TAG" ]; then
			say "warning: namespace $ns belongs to another testbed ($al); left alone"
			left=1
			continue
		fi
		mine_ns+=("$ns")
	done

	# 1. the processes: recorded agents still running our command line, and
	# everything inside our namespaces (an agent's children, `exec` shells)
	# but the etcd members: agents go first, they may still talk to etcd
	local victims=() p d etcd_pids=" "
	for d in "${a_etcd[@]}"; do
		[ -f "$d/pids" ] && etcd_pids+="$(tr '\n' ' ' <"$d/pids")"
	done
	for pid in "${pids[@]}"; do
		alive "$pid" || continue
		if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$STATE/"; then
			victims+=("$pid")
		fi
	done
	for ns in "${mine_ns[@]}"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			[[ $etcd_pids == *" $p "* ]] && continue
			[[ " ${victims[*]} " == *" $p "* ]] || victims+=("$p")
		done
	done
	if ((${#victims[@]})); then
		stop_pids "$GRACE" "${victims[@]}"
		n_agents=${#victims[@]}
		for p in "${victims[@]}"; do
			if alive "$p"; then
				say "warning: process $p survived SIGKILL (state $(sed -n 's/.*) \(.\).*/\1/p' "/proc/$p/stat" 2>/dev/null))"
				left=1
			fi
		done
	fi
	# 1b. the etcd members (only etcd processes whose data is in DIR), then
	# whatever is still in our namespaces (a member whose pid was not
	# written yet when `up` crashed)
	for d in "${a_etcd[@]}"; do
		[ -d "$d" ] || continue
		if UKF_ETCD_PROG="$PROG: etcd" bash "$ETCD_LOCAL" stop "$d" --grace "$GRACE" 2>/dev/null; then
			n_etcd=$((n_etcd + 1))
		else
			say "warning: stopping the etcd members of $d failed: '$ETCD_LOCAL stop $d' retries"
			left=1
		fi
	done
	victims=()
	for ns in "${mine_ns[@]}"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do victims+=("$p"); done
	done
	if ((${#victims[@]})); then
		stop_pids "$GRACE" "${victims[@]}"
		n_agents=$((n_agents + ${#victims[@]}))
		for p in "${victims[@]}"; do
			if alive "$p"; then
				say "warning: process $p survived SIGKILL"
				left=1
			fi
		done
	fi

	# 2. veth pairs (removing the root end removes eth0 inside too)
	for l in "${a_links[@]}"; do
		link_exists "" "$l" || continue
		al=$(link_alias "" "$l")
		if [ -n "$al" ] && [ "$al" != "$TAG" ]; then
			say "warning: interface $l belongs to another testbed ($al); left alone"
			left=1
			continue
		fi
		if ip link del dev "$l" 2>/dev/null; then
			n_links=$((n_links + 1))
		else
			say "warning: could not delete interface $l"
			left=1
		fi
	done
	# 3. namespaces
	for ns in "${mine_ns[@]}"; do
		if ip netns del "$ns" 2>/dev/null; then
			n_ns=$((n_ns + 1))
		else
			say "warning: could not delete namespace $ns"
			left=1
		fi
	done
	# 4. the bridge
	for l in "${a_bridges[@]}"; do
		link_exists "" "$l" || continue
		al=$(link_alias "" "$l")
		if [ -n "$al" ] && [ "$al" != "$TAG" ]; then
			say "warning: bridge $l belongs to another testbed ($al); left alone"
			left=1
			continue
		fi
		if ip link del dev "$l" 2>/dev/null; then
			n_br=$((n_br + 1))
		else
			say "warning: could not delete bridge $l"
			left=1
		fi
	done
	[ -n "$quiet" ] ||
		say "stopped $n_agents processes${a_etcd[*]:+ and the etcd cluster}; removed $n_ns namespaces, $n_links veth pairs, $n_br bridge"
	if [ "$left" = 0 ]; then
		rm -rf -- "$STATE"
		return 0
	fi
	say "state kept in $STATE"
	return 1
}

GRACE=5 # seconds from SIGTERM to SIGKILL

# ---- up ---------------------------------------------------------------------

up_help() {
	cat <<EOF
usage: $PROG up --nodes N [options]
Make N network namespaces joined by a bridge, key pairs and a cluster file,
and start one node agent in each namespace. Prints the cluster file's path.

  --nodes N         number of nodes, 1..250 (required)
  --name NAME       testbed name (default: default); state in $ROOT/NAME
  --state DIR       state directory instead (the name defaults to its basename)
  --subnet A.B.C.0/24
                    node K gets A.B.C.(K+1), the bridge A.B.C.254
                    (default 10.77.I.0/24, I = this testbed's bridge number)
  --port P          every agent's TCP port (default 7700)
  --prefix P        namespace names P0..P(N-1) (default ukf-n, or ukf-NAME-n)
  --delay MS        one-way delay between two nodes, in ms (may be decimal):
                    netem adds MS/2 on the egress of each end of each veth
                    pair, so node->node is MS, a node<->node round trip 2*MS,
                    and the root namespace<->node round trip MS
  --jitter MS       node->node delay varies by up to +-MS (+-MS/2 per end,
                    uniform); needs --delay, at most --delay; packets may be
                    reordered
  --rate MBIT       each node's link: at most MBIT Mbit/s out and MBIT Mbit/s
                    in (tbf on both ends of its veth pair)
  --backend B --vcpus N --memory SIZE --cache SIZE
                    what each node offers in the cluster file
                    (defaults kvm, 8, 16G, 4G)
  --agent CMD       agent command prefix (default: \$UKFORKD, else
                    build/ukforkd of this repository); run as
                    CMD --cluster FILE --node K --log STATE/nodeK.log
  --no-agents       make the network, keys and cluster file; start no agent
  --wait S          how long agents may take to come up (default 30)
  --peer-timeout T  the cluster file's peer_timeout (default 3s): silence
                    after which agents count a peer lost (longer under
                    emulation, where one VM operation can take seconds)
  --compress C      bulk compression between agents: zstd (default), lz4
                    or none (what crosses the links is then the raw bytes)
  --directory D     where agents find each other: embedded (default; the
                    agents' own directory) or etcd (a real etcd started in
                    the testbed; needs etcd-server and etcd-client)
  --etcd-members N  with --directory etcd: 1 (default; in node 0's
                    namespace) or 3 (in nodes 0, 1 and 2); client port
                    $ETCD_PORT on the node's address
  --ready-log REGEX an agent is also up once its log has a line matching
                    REGEX (default: only when its endpoint is listening)
  --keys-cmd CMD    key maker (default: "\$UKFORK keys", \$UKFORK else
                    build/ukfork); run as CMD NAME --dir STATE/keys, it must
                    write NAME.key (mode 0600) and NAME.pub, one Z85 line
                    each. A testing hook for builds without 'ukfork keys'.
EOF
}

cmd_up() {
	local nodes='' subnet='' port=7700 prefix='' delay='' jitter='' rate='' backend=kvm vcpus=8
	local memory=16G cache=4G agent='' no_agents=0 wait_s=30 ready_log='' keys_cmd=''
	PEER_TIMEOUT=3s COMPRESS=zstd DIRECTORY=embedded ETCD_ENDPOINTS=
	local etcd_members=''
	while [ $# -gt 0 ]; do
		case $1 in
		-h | --help) up_help; exit 0 ;;
		--nodes) optval "$@"; nodes=$2; shift 2 ;;
		--name) optval "$@"; NAME=$2; shift 2 ;;
		--state) optval "$@"; STATE=$2; shift 2 ;;
		--subnet) optval "$@"; subnet=$2; shift 2 ;;
		--port) optval "$@"; port=$2; shift 2 ;;
		--prefix) optval "$@"; prefix=$2; shift 2 ;;
		--delay) optval "$@"; delay=$2; shift 2 ;;
		--jitter) optval "$@"; jitter=$2; shift 2 ;;
		--rate) optval "$@"; rate=$2; shift 2 ;;
		--backend) optval "$@"; backend=$2; shift 2 ;;
		--vcpus) optval "$@"; vcpus=$2; shift 2 ;;
		--memory) optval "$@"; memory=$2; shift 2 ;;
		--cache) optval "$@"; cache=$2; shift 2 ;;
		--agent) optval "$@"; agent=$2; shift 2 ;;
		--no-agents) no_agents=1; shift ;;
		--wait) optval "$@"; wait_s=$2; shift 2 ;;
		--peer-timeout) optval "$@"; PEER_TIMEOUT=$2; shift 2 ;;
		--compress) optval "$@"; COMPRESS=$2; shift 2 ;;
		--directory) optval "$@"; DIRECTORY=$2; shift 2 ;;
		--etcd-members) optval "$@"; etcd_members=$2; shift 2 ;;
		--ready-log) optval "$@"; ready_log=$2; shift 2 ;;
		--keys-cmd) optval "$@"; keys_cmd=$2; shift 2 ;;
		*) usage_err "unknown argument '$1'" ;;
		esac
	done
	[ -n "$nodes" ] || usage_err "--nodes N is required"
	is_uint "$nodes" && [ "$nodes" -ge 1 ] && [ "$nodes" -le 250 ] ||
		usage_err "--nodes $nodes: want a whole number from 1 to 250 (addresses .1-.250 of a /24)"
	is_uint "$port" && [ "$port" -ge 1 ] && [ "$port" -le 65535 ] ||
		usage_err "--port $port: want a TCP port, 1..65535"
	local net=
	if [ -n "$subnet" ]; then
		[[ $subnet =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})/([0-9]{1,2})$ ]] ||
			usage_err "--subnet $subnet: want an IPv4 /24 such as 10.77.0.0/24"
		local o
		for o in 1 2 3 4; do
			[ "${BASH_REMATCH[$o]}" -le 255 ] || usage_err "--subnet $subnet: ${BASH_REMATCH[$o]} is not an address byte"
		done
		[ "${BASH_REMATCH[5]}" = 24 ] ||
			usage_err "--subnet $subnet: only a /24 is supported (node K is .K+1, the bridge .254), not /${BASH_REMATCH[5]}"
		[ "${BASH_REMATCH[4]}" = 0 ] ||
			usage_err "--subnet $subnet: host bits set; use ${BASH_REMATCH[1]}.${BASH_REMATCH[2]}.${BASH_REMATCH[3]}.0/24"
		net=${BASH_REMATCH[1]}.${BASH_REMATCH[2]}.${BASH_REMATCH[3]}
	fi
	if [ -n "$prefix" ]; then
		[[ $prefix =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,40}$ ]] ||
			usage_err "--prefix $prefix: want letters, digits, _ . - (a namespace name prefix)"
	fi
	[ -z "$delay" ] || is_num "$delay" || usage_err "--delay $delay: want milliseconds, e.g. 20 or 0.5"
	[ -z "$jitter" ] || is_num "$jitter" || usage_err "--jitter $jitter: want milliseconds, e.g. 5"
	[ -z "$rate" ] || is_num "$rate" || usage_err "--rate $rate: want Mbit/s, e.g. 100 or 2.5"
	if [ -n "$jitter" ]; then
		[ -n "$delay" ] || usage_err "--jitter needs --delay (the delay varies by +-jitter around it)"
		[ "$(calc "$jitter > $delay")" = 0 ] ||
			usage_err "--jitter $jitter is more than --delay $delay: a delay cannot go below 0"
	fi
	[ -z "$rate" ] || [ "$(calc "$rate * 1000")" -ge 8 ] || usage_err "--rate $rate: too small (tc needs at least 8 kbit/s)"
	[[ $backend =~ ^[a-z0-9_]+$ ]] || usage_err "--backend $backend: want a backend name such as kvm"
	is_uint "$vcpus" && [ "$vcpus" -ge 1 ] || usage_err "--vcpus $vcpus: want a whole number >= 1"
	case $COMPRESS in zstd | lz4 | none) ;; *) usage_err "--compress $COMPRESS: want zstd, lz4 or none" ;; esac
	case $DIRECTORY in embedded | etcd) ;; *) usage_err "--directory $DIRECTORY: want embedded or etcd" ;; esac
	if [ -n "$etcd_members" ]; then
		[ "$DIRECTORY" = etcd ] || usage_err "--etcd-members needs --directory etcd (the embedded directory has no members)"
		case $etcd_members in 1 | 3) ;; *) usage_err "--etcd-members $etcd_members: want 1 or 3" ;; esac
		[ "$etcd_members" -le "$nodes" ] ||
			usage_err "--etcd-members $etcd_members puts one member in each of $etcd_members nodes' namespaces, and this testbed has $nodes node(s): use --nodes $etcd_members or more, or --etcd-members 1"
	fi
	[ "$DIRECTORY" = etcd ] && etcd_members=${etcd_members:-1}
	[[ $PEER_TIMEOUT =~ ^[0-9]+(ms|s)?$ ]] || usage_err "--peer-timeout $PEER_TIMEOUT: want a time such as 3s or 1500ms"
	[[ $memory =~ ^[0-9]+[KMGT]?$ ]] || usage_err "--memory $memory: want a size such as 16G"
	[[ $cache =~ ^[0-9]+[KMGT]?$ ]] || usage_err "--cache $cache: want a size such as 4G"
	is_uint "$wait_s" && [ "$wait_s" -ge 1 ] || usage_err "--wait $wait_s: want whole seconds >= 1"
	resolve_state
	[ -n "$prefix" ] || { [ "$NAME" = default ] && prefix=ukf-n || prefix=ukf-$NAME-n; }

	need_ip
	need_root
	[ -z "$delay$rate" ] || need_prog tc "--delay/--rate use tc"
	[ "$no_agents" = 1 ] || need_prog ss "checking that the agents listen"
	if [ "$DIRECTORY" = etcd ]; then
		command -v etcd >/dev/null 2>&1 ||
			die "--directory etcd: etcd is not installed: apt-get install etcd-server etcd-client"
		command -v etcdctl >/dev/null 2>&1 ||
			die "--directory etcd: etcdctl is not installed: apt-get install etcd-client"
		[ -f "$ETCD_LOCAL" ] || die "--directory etcd: $ETCD_LOCAL is missing"
	fi

	# The programs it runs, checked before anything is made.
	if [ -z "$keys_cmd" ]; then
		local uk=${UKFORK:-$REPO/build/ukfork}
		[ -x "$uk" ] ||
			die "ukfork not found at $uk (build it: ./ukf.sh build, or set UKFORK); it makes the key pairs ('ukfork keys')"
		keys_cmd="'$uk' keys"
		KEYS_DEFAULT=1
	fi
	if [ "$no_agents" = 0 ]; then
		if [ -z "$agent" ]; then
			local ud=${UKFORKD:-$REPO/build/ukforkd}
			[ -x "$ud" ] ||
				die "agent ukforkd not found at $ud (build it, set UKFORKD, pass --agent CMD, or --no-agents)"
			agent="'$ud'"
		else
			local first
			first=$(bash -c "set -- $agent; printf '%s' \"\$1\"" 2>/dev/null)
			command -v "$first" >/dev/null 2>&1 || die "--agent: '$first' is not a program here"
		fi
	fi

	# Claim the state, a bridge index and a subnet under one global lock, so
	# concurrent ups do not collide; it is held until the bridge exists.
	mkdir -p "$ROOT" || die "cannot create $ROOT"
	exec 9>"$LOCK" || die "cannot open the lock $LOCK"
	flock -w 120 9 || die "another testbed.sh held $LOCK for 120 s"
	if [ -e "$STATE" ]; then
		if [ -e "$STATE/journal" ] || [ -e "$STATE/testbed.conf" ]; then
			die "testbed '$NAME' is already up (state $STATE); '$PROG down $(state_args)' removes it"
		fi
		[ -d "$STATE" ] && [ -z "$(ls -A "$STATE")" ] ||
			die "$STATE exists and is not a testbed state directory"
	fi
	local idx=0
	while ((idx < 1000)) && link_exists "" "ukfbr$idx"; do idx=$((idx + 1)); done
	((idx < 1000)) || die "no free bridge name ukfbr0..ukfbr999"
	local br=ukfbr$idx
	if [ -z "$net" ]; then
		((idx < 256)) || die "no default subnet for bridge $br: pass --subnet"
		net=10.77.$idx
	fi
	local used
	used=$(ip -4 -o addr show 2>/dev/null | awk -v n="$net." 'index($4, n) == 1 { print $2 " (" $4 ")"; exit }')
	[ -z "$used" ] || die "subnet $net.0/24 is already in use here by $used; pass another --subnet"
	local k
	for ((k = 0; k < nodes; k++)); do
		netns_exists "$prefix$k" && die "namespace $prefix$k exists already (another testbed? pass --prefix or --name)"
		link_exists "" "ukf${idx}v$k" && die "interface ukf${idx}v$k exists already"
	done

	mkdir -p "$STATE" || die "cannot create the state directory $STATE"
	UP_STARTED=1
	trap 'say "interrupted"; die "up interrupted by a signal"' INT TERM HUP
	: >"$STATE/journal" || die "cannot write $STATE/journal"
	{
		echo "name=$NAME"
		echo "nodes=$nodes"
		echo "prefix=$prefix"
		echo "bridge=$br"
		echo "index=$idx"
		echo "net=$net"
		echo "port=$port"
		echo "delay=$delay"
		echo "jitter=$jitter"
		echo "rate=$rate"
		echo "agents=$((1 - no_agents))"
		echo "directory=$DIRECTORY"
		echo "etcd_members=$etcd_members"
	} >"$STATE/testbed.conf" || die "cannot write $STATE/testbed.conf"

	# The bridge (and its address) claims index and subnet: then unlock.
	say "bridge $br with $net.254/24"
	journal bridge "$br"
	run ip link add "$br" type bridge forward_delay 0
	run ip link set dev "$br" alias "$TAG"
	run ip addr add "$net.254/24" dev "$br"
	run ip link set dev "$br" up
	flock -u 9
	exec 9>&-

	say "key pairs for $nodes nodes and the client 'runner' in $STATE/keys"
	mkdir -m 700 "$STATE/keys" || die "cannot create $STATE/keys"
	local names=() kn out
	for ((k = 0; k < nodes; k++)); do names+=("node$k"); done
	names+=(runner)
	for kn in "${names[@]}"; do
		if ! out=$(bash -c "$keys_cmd \"\$@\"" keys "$kn" --dir "$STATE/keys" 2>&1 </dev/null); then
			local hint=
			[ "${KEYS_DEFAULT:-0}" = 1 ] &&
				hint=" (does this ukfork have 'ukfork keys'? --keys-cmd CMD runs a stand-in)"
			die "making the key pair '$kn' failed: $keys_cmd $kn --dir $STATE/keys: ${out:-no output}$hint"
		fi
		check_keys "$kn"
	done

	# The nodes.
	local ns veth
	for ((k = 0; k < nodes; k++)); do
		ns=$prefix$k
		veth=ukf${idx}v$k
		say "node $k: namespace $ns, eth0 $net.$((k + 1))/24, bridge port $veth"
		journal netns "$ns"
		run ip netns add "$ns"
		journal link "$veth"
		run ip link add "$veth" type veth peer name eth0 netns "$ns"
		run ip link set dev "$veth" alias "$TAG"
		run ip -n "$ns" link set dev eth0 alias "$TAG"
		run ip link set dev "$veth" master "$br"
		run ip link set dev "$veth" up
		run ip -n "$ns" link set dev lo up
		run ip -n "$ns" addr add "$net.$((k + 1))/24" dev eth0
		run ip -n "$ns" link set dev eth0 up
		if [ -n "$delay$rate" ]; then
			shape "" "$veth" "$delay" "$jitter" "$rate"
			shape "$ns" eth0 "$delay" "$jitter" "$rate"
		fi
	done
	if [ -n "$delay" ]; then
		say "delay: node->node one-way $delay ms${jitter:+ +-$jitter ms} (netem, half on each veth end)"
	fi
	if [ -n "$rate" ]; then
		say "rate: each node link $rate Mbit/s out and $rate Mbit/s in (tbf on both veth ends)"
	fi
	[ "$DIRECTORY" = embedded ] || start_etcd "$etcd_members" "$net" "$prefix" "$wait_s"
	write_cluster "$nodes" "$net" "$port" "$prefix" "$backend" "$vcpus" "$memory" "$cache"

	if [ "$no_agents" = 0 ]; then
		start_agents "$nodes" "$net" "$port" "$prefix" "$agent" "$wait_s" "$ready_log"
	fi
	trap - INT TERM HUP
	UP_STARTED=0
	say "testbed '$NAME' is up: $nodes nodes on $net.0/24, port $port${ETCD_ENDPOINTS:+, etcd $ETCD_ENDPOINTS}; '$PROG down $(state_args)' removes it"
	printf '%s\n' "$STATE/cluster.conf"
}

# Run a step of `up`; on failure, say which and tear down.
run() {
	local out
	out=$("$@" 2>&1) || die "'$*' failed: $out"
}

# netem (delay, jitter) as the root qdisc with tbf (rate) below it, or tbf
# alone: on one end of a veth pair, halves of the end-to-end delay.
shape() { # NS-or-empty DEV DELAY JITTER RATE
	local tcn=(tc) out d j parent=root burst kbit
	[ -z "$1" ] || tcn=(tc -n "$1")
	if [ -n "$3" ]; then
		d=$(calc "$3 * 500")
		j=
		[ -z "$4" ] || j=$(calc "$4 * 500")us
		if ! out=$("${tcn[@]}" qdisc add dev "$2" root handle 1: netem delay "${d}us" $j limit 100000 2>&1); then
			case $out in
			*"qdisc kind is unknown"*)
				die "this kernel has no netem qdisc (CONFIG_NET_SCH_NETEM, module sch_netem: modprobe sch_netem), so --delay/--jitter cannot be emulated; tc said: $out" ;;
			*) die "tc netem on ${1:+$1:}$2 failed: $out" ;;
			esac
		fi
		parent="parent 1:1"
	fi
	if [ -n "$5" ]; then
		kbit=$(calc "$5 * 1000")
		# burst: 4 ms at the rate (a 250 Hz tick), at least 16 KiB; a queue of 50 ms
		burst=$(calc "$5 * 1e6 / 8 / 250")
		[ "$burst" -ge 16384 ] || burst=16384
		# shellcheck disable=SC2086
		out=$("${tcn[@]}" qdisc add dev "$2" $parent handle 10: tbf rate "${kbit}kbit" burst "$burst" latency 50ms 2>&1) ||
			die "tc tbf on ${1:+$1:}$2 failed: $out"
	fi
}

# NAME.pub and NAME.key: one line of 40 Z85 characters each (a CURVE key,
# as agent/cluster.h reads them); the secret with mode 0600.
check_keys() {
	local f line lines mode
	local z85='^[][0-9a-zA-Z.:+=^!/*?&<>(){}@%$#-]{40}$' # the Z85 alphabet
	for f in "$STATE/keys/$1.pub" "$STATE/keys/$1.key"; do
		[ -f "$f" ] || die "the key maker wrote no $f"
		lines=$(wc -l <"$f")
		line=$(head -n 1 "$f")
		[ "$lines" -le 1 ] && [[ $line =~ $z85 ]] ||
			die "$f is not one line of 40 Z85 characters (got $lines lines, first '${line:0:60}')"
	done
	mode=$(stat -c %a "$STATE/keys/$1.key")
	[ "$mode" = 600 ] || die "$STATE/keys/$1.key has mode $mode: a secret key must be 0600"
}

# The etcd members, in the first MEMBERS nodes' namespaces on their node's
# address (reachable from every namespace and the root one through the
# bridge), by scripts/etcd/local.sh in STATE/etcd; ETCD_ENDPOINTS set.
start_etcd() { # MEMBERS NET PREFIX WAIT
	local k nss=() hs=() d=$STATE/etcd
	for ((k = 0; k < $1; k++)); do
		nss+=("$3$k")
		hs+=("$2.$((k + 1))")
	done
	say "etcd: $1 member(s) in namespace(s) $(IFS=,; echo "${nss[*]}") (cluster directory $d)"
	journal etcd "$d"
	ETCD_ENDPOINTS=$(IFS=,; UKF_ETCD_PROG="$PROG: etcd" bash "$ETCD_LOCAL" start "$d" --members "$1" \
		--netns "${nss[*]}" --hosts "${hs[*]}" --base-port "$ETCD_PORT" --wait "$4") ||
		die "etcd did not start (above; the members' logs are $d/member-K.log)"
}

write_cluster() { # NODES NET PORT PREFIX BACKEND VCPUS MEMORY CACHE
	local k f=$STATE/cluster.conf
	{
		printf '[cluster]\nname = testbed\ndirectory = %s\n' "$DIRECTORY"
		if [ "$DIRECTORY" = etcd ]; then
			printf 'etcd_endpoints = %s\netcd_prefix = /ukfork/testbed\netcd_lease_ttl = 2s\n' "$ETCD_ENDPOINTS"
		fi
		printf 'heartbeat = 250ms\npeer_timeout = %s\ncompress = %s\n' "$PEER_TIMEOUT" "$COMPRESS"
		for ((k = 0; k < $1; k++)); do
			printf '\n[node %d]\n' "$k"
			printf 'endpoint = tcp://%s.%d:%s\n' "$2" $((k + 1)) "$3"
			printf 'public_key = %s\n' "$(head -n 1 "$STATE/keys/node$k.pub")"
			printf 'secret_key_file = keys/node%d.key\n' "$k"
			printf 'backend = %s\nvcpus = %s\nmemory = %s\ncache = %s\n' "$5" "$6" "$7" "$8"
			printf 'netns = %s%d\n' "$4" "$k"
		done
		printf '\n[client runner]\npublic_key = %s\nsecret_key_file = keys/runner.key\n' \
			"$(head -n 1 "$STATE/keys/runner.pub")"
	} >"$f.tmp" && mv "$f.tmp" "$f" || die "cannot write $f"
	say "cluster file $f"
}

# Is node K's endpoint listening (seen inside its namespace: no connection
# is made, so the agent sees no stray peer)?
listening() { # NS ADDR PORT
	ss -N "$1" -Hltn 2>/dev/null | awk -v a="$2:$3" -v p=":$3" '
		$4 == a || $4 == "0.0.0.0" p || $4 == "*" p || $4 == "[::]" p { f = 1 }
		END { exit !f }'
}

start_agents() { # NODES NET PORT PREFIX AGENT WAIT READY_LOG
	local n=$1 net=$2 port=$3 prefix=$4 agent=$5 wait_s=$6 ready_log=$7 k pid
	local pids=()
	for ((k = 0; k < n; k++)); do
		: >"$STATE/node$k.log"
		# setsid: the agent outlives this script and its terminal; ip netns
		# exec and bash exec in place, so $! is the agent's own pid.
		setsid ip netns exec "$prefix$k" bash -c "exec $agent \"\$@\"" ukforkd \
			--cluster "$STATE/cluster.conf" --node "$k" --log "$STATE/node$k.log" \
			</dev/null >"$STATE/node$k.out" 2>&1 &
		pid=$!
		journal agent "$k" "$pid"
		pids+=("$pid")
		say "node $k: agent started, pid $pid (log $STATE/node$k.log)"
	done
	local pending=() deadline=$((SECONDS + wait_s)) still
	for ((k = 0; k < n; k++)); do pending+=("$k"); done
	while ((${#pending[@]})); do
		still=()
		for k in "${pending[@]}"; do
			if listening "$prefix$k" "$net.$((k + 1))" "$port" ||
				{ [ -n "$ready_log" ] && grep -Eq -- "$ready_log" "$STATE/node$k.log" 2>/dev/null; }; then
				say "node $k: up at tcp://$net.$((k + 1)):$port"
				continue
			fi
			if ! alive "${pids[$k]}"; then
				wait "${pids[$k]}" 2>/dev/null
				die "node $k: the agent exited (status $?) before it came up; its output: $(agent_tail "$k")"
			fi
			still+=("$k")
		done
		pending=("${still[@]}")
		((${#pending[@]})) || break
		if ((SECONDS >= deadline)); then
			k=${pending[0]}
			die "node $k: the agent did not come up within ${wait_s}s (not listening on tcp://$net.$((k + 1)):$port${ready_log:+, no log line matching '$ready_log'}); ${#pending[@]} of $n nodes not up; its output: $(agent_tail "$k")"
		fi
		sleep 0.2
	done
}
agent_tail() {
	local t
	t=$(tail -n 3 "$STATE/node$1.out" "$STATE/node$1.log" 2>/dev/null | grep -v '^==> \|^$' | tr '\n' '|')
	printf '%s' "${t:-(none)}"
}

# ---- down, status, exec -----------------------------------------------------

# Namespaces whose eth0's alias is TAG (this testbed's nodes: up tags
# it), one a line.
tagged_netns() {
	local ns
	while read -r ns _; do
		[ -n "$ns" ] && [ "$(link_alias "$ns" eth0)" = "$TAG" ] &&
			printf '%s\n' "$ns"
	done < <(ip netns list 2>/dev/null)
}
# Root-namespace interfaces whose alias is TAG (this testbed's), one a line.
tagged_links() {
	local f
	for f in /sys/class/net/*/ifalias; do
		[ "$(cat "$f" 2>/dev/null)" = "$TAG" ] || continue
		f=${f%/ifalias}
		printf '%s\n' "${f##*/}"
	done
}
# A testbed whose state directory is gone: a new one with a journal of what
# carries its tag (its bridge, its veths, the namespaces whose eth0 does),
# for teardown. Agents and etcd members die as the processes inside those
# namespaces. A namespace whose veth was never made (an up killed in
# between) has no tagged eth0 and is not found: 'ip netns del' removes it.
adopt_orphans() {
	local l ns n=0
	# the journal in a directory of its own (teardown removes it): the
	# state's parents may be gone too, and are not made again (TAG, the
	# ownership tag, was taken from the state's path already)
	STATE=$(mktemp -d /tmp/ukf-testbed-orphan.XXXXXX) || die "mktemp failed"
	: >"$STATE/journal" || die "cannot write $STATE/journal"
	while read -r l; do
		[ -n "$l" ] || continue
		if [ -d "/sys/class/net/$l/bridge" ]; then
			journal bridge "$l"
		else
			journal link "$l"
		fi
	done < <(tagged_links)
	# by their eth0's tag: found even where a veth end names its peer's
	# namespace by number only (link-netnsid)
	while read -r ns; do
		[ -n "$ns" ] || continue
		journal netns "$ns"
		n=$((n + 1))
	done < <(tagged_netns)
	say "found $(grep -c '^bridge ' "$STATE/journal") bridge, $(grep -c '^link ' "$STATE/journal") veth pairs, $n namespaces"
}

down_help() {
	cat <<EOF
usage: $PROG down [--name NAME | --state DIR] [--grace S]
Stop the testbed's agents (SIGTERM, SIGKILL after S seconds, default 5) and
every process inside its namespaces, delete its veth pairs, namespaces and
bridge, and remove the state directory. Works after a crash of '$PROG up' or
of agents, after a partial up, and after the state directory was deleted
(its bridge and veths carry its path as their alias: they lead to its
namespaces and what runs there); with nothing left it says so and exits 0.
EOF
}
cmd_down() {
	while [ $# -gt 0 ]; do
		case $1 in
		-h | --help) down_help; exit 0 ;;
		--name) optval "$@"; NAME=$2; shift 2 ;;
		--state) optval "$@"; STATE=$2; shift 2 ;;
		--grace) optval "$@"; GRACE=$2; shift 2 ;;
		*) usage_err "unknown argument '$1'" ;;
		esac
	done
	is_uint "$GRACE" || usage_err "--grace $GRACE: want whole seconds"
	resolve_state
	if [ ! -e "$STATE" ]; then
		# its state directory deleted while its network lived on: the
		# bridge and veths still carry its tag, and lead to the rest
		if [ -n "$(tagged_links)$(tagged_netns)" ]; then
			need_ip
			need_root
			say "no state directory $STATE, but interfaces tagged with it are still here: taking down what they lead to"
			adopt_orphans || exit 1
			teardown || exit 1
			exit 0
		fi
		say "nothing to remove: no testbed '$NAME' (no $STATE)"
		exit 0
	fi
	if [ ! -e "$STATE/journal" ] && [ ! -e "$STATE/testbed.conf" ]; then
		if [ -d "$STATE" ] && [ -z "$(ls -A "$STATE")" ]; then
			rmdir "$STATE"
			say "nothing to remove: $STATE was empty (removed)"
			exit 0
		fi
		die "$STATE is not a testbed state directory (no journal, no testbed.conf); not touching it"
	fi
	need_ip
	need_root
	say "taking down testbed '$NAME' ($STATE)"
	teardown || exit 1
}

status_help() {
	cat <<EOF
usage: $PROG status [--name NAME | --state DIR]
What the testbed has (bridge, namespaces, interfaces, shaping), which agents
are alive, its etcd members and their health (--directory etcd), and its
cluster file. Exit 0 when all is there and every agent and etcd member
lives (and is healthy), 3 when something is missing or dead, 1 with no
testbed.
EOF
}
cmd_status() {
	while [ $# -gt 0 ]; do
		case $1 in
		-h | --help) status_help; exit 0 ;;
		--name) optval "$@"; NAME=$2; shift 2 ;;
		--state) optval "$@"; STATE=$2; shift 2 ;;
		*) usage_err "unknown argument '$1'" ;;
		esac
	done
	resolve_state
	load_conf || { say "no testbed '$NAME' (no $STATE/testbed.conf)"; exit 1; }
	need_ip
	local bad=0 k ns veth pid st addr kind a b
	declare -A agentpid=()
	while read -r kind a b _; do
		[ "$kind" = agent ] && agentpid[$a]=$b
	done <"$STATE/journal"
	echo "testbed $CONF_name: state $STATE"
	if link_exists "" "$CONF_bridge"; then
		echo "bridge $CONF_bridge: present, $CONF_net.254/24"
	else
		echo "bridge $CONF_bridge: MISSING"
		bad=1
	fi
	if [ -n "$CONF_delay" ]; then
		echo "delay: node->node one-way $CONF_delay${CONF_jitter:+ +-$CONF_jitter} ms (netem, half on each veth end)"
	else
		echo "delay: none added"
	fi
	if [ -n "$CONF_rate" ]; then
		echo "rate: $CONF_rate Mbit/s out and in per node link (tbf)"
	else
		echo "rate: not limited"
	fi
	for ((k = 0; k < CONF_nodes; k++)); do
		ns=$CONF_prefix$k
		veth=ukf${CONF_index}v$k
		addr="tcp://$CONF_net.$((k + 1)):$CONF_port"
		st="node $k: $addr"
		if netns_exists "$ns"; then st+=", netns $ns"; else st+=", netns $ns MISSING"; bad=1; fi
		if link_exists "" "$veth"; then st+=", veth $veth"; else st+=", veth $veth MISSING"; bad=1; fi
		if [ -n "${agentpid[$k]:-}" ]; then
			pid=${agentpid[$k]}
			if alive "$pid"; then st+=", agent pid $pid alive"; else st+=", agent pid $pid DEAD"; bad=1; fi
		elif [ "$CONF_agents" = 1 ]; then
			st+=", agent NOT STARTED"
			bad=1
		else
			st+=", no agent (--no-agents)"
		fi
		echo "$st"
	done
	if [ "${CONF_directory:-embedded}" = etcd ]; then
		local out rc=0
		if [ -f "$STATE/etcd/members" ]; then
			echo "directory: etcd, $(cat "$STATE/etcd/endpoints" 2>/dev/null)"
			# one line per member: endpoint, pid alive or DEAD, healthy or not
			out=$(UKF_ETCD_PROG="$PROG: etcd" bash "$ETCD_LOCAL" status "$STATE/etcd") || rc=$?
			[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/etcd /'
			[ "$rc" = 0 ] || bad=1
		else
			echo "directory: etcd, NOT STARTED"
			bad=1
		fi
	else
		echo "directory: embedded"
	fi
	if [ -f "$STATE/cluster.conf" ]; then
		echo "cluster file: $STATE/cluster.conf"
	else
		echo "cluster file: MISSING"
		bad=1
	fi
	[ $bad = 0 ] || exit 3
}

exec_help() {
	cat <<EOF
usage: $PROG exec [--name NAME | --state DIR] K CMD [ARG...]
Run CMD inside node K's network namespace (its eth0 has the node's address;
the other nodes and the bridge address are reachable). Exits with CMD's status.
EOF
}
cmd_exec() {
	while [ $# -gt 0 ]; do
		case $1 in
		-h | --help) exec_help; exit 0 ;;
		--name) optval "$@"; NAME=$2; shift 2 ;;
		--state) optval "$@"; STATE=$2; shift 2 ;;
		--) shift; break ;;
		-*) usage_err "unknown argument '$1'" ;;
		*) break ;;
		esac
	done
	[ $# -ge 2 ] || usage_err "want a node number and a command: $PROG exec K CMD [ARG...]"
	local k=$1
	shift
	is_uint "$k" || usage_err "node '$k' is not a node number"
	resolve_state
	load_conf || die "no testbed '$NAME' (no $STATE/testbed.conf)"
	[ "$k" -lt "$CONF_nodes" ] || die "testbed '$NAME' has nodes 0..$((CONF_nodes - 1)), not $k"
	need_ip
	need_root
	netns_exists "$CONF_prefix$k" || die "node $k's namespace $CONF_prefix$k does not exist (testbed partly down?)"
	exec ip netns exec "$CONF_prefix$k" "$@"
}

main_help() {
	cat <<EOF
usage: $PROG COMMAND [options]
A ukfork cluster on one machine: one node agent per network namespace,
joined by veth pairs and a bridge, optionally with emulated delay and rate.
  up --nodes N ...   make the testbed and start the agents
  status             what exists and which agents are alive
  exec K CMD...      run CMD inside node K's namespace
  down               stop the agents, remove everything
'$PROG COMMAND --help' for each; root required for up, down and exec.
Several testbeds coexist under different --name (state $ROOT/NAME).
EOF
}

[ $# -gt 0 ] || { main_help >&2; exit 2; }
CMD=$1
shift
case $CMD in
up) cmd_up "$@" ;;
down) cmd_down "$@" ;;
status) cmd_status "$@" ;;
exec) cmd_exec "$@" ;;
-h | --help | help) main_help ;;
*)
	bad=$CMD
	CMD=
	usage_err "unknown command '$bad'; want up, down, status or exec"
	;;
esac
