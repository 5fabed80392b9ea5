#!/bin/sh
# SPDX-License-Identifier: MIT
# fork_running.sh UKFORK LIVE_TEST SCENARIO_DIR BUILD_DIR - Lua fork(id) of a running guest on `ukfork run --backend kvm` (77 = skip).
set -u
UKFORK=$1
PROBE=$2
S=$3
BUILD=$4
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; cat "$T/trace" "$T/err" 2>/dev/null; exit 1; }
"$PROBE" --probe || exit 77
[ -f "$BUILD/guest/synth" ] || { echo "FAIL: $BUILD/guest/synth was not built (a build failure, not a missing capability)" >&2; exit 1; }
UKF_GUEST_DIR=$BUILD/guest "$UKFORK" run "$S/fork_running.lua" --backend kvm \
	--trace "$T/trace" --quiet >"$T/out" 2>"$T/err"
r=$?
[ $r = 0 ] || fail "ukfork run: exit $r, want 0"
grep -q " lua ready true" "$T/trace" || fail "parent not ready"
# both children were live forks of the running parent, and each exited 0
[ "$(grep -c ' fork [0-9]* parent=1 .*via=live' "$T/trace")" = 2 ] ||
	fail "want two live forks of instance 1"
grep -E -q " lua child [0-9]+ 0$" "$T/trace" || fail "wait(child) not 0"
grep -E -q " lua child2 [0-9]+ 0$" "$T/trace" || fail "wait(child2) not 0"
grep -q " lua parent 0$" "$T/trace" || fail "parent status not 0"
# three instances finished all 15 units: the children went on from the
# parent's unit instead of starting over
[ "$(grep -c 'console [0-9]* synth: done id=1 units=15 children=0 inline=0 failed=0' "$T/trace")" = 3 ] ||
	fail "want three 'synth: done' lines"
grep -q "clone_live" "$T/trace" && fail "a fork was refused"
exit 0
