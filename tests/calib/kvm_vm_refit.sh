#!/bin/sh
# SPDX-License-Identifier: MIT
# kvm_vm_refit.sh UKFORK SRC - data/kvm-vm-calibrated.conf comes again from
# its raw samples in data/measured (scripts/calibrate/from-csv.sh, then
# `ukfork calibrate --from-db --calib all`): the same keys and values, the
# remote ones included, and every calibration's provenance; a change of the
# fit that moves a key fails here until the file is regenerated (the
# command is in docs/calibration.md). 77 without the sqlite3 command.
set -u
ukf=$1 src=$2
command -v sqlite3 >/dev/null || { echo "SKIP: no sqlite3 command"; exit 77; }
T=$(mktemp -d /tmp/ukf-kvmrefit-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() {
	echo "kvm_vm_refit.sh: FAIL: $*" >&2
	exit 1
}
sh "$src/scripts/calibrate/from-csv.sh" "$src/data/measured/kvm-vm-calibrated.csv" \
	"$src/data/measured/kvm-vm-calibrated-runs.csv" "$T/k.db" ||
	fail "from-csv.sh"
"$ukf" calibrate --from-db "$T/k.db" --calib all --out "$T/kvm-vm-calibrated.conf" \
	>/dev/null 2>"$T/err" || fail "refit: $(cat "$T/err")"
grep -v '^#' "$src/data/kvm-vm-calibrated.conf" | grep . >"$T/want"
grep -v '^#' "$T/kvm-vm-calibrated.conf" | grep . >"$T/got"
diff "$T/want" "$T/got" >&2 || fail "the committed file's keys differ from the refit's"
for k in save_ns_per_page restore_base_ns restore_ns_per_page load_base_ns \
	load_ns_per_byte; do
	grep -q "^$k = " "$T/want" || fail "no $k in data/kvm-vm-calibrated.conf"
done
n=$(grep -c '^#   calibration [0-9]*: ' "$src/data/kvm-vm-calibrated.conf")
[ "$n" -eq "$(sqlite3 "$T/k.db" 'SELECT count(*) FROM calib_runs')" ] ||
	fail "$n calibrations named in the file's Merged block"
echo ok
