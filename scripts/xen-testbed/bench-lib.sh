# SPDX-License-Identifier: MIT
# bench-lib.sh - what the testbed benchmarks (bootcompare.sh, clonebench.sh)
# share: their arguments, the checks of the build, a work directory shared
# with dom0, the dom0 helpers (clock, `xl create` to the marker) and the
# medians and ranges of their columns. Sourced; expects set -euo pipefail.

# xtb_bench_init NAME HELP_LAST_LINE "$@": parses -n RUNS and --build DIR
# (-h prints the calling script's header lines 3..HELP_LAST_LINE); sets
# RUNS, B, BOOT (ukf-xen-boot), IMG (guest-xen/hello) and D, a work
# directory (mode 755, removed on exit) holding dom0-lib.sh.
xtb_bench_init() {
	local name=$1 last=$2 root
	shift 2
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
	RUNS=5
	B=$root/build
	while (($#)); do
		case $1 in
		-n) RUNS=$2; shift 2 ;;
		--build) B=$2; shift 2 ;;
		-h | --help) sed -n "3,${last}p" "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
		*) echo "$name: unknown argument '$1'" >&2; exit 2 ;;
		esac
	done
	[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "$name: -n wants a count, not '$RUNS'" >&2; exit 2; }
	B=$(cd "$B" && pwd -P)
	BOOT=$B/backends/xen/ukf-xen-boot
	IMG=$B/guest-xen/hello
	[ -x "$BOOT" ] && [ -f "$IMG" ] || {
		echo "$name: needs $BOOT and $IMG (cmake -DUKF_BUILD_XEN=ON, make ukf-xen-boot guest-xen-hello)" >&2
		exit 2
	}
	D=$(mktemp -d "${TMPDIR:-/tmp}/ukf-xen-bench.XXXXXX")
	trap 'rm -rf "$D"' EXIT
	chmod 755 "$D"
	# in dom0: now, ms A B (A - B in ms), xl_ready NAME (xl create of IMG,
	# 32 MiB, to UKF-READY in xenconsoled's log: prints the ms), xl_gone NAME
	cat >"$D/dom0-lib.sh" <<LIB
now() { date +%s.%N; }
ms() { echo "\$1 \$2" | awk '{ printf "%.1f", (\$1 - \$2) * 1000 }'; }
xl_ready() {
	local name=\$1 log=/var/log/xen/console/guest-\$1.log n=0 t0
	printf 'name = "%s"\ntype = "pv"\nkernel = "%s"\nmemory = 32\nvcpus = 1\n' \
		"\$name" "$IMG" >"$D/\$name.cfg"
	t0=\$(now)
	xl create -q "$D/\$name.cfg" || return 1
	until grep -q '^UKF-READY' "\$log" 2>/dev/null; do
		n=\$((n + 1)); [ \$n -lt 12000 ] || { echo "xl: no UKF-READY in \$log" >&2; return 1; }
		sleep 0.01
	done
	ms "\$(now)" "\$t0"
}
xl_gone() { # on_poweroff: destroy; at most 60 s
	local n=0
	while xl domid "\$1" >/dev/null 2>&1; do
		n=\$((n + 1)); [ \$n -lt 600 ] || { xl destroy "\$1"; break; }
		sleep 0.1
	done
}
LIB
}

# xtb_bench_run TIMEOUT: runs $D/in-dom0.sh on the testbed (1-vCPU dom0),
# its output into $D/out, and prints it.
xtb_bench_run() {
	"$(dirname "${BASH_SOURCE[0]}")/run" --timeout "$1" --dom0-vcpus 1 --share "$D" \
		-- bash "$D/in-dom0.sh" >"$D/out"
	cat "$D/out"
}

# Of the numbers on stdin: the median, the range "lo-hi".
xtb_median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) printf "%.1f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
xtb_range() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.1f-%.1f", lo, hi }'; }
# xtb_col KIND FIELD: field FIELD of $D/out's lines starting with KIND.
xtb_col() { awk -v k="$1" -v f="$2" '$1 == k { print $f }' "$D/out"; }
