#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# clonebench.sh [-n RUNS] [--build DIR] - one Xen testbed run timing, on the
# same host and PV image (build/guest-xen/hello, 32 MiB, 1 vCPU), how soon
# a new instance is at ready, four ways, interleaved (one of each per
# round, so load changes hit all):
#   cold     ukf-xen-boot: the backend's create call to UKF-READY (console)
#   xl       `xl create`: running xl to the line in xenconsoled's log
#            (polled every 10 ms)
#   libxl    ukf-xen-boot --clone-only --clones 2 -j 1 with
#            UKF_XEN_CLONE=libxl: clone_template call to the clone's ready
#            (data/ukf-ready, polled every 50 ms), libxl's restore of the
#            template file; the second clone of the process is taken
#   direct   the same with UKF_XEN_CLONE=direct (backends/xen/uxen_direct.c:
#            the file parsed once per process, then each clone built
#            through libxenctrl): the second clone (template already
#            parsed, as in a backend that made the template), and the
#            first (its call includes the parse); also the time the
#            domain took to build (UKF_XEN_TIMES' "direct clone" line)
# The template is made once before the rounds (libxl suspend, as always).
# All figures are EMULATED (Xen under QEMU TCG): compare them within one run.
set -euo pipefail

# shellcheck source=bench-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
xtb_bench_init clonebench.sh 22 "$@"

cat >"$D/in-dom0.sh" <<INNER
set -u
. "$D/dom0-lib.sh"
T=/tmp/ukf-clonebench-tpl
mkdir -p \$T
"$BOOT" --quiet --template-dir \$T --clones 1 "$IMG" 2>"$D/t.err" >/dev/null || { cat "$D/t.err" >&2; exit 1; }
sed -n 's/^xen-boot: template: /template: /p' "$D/t.err"
ready() { sed -n "s/.*clone \$1: running .*, ready \([0-9.]*\) ms, exit 0.*/\1/p" "\$2"; }
for i in \$(seq 1 $RUNS); do
	"$BOOT" --quiet "$IMG" 2>"$D/u.err" >/dev/null || { cat "$D/u.err" >&2; exit 1; }
	echo "cold \$i ready_ms \$(sed -n 's/.*UKF-READY \([0-9.]*\) ms, exit.*/\1/p' "$D/u.err")"

	name=ukf-cb-\$i
	x=\$(xl_ready \$name) || exit 1
	echo "xl \$i ready_ms \$x"

	UKF_XEN_CLONE=libxl "$BOOT" --quiet --template-dir \$T --clone-only --clones 2 -j 1 "$IMG" 2>"$D/l.err" >/dev/null || { cat "$D/l.err" >&2; exit 1; }
	echo "libxl \$i ready_ms \$(ready 2 "$D/l.err")"

	UKF_XEN_CLONE=direct UKF_XEN_TIMES=1 "$BOOT" --quiet --template-dir \$T --clone-only --clones 2 -j 1 "$IMG" 2>"$D/d.err" >/dev/null || { cat "$D/d.err" >&2; exit 1; }
	b=\$(sed -n 's/^xen: direct clone 3 (domain [0-9]*): \([0-9.]*\) ms.*/\1/p' "$D/d.err")
	p=\$(sed -n 's/^xen: direct clone 2 .*(parse \([0-9.]*\),.*/\1/p' "$D/d.err")
	echo "direct \$i ready_ms \$(ready 2 "$D/d.err") first_ready_ms \$(ready 1 "$D/d.err") build_ms \$b parse_ms \$p"
	xl_gone \$name
done
INNER

xtb_bench_run 1500
median() { xtb_median; }
range() { xtb_range; }
col() { xtb_col "$@"; }
mc=$(col cold 4 | median) mx=$(col xl 4 | median) ml=$(col libxl 4 | median)
md=$(col direct 4 | median) mf=$(col direct 6 | median) mb=$(col direct 8 | median) mp=$(col direct 10 | median)
echo
echo "EMULATED (Xen 4.17 under QEMU TCG, $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg), $RUNS rounds, interleaved)"
echo "| to ready of build/guest-xen/hello (PV, 32 MiB, 1 vCPU) | median ms | range ms |"
echo "| --- | --- | --- |"
echo "| cold boot: backend create call to UKF-READY | $mc | $(col cold 4 | range) |"
echo "| xl create: start to the line in xenconsoled's log | $mx | $(col xl 4 | range) |"
echo "| libxl clone (UKF_XEN_CLONE=libxl): clone call to ready | $ml | $(col libxl 4 | range) |"
echo "| direct clone (UKF_XEN_CLONE=direct), template parsed: clone call to ready | $md | $(col direct 4 | range) |"
echo "| direct clone, first of its process (call includes the parse) | $mf | $(col direct 6 | range) |"
echo "| direct clone: domain built (of the call to ready above) | $mb | $(col direct 8 | range) |"
echo "| direct: parsing the template file (once per process) | $mp | $(col direct 10 | range) |"
r() { echo "$1 $2" | awk '{ printf "%.2f", $1 / $2 }'; }
echo "xl create / direct clone: $(r "$mx" "$md")x; cold boot / direct clone: $(r "$mc" "$md")x; libxl clone / direct clone: $(r "$ml" "$md")x; xl create / libxl clone: $(r "$mx" "$ml")x (EMULATED: ratios within this run, not hardware figures)"
