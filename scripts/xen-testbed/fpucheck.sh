#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# fpucheck.sh - do dom0's processes keep their registers on this testbed?
# Builds fpucheck.c on the host, boots the testbed (run) and in dom0 runs
# fpucheck (PROCS processes checking xmm/ymm/general registers and memory
# across switches, SIGALRM every 1 ms) twice: IDLE seconds with dom0 alone,
# then BUSY seconds while a tiny PV guest (a grub-xen image that prints a
# marker and sleeps) is created, left 2 s and destroyed in a loop - other
# domains' vCPUs are what make Xen switch dom0's vCPUs out. Exits 0 when
# every check matched, 1 on any mismatch (printed), 125 when it could not
# run. See README.md ("Register state under TCG") and docs/xen.md.
set -euo pipefail

usage() {
	cat <<'USAGE'
usage: scripts/xen-testbed/fpucheck.sh [--idle SEC] [--busy SEC] [-p PROCS] [--keep-log]

  --idle SEC   fpucheck with dom0 alone (default 30; 0 skips it)
  --busy SEC   fpucheck while a tiny guest is created and destroyed in a
               loop (default 120)
  -p PROCS     fpucheck processes (default 3)
  --keep-log   keep the testbed's serial log
The testbed's variables apply (UKF_XEN_TESTBED_XEN_APPEND=spec-ctrl=no-eager-fpu
brings back the lazy FPU switching the testbed turns off, see README.md).
USAGE
}

IDLE=30
BUSY=120
PROCS=3
RUN_ARGS=()
while (($#)); do
	case "$1" in
	--idle) IDLE=${2:?--idle needs seconds}; shift 2 ;;
	--busy) BUSY=${2:?--busy needs seconds}; shift 2 ;;
	-p) PROCS=${2:?-p needs a count}; shift 2 ;;
	--keep-log) RUN_ARGS+=(--keep-log); shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "fpucheck.sh: unknown argument $1 (see --help)" >&2; exit 125 ;;
	esac
done
[[ "$IDLE" =~ ^[0-9]+$ && "$BUSY" =~ ^[1-9][0-9]*$ && "$PROCS" =~ ^[1-9][0-9]?$ ]] ||
	{ echo "fpucheck.sh: --idle wants 0 or more seconds, --busy 1 or more, -p 1..99" >&2; exit 125; }
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
command -v gcc >/dev/null || { echo "fpucheck.sh: no gcc" >&2; exit 125; }
command -v grub-mkimage >/dev/null && [ -d /usr/lib/grub/x86_64-xen ] ||
	{ echo "fpucheck.sh: no grub-mkimage for x86_64-xen (apt install grub-xen-bin)" >&2; exit 125; }

D=$(mktemp -d "${TMPDIR:-/tmp}/ukf-fpucheck.XXXXXX")
trap 'rm -rf "$D"' EXIT
chmod 755 "$D"
gcc -O2 -Wall -o "$D/fpucheck" "$HERE/fpucheck.c" || { echo "fpucheck.sh: fpucheck.c does not build" >&2; exit 125; }
printf 'echo UKF-FPUCHECK-GUEST\nsleep 3600\n' >"$D/grub.cfg"
grub-mkimage -O x86_64-xen -o "$D/tiny.img" -c "$D/grub.cfg" -p / echo sleep ||
	{ echo "fpucheck.sh: grub-mkimage failed" >&2; exit 125; }
printf 'name = "ukf-fpucheck"\nkernel = "%s/tiny.img"\nmemory = 32\nvcpus = 1\n' "$D" >"$D/tiny.cfg"

cat >"$D/in-dom0.sh" <<INNER
set -u
echo "== xen: \$(xl info | sed -n 's/^xen_commandline *: //p')"
rc=0
if [ $IDLE -gt 0 ]; then
	echo "== dom0 alone, ${IDLE} s"
	"$D/fpucheck" -s -p $PROCS -t $IDLE || rc=1
fi
echo "== a tiny guest created and destroyed in a loop, ${BUSY} s"
(
	end=\$((\$(date +%s) + $BUSY))
	n=0
	while [ \$(date +%s) -lt \$end ]; do
		xl create -q "$D/tiny.cfg" >/dev/null 2>&1 && n=\$((n + 1))
		sleep 2
		xl destroy ukf-fpucheck 2>/dev/null
	done
	echo "guests created: \$n"
) &
loop=\$!
"$D/fpucheck" -s -p $PROCS -t $BUSY || rc=1
wait \$loop
exit \$rc
INNER

set +e
"$HERE/run" "${RUN_ARGS[@]}" --timeout $((IDLE + BUSY + 400)) --share "$D" -- bash "$D/in-dom0.sh"
rc=$?
set -e
case $rc in
0) echo "fpucheck.sh: every check matched" ;;
1) echo "fpucheck.sh: MISMATCHES: dom0's processes lost register or memory contents (above)" ;;
*) echo "fpucheck.sh: the testbed run exited $rc" ;;
esac
exit "$rc"
