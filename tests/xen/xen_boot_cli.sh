#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# xen_boot_cli.sh BUILD - ukf-xen-boot's command line on any machine (no Xen
# host needed): --help prints the usage on stdout and exits 0; each bad
# invocation (an unknown option, a bad --mem, no image, --clone-only
# without --clones, too many clones, arguments longer than the ABI's
# argument string) exits 125 naming what was wrong; good options reach the
# backend, which off dom0 says it is not available.
set -euo pipefail

B=$(cd "${1:?usage: xen_boot_cli.sh BUILD}" && pwd -P)
BOOT=$B/backends/xen/ukf-xen-boot
G=$B/guest-xen
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
xen_need_boot hello

# case_ RC PATTERN ARGS...: ukf-xen-boot ARGS exits RC, its output matches PATTERN
case_() {
	local want=$1 pat=$2 out rc
	shift 2
	set +e
	out=$("$BOOT" "$@" 2>&1)
	rc=$?
	set -e
	local args="$*"
	echo "ukf-xen-boot ${args:0:120} -> $rc: $(head -1 <<<"$out" | head -c 200)"
	((rc == want)) || fail "ukf-xen-boot $*: exit $rc, expected $want: $out"
	grep -Eq -- "$pat" <<<"$out" || fail "ukf-xen-boot $*: no '$pat' in: $out"
}

out=$("$BOOT" --help 2>/dev/null) || fail "--help: exit status not 0"
grep -q '^usage: .*ukf-xen-boot \[--mem SIZE\]' <<<"$out" || fail "--help: no usage on stdout: $out"
case_ 125 '^usage: ' --bogus "$G/hello"
case_ 125 "--mem: bad size 'lots'" --mem lots "$G/hello"
case_ 125 '^usage: ' --mem 32M
case_ 125 '^usage: ' --clone-only "$G/hello"
case_ 125 '^usage: ' --clones 5000 "$G/hello"
case_ 125 '^usage: ' -n 0 "$G/hello"
long=$(head -c 5000 /dev/zero | tr '\0' a)
case_ 125 'arguments too long' "$G/hello" "$long"
if [ ! -e /dev/xen/privcmd ] && [ ! -e /proc/xen/privcmd ]; then
	case_ 125 'backend xen is not available here: not a Xen control domain' --quiet --vcpus 1 -j 2 -n 2 --timeout 5 "$G/hello" a b
	case_ 125 'backend xen is not available here' --template-dir /tmp --clones 1 "$G/hello"
fi
echo "PASS: ukf-xen-boot's usage, and each bad invocation refused with exit 125 and the reason"
