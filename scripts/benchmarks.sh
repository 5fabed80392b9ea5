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
kvm=1
[ -r /dev/kvm ] && [ -w /dev/kvm ] || { kvm=0; echo "(no usable /dev/kvm: KVM benchmarks skipped)"; }
h() { printf '\n== %s\n$ %s\n' "$1" "$2"; }
run() { h "$1" "$2"; bash -c "$2"; }

echo "ukfork benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
run "sim: 10,000 processes x 100 sleeps (goal >= 1.5-3 M events/s)" \
    "$B/ukfork run scripts/bench/sleepers.lua"
run "sim: 10,000 hosts, 1,000,000 requests, template-affinity (goal < 60 s, < 2 GiB)" \
    "/usr/bin/time -f '%e s wall, %M KiB peak RSS' $B/ukfork run scripts/bench/scale.lua --quiet"
run "core: placement decisions per second at 10,000 nodes" "$B/tests/core/bench_core"
run "results: instance rows inserted per second" "$B/tests/results/bench_results"
if [ $kvm = 1 ]; then
	run "kvm: hello, ukfork vs QEMU microvm, sequential (goal >= 50x)" \
	    "scripts/bootbench/compare.sh -b $B -n 20 -j 1 --no-linux --pool auto"
	run "kvm: hello, 100 launched at once" \
	    "scripts/bootbench/compare.sh -b $B -n 100 -j 100 --no-linux --pool auto"
	run "kvm: memory per idle VM (goal < 1 MiB beyond guest pages)" \
	    "$B/backends/kvm/ukvm-bench -n 20 --idle 200"
	run "kvm: synth mem=64M init=50ms, cold boot vs clone from template (goal >= 50x)" \
	    "scripts/bootbench/template.sh -b $B -n 30"
	run "kvm: templates, live fork, throughput, memory per clone, first touch" \
	    "$B/backends/kvm/ukvm-bench-fork"
fi
