#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# benchmarks.sh - every performance figure of the README, measured in one run.
#   scripts/benchmarks.sh [BUILD_DIR]     (default: build; ./ukf.sh build first)
# Prints each benchmark's own output under a heading; nothing is asserted:
# timing goals are judged by reading the figures (the README's table).
set -uo pipefail
B=${1:-build}
cd "$(dirname "$0")/.."
[ -x "$B/ukfork" ] || { echo "benchmarks.sh: $B/ukfork not built (./ukf.sh build)" >&2; exit 2; }
# What KVM this is, from the monitor's own detection; it labels every KVM
# figure. Under an emulated KVM (inside scripts/kvm-vm) the KVM benchmarks
# still run, each heading marked EMULATED, and the comparison scripts print
# no ratios.
. scripts/bootbench/kvm-info.sh
kvm_info "$B/ukfork bootbench"
kvmdesc=$KVMDESC
kvm=1
emu=""
allow=""
if [ "$KVMOK" != true ]; then
	kvm=0
elif [ "$EMU" = true ]; then
	emu=" [EMULATED: KVM nested under QEMU TCG; behaviour only, not comparable]"
	allow=" --allow-emulated"
fi
h() { printf '\n== %s\n$ %s\n' "$1" "$2"; }
run() { h "$1" "$2"; bash -c "$2"; }

echo "ukfork benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "KVM here: $kvmdesc"
[ $kvm = 1 ] || echo "(no usable KVM: the KVM benchmarks are skipped; scripts/kvm-vm/run scripts/benchmarks.sh $B runs them emulated, each marked so)"
run "sim: 10,000 processes x 100 sleeps (goal >= 1.5-3 M events/s)" \
    "$B/ukfork run scripts/bench/sleepers.lua"
run "sim: 10,000 hosts, 1,000,000 requests, template-affinity (goal < 60 s, < 2 GiB)" \
    "/usr/bin/time -f '%e s wall, %M KiB peak RSS' $B/ukfork run scripts/bench/scale.lua --quiet"
run "sim: 100,000 hosts, 10,000,000 requests, contention on (4 cores/host), least-loaded (goal < 120 s, < 4 GiB)" \
    "scripts/bench/hosts100k.sh -b $B"
run "sim: the same at 10,000 hosts and 1,000,000 requests, contention off vs on (its cost)" \
    "scripts/bench/hosts100k.sh -b $B --set hosts=10000 --set requests=1000000 --set host_cores=0 &&
     scripts/bench/hosts100k.sh -b $B --set hosts=10000 --set requests=1000000"
run "core: placement decisions per second at 10,000 nodes" "$B/tests/core/bench_core"
run "results: instance rows inserted per second" "$B/tests/results/bench_results"
if [ $kvm = 1 ]; then
	run "kvm: hello, ukfork vs QEMU microvm, sequential (goal >= 50x)$emu" \
	    "scripts/bootbench/compare.sh -b $B -n 20 -j 1 --no-linux --pool auto$allow"
	run "kvm: hello, 100 launched at once$emu" \
	    "scripts/bootbench/compare.sh -b $B -n 100 -j 100 --no-linux --pool auto$allow"
	run "kvm: memory per idle VM (goal < 1 MiB beyond guest pages)$emu" \
	    "$B/bench/kvm/ukvm-bench -n 20 --idle 200"
	run "kvm: synth mem=64M init=50ms, cold boot vs clone from template (goal >= 50x)$emu" \
	    "scripts/bootbench/template.sh -b $B -n 30$allow"
	run "kvm: templates, live fork, throughput, memory per clone, first touch$emu" \
	    "$B/bench/kvm/ukvm-bench-fork"
fi
