#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# xen_template.sh BUILD - templates and clones on a real Xen host
# (scripts/xen-testbed) through the xen backend's make_template and
# clone_template, with ukf-xen-boot --clones: hello and synth are booted
# held at ready, suspended to a template file (libxl_domain_suspend), let go
# on (their own post-ready work and exit 0), and 2 clones made from the
# file - hello's through libxl's restore (UKF_XEN_CLONE=libxl,
# libxl_domain_create_restore), synth's by the default direct builder
# (backends/xen/uxen_direct.c) - each go on from ready as new domains
# with their own ids and arguments, print their output and exit 0; cloning
# from a template directory without the file is refused with the reason;
# no domain is left. Timings printed are EMULATED (QEMU TCG).
# Exit 77 (skip) only when qemu-system-x86_64 is missing.
set -euo pipefail

B=$(cd "${1:?usage: xen_template.sh BUILD}" && pwd -P)
BOOT=$B/backends/xen/ukf-xen-boot
G=$B/guest-xen
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
xen_need_boot hello synth
xen_need_qemu
xen_workdir ukf-xen-template

# Each case in dom0: "== NAME rc=N", then its stdout and stderr. Template
# files go to dom0's /tmp (tmpfs), one directory per case.
cat >"$D/in-dom0.sh" <<INNER
set -u
. "$D/case.sh"
CASE_TPL=1
tcase() { # NAME CMD...: case_, then the files left in /tmp/tpl-NAME
	case_ "\$@"
	echo "   | template files: \$(ls /tmp/tpl-\$1 | tr '\n' ' ')"
}
tcase hello env UKF_XEN_CLONE=libxl "$BOOT" --timeout 300 --template-dir /tmp/tpl-hello --clones 2 "$G/hello"
tcase synth "$BOOT" --timeout 300 --mem 32M --template-dir /tmp/tpl-synth --clones 2 "$G/synth" mem=4M init=20ms work=1ms dirty=16 units=2
tcase missing "$BOOT" --timeout 120 --template-dir /tmp/tpl-missing --clone-only --clones 1 "$G/hello"
domains 'domains left'
INNER

xen_testbed_run 900 "$D"

expect hello 0 'xen-boot: template: ready [0-9.]+ ms after the create call, saved in' "hello's template"
block hello | grep -q '^   | \[1\] UKF-READY$' || fail "hello: the template's own instance did not go on after its template"
for c in 2 3; do
	block hello | grep -q "^   | \[$c\] UKF-READY$" || fail "hello: clone $c printed no UKF-READY after ready"
done
[ "$(block hello | grep -Ec 'xen-boot: clone [12]: running .* exit 0 at')" = 2 ] ||
	fail "hello: not both clones exited 0"
expect synth 0 'xen-boot: template: ready' "synth's template"
for c in 2 3; do
	block synth | grep -Eq "^   \| \[$c\] synth: done id=$c units=2 " ||
		fail "synth: clone $c did not do its units as instance $c"
done
[ "$(block synth | grep -Ec 'xen-boot: clone [12]: running .* exit 0 at')" = 2 ] ||
	fail "synth: not both clones exited 0"
expect missing 125 'clone 1: clone refused: No such file or directory \(no template of the app in the template directory\)' \
	"a clone from a missing template file"
xen_expect_no_domains_left
echo "PASS: hello and synth made templates (suspended to a file) and went on; 2 clones of each (hello's restored by libxl, synth's built directly) went on from ready with their own ids and exited 0; a clone without its template file was refused"
