#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bootcompare.sh [-n RUNS] [--build DIR] - one Xen testbed run comparing, on
# the same host and the same PV image (build/guest-xen/hello), the time to
# its UKF-READY console line:
#   ukfork   ukf-xen-boot (backends/xen through the registry): from the
#            backend's create call to the READY event (console pty); from
#            the shell launching ukf-xen-boot to READY (exec, libxl context
#            and all, as xl pays them); the whole process (launch to exit
#            and destroy);
#   xl       `xl create` of the same image: from running xl to the line in
#            xenconsoled's log (/var/log/xen/console/guest-NAME.log, polled
#            every 10 ms);
#   clone    a clone of hello's template (made once before the runs:
#            hello held at ready, suspended to a file by libxl), made by
#            the backend's clone_template (its default: built directly from
#            the file, uxen_direct.c; UKF_XEN_CLONE=libxl for libxl's
#            restore; clonebench.sh times both): from the clone call to
#            the clone's ready (data/ukf-ready in
#            xenstore, polled every 50 ms), and the whole ukf-xen-boot
#            --clone-only process.
# Runs alternate (ukfork, xl, clone, ukfork, ...) so load changes hit all.
# All figures are EMULATED (Xen under QEMU TCG): compare them within one run.
set -euo pipefail

# shellcheck source=bench-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
xtb_bench_init bootcompare.sh 23 "$@"

cat >"$D/in-dom0.sh" <<INNER
set -u
. "$D/dom0-lib.sh"
T=/tmp/ukf-cmp-tpl
mkdir -p \$T
"$BOOT" --quiet --template-dir \$T --clones 1 "$IMG" 2>"$D/t.err" >/dev/null || { cat "$D/t.err" >&2; exit 1; }
sed -n 's/^xen-boot: template: /template: /p' "$D/t.err"
for i in \$(seq 1 $RUNS); do
	t0=\$(now)
	"$BOOT" --quiet "$IMG" 2>"$D/u.err" >/dev/null || { cat "$D/u.err" >&2; exit 1; }
	t1=\$(now)
	r=\$(sed -n 's/.*UKF-READY \([0-9.]*\) ms, exit.*/\1/p' "$D/u.err")
	w=\$(sed -n 's/.*(at \([0-9.]*\) s since the epoch).*/\1/p' "$D/u.err")
	s=\$(ms \$w \$t0)
	echo "ukfork \$i ready_ms \$r start_ready_ms \$s process_ms \$(ms \$t1 \$t0)"

	name=ukf-cmp-\$i
	x=\$(xl_ready \$name) || exit 1
	echo "xl \$i ready_ms \$x"
	t0=\$(now)
	"$BOOT" --quiet --template-dir \$T --clone-only --clones 1 "$IMG" 2>"$D/c.err" >/dev/null || { cat "$D/c.err" >&2; exit 1; }
	t1=\$(now)
	r=\$(sed -n 's/.*clone 1: running .*, ready \([0-9.]*\) ms, exit.*/\1/p' "$D/c.err")
	echo "clone \$i ready_ms \$r process_ms \$(ms \$t1 \$t0)"
	xl_gone \$name
done
INNER

xtb_bench_run 1200
median() { xtb_median; }
range() { xtb_range; }
u=$(awk '$1 == "ukfork" { print $4 }' "$D/out")
s=$(awk '$1 == "ukfork" { print $6 }' "$D/out")
p=$(awk '$1 == "ukfork" { print $8 }' "$D/out")
x=$(awk '$1 == "xl" { print $4 }' "$D/out")
c=$(awk '$1 == "clone" { print $4 }' "$D/out")
cp=$(awk '$1 == "clone" { print $6 }' "$D/out")
mu=$(median <<<"$u") ms=$(median <<<"$s") mp=$(median <<<"$p") mx=$(median <<<"$x")
mc=$(median <<<"$c") mcp=$(median <<<"$cp")
echo
echo "EMULATED (Xen 4.17 under QEMU TCG, $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg), $RUNS runs each, alternating)"
echo "| to UKF-READY of build/guest-xen/hello (PV, 32 MiB, 1 vCPU) | median ms | range ms |"
echo "| --- | --- | --- |"
echo "| ukfork xen backend: create call to READY | $mu | $(range <<<"$u") |"
echo "| ukf-xen-boot launched by the shell to READY (exec, libxl context, create, ready) | $ms | $(range <<<"$s") |"
echo "| ukf-xen-boot launched by the shell to its exit (libxl context, create, ready, exit, destroy) | $mp | $(range <<<"$p") |"
echo "| xl create: start to the line in xenconsoled's log | $mx | $(range <<<"$x") |"
echo "| clone of the template: clone_template call to the clone's ready | $mc | $(range <<<"$c") |"
echo "| ukf-xen-boot --clone-only launched by the shell to its exit (clone, ready, exit, destroy) | $mcp | $(range <<<"$cp") |"
echo "xl create / clone (to ready): $(echo "$mx $mc" | awk '{ printf "%.2f", $1 / $2 }')x; backend cold boot / clone: $(echo "$mu $mc" | awk '{ printf "%.2f", $1 / $2 }')x (EMULATED)"
pair=$(paste <(awk '$1 == "xl" { print $4 }' "$D/out") <(awk '$1 == "ukfork" { print $6 }' "$D/out") | awk '{ print $1 / $2 }' | median)
echo "xl / ukfork backend (create call): $(echo "$mx $mu" | awk '{ printf "%.2f", $1 / $2 }')x; xl / ukf-xen-boot (both launched by the shell): $(echo "$mx $ms" | awk '{ printf "%.2f", $1 / $2 }')x; median of the per-pair ratios (xl / ukf-xen-boot launched, each pair back to back): ${pair}x (EMULATED: ratios within this run, not hardware figures)"
