#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# etcd_test.sh MEMBERS PROGRAM TEST - run one test of PROGRAM (--run TEST)
# against a real etcd of MEMBERS members started for it on loopback
# (scripts/etcd/local.sh), then stop and remove that etcd. Skips (77) only
# if etcd is not installed (Debian package etcd-server).
set -euo pipefail
members=$1 prog=$2 test=$3
src=$(cd "$(dirname "$0")/../.." && pwd)
if ! command -v etcd >/dev/null; then
	echo "etcd_test.sh: etcd is not installed (apt-get install etcd-server): skipped" >&2
	exit 77
fi
dir=$(mktemp -d /tmp/ukf-etcd-test.XXXXXX)
cleanup() { bash "$src/scripts/etcd/local.sh" stop "$dir" --clean >/dev/null 2>&1 || true; }
trap cleanup EXIT
eps=$(bash "$src/scripts/etcd/local.sh" start "$dir" --members "$members")
echo "etcd: $eps" >&2
UKF_TEST_ETCD=$eps UKF_TEST_ETCD_DIR=$dir "$prog" --run "$test"
