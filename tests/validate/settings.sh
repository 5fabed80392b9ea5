#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/validate/settings.sh - the validation scripts refuse bad settings
# from the environment (exit 2, naming the setting and the value) before
# anything runs: scripts/validate/{repeat,testbed,interleave,noise-floor}.sh share
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
for script in repeat testbed interleave noise-floor; do
	S=$SRC/scripts/validate/$script.sh
	case $script in
	repeat) bads="VAL_REPS=0 VAL_REPS=x VAL_SIM_REPS=-1 VAL_SEED=07" ;;
	testbed) bads="VAL_NODES=0 VAL_REPS=2x VAL_SIM_REPS=0 VAL_SEED=1e3 VAL_COMPRESS=gzip" ;;
	noise-floor) bads="VAL_NODES=0 VAL_REPS=x VAL_SIM_REPS=-1 VAL_SEED=07 NF_TRIALS=0 VAL_THRESHOLD=5% NF_SET=pace" ;;
	*) bads="VAL_NODES=01 VAL_BLOCKS=0 CAL_N=-3 VAL_COMPRESS=xz VAL_CAL_GAP=300 VAL_CAL_GAP=11s VAL_CAL_GAP=ms VAL_CAL_IDLE=1h VAL_CAL_IDLE=1s_2x" ;;
	esac
	for bad in $bads; do
		name=${bad%%=*} value=${bad#*=}
		# repeat.sh and testbed.sh: BUILD [MODEL] [OUT]; interleave.sh:
		# BUILD [OUT]; noise-floor.sh: BUILD MODEL [OUT]
		if [ $script = interleave ]; then
			timeout 30 env "$bad" sh "$S" "$B" "$T/o" >/dev/null 2>"$T/err"
		elif [ $script = noise-floor ]; then
			timeout 30 env "$bad" sh "$S" "$B" "$SRC/data/model.conf" "$T/o" >/dev/null 2>"$T/err"
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
# VAL_CAL_GAP or VAL_CAL_IDLE beside a CAL_PLAN of one's own: the plan
# sets the spells (the second also a list)
printf 'gap = 20ms\n' >"$T/p.plan"
for kv in "VAL_CAL_GAP gap 300ms" "VAL_CAL_IDLE idle 1s 3s"; do
	set -- $kv
	name=$1 key=$2
	shift 2
	timeout 30 env CAL_PLAN="$T/p.plan" "$name=$*" sh "$SRC/scripts/validate/interleave.sh" \
		"$B" "$T/o" >/dev/null 2>"$T/err"
	rc=$?
	[ $rc -eq 2 ] || fail "interleave.sh CAL_PLAN and $name: exit $rc, expected 2 ($(cat "$T/err"))"
	grep -q "$name and CAL_PLAN: set '$key = $*' in the plan" "$T/err" ||
		fail "interleave.sh CAL_PLAN and $name: the error does not say so: $(cat "$T/err")"
	n=$((n + 1))
done
# interleave.sh made nothing before refusing
[ ! -e "$T/o" ] || fail "a refused run made its output $T/o"
echo "ok: $n bad settings refused by the four scripts"
