#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh - build the libFuzzer targets with clang, and run one for a while (the ctest smoke run, ./ukf.sh fuzz).
#   run.sh build SRC BINDIR         configure BINDIR with clang (address,
#                                   undefined, fuzzer) and build fuzz-all;
#                                   exit 77 when no clang with libFuzzer
#   run.sh run BIN SEEDS WORK SECS  fuzz BIN for SECS seconds from a fresh
#                                   copy of SEEDS in WORK; one summary line:
#                                   "fuzz_elf: 5 s, 12345 execs (2469/s), 0 crashes, corpus 40"
# UKF_FUZZ_CC names the compiler (default: clang-14, else clang).
set -uo pipefail

find_clang() {
	local c
	for c in ${UKF_FUZZ_CC:-clang-14 clang}; do
		command -v "$c" >/dev/null 2>&1 || continue
		# libFuzzer ships in clang's runtime package: try it
		if echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' |
			"$c" -x c -fsanitize=fuzzer,address -o /dev/null - >/dev/null 2>&1; then
			echo "$c"
			return 0
		fi
	done
	return 1
}

case "${1:-}" in
build)
	src=$2 bin=$3
	if ! cc=$(find_clang); then
		echo "SKIP: no clang with libFuzzer (apt-get install clang-14); fuzz targets not built"
		exit 77
	fi
	echo "run.sh: building the fuzz targets with $cc in $bin"
	mkdir -p "$bin"
	log=$bin/run-sh-cmake.log
	cmake -S "$src" -B "$bin" -DCMAKE_C_COMPILER="$cc" \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DUKF_SANITIZE=address,undefined,fuzzer-no-link >"$log" 2>&1 ||
		{ cat "$log"; exit 1; }
	cmake --build "$bin" --target fuzz-all -j"$(nproc)" 2>&1 | tail -n 20
	exit "${PIPESTATUS[0]}"
	;;
run)
	bin=$2 seeds=$3 work=$4 secs=$5
	name=$(basename "$bin")
	if [ ! -x "$bin" ]; then
		if ! find_clang >/dev/null; then
			echo "SKIP: no clang with libFuzzer: $name not built"
			exit 77
		fi
		echo "$name: not built (see the test fuzz.build)"
		exit 1
	fi
	rm -rf "$work"
	mkdir -p "$work/corpus" "$work/artifacts"
	cp "$seeds"/* "$work/corpus/"
	log=$work/fuzz.log
	# one process, one input at a time: the figures are per core
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$work/artifacts/" \
		"$work/corpus" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	crashes=$(find "$work/artifacts" -type f | wc -l)
	corpus=$(find "$work/corpus" -type f | wc -l)
	echo "$name: $secs s, ${execs:-?} execs (${rate:-?}/s), $crashes crashes, corpus $corpus"
	if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
		echo "$name: libFuzzer exit $rc; its log ($log) ends:"
		tail -n 60 "$log"
		for a in "$work"/artifacts/*; do
			[ -e "$a" ] && echo "input kept: $a ($(wc -c <"$a") bytes)"
		done
		exit 1
	fi
	exit 0
	;;
*)
	echo "usage: $0 build SRC BINDIR | run BIN SEEDS WORK SECS" >&2
	exit 2
	;;
esac
