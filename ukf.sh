#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ukf.sh - set up a Debian 12 machine, build ukfork, and run the main job or the tests.
#   ./ukf.sh quickstart   install packages, build, run scripts/examples/quickstart.lua
#   ./ukf.sh test         install packages, build, run the whole test suite (ctest)
#   ./ukf.sh build        install packages and build only
set -euo pipefail
cd "$(dirname "$0")"

PKGS=(build-essential cmake pkg-config liblua5.4-dev libsqlite3-dev
      libgsl-dev libzmq3-dev sqlite3 qemu-system-x86 python3 jq time)

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
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build -j"$(nproc)"
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
	cd build && ctest --output-on-failure -j"$(nproc)" --timeout 600
	;;
build)
	setup; build
	;;
*)
	echo "usage: $0 quickstart|test|build" >&2
	exit 2
	;;
esac
