#!/bin/sh
# SPDX-License-Identifier: MIT
# template.sh - cold boot vs clone from template, in ONE run, on ukfork's KVM
# backend (issue 4 item 6): the same app and arguments timed to its marker
# both ways; prints both summaries and the ratio of the medians.
#
# usage: scripts/bootbench/template.sh [-b BUILD] [-n COUNT] [-j PARALLEL]
#            [--db FILE] [--allow-emulated] [APP-IMAGE [ARGS...]]
# default app: BUILD/guest/synth mem=64M init=50ms
# Under an emulated KVM (scripts/kvm-vm) it refuses (exit 3) unless
# --allow-emulated, which marks the output EMULATED and prints no ratio.
set -eu
BUILD=build
N=50
J=1
DB=
ALLOW_EMU=0
while [ $# -gt 0 ]; do
	case $1 in
	-b) BUILD=$2; shift 2 ;;
	-n) N=$2; shift 2 ;;
	-j) J=$2; shift 2 ;;
	--db) DB=$2; shift 2 ;;
	--allow-emulated) ALLOW_EMU=1; shift ;;
	-h|--help) sed -n '2,11p' "$0"; exit 0 ;;
	-*) echo "template.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
if [ $# -eq 0 ]; then
	set -- "$BUILD/guest/synth" mem=64M init=50ms
fi
if [ -x "$BUILD/ukfork" ]; then
	BB="$BUILD/ukfork bootbench"
else
	BB="$BUILD/bootbench/ukf-bootbench"
fi
. "$(dirname "$0")/kvm-info.sh"
kvm_info "$BB"
refuse_emulated template.sh "$ALLOW_EMU"
DBARG=
[ -n "$DB" ] && DBARG="--db $DB"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
echo "# template.sh: $(date -u '+%F %T UTC'), $N instances, $J at once: $*"
echo "# KVM here: $KVMDESC"
[ "$EMU" = true ] && echo "# EMULATED: KVM nested under QEMU TCG; the figures show behaviour only"
# shellcheck disable=SC2086
$BB -n "$N" -j "$J" --grace 0 --json $DBARG --guest "$@" >"$TMP/cold.json" || true
# shellcheck disable=SC2086
$BB -n "$N" -j "$J" --grace 0 --json $DBARG --from-template --guest "$@" >"$TMP/tmpl.json" || true
printf '%-10s %5s %5s %10s %22s %10s %10s %10s %11s\n' mode n fail median_ms "95% CI" p95_ms p99_ms max_ms launches/s
for m in cold tmpl; do
	jq -r '[.mode, .count, .failed, .median_ms, "[\(.median_ci_ms[0]), \(.median_ci_ms[1])]", .p95_ms, .p99_ms, .max_ms, .launch_rate] | @tsv' "$TMP/$m.json" |
		awk -F'\t' '{ printf "%-10s %5s %5s %10.3f %22s %10.3f %10.3f %10.3f %11.1f\n", $1,$2,$3,$4,$5,$6,$7,$8,$9 }'
done
c=$(jq -r '.median_ms // empty' "$TMP/cold.json")
t=$(jq -r '.median_ms // empty' "$TMP/tmpl.json")
if [ "$EMU" = true ]; then
	echo "no ratio: emulated KVM"
elif [ -n "$c" ] && [ -n "$t" ]; then
	echo "clone from template is $(echo "$c $t" | awk '{ printf "%.1f", $1 / $2 }')x faster than cold boot (median launch-to-marker)"
else
	echo "no ratio: a mode had no successful instance"
	exit 1
fi
