#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/cluster/run.sh - node agents on a testbed (network namespaces on
# this machine): remote vs local fork, template transfer against the link
# rate, fanout over N nodes vs one. Prints figures; asserts nothing.
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$REPO/bench/cluster
PROG=bench/cluster/run.sh

usage() {
	cat <<EOF
usage: $PROG [--build DIR] [--out DIR] [--only PART[,PART]] [--allow-emulated]
          [--forks N] [--parents N] [--rate MBIT] [--delay MS]
          [--fanout-nodes N] [--fanout-k K] [--fanout-n N]

Starts node agents (ukforkd) in network namespaces with 'ukfork testbed',
drives them with 'ukfork run --cluster', and prints figures from the
results databases (kept in --out). Needs root, ip/tc, and a usable
/dev/kvm: where there is none, run it inside the test VM:
  scripts/kvm-vm/run -- $PROG --allow-emulated
(timings there are emulated: compare ratios within one run only). Keep
--out on a local file system: SQLite cannot lock its files on the VM's 9p
shares.

parts (default: all):
  fork      a 64 MiB synth dirties 1 MiB after its ready() and forks
            --forks children (default 8), --parents times (default 6);
            round-robin over 2 nodes puts every other child on the other
            node: median and p99 request-to-ready of local and remote
            forks with the template already on the target, their ratio
            (--delay MS adds netem delay between the nodes)
  transfer  node 1 fetches node 0's 64 MiB template over a link of
            --rate MBIT (default 200; tbf), once uncompressed (the link is
            the bound) and once with zstd (the default): fetch time, raw and
            wire rate, wire rate as a fraction of the link's
  fanout    'fanout K N' (default 64, 20000000) twice on one node and twice
            spread over --fanout-nodes (default 4, round-robin): turnaround
            of each job (the first spread one fetches the template to every
            node), the ratio of the second jobs
EOF
}

BUILD=$REPO/build OUT= ONLY=fork,transfer,fanout EMUL_OK=0
FORKS=8 PARENTS=6 RATE=200 DELAY= FNODES=4 FK=64 FN=20000000
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	--build) BUILD=${2:?}; shift 2 ;;
	--out) OUT=${2:?}; shift 2 ;;
	--only) ONLY=${2:?}; shift 2 ;;
	--allow-emulated) EMUL_OK=1; shift ;;
	--forks) FORKS=${2:?}; shift 2 ;;
	--parents) PARENTS=${2:?}; shift 2 ;;
	--rate) RATE=${2:?}; shift 2 ;;
	--delay) DELAY=${2:?}; shift 2 ;;
	--fanout-nodes) FNODES=${2:?}; shift 2 ;;
	--fanout-k) FK=${2:?}; shift 2 ;;
	--fanout-n) FN=${2:?}; shift 2 ;;
	*) echo "$PROG: unknown option '$1' (try --help)" >&2; exit 2 ;;
	esac
done
for v in FORKS PARENTS RATE FNODES FK FN; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "$PROG: --${v,,}: '${!v}' is not a positive whole number" >&2; exit 2; }
done
UKFORK=$BUILD/ukfork
[ -x "$UKFORK" ] && [ -x "$BUILD/ukforkd" ] ||
	{ echo "$PROG: $BUILD/ukfork or ukforkd missing (./ukf.sh build, or --build DIR)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "$PROG: needs root (network namespaces)" >&2; exit 2; }
[ -r /dev/kvm ] && [ -w /dev/kvm ] ||
	{ echo "$PROG: no usable /dev/kvm here; run it inside the test VM: scripts/kvm-vm/run -- $PROG --allow-emulated" >&2; exit 2; }
. "$REPO/scripts/bootbench/kvm-info.sh"
kvm_info "$UKFORK bootbench"
refuse_emulated "$PROG" "$EMUL_OK"
KVM_INFO="kvm: $KVMDESC$([ "$EMU" = true ] && echo ' (EMULATED: timings are not real; ratios within this run only)')"
PT=
[ "$EMU" = true ] && PT="--peer-timeout 15s"
[ -n "$OUT" ] || OUT=$(mktemp -d "${TMPDIR:-/tmp}/ukf-bench-cluster.XXXXXX")
mkdir -p "$OUT" || exit 2
TB_NAME=bench$$
TB_STATE=$OUT/testbed
export UKFORK UKFORKD=$BUILD/ukforkd

tb_down() { "$UKFORK" testbed down --state "$TB_STATE" >/dev/null 2>&1; }
trap tb_down EXIT
tb_up() { # args for testbed up
	tb_down
	echo "  testbed up $*" >&2
	# peer_timeout: one backend operation under emulation can hold an
	# agent from its heartbeats for seconds (the default is 3 s)
	"$UKFORK" testbed up --state "$TB_STATE" --wait 120 $PT "$@" >"$OUT/testbed.log" 2>&1 ||
		{ echo "$PROG: testbed up failed:" >&2; tail -20 "$OUT/testbed.log" >&2; exit 1; }
}

# quantiles of a column of numbers (one per line) on stdin: n median p99
quant() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (!NR) { print 0, "-", "-"; exit }
		m = int((NR + 1) / 2); p = int(NR * 0.99 + 0.999999); if (p < 1) p = 1
		printf "%d %.3f %.3f\n", NR, v[m], v[p] }'
}

echo "# bench/cluster  $(date -u +%FT%TZ)  $(uname -r)  $KVM_INFO"
echo "# results: $OUT"

if [[ ,$ONLY, == *,fork,* ]]; then
	echo "== fork: ${PARENTS} parents x ${FORKS} forks, 64 MiB synth, 1 MiB dirtied, 2 nodes${DELAY:+, delay $DELAY ms}"
	tb_up --nodes 2 ${DELAY:+--delay "$DELAY"}
	"$UKFORK" run "$HERE/remote-fork.lua" --cluster "$TB_STATE/cluster.conf" \
		--set forks="$FORKS" --set parents="$PARENTS" --db "$OUT/fork.db" --quiet \
		>"$OUT/fork.out" 2>&1 || { echo "run failed:"; tail "$OUT/fork.out"; exit 1; }
	q() { sqlite3 "$OUT/fork.db" "select (t_ready - t_request) / 1e6 from instances
		where start = 'fork' and status = 0 and $1"; }
	# (no process substitution: the test VM has no /dev/fd)
	read -r nl ml pl <<<"$(q "remote = 0" | quant)"
	read -r nr mr pr <<<"$(q "remote = 1 and template_fetched = 0" | quant)"
	read -r nf mf _ <<<"$(q "remote = 1 and template_fetched = 1" | quant)"
	delta=$(sqlite3 "$OUT/fork.db" "select avg(delta_bytes) / 1048576.0 from instances
		where start = 'fork' and remote = 1")
	printf 'local fork   n=%-4s median %8s ms  p99 %8s ms\n' "$nl" "$ml" "$pl"
	printf 'remote fork  n=%-4s median %8s ms  p99 %8s ms  (template on the target; delta %.2f MiB avg)\n' \
		"$nr" "$mr" "$pr" "${delta:-0}"
	printf 'remote fork, template fetched first: n=%s median %s ms\n' "$nf" "$mf"
	awk -v a="$mr" -v b="$ml" 'BEGIN { if (b > 0 && a != "-") printf "remote/local median ratio %.2f\n", a / b }'
fi

if [[ ,$ONLY, == *,transfer,* ]]; then
	for comp in none zstd; do
	echo "== transfer: node 1 fetches node 0's template of a 64 MiB synth, link $RATE Mbit/s, compress $comp"
	tb_up --nodes 2 --rate "$RATE" --compress $comp
	bytes_in() { # bytes node 1 has received from node 0 (agent status)
		"$UKFORK" agent status --cluster "$TB_STATE/cluster.conf" --timeout 10 |
			awk '/^node 1 /{ n1 = 1 } n1 && /peers/ { for (i = 1; i <= NF; i++) if ($i == "0" && $(i + 1) ~ /\//) { split($(i + 1), b, "/"); print b[1]; exit } }'
	}
	cat >"$OUT/transfer.lua" <<'EOF'
policy { placement = "local", templates = "on-demand", fetch = "peer" }
run { duration = "600s" }
app("synth", "mem=64M init=20ms work=1ms")
process(function()
  wait(spawn("synth", nil, 0)) -- node 0 makes the template
  sleep(0.5)
  wait(spawn("synth", nil, 1)) -- node 1 fetches it
  sleep(0.5)
  wait(spawn("synth", nil, 1)) -- node 1 clones its own copy
end)
EOF
	"$UKFORK" run "$OUT/transfer.lua" --cluster "$TB_STATE/cluster.conf" --db "$OUT/transfer-$comp.db" \
		--quiet >"$OUT/transfer.out" 2>&1 || { echo "run failed:"; tail "$OUT/transfer.out"; exit 1; }
	wire=$(bytes_in)
	rows=$(sqlite3 "$OUT/transfer-$comp.db" "select (t_ready - t_request) / 1e6, template_fetched from instances order by t_request")
	tf=$(sed -n 2p <<<"$rows" | cut -d'|' -f1)
	tc=$(sed -n 3p <<<"$rows" | cut -d'|' -f1)
	fetched=$(sed -n 2p <<<"$rows" | cut -d'|' -f2)
	[ "$fetched" = 1 ] || echo "warning: the second spawn did not fetch (rows: $rows)"
	awk -v tf="$tf" -v tc="$tc" -v w="${wire:-0}" -v r="$RATE" 'BEGIN {
		f = tf - tc; if (f <= 0) f = tf
		printf "spawn with fetch %.1f ms, clone of a local template %.1f ms: fetch ~ %.1f ms\n", tf, tc, f
		printf "raw rate %.1f MB/s (64 MiB); on the wire %.2f MiB in all from node 0 = %.1f Mbit/s, %.0f%% of %d Mbit/s\n",
			67108864 / f / 1e3, w / 1048576, w * 8 / f / 1e3, 100 * w * 8 / f / 1e3 / r, r }'
	done
fi

if [[ ,$ONLY, == *,fanout,* ]]; then
	echo "== fanout $FK $FN: one node vs $FNODES nodes"
	tb_up --nodes "$FNODES"
	"$UKFORK" run "$HERE/fanout.lua" --cluster "$TB_STATE/cluster.conf" \
		--set k="$FK" --set n="$FN" --set jobs=2 \
		--db "$OUT/fanout.db" --quiet >"$OUT/fanout.out" 2>&1 ||
		{ echo "run failed:"; tail "$OUT/fanout.out"; exit 1; }
	sqlite3 -separator ' ' "$OUT/fanout.db" "select r.config, (i.t_exit - i.t_request) / 1e6,
		(select count(distinct node) from instances j where j.run = r.id and j.parent = i.id)
		from runs r join instances i on i.run = r.id where i.parent = 0 order by r.id, i.t_request" |
		awk '{ j[$1]++; printf "%-24s job %d turnaround %9.1f ms, children on %d node(s)%s\n", $1, j[$1], $2, $3,
			j[$1] == 1 ? " (templates fetched to the nodes first)" : ""; t[$1, j[$1]] = $2; c[NR] = $1 }
		END { a = c[1]; b = c[NR]; if (t[b, 2] > 0) printf "job 2, one node / spread = %.2f\n", t[a, 2] / t[b, 2] }'
fi
