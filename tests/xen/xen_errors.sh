#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# xen_errors.sh BUILD - the xen backend's errors against a real Xen host
# (scripts/xen-testbed), through ukf-xen-boot, each with the reason a user
# reads and none leaving a domain behind: guest memory below the minimum;
# a configuration Xen refuses (more vCPUs than a PV domain may have: a real
# libxl error); a domain destroyed under the backend (`xl destroy`) while a
# second one keeps running in the same process until its run limit ends
# it; a template asked into a directory that does not exist; a clone from
# a file that is not a libxl stream (refused before libxl, which crashed
# the process on it) and from a real template cut in half (libxl's own
# restore error); a boot after all of them still works.
# Exit 77 (skip) only when qemu-system-x86_64 is missing.
set -euo pipefail

B=$(cd "${1:?usage: xen_errors.sh BUILD}" && pwd -P)
BOOT=$B/backends/xen/ukf-xen-boot
G=$B/guest-xen
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
xen_need_boot hello test-loop
xen_need_qemu
xen_workdir ukf-xen-errors

# Each case in dom0: "== NAME rc=N", then its stdout and stderr.
cat >"$D/in-dom0.sh" <<INNER
set -u
. "$D/case.sh"
case_ smallmem "$BOOT" --mem 1M "$G/hello"
case_ vcpus "$BOOT" --vcpus 4096 "$G/hello"
# two guests that never end; the first destroyed with xl once it runs
"$BOOT" -n 2 -j 2 --timeout 40 "$G/test-loop" >"$D/gone.out" 2>"$D/gone.err" &
pid=\$!
for i in \$(seq 1 300); do
	[ "\$(grep -c 'test-loop: looping' "$D/gone.out")" = 2 ] && break
	sleep 1
done
for t in 1 2 3; do # xl itself failed once under emulation: try again
	xl destroy "ukf-\$pid-0-1" && break
	sleep 2
done
wait \$pid
show gone \$?
case_ tpldir "$BOOT" --template-dir /nonexistent/ukf --clones 1 "$G/hello"
mkdir -p /tmp/tpl-bad
head -c 65536 /dev/urandom >/tmp/tpl-bad/ukf-xen-n0-a0.tpl
case_ badtpl "$BOOT" --template-dir /tmp/tpl-bad --clone-only --clones 1 "$G/hello"
# a real template cut in half (a full disk): libxl's own restore error
# (UKF_XEN_CLONE=libxl; the direct path's parser refuses it in xen.direct_clone)
mkdir -p /tmp/tpl-ok /tmp/tpl-cut
"$BOOT" --template-dir /tmp/tpl-ok --clones 1 "$G/hello" >/dev/null 2>&1
size=\$(stat -c %s /tmp/tpl-ok/ukf-xen-n0-a0.tpl)
head -c \$((size / 2)) /tmp/tpl-ok/ukf-xen-n0-a0.tpl >/tmp/tpl-cut/ukf-xen-n0-a0.tpl
case_ cuttpl env UKF_XEN_CLONE=libxl "$BOOT" --template-dir /tmp/tpl-cut --clone-only --clones 1 "$G/hello"
case_ after "$BOOT" "$G/hello"
domains 'domains left'
INNER

xen_testbed_run 900 "$D"

expect smallmem 125 'cold boot: guest memory 1048576 bytes outside \[' "1 MiB of guest memory"
expect vcpus 125 'cannot create domain .*libxl_domain_create_new \(PV, 32 MiB, 4096 vCPUs, kernel .*hello\): libxl error' \
	"4096 vCPUs, refused by libxl/Xen"
expect gone 125 'run 1: .* failed: xen: domain [0-9]+ is gone \(destroyed outside ukfork\?\)' "a domain destroyed with xl"
block gone | grep -Eq 'run 2: .* failed: run limit: still running after 40000 ms' ||
	fail "gone: the other guest of the process did not run on to its run limit"
expect tpldir 125 'template: template of domain [0-9]+: /nonexistent/ukf/ukf-xen-n0-a0.tpl.part: No such file or directory' \
	"a template into a missing directory"
expect badtpl 125 'clone 1: xen: cannot create domain .*: template file /tmp/tpl-bad/ukf-xen-n0-a0.tpl is not a libxl save stream' \
	"a clone from a file that is not a template (libxl itself crashed on it)"
expect cuttpl 125 'clone 1: xen: cannot create domain .*libxl_domain_create_restore \(PV, 32 MiB, template /tmp/tpl-cut/ukf-xen-n0-a0.tpl\): libxl error .*Failed to read' \
	"a clone from a template cut in half"
expect after 0 '^   \| UKF-READY$' "a boot after the failures"
xen_expect_no_domains_left
echo "PASS: small memory, too many vCPUs, a domain destroyed under the backend (the other ran on), a template into a missing directory, a clone of a file that is not a template and of a cut template failed with clear reasons; a boot after them worked; no domain left"
