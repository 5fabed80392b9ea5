#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ukf.sh - set up a Debian 12 machine, build ukfork, and run the main job or the tests.
#   ./ukf.sh quickstart   install packages, build, run scripts/examples/quickstart.lua
#   ./ukf.sh test         install packages, build, run the whole test suite (ctest;
#                         without /dev/kvm the KVM tests run in scripts/kvm-vm)
#   ./ukf.sh build        install packages and build only
#   ./ukf.sh sanitize     build in build-san with UKF_SANITIZE=address,undefined
#                         and run the suite there (without the kvm-labelled tests)
#   ./ukf.sh coverage     build with gcov in build-cov, run the whole suite there,
#                         print line and branch coverage per directory (gcovr)
#   ./ukf.sh fuzz [SECONDS [TARGET...]]
#                         build the libFuzzer targets with clang in build-fuzz and
#                         run each for SECONDS (default 300); docs/fuzzing.md
set -euo pipefail
cd "$(dirname "$0")"

PKGS=(build-essential cmake pkg-config liblua5.4-dev libsqlite3-dev
      libgsl-dev libzmq3-dev libsodium-dev libzstd-dev liblz4-dev sqlite3
      qemu-system-x86 python3 jq time iproute2 gcovr
      xen-utils-4.17 libxen-dev busybox-static grub-xen-bin
      etcd-server etcd-client libcurl4-openssl-dev libjson-c-dev
      clang-14 libseccomp-dev gnuplot-nox libopenmpi-dev openmpi-bin
      libisal-dev)

setup() {
	local missing=()
	for p in "${PKGS[@]}"; do
		dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	if ((${#missing[@]})); then
		echo "ukf.sh: installing ${missing[*]}" >&2
		local sudo=""
		[ "$(id -u)" -eq 0 ] || sudo=sudo
		$sudo apt-get update -qq
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
	fi
}

build() {
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUKF_BUILD_XEN=ON >/dev/null
	cmake --build build -j"$(nproc)"
}

# Skipped tests of a ctest log, counted and named (a skip must be visible).
skips() {
	local n
	n=$(grep -c '\*\*\*Skipped' "$1" || true)
	echo "$n"
}

# The whole suite. Where /dev/kvm is usable, plain ctest. Where it is not,
# the tests labelled kvm run inside scripts/kvm-vm (a Debian kernel under
# QEMU TCG with emulated SVM, so /dev/kvm works inside) and the rest on the
# host. UKF_TEST_KVM_VM=1 forces the VM, =0 never uses it (KVM tests then
# skip with their reason).
run_tests() {
	local j rc=0 rc_vm=0 why nkvm log=Testing/ukf-host.log vlog=Testing/ukf-kvm-vm.log
	local t0 t1
	set +e # the exit statuses are collected below
	j=$(nproc)
	cd "${BUILD:-build}"
	mkdir -p Testing
	t0=$(date +%s)
	why=$(tests/live/live_test --probe 2>&1) && why=
	if [ "${UKF_TEST_KVM_VM:-}" != 1 ] && [ -z "$why" ]; then
		echo "ukf.sh: /dev/kvm is usable: the whole suite runs here"
		ctest --output-on-failure -j"$j" --timeout 600 | tee "$log"
		rc=${PIPESTATUS[0]}
		echo "ukf.sh: $(skips "$log") tests skipped; suite took $(($(date +%s) - t0)) s"
		return "$rc"
	fi
	nkvm=$(ctest -N -L kvm | sed -n 's/^Total Tests: //p')
	[ -n "$why" ] || why="UKF_TEST_KVM_VM=1"
	echo "ukf.sh: no usable KVM here (${why#SKIP: }):"
	echo "ukf.sh: the $nkvm tests labelled kvm run inside scripts/kvm-vm (emulated: behaviour is real, timings are not), the others here"
	ctest --output-on-failure -j"$j" --timeout 600 -LE kvm | tee "$log"
	rc=${PIPESTATUS[0]}
	t1=$(date +%s)
	if [ "${UKF_TEST_KVM_VM:-}" = 0 ]; then
		echo "ukf.sh: UKF_TEST_KVM_VM=0: the kvm tests run here and skip"
		ctest --output-on-failure -j"$j" -L kvm | tee "$vlog"
		rc_vm=${PIPESTATUS[0]}
	elif ../scripts/kvm-vm/run --check; then
		../scripts/kvm-vm/run --timeout 2400 -- \
			ctest --output-on-failure -j2 --timeout 600 -L kvm | tee "$vlog"
		rc_vm=${PIPESTATUS[0]}
	else
		echo "ukf.sh: the KVM test VM cannot start either (see above): the kvm tests run here and skip"
		ctest --output-on-failure -j"$j" -L kvm | tee "$vlog"
		rc_vm=${PIPESTATUS[0]}
	fi
	echo "ukf.sh: host part: exit $rc, $(skips "$log") skipped, $((t1 - t0)) s;" \
		"kvm part: exit $rc_vm, $(skips "$vlog") skipped, $(($(date +%s) - t1)) s"
	[ "$rc" -eq 0 ] && [ "$rc_vm" -eq 0 ]
}

# The host suite under AddressSanitizer and UBSan (any report fails its
# test). The kvm-labelled tests need /dev/kvm or scripts/kvm-vm and are
# left out.
sanitize() {
	local rc log=Testing/ukf-san.log
	cmake -S . -B build-san -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DUKF_SANITIZE=address,undefined >/dev/null
	cmake --build build-san -j"$(nproc)"
	cd build-san
	mkdir -p Testing
	set +e
	ctest --output-on-failure -j"$(nproc)" --timeout 900 -LE kvm | tee "$log"
	rc=${PIPESTATUS[0]}
	echo "ukf.sh: sanitizer suite: exit $rc, $(skips "$log") skipped (kvm-labelled tests not run)"
	return "$rc"
}

# Each fuzz target for $1 seconds (default 300) from its seeds, one after
# the other; the rest of the arguments name targets (default: all).
fuzz() {
	local secs=${1:-300} t rc=0 dir=build-fuzz/tests/fuzz
	shift || true
	tests/fuzz/run.sh build . build-fuzz || return $?
	local targets=("$@")
	if ((${#targets[@]} == 0)); then
		for t in "$dir"/fuzz_*; do
			[ -x "$t" ] && targets+=("${t##*/fuzz_}")
		done
	fi
	for t in "${targets[@]}"; do
		tests/fuzz/run.sh run "$dir/fuzz_$t" "tests/fuzz/corpus/$t" \
			"build-fuzz/fuzz-work/$t" "$secs" || rc=1
	done
	return "$rc"
}

# Line and branch coverage of the host code per directory (gcovr) after the
# whole suite in build-cov (the kvm tests inside scripts/kvm-vm where
# /dev/kvm is missing: their counts land in build-cov through its share;
# UKF_TEST_KVM_VM=0 leaves them out). The guest images are not instrumented.
coverage() {
	local rc=0 t
	command -v gcovr >/dev/null || {
		echo "ukf.sh: gcovr is missing (apt-get install gcovr)" >&2
		return 2
	}
	# configured as build() is (Xen on): the suite measured is the one
	# `./ukf.sh test` runs, Xen backend and its tests included
	cmake -S . -B build-cov -DCMAKE_BUILD_TYPE=Debug -DUKF_COVERAGE=ON \
		-DUKF_BUILD_XEN=ON >/dev/null
	cmake --build build-cov -j"$(nproc)"
	find build-cov -name '*.gcda' -delete
	(BUILD=build-cov run_tests) || rc=$?
	gcovr -r . build-cov --exclude 'tests/' --exclude 'guest/' \
		--exclude 'build-cov/' --json-summary build-cov/coverage.json \
		--txt build-cov/coverage.txt >/dev/null || return 1
	python3 scripts/coverage-summary.py build-cov/coverage.json
	# a test killed at its timeout wrote no counts: say the figures lack them
	t=$(cat build-cov/Testing/ukf-host.log build-cov/Testing/ukf-kvm-vm.log \
		2>/dev/null | grep -c '\*\*\*Timeout' || true)
	[ "$t" = 0 ] || echo "ukf.sh: $t tests were killed at their timeout: what they covered is not counted"
	echo "ukf.sh: per file: build-cov/coverage.txt; suite exit $rc"
	return "$rc"
}

case "${1:-}" in
quickstart)
	setup; build
	# a fresh database each time: the same run stored twice would count as
	# two replications in `ukfork report`
	rm -f quickstart.db quickstart.db-wal quickstart.db-shm
	./build/ukfork run scripts/examples/quickstart.lua --db quickstart.db
	;;
test)
	setup; build
	run_tests
	;;
build)
	setup; build
	;;
sanitize)
	setup
	sanitize
	;;
coverage)
	setup
	coverage
	;;
fuzz)
	setup
	shift
	fuzz "$@"
	;;
*)
	echo "usage: $0 quickstart|test|build|sanitize|coverage|fuzz [SECONDS [TARGET...]]" >&2
	exit 2
	;;
esac
