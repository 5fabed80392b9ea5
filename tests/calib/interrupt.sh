#!/bin/sh
# SPDX-License-Identifier: MIT
# interrupt.sh UKFORK - `ukfork calibrate` stopped by SIGTERM while it
# measures (the directory's updates, the one measurement that needs no KVM):
# the samples measured are kept in --db as a calibration marked interrupted
# (--from-db refits them, the file's plan line saying so), no model file
# is written, the temporary directory (under $TMPDIR) is removed, and the
# process dies of the signal (status 143).
set -u
ukf=$1
T=$(mktemp -d /tmp/ukf-calint-test.XXXXXX)
trap 'kill "$pid" 2>/dev/null; rm -rf "$T"' EXIT
pid=
fail() {
	echo "interrupt.sh: FAIL: $*" >&2
	exit 1
}
mkdir "$T/tmp"
# 100000 updates take seconds (35 us each on a 2-CPU machine): the signal
# comes while they are timed, right after the progress line
TMPDIR=$T/tmp "$ukf" calibrate --directory embedded -n 100000 \
	--db "$T/i.db" --out "$T/i.conf" >"$T/out" 2>"$T/err" &
pid=$!
i=0
until grep -q 'updates (after 10 not timed)' "$T/err"; do
	i=$((i + 1))
	[ $i -lt 600 ] || fail "no progress line in 60 s: $(cat "$T/err")"
	kill -0 "$pid" 2>/dev/null || fail "ended before the signal: $(cat "$T/err")"
	sleep 0.1
done
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
cat "$T/err" >&2
[ $rc -eq 143 ] || fail "exit status $rc, not 143 (death by SIGTERM)"
grep -q 'interrupted (SIGTERM) while measuring' "$T/err" ||
	fail "no word of the interruption"
grep -q 'interrupted: ending the step going on' "$T/err" ||
	fail "not said when the signal came"
[ ! -e "$T/i.conf" ] || fail "a model file was written from an interrupted plan"
[ -z "$(ls -A "$T/tmp")" ] || fail "left in TMPDIR: $(ls -A "$T/tmp")"
"$ukf" calibrate --from-db "$T/i.db" --out "$T/r.conf" >/dev/null 2>"$T/rerr" ||
	fail "the samples measured were not kept: $(cat "$T/rerr")"
grep -q '^# Plan: .*(INTERRUPTED by SIGTERM' "$T/r.conf" ||
	fail "the refit does not say the calibration was interrupted: $(grep '^# Plan' "$T/r.conf")"
grep -q '^dir_delay_ns = ' "$T/r.conf" || fail "no dir_delay_ns in the refit"
echo ok
