#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# xen_two_hosts.sh BUILD - two Xen hosts linked (scripts/xen-testbed/two-hosts,
# issue 10 item 3): both dom0s come up on one Ethernet segment, each pings
# the other, a node agent (ukforkd --backend xen) runs on each and sees the
# other over ZeroMQ (CURVE keys, TCP between the two dom0s), and host 1, as
# a client of the agents, runs `ukfork exec --cluster ... hello` whose root
# starts on node 0 - the other host - through the agents' remote path, its
# console streamed back to host 1. Host 0 stops its agent after host 1 is
# done (a file on the shared work directory says so), once host 1's agent
# has stopped (their gcov counts are written one after the other: see
# in-dom0.sh).
# Then a fork across the hosts (issue 10: remote fork through the agents'
# stream format on Xen). Host 1 first runs `exec --cluster --template-dir
# TD fanout` (no arguments: it stops after its ready), so node 0 makes
# fanout's template and its agent saves it as TD/fanout.ukft
# (export_template); a cut copy goes into node 1's TD (dom0's /tmp is one
# per host), refused as truncated at the next run's start. Then `exec
# --cluster --template-dir TD --placement round-robin --trace fanout 2
# 200000`: the root starts on node 0 as a clone of the loaded file
# (template_info, load_template: a clone knows its real id, which a
# cold-booted Xen guest does not - docs/xen.md), its first child is placed
# on node 1, which fetches node 0's template (export_template ->
# load_template) and restores the child from the root's libxl checkpoint
# sent as a zstd delta against it (save_delta -> restore_delta); the second
# is a local fork. Asserted: the answer (primes below 200000: 17984, both
# children), the refusal, the fetch and the child started from a delta in
# node 1's log. UKF_XEN_TWO_HOSTS_FORK=0 leaves the fork out;
# UKF_XEN_KEEP=1 keeps the directory (logs, node*.err with the backends'
# EMULATED times).
# Exit 77 (skip) only when qemu-system-x86_64 is missing.
set -euo pipefail

B=$(cd "${1:?usage: xen_two_hosts.sh BUILD}" && pwd -P)
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
xen_need_qemu
UKFORK=$B/ukfork
UKFORKD=$B/ukforkd
[ -x "$UKFORK" ] && [ -x "$UKFORKD" ] || fail "no $UKFORK or $UKFORKD (build them)"
[ -f "$B/guest-xen/hello" ] && [ -f "$B/guest-xen/fanout" ] && [ -f "$B/guest-xen/test-abi" ] ||
	fail "no Xen image $B/guest-xen/hello, fanout or test-abi (build target guest-xen-all)"
[ -d /usr/lib/xen-4.17 ] || fail "no xen-utils-4.17 on this machine (dom0 runs its xl; ./ukf.sh installs it)"
xen_workdir ukf-xen-2h

# Keys and the cluster file: node K's agent listens on host K's address.
NET=10.77.0
mkdir -p "$D/keys"
for n in node0 node1 runner; do
	"$UKFORK" keys "$n" --dir "$D/keys" >/dev/null || fail "ukfork keys $n"
done
{
	# peer_timeout: two emulated hosts on a loaded machine can keep an
	# agent from its heartbeats for seconds
	printf '[cluster]\nname = xen-two-hosts\nheartbeat = 500ms\npeer_timeout = 60s\n'
	for k in 0 1; do
		printf '\n[node %d]\nendpoint = tcp://%s.%d:7700\npublic_key = %s\nsecret_key_file = keys/node%d.key\nvcpus = 1\nmemory = 512M\ncache = 128M\n' \
			"$k" "$NET" $((k + 1)) "$(cat "$D/keys/node$k.pub")" "$k"
	done
	printf '\n[client runner]\npublic_key = %s\nsecret_key_file = keys/runner.key\n' \
		"$(cat "$D/keys/runner.pub")"
} >"$D/cluster.conf"

cat >"$D/in-dom0.sh" <<INNER
set -u
K=\$UKF_XEN_HOST
J=\$((1 - K))
PEER=\$UKF_XEN_PEER_IP
echo "== host \$K at \$UKF_XEN_HOST_IP, peer \$PEER"
# the other host may boot later: wait for it (bounded), then 3 pings
i=0
until busybox ping -c 1 -W 1 "\$PEER" >/dev/null 2>&1; do
	i=\$((i + 1)); [ \$i -lt 240 ] || break
	sleep 1
done
busybox ping -c 3 -W 5 "\$PEER"
echo "== ping rc=\$?"

# each agent's template directory (dom0's /tmp: one per host)
TD=/tmp/ukf-xr-tdir
mkdir -p "\$TD"
# the node agent on the Xen backend
UKF_XEN_TIMES=1 "$UKFORKD" --cluster "$D/cluster.conf" --node \$K --backend xen \
	--log "$D/node\$K.log" --log-level debug 2>"$D/node\$K.err" &
AG=\$!
i=0
until grep -Eq "node \$J up" "$D/node\$K.log" 2>/dev/null; do
	i=\$((i + 1)); [ \$i -lt 1800 ] || break
	kill -0 \$AG 2>/dev/null || break
	sleep 0.2
done
grep -Eq "node \$J up" "$D/node\$K.log" 2>/dev/null
echo "== peer seen rc=\$?"
grep -E ' info: up: |node \$J up' "$D/node\$K.log" | head -n 3

if [ "\$K" = 1 ]; then
	"$UKFORK" agent status --cluster "$D/cluster.conf" --timeout 20
	echo "== status rc=\$?"
	# the root of this run starts on node 0 (the other host)
	timeout 300 "$UKFORK" exec --cluster "$D/cluster.conf" hello 2>&1
	echo "== exec rc=\$?"
	# a cold-booted root has the engine's id (large under the agents),
	# not 1: test-abi's info check compares the monitor's id with its own
	timeout 300 "$UKFORK" exec --cluster "$D/cluster.conf" test-abi one two \
		>"$D/abi.out" 2>&1
	echo "== abi rc=\$?"
	if [ "${UKF_XEN_TWO_HOSTS_FORK:-1}" = 1 ]; then
		# fanout's template, made on node 0 at its ready (before its
		# arguments are read: none here, so it stops there) and saved
		# by node 0's agent in its template directory (export_template)
		timeout 300 "$UKFORK" exec --cluster "$D/cluster.conf" --template-dir "\$TD" \
			fanout >"$D/tpl.out" 2>&1
		echo "== template run rc=\$?"
		: >"$D/host1.tpl"
		i=0
		until [ -e "$D/host0.planted" ]; do
			i=\$((i + 1)); [ \$i -lt 600 ] || break
			sleep 0.2
		done
		# a cut copy of node 0's file in node 1's directory: refused
		# when the run starts (node 1 then fetches node 0's template)
		head -c 40000 "$D/fanout.ukft" >"\$TD/fanout.ukft"
		echo "== planted a cut copy"
		# the fork: the root a clone of that template on node 0 (loaded
		# from the file: template_info + load_template), a child on node 1
		t0=\$(date +%s%N)
		# --trace: the engines' lines (fork, template-fetch) in the agents' logs
		timeout 400 "$UKFORK" exec --cluster "$D/cluster.conf" --template-dir "\$TD" \
			--placement round-robin --trace fanout 2 200000 2>"$D/fork.trace"
		echo "== fork rc=\$? in \$(( (\$(date +%s%N) - t0) / 1000000 )) ms"
	fi
	: >"$D/host1.done"
else
	if [ "${UKF_XEN_TWO_HOSTS_FORK:-1}" = 1 ]; then
		i=0
		until [ -e "$D/host1.tpl" ] && [ -s "\$TD/fanout.ukft" ] || [ -e "$D/host1.done" ]; do
			i=\$((i + 1)); [ \$i -lt 3000 ] || break
			sleep 0.2
		done
		sleep 1
		ls -l "\$TD"
		cp "\$TD/fanout.ukft" "$D/fanout.ukft"
		echo "== planted"
		: >"$D/host0.planted"
	fi
	i=0
	until [ -e "$D/host1.done" ]; do
		i=\$((i + 1)); [ \$i -lt 3600 ] || break
		sleep 0.2
	done
	grep -E 'run [0-9]+|start|spawn|cold' "$D/node0.log" | head -n 8
	echo "== host1 done"
	# host 1's agent first: each agent writes its coverage counts
	# (.gcda, in a gcov build) into the shared build directory as it
	# exits, and the 9p share does not hold the file locks gcov takes,
	# so two agents exiting at once could overwrite each other's counts
	i=0
	until [ -e "$D/host1.stopped" ]; do
		i=\$((i + 1)); [ \$i -lt 600 ] || break
		sleep 0.2
	done
fi
kill -TERM \$AG 2>/dev/null
wait \$AG
echo "== agent stopped rc=\$?"
[ "\$K" = 1 ] && : >"$D/host1.stopped"
xl list | awk '{ print "   | " \$1 }' | sed -n '2,\$p'
echo "== domains left"
INNER

set +e
"$ROOT/scripts/xen-testbed/two-hosts" --timeout 540 --share "$D" \
	-- bash "$D/in-dom0.sh" >"$D/out" 2>"$D/run.err"
rc=$?
set -e
cat "$D/out"
grep -v '^\[host[01]\] *$' "$D/run.err" >&2 || true
show_logs() {
	local k
	for k in 0 1; do
		[ -e "$D/node$k.log" ] && { echo "--- node$k.log (tail)" >&2; tail -n 25 "$D/node$k.log" >&2; }
	done
}
((rc == 0)) || { show_logs; fail "two-hosts exited $rc"; }

# per-host lines without the prefix
hostout() { sed -n "s/^\[host$1\] //p" "$D/out"; }
for k in 0 1; do
	j=$((1 - k))
	hostout $k | grep -q "^== host $k at $NET.$((k + 1)), peer $NET.$((j + 1))$" ||
		fail "host $k: did not run with its address"
	hostout $k | grep -Eq "^3 packets transmitted, [1-3] packets received" ||
		{ show_logs; fail "host $k could not ping host $j"; }
	hostout $k | grep -q '^== peer seen rc=0$' ||
		{ show_logs; fail "host $k's agent never saw node $j up"; }
	hostout $k | grep -q '^== agent stopped rc=0$' ||
		{ show_logs; fail "host $k's agent did not stop cleanly"; }
	[ "$(hostout $k | sed -n '/^== agent stopped/,/^== domains left/p' | grep -c '^   | ')" = 1 ] ||
		fail "host $k: domains left behind: $(hostout $k | grep '^   | ' | tr '\n' ' ')"
done
hostout 1 | grep -q '^== status rc=0$' || { show_logs; fail "agent status from host 1 failed"; }
for k in 0 1; do
	hostout 1 | grep -Eq "^node $k  tcp://$NET\.$((k + 1)):7700  up " ||
		{ show_logs; fail "agent status from host 1: node $k is not up"; }
done
[ "$(hostout 1 | grep -c '^  backend    xen: available$')" = 2 ] ||
	{ show_logs; fail "agent status: not both agents on an available xen backend"; }
hostout 1 | grep -q '^== exec rc=0$' || { show_logs; fail "exec --cluster from host 1 failed"; }
hostout 1 | sed -n '/^== status rc=/,/^== exec rc=/p' | grep -q '^UKF-READY$' ||
	{ show_logs; fail "no UKF-READY from the run started on host 0"; }
abi_id=$(sed -n 's/.*abi: info ret=[0-9]* id=\([0-9]*\) .*/\1/p' "$D/abi.out" | head -n 1)
hostout 1 | grep -q '^== abi rc=0$' && grep -q 'abi: done, 0 failed' "$D/abi.out" &&
	[ -n "$abi_id" ] && [ "$abi_id" != 1 ] ||
	{ show_logs; sed 's/^/  abi| /' "$D/abi.out" >&2
	  fail "test-abi cold-booted through the agents: id ${abi_id:-none} (want the engine's, not 1) or a failed check"; }
grep -Eq 'node 0 info: run [0-9]+ begins \(client [0-9]+, backend xen\)' "$D/node0.log" &&
	grep -Eq 'node 0 info: run [0-9]+ ended \([1-9][0-9]* events\)' "$D/node0.log" ||
	{ show_logs; fail "node 0 (host 0) did not run the root of host 1's run on its xen backend"; }
if [ "${UKF_XEN_TWO_HOSTS_FORK:-1}" = 1 ]; then
	fout=$(hostout 1 | sed -n '/^== exec rc=/,/^== fork rc=/p')
	echo "xen_two_hosts: fork across the hosts:"
	sed 's/^/  /' <<<"$fout"
	grep -q '^== fork rc=0 ' <<<"$fout" || { show_logs; fail "exec --cluster fanout 2 (fork across hosts) failed"; }
	grep -q '^primes below 200000: 17984$' <<<"$fout" ||
		{ show_logs; fail "fanout across the hosts: wrong or no answer (want primes below 200000: 17984)"; }
	grep -q inline <<<"$fout" && { show_logs; fail "fanout: a slice was computed inline (a fork refused)"; }
	[ "$(grep -c '^child [01]: .* primes in .* (id [0-9]*)$' <<<"$fout")" = 2 ] ||
		{ show_logs; fail "fanout: not both children answered"; }
	grep -Eq 'template-fetch app=fanout node=1 from=0' "$D/node1.log" ||
		{ show_logs; fail "node 1 did not fetch node 0's template of fanout"; }
	grep -Eq 'template-ready app=fanout node=1 ' "$D/node1.log" ||
		{ show_logs; fail "node 0's template of fanout was not installed on node 1 (load_template)"; }
	nd=$(grep -Ec 'fork [0-9]+ parent=[0-9]+ app=fanout origin=0 -> node=1 via=delta' "$D/node1.log" || true)
	[ "$nd" -ge 1 ] || { show_logs; fail "no child of node 0's fanout started on node 1 from a delta"; }
	grep -q '^== planted$' <(hostout 0) || { show_logs; fail "no fanout.ukft saved by node 0's agent (export_template)"; }
	grep -Eq 'spawn [0-9]+ app=fanout origin=0 -> node=0 via=template' "$D/node0.log" ||
		{ show_logs; fail "the root did not start from fanout.ukft loaded on node 0 (template_info, load_template)"; }
	grep -q "skipped /tmp/ukf-xr-tdir/fanout.ukft: truncated: " "$D/node1.err" ||
		{ cat "$D/node1.err" >&2; fail "a cut template file on node 1 was not refused as truncated"; }
	grep -Eq '^xen: .*(refused|failed)' "$D/node0.err" "$D/node1.err" &&
		{ cat "$D/node0.err" "$D/node1.err" >&2; fail "a backend reported an error"; }
	# the remote child: its fork request and its start as node 0 logged them
	rc_id=$(grep -Eo 'fork [0-9]+ parent=[0-9]+ app=fanout origin=0 -> node=1 via=delta' "$D/node1.log" | head -n 1 | awk '{ print $2 }')
	echo "xen_two_hosts: remote child $rc_id, node 0's log (fork call to the child running on node 1):"
	grep -E "(request|place|ready) $rc_id " "$D/node0.log" | sed 's/^/  /'
	grep -E "(fork|template-[a-z]+) .*(app=fanout)" "$D/node1.log" | sed 's/^/  node 1: /' 
	echo "xen_two_hosts: $nd child(ren) restored on node 1 from node 0's deltas; backend times [EMULATED]:"
	cat "$D/node0.err" "$D/node1.err" 2>/dev/null | grep -E '^xen: ' | sed 's/^/  /' || true
fi
echo "PASS: two linked Xen hosts, each pinged the other, agents on both saw each other, a run from host 1 started on host 0 and answered${UKF_XEN_TWO_HOSTS_FORK:+}$([ "${UKF_XEN_TWO_HOSTS_FORK:-1}" = 1 ] && echo ", and a fork crossed them with the right answer")"
