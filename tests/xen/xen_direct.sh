#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# xen_direct.sh BUILD - clones of templates built directly (UKF_XEN_CLONE=
# direct: backends/xen/uxen_direct.c parses the libxl save image once and
# builds each clone's domain through libxenctrl, no libxl restore) on a
# real Xen host (scripts/xen-testbed), with ukf-xen-boot --clones: hello
# and synth are held at ready, saved to a template file, go on and exit 0;
# 2 direct clones of each go on from ready as new domains with their own
# ids and arguments, print their own output and exit 0; the template file
# parses (xen-direct-test --info); a damaged template file fails the clone
# with the parser's reason; a template with a page-table entry naming no
# page of the guest fails its clone after the domain was created, and that
# half-made domain is gone; an unknown UKF_XEN_CLONE is refused by name; no
# domain is left. Timings printed are EMULATED.
# Exit 77 (skip) only when qemu-system-x86_64 is missing.
set -euo pipefail

B=$(cd "${1:?usage: xen_direct.sh BUILD}" && pwd -P)
BOOT=$B/backends/xen/ukf-xen-boot
INFO=$B/tests/xen/xen-direct-test
G=$B/guest-xen
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
xen_need_boot hello synth
[ -x "$INFO" ] || { echo "xen_direct.sh: needs $INFO (make xen-direct-test)" >&2; exit 1; }
xen_need_qemu
xen_workdir ukf-xen-direct

# Each case in dom0: "== NAME rc=N", then its stdout and stderr.
cat >"$D/in-dom0.sh" <<INNER
set -u
export UKF_XEN_CLONE=direct UKF_XEN_TIMES=1
. "$D/case.sh"
CASE_TPL=1
case_ hello "$BOOT" --timeout 300 --template-dir /tmp/tpl-hello --clones 2 "$G/hello"
case_ info "$INFO" --info /tmp/tpl-hello/ukf-xen-n0-a0.tpl
case_ synth "$BOOT" --timeout 300 --mem 32M --template-dir /tmp/tpl-synth --clones 2 "$G/synth" mem=4M init=20ms work=1ms dirty=16 units=2
mkdir -p /tmp/tpl-damaged
head -c 1000000 /tmp/tpl-hello/ukf-xen-n0-a0.tpl >/tmp/tpl-damaged/ukf-xen-n0-a0.tpl
case_ damaged "$BOOT" --timeout 120 --template-dir /tmp/tpl-damaged --clone-only --clones 1 "$G/hello"
mkdir -p /tmp/tpl-brokenpt
"$INFO" --break-pt /tmp/tpl-hello/ukf-xen-n0-a0.tpl /tmp/tpl-brokenpt/ukf-xen-n0-a0.tpl >/dev/null
case_ brokenpt "$BOOT" --timeout 120 --template-dir /tmp/tpl-brokenpt --clone-only --clones 1 "$G/hello"
domains 'brokenpt domains'
case_ badenv env UKF_XEN_CLONE=bogus "$BOOT" --timeout 60 --template-dir /tmp/tpl-hello --clone-only --clones 1 "$G/hello"
domains 'domains left'
INNER

xen_testbed_run 900 "$D"

expect hello 0 'xen-boot: template: ready [0-9.]+ ms after the create call, saved in' "hello's template"
block hello | grep -q '^   | \[1\] UKF-READY$' || fail "hello: the template's own instance did not go on after its template"
[ "$(block hello | grep -Ec 'xen: direct clone [23] \(domain [0-9]+\): [0-9.]+ ms')" = 2 ] ||
	fail "hello: the 2 clones were not built by the direct path"
for c in 2 3; do
	block hello | grep -q "^   | \[$c\] UKF-READY$" || fail "hello: clone $c printed no UKF-READY after ready"
done
[ "$(block hello | grep -Ec 'xen-boot: clone [12]: running .* exit 0 at')" = 2 ] ||
	fail "hello: not both clones exited 0"
expect info 0 'template /tmp/tpl-hello/ukf-xen-n0-a0.tpl: [0-9]+ bytes, libxc stream v[23], 8192 pfns, 8192 populated, [0-9]+ pages kept' \
	"the template file parsed"
expect synth 0 'xen-boot: template: ready' "synth's template"
[ "$(block synth | grep -Ec 'xen: direct clone [23] \(domain [0-9]+\)')" = 2 ] ||
	fail "synth: the 2 clones were not built by the direct path"
for c in 2 3; do
	block synth | grep -Eq "^   \| \[$c\] synth: done id=$c units=2 " ||
		fail "synth: clone $c did not do its units as instance $c"
done
[ "$(block synth | grep -Ec 'xen-boot: clone [12]: running .* exit 0 at')" = 2 ] ||
	fail "synth: not both clones exited 0"
expect damaged 125 'clone 1: .*direct clone \(PV, 32 MiB, template /tmp/tpl-damaged/ukf-xen-n0-a0.tpl\): /tmp/tpl-damaged/ukf-xen-n0-a0.tpl: .*past the end of the file' \
	"a clone from a damaged template file"
expect brokenpt 125 'clone 1: .*direct clone \(PV, 32 MiB, template /tmp/tpl-brokenpt/ukf-xen-n0-a0.tpl\): template: page table pfn 0x[0-9a-f]+ entry [0-9]+ names pfn 0xfffff, not a page of the guest' \
	"a clone whose template has a page-table entry naming no page of the guest (fails after its domain was created)"
[ "$(block 'brokenpt domains' | grep -c '^   | ')" = 1 ] ||
	fail "the half-made domain of the failed clone was left: $(block 'brokenpt domains' | tr '\n' ' ')"
expect badenv 125 'UKF_XEN_CLONE=bogus: expected "libxl" or "direct"' "an unknown UKF_XEN_CLONE"
xen_expect_no_domains_left
echo "PASS: hello and synth made templates and went on; 2 direct clones of each (built from the parsed file through libxenctrl) went on from ready with their own ids and exited 0; the file parsed; a damaged file failed its clone with the reason; a broken page table failed its clone after creation and left no domain; an unknown UKF_XEN_CLONE was refused; no domain left"
