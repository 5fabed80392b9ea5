#!/bin/sh
# SPDX-License-Identifier: MIT
# kvm.sh - measure this machine's KVM backend and write data/kvm-local.conf (simulator cost model) + data/measured/kvm-local.csv (raw figures).
# The older calibration: `ukfork calibrate --backend kvm` (calib/, docs/calibration.md)
# measures, stores raw samples and fits distributions in C; this script is kept
# for data/kvm-local.conf and the figures only it takes (hello boot, first touch).
#
# usage: scripts/calibrate/kvm.sh BUILD_DIR [OUT.conf]
#   BUILD_DIR  a configured and built tree (ukfork, guest/synth, guest/hello,
#              bench/kvm/ukvm-bench, bench/kvm/ukvm-bench-fork)
#   OUT.conf   default: data/kvm-local.conf next to this script's repo;
#              the raw CSV goes to data/measured/ beside it.
# Environment: CAL_N (cold boots and template clones per point, default 20),
#              CAL_REPS (runs of kvm-ops.lua, default 3).
# Runs in about 15-60 s. Exit 77 when /dev/kvm is unusable, 1 on failure.
#
# What each key comes from (see docs/calibration.md):
#   boot_base_ns: ukvm-bench --image hello (touches ~70 KiB), median
#       launch -> marker.
#   boot_ns_per_mem_byte: `ukfork bootbench` cold boots of synth (init=0)
#       at mem 8M, 16M, 32M: least-squares slope of (median launch ->
#       UKF-READY - boot_base_ns) against the guest MEMORY size (synth
#       touches all of its memory before ready(); sim charges this during
#       init, ready after max(init, mem * slope)).
#   boot_ns_per_byte: 0 - the image is not varied (hello and synth are
#       small and both loads are inside boot_base_ns).
#   clone_base_ns: ukvm-bench-fork, template clone -> ready, median.
#   touch_ns_per_page: ukvm-bench-fork, first touch after clone.
#   clone_ns_per_page: kvm-ops.lua on `ukfork run --backend kvm`: the live
#       forks' request -> ready against the pages copied at the fork, i.e.
#       the parent's dirty_pages (slope, intercept fixed at clone_base_ns,
#       through the medians of 3 counts). A child's own dirty_pages is its
#       count at exit (copied pages + its own unit's), as in sim.
#   template_base_ns, template_ns_per_byte: the same runs' trace,
#       template-make -> template-ready, against memory size (3 sizes).
#   jitter: the median over all measured groups of the robust lognormal
#       sigma (ln p84 - ln p16) / 2 of each group's samples.
# Keys not measured here (restore_*, save_*, load_*, destroy_ns) are not
# written, so a scenario loading the file keeps model.conf's values.
set -eu

die() { echo "kvm.sh: $*" >&2; exit 1; }

[ $# -ge 1 ] || { sed -n '8,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
B=$(cd "$1" && pwd) || die "no build dir $1"
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=${2:-$REPO/data/kvm-local.conf}
OUTDIR=$(cd "$(dirname "$OUT")" && pwd)
CSV=$OUTDIR/measured/kvm-local.csv
N=${CAL_N:-20}
REPS=${CAL_REPS:-3}

UKF=$B/ukfork
SYNTH=$B/guest/synth
HELLO=$B/guest/hello
BENCH=$B/bench/kvm/ukvm-bench
FORK=$B/bench/kvm/ukvm-bench-fork
for f in "$UKF" "$SYNTH" "$HELLO" "$BENCH" "$FORK"; do
	[ -x "$f" ] || die "missing $f (build it: cmake --build $B --target ukfork guest-synth guest-hello ukvm-bench ukvm-bench-fork)"
done
command -v sqlite3 >/dev/null || die "sqlite3 (the CLI) is needed"
[ -r /dev/kvm ] && [ -w /dev/kvm ] || { echo "SKIP: /dev/kvm not usable"; exit 77; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
DB=$TMP/cal.db
DATE=$(date -u +%Y-%m-%dT%H:%MZ)
HOST=$(hostname)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

# stats: values on stdin (one per line) -> "n median p16 p84 rsigma"
stats() {
	sort -g | awk '{ v[NR] = $1 }
	function q(p,  k) { k = int(p * NR + 0.999999999); if (k < 1) k = 1; return v[k] }
	END {
		if (NR == 0) { print "0 0 0 0 0"; exit }
		lo = q(0.16); hi = q(0.84)
		rs = (lo > 0 && hi > 0) ? (log(hi) - log(lo)) / 2 : 0
		printf "%d %.0f %.0f %.0f %.4f\n", NR, q(0.5), lo, hi, rs
	}'
}

# slope BASE: "x y" lines on stdin -> least-squares slope of y = BASE + b x
# (the fixed part BASE measured by its own operation, as sim adds them)
slope() {
	awk -v c="$1" '{ sxx += $1 * $1; sxy += $1 * ($2 - c) }
	END { if (sxx == 0) print "nan"; else printf "%.6g\n", sxy / sxx }'
}

# fit: "x y" lines on stdin -> "intercept slope" (least squares)
fit() {
	awk '{ n++; sx += $1; sy += $2; sxx += $1 * $1; sxy += $1 * $2 }
	END {
		d = n * sxx - sx * sx
		if (n < 2 || d == 0) { print "nan nan"; exit }
		b = (n * sxy - sx * sy) / d; a = (sy - b * sx) / n
		printf "%.6g %.6g\n", a, b
	}'
}

us() { awk -v v="$1" 'BEGIN { printf "%.1fus", v / 1000 }'; }

mkdir -p "$OUTDIR/measured"
echo "op,x,ns,source" >"$CSV"
SIGMAS=""

# ---- 1. cold boots of synth (init=0) at three memory sizes -------------
echo "kvm.sh: cold boots (bootbench, $N per size)..." >&2
POINTS=""
for m in 8 16 32; do
	"$UKF" bootbench -n "$N" -j 1 --mem ${m}M --db "$DB" --json \
		--guest "$SYNTH" mem=${m}M init=0 work=0 dirty=0 \
		>"$TMP/cold$m.json" || die "bootbench cold mem=${m}M failed"
	RUN=$(sqlite3 "$DB" "SELECT max(id) FROM runs")
	sqlite3 "$DB" "SELECT t_marker - t_launch FROM boots WHERE run = $RUN AND ok" \
		>"$TMP/cold$m.txt"
	awk -v m=$m '{ printf "cold_boot_mem_bytes,%d,%d,bootbench\n", m * 1048576, $1 }' \
		"$TMP/cold$m.txt" >>"$CSV"
	set -- $(stats <"$TMP/cold$m.txt")
	[ "$1" -ge 3 ] || die "too few cold boots at ${m}M"
	POINTS="$POINTS$((m * 1048576)) $2
"
	SIGMAS="$SIGMAS$5
"
	SIGLIST="${SIGLIST:-}cold ${m}M $5, "
	eval "COLD$m=$2"
done
# the fixed part: hello, which touches ~70 KiB of its memory
HELLO_MED=$("$BENCH" --image "$HELLO" -n "$N" --idle 2 |
	awk '/launch -> marker/ { for (i = 1; i <= NF; i++) if ($i == "median") { print $(i + 1) * 1e6; exit } }')
[ -n "$HELLO_MED" ] || die "cannot read ukvm-bench's output"
echo "cold_boot_hello_median,65536,$HELLO_MED,ukvm-bench" >>"$CSV"
BOOT_BASE=$(awk -v a="$HELLO_MED" 'BEGIN { printf "%.0f", a }')
BOOT_PB=$(printf '%s' "$POINTS" | slope "$BOOT_BASE")
BOOT_PB=$(awk -v b="$BOOT_PB" 'BEGIN { printf "%.4f", b < 0 ? 0 : b }')
set -- $(printf '%s' "$POINTS" | fit)
BOOT_FIT="free least-squares line: intercept $(awk -v a="$1" 'BEGIN { printf "%.1fus", a / 1000 }'), slope $2 ns/byte"

# ---- 2. template clones, first touch, live fork at 260 pages -----------
echo "kvm.sh: ukvm-bench-fork..." >&2
"$FORK" --synth "$SYNTH" --clones $((N * 5)) --forks $((N * 5)) \
	--throughput 20 --cold 3 >"$TMP/fork.txt" || die "ukvm-bench-fork failed"
# after(LINE-REGEX, WORD): the number following WORD on that line, in ns (from us)
after() { awk -v w="$2" "/$1/"' { for (i = 1; i < NF; i++) if ($i == w) { print $(i + 1) * 1000; exit } }' "$TMP/fork.txt"; }
CLONE_MED=$(after '^template clone to ready' median)
CLONE_P99=$(after '^template clone to ready' p99)
TOUCH=$(awk '/^first touch after clone/ { for (i = 1; i <= NF; i++) if ($i == "us/page;") { sub(/\(/, "", $(i - 1)); print $(i - 1) * 1000 } }' "$TMP/fork.txt")
LIVE=$(after '^live fork op' median)
MKT=$(awk '/^make_template:/ { print $2 * 1000 }' "$TMP/fork.txt")
[ -n "$CLONE_MED" ] && [ -n "$TOUCH" ] || die "cannot read ukvm-bench-fork's output"
echo "template_clone_to_ready_median,0,$CLONE_MED,ukvm-bench-fork" >>"$CSV"
echo "template_clone_to_ready_p99,0,$CLONE_P99,ukvm-bench-fork" >>"$CSV"
echo "first_touch_per_page,8192,$TOUCH,ukvm-bench-fork" >>"$CSV"
echo "live_fork_op_median_260_pages,260,$LIVE,ukvm-bench-fork" >>"$CSV"
echo "make_template_80MiB,83886080,$MKT,ukvm-bench-fork" >>"$CSV"

# template clone to its console marker through bootbench: a cross-check
"$UKF" bootbench -n "$N" -j 1 --mem 8M --from-template --db "$DB" --json \
	--guest "$SYNTH" mem=8M init=0 work=0 dirty=0 >"$TMP/tmpl.json" ||
	die "bootbench --from-template failed"
RUN=$(sqlite3 "$DB" "SELECT max(id) FROM runs")
sqlite3 "$DB" "SELECT t_marker - t_launch FROM boots WHERE run = $RUN AND ok" >"$TMP/tmpl.txt"
awk '{ printf "template_clone_to_marker,8388608,%d,bootbench --from-template\n", $1 }' \
	"$TMP/tmpl.txt" >>"$CSV"
set -- $(stats <"$TMP/tmpl.txt")
TMPL_MARK=$2
SIGMAS="$SIGMAS$5
"
SIGLIST="${SIGLIST}template clone $5, "

# ---- 3. live forks and templates through the engine (kvm-ops.lua) ------
echo "kvm.sh: kvm-ops.lua on --backend kvm ($REPS runs)..." >&2
"$UKF" run "$HERE/kvm-ops.lua" --backend kvm --reps "$REPS" --quiet \
	--db "$DB" --trace "$TMP/ops.trace" >/dev/null ||
	die "ukfork run kvm-ops.lua failed"
# x = pages copied at the fork = the parent's count (its row, at exit: a
# kvm-ops.lua parent writes nothing after forking); the child's own row
# (copied + its unit's pages) is kept as a check that both worlds record it
sqlite3 -separator ' ' "$DB" "
	SELECT c.app, p.dirty_pages, c.t_ready - c.t_request, c.dirty_pages
	FROM instances c JOIN instances p ON p.run = c.run AND p.id = c.parent
	JOIN runs r ON r.id = c.run
	WHERE r.kind = 'scenario' AND c.start = 'fork' AND c.t_ready >= 0
	  AND c.t_ready >= c.t_request" >"$TMP/forks.txt"
awk '$4 < $2 { bad++ } END { exit bad > 0 }' "$TMP/forks.txt" ||
	echo "kvm.sh: warning: fork children whose own dirty_pages is below their parent's (the backend's EXIT count is missing?)" >&2
awk '{ printf "live_fork_request_to_ready,%d,%d,kvm-ops.lua\n", $2, $3 }' \
	"$TMP/forks.txt" >>"$CSV"
POINTS=""
for a in m8 m32 m64; do
	awk -v a=$a '$1 == a { print $3 }' "$TMP/forks.txt" >"$TMP/f.$a"
	DP=$(awk -v a=$a '$1 == a { print $2 }' "$TMP/forks.txt" | stats | cut -d' ' -f2)
	DC=$(awk -v a=$a '$1 == a { print $4 }' "$TMP/forks.txt" | stats | cut -d' ' -f2)
	set -- $(stats <"$TMP/f.$a")
	[ "$1" -ge 3 ] || die "too few forks of $a in kvm-ops.lua"
	POINTS="$POINTS$DP $2
"
	SIGMAS="$SIGMAS$5
"
	SIGLIST="${SIGLIST}fork $DP pages $5, "
	eval "FORK_$a=\"$DP pages: median $(us "$2") (n=$1, child's own count at exit $DC)\""
done
set -- $(printf '%s' "$POINTS" | fit)
FORK_BASE=$1 FORK_FREE=$2
FORK_PP=$(printf '%s' "$POINTS" | slope "$CLONE_MED")
FORK_PP=$(awk -v b="$FORK_PP" 'BEGIN { printf "%.0f", b < 0 ? 0 : b }')

# template-make -> template-ready of the trace, per run and app
awk '$3 == "template-make" { sub(/app=/, "", $4); t[$4] = $1 }
     $3 == "template-ready" { a = $4; sub(/app=/, "", a); b = $6; sub(/bytes=/, "", b)
        if (a in t) { printf "%d %.0f\n", b, ($1 - t[a]) * 1e9; delete t[a] } }' \
	"$TMP/ops.trace" >"$TMP/tmake.txt"
[ -s "$TMP/tmake.txt" ] || die "no template-make/template-ready pair in the trace"
awk '{ printf "make_template_engine,%d,%d,kvm-ops.lua trace\n", $1, $2 }' \
	"$TMP/tmake.txt" >>"$CSV"
set -- $(fit <"$TMP/tmake.txt")
TB=$1 TPB=$2
TMAKE_ALL=$(cut -d' ' -f2 "$TMP/tmake.txt" | stats)
if awk -v b="$TPB" -v a="$TB" 'BEGIN { exit !(b < 0 || a < 0 || b != b) }'; then
	# no positive per-byte trend in the noise: a flat median
	TB=$(echo "$TMAKE_ALL" | cut -d' ' -f2) TPB=0
	TFIT="no positive per-byte trend over $(wc -l <"$TMP/tmake.txt") samples: flat median"
else
	TFIT="least squares over $(wc -l <"$TMP/tmake.txt") samples (memory 8, 32, 64 MiB)"
fi
TB=$(awk -v a="$TB" 'BEGIN { printf "%.0f", a }')
TPB=$(awk -v b="$TPB" 'BEGIN { printf "%.6f", b }')
SIGMAS="$SIGMAS$(echo "$TMAKE_ALL" | cut -d' ' -f5)
"
SIGLIST="${SIGLIST}template make $(echo "$TMAKE_ALL" | cut -d' ' -f5)"

JITTER=$(printf '%s' "$SIGMAS" | sort -g | awk '{ v[NR] = $1 }
	END { printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

cat >"$OUT" <<EOF
# SPDX-License-Identifier: MIT
# kvm-local.conf - simulator costs measured on this machine's KVM backend by scripts/calibrate/kvm.sh (generated: regenerate, do not edit).
#
# Host $HOST, $(nproc) CPUs, KVM modules: $(ls /sys/module 2>/dev/null | grep '^kvm' | tr '\n' ' ' | sed 's/ $//'), $DATE.
# Load average (1/5/15 min) before: $LOAD0, after: $LOAD1 (other
# engineers' builds and tests share the 2 CPUs: medians are used, tails are
# noisy). Raw figures: data/measured/kvm-local.csv. Load it from a scenario
# with run { model = "<path to this file>" }; keys not set here keep
# data/model.conf's values (remote clone, template load: not measured on one
# node). How each figure is made: docs/calibration.md.

# Cold boot: ukfork bootbench -n $N -j 1 --mem M --guest synth mem=M init=0
# work=0 dirty=0 at M = 8, 16, 32 MiB (launch -> UKF-READY); medians
# $(us "$COLD8"), $(us "$COLD16"), $(us "$COLD32"). Fixed part: ukvm-bench --image hello
# -n $N (64 MiB VM, touches ~70 KiB): median $(us "$HELLO_MED"); per byte of guest
# memory: least-squares slope of (synth median - that) against memory bytes.
# (For comparison, the $BOOT_FIT.)
# Sim charges boot_base_ns to STARTED, then max(init, mem * boot_ns_per_mem_byte)
# to READY (synth touches every page of mem during its init). The image size is
# not varied here (its load is inside boot_base_ns): boot_ns_per_byte = 0.
boot_base_ns = $(us "$BOOT_BASE")   # source: ukvm-bench hello cold boot, $DATE, median of $N
boot_ns_per_byte = 0   # source: not measured (image size not varied; image load inside boot_base_ns)
boot_ns_per_mem_byte = $BOOT_PB   # source: bootbench synth cold boots at 8/16/32 MiB, slope per byte of guest memory, $DATE, medians of $N per size

# Template: template-make -> template-ready in the trace of
# ukfork run scripts/calibrate/kvm-ops.lua --backend kvm --reps $REPS
# (the monitor seals the template's memfd in place: no copy per byte);
# all samples: $(echo "$TMAKE_ALL" | awk '{ printf "n=%d, median %.1fus, p16 %.1fus, p84 %.1fus", $1, $2 / 1e3, $3 / 1e3, $4 / 1e3 }').
# Cross-check: ukvm-bench-fork make_template (80 MiB): $(us "$MKT").
template_base_ns = $(us "$TB")   # source: kvm-ops.lua trace, $TFIT, $DATE
template_ns_per_byte = $TPB   # source: kvm-ops.lua trace, $TFIT, $DATE

# Local clone. Template clone: ukvm-bench-fork --clones $((N * 5)), clone_template
# -> READY event (p99 $(us "$CLONE_P99")); bootbench --from-template, launch ->
# UKF-READY: median $(us "$TMPL_MARK").
clone_base_ns = $(us "$CLONE_MED")   # source: ukvm-bench-fork template clone to ready, $DATE, median of $((N * 5))
# Live fork, request -> ready of the child through the engine (kvm-ops.lua,
# $REPS runs): ${FORK_m8}; ${FORK_m32}; ${FORK_m64}.
# Sim charges clone_base_ns + pages * clone_ns_per_page: the slope is fitted
# with the intercept fixed at clone_base_ns (a free line: intercept
# $(us "$FORK_BASE"), slope $FORK_FREE ns/page). ukvm-bench-fork clone_live at
# 260 dirty pages: median $(us "$LIVE").
clone_ns_per_page = $FORK_PP   # source: kvm-ops.lua live forks, least-squares slope vs pages copied (parent's dirty pages), $DATE, medians of 3 counts
touch_ns_per_page = $TOUCH   # source: ukvm-bench-fork first touch after clone (8192 pages vs 0, medians of 5), $DATE

# Spread: robust lognormal sigma (ln p84 - ln p16)/2 of every group above
# (cold per size, template clones, forks per count, template makes):
# median over the groups. The tails are heavier than lognormal (host load).
# Per group: $SIGLIST.
jitter = $JITTER   # source: spread of the samples above, $DATE
EOF
echo "kvm.sh: wrote $OUT and $CSV" >&2
