#!/bin/sh
# SPDX-License-Identifier: MIT
# kvm_vm_refit.sh UKFORK SRC - data/kvm-vm-calibrated.conf and data/kvm-pvm-calibrated.conf come again from
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
# both committed calibrations: the emulated one and session 30's kvm_pvm one
for name in kvm-vm-calibrated kvm-pvm-calibrated; do
	sh "$src/scripts/calibrate/from-csv.sh" "$src/data/measured/$name.csv" \
		"$src/data/measured/$name-runs.csv" "$T/$name.db" ||
		fail "from-csv.sh $name"
	"$ukf" calibrate --from-db "$T/$name.db" --calib all --out "$T/$name.conf" \
		>/dev/null 2>"$T/err" || fail "refit of $name: $(cat "$T/err")"
	grep -v '^#' "$src/data/$name.conf" | grep . >"$T/want"
	grep -v '^#' "$T/$name.conf" | grep . >"$T/got"
	diff "$T/want" "$T/got" >&2 || fail "data/$name.conf: the committed keys differ from the refit's"
	for k in save_ns_per_page restore_base_ns restore_ns_per_page; do
		grep -q "^$k = " "$T/want" || fail "no $k in data/$name.conf"
	done
	# the template fetch: a curve through its sizes, or a line
	grep -q "^load_curve = " "$T/want" || {
		grep -q "^load_base_ns = " "$T/want" &&
			grep -q "^load_ns_per_byte = " "$T/want"
	} || fail "no load_curve nor load_base_ns and load_ns_per_byte in data/$name.conf"
	n=$(grep -c '^#   calibration [0-9]*: ' "$src/data/$name.conf")
	[ "$n" -eq "$(sqlite3 "$T/$name.db" 'SELECT count(*) FROM calib_runs')" ] ||
		fail "$n calibrations named in the file's Merged block"
done
echo ok
