#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/validate/settings.sh - the validation scripts refuse bad settings
# from the environment (exit 2, naming the setting and the value) before
# anything runs: scripts/validate/{repeat,testbed,interleave}.sh share
# scripts/lib/settings.sh. No KVM or root needed: nothing gets that far
# (each try is cut at 30 s, should a check go missing and the run start).
#
# usage: settings.sh UKFORK SRC
set -u
UKF=$1 SRC=$2
B=$(dirname "$UKF")
T=$(mktemp -d /tmp/ukf-settings-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "settings.sh test: FAIL: $*" >&2; exit 1; }

n=0
for script in repeat testbed interleave; do
	S=$SRC/scripts/validate/$script.sh
	case $script in
	repeat) bads="VAL_REPS=0 VAL_REPS=x VAL_SIM_REPS=-1 VAL_SEED=07" ;;
	testbed) bads="VAL_NODES=0 VAL_REPS=2x VAL_SIM_REPS=0 VAL_SEED=1e3 VAL_COMPRESS=gzip" ;;
	*) bads="VAL_NODES=01 VAL_BLOCKS=0 CAL_N=-3 VAL_COMPRESS=xz VAL_CAL_GAP=300 VAL_CAL_GAP=11s VAL_CAL_GAP=ms VAL_CAL_IDLE=1h VAL_CAL_IDLE=1s_2x" ;;
	esac
	for bad in $bads; do
		name=${bad%%=*} value=${bad#*=}
		# repeat.sh and testbed.sh: BUILD [MODEL] [OUT]; interleave.sh:
		# BUILD [OUT]
		if [ $script = interleave ]; then
			timeout 30 env "$bad" sh "$S" "$B" "$T/o" >/dev/null 2>"$T/err"
		else
			timeout 30 env "$bad" sh "$S" "$B" >/dev/null 2>"$T/err"
		fi
		rc=$?
		[ $rc -eq 2 ] || fail "$script.sh $bad: exit $rc, expected 2 ($(cat "$T/err"))"
		grep -q "^$script.sh: $name must be .*, got '$value'\$" "$T/err" ||
			fail "$script.sh $bad: the error does not name the setting and value: $(cat "$T/err")"
		n=$((n + 1))
	done
done
# VAL_CAL_GAP beside a CAL_PLAN of one's own: the plan sets the gap
printf 'gap = 20ms\n' >"$T/p.plan"
timeout 30 env CAL_PLAN="$T/p.plan" VAL_CAL_GAP=300ms sh "$SRC/scripts/validate/interleave.sh" \
	"$B" "$T/o" >/dev/null 2>"$T/err"
rc=$?
[ $rc -eq 2 ] || fail "interleave.sh CAL_PLAN and VAL_CAL_GAP: exit $rc, expected 2 ($(cat "$T/err"))"
grep -q "VAL_CAL_GAP and CAL_PLAN: set 'gap = 300ms' in the plan" "$T/err" ||
	fail "interleave.sh CAL_PLAN and VAL_CAL_GAP: the error does not say so: $(cat "$T/err")"
n=$((n + 1))
timeout 30 env CAL_PLAN="$T/p.plan" VAL_CAL_IDLE=1s sh "$SRC/scripts/validate/interleave.sh" \
	"$B" "$T/o" >/dev/null 2>"$T/err"
rc=$?
[ $rc -eq 2 ] || fail "interleave.sh CAL_PLAN and VAL_CAL_IDLE: exit $rc, expected 2 ($(cat "$T/err"))"
grep -q "VAL_CAL_IDLE and CAL_PLAN: set 'idle = 1s' in the plan" "$T/err" ||
	fail "interleave.sh CAL_PLAN and VAL_CAL_IDLE: the error does not say so: $(cat "$T/err")"
n=$((n + 1))
# interleave.sh made nothing before refusing
[ ! -e "$T/o" ] || fail "a refused run made its output $T/o"
echo "ok: $n bad settings refused by the three scripts"
