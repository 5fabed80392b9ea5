#!/bin/sh
# SPDX-License-Identifier: MIT
# plot.sh UKFORK - `ukfork report DB --plot DIR` on a small database made by
# `ukfork run` (two placements, two reps, node samples) and `ukfork
# bootbench --db`: every plot is a real PNG and SVG, the data files hold the
# database's numbers (CDF ends = min/max latency and the success rate,
# bars = the report's figures, hits and load = the rows), and a missing
# gnuplot is a clear error.
set -u
UKFORK=$1
T=$(mktemp -d "${TMPDIR:-/tmp}/ukf-plot.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL (plot): $*" >&2; exit 1; }
q() { sqlite3 "$T/r.db" "$1"; }
# |a - b| <= 1e-6 (1 + |b|)
near() { awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; m = b < 0 ? -b : b; exit !(d <= 1e-6 * (1 + m)) }'; }

cat >"$T/s.lua" <<'LUA'
cluster { nodes = 2, vcpus = 2, memory = "1G" }
policy { placement = { "random", "least-loaded" }, templates = "on-demand", fetch = "peer" }
run { duration = "2s", sample_every = "500ms" }
app("web", "mem=64M init=50ms work=200ms dirty=64")
poisson { app = "web", rate = 20 }
LUA
"$UKFORK" run "$T/s.lua" --db "$T/r.db" --reps 2 -q || fail "run exited $?"
"$UKFORK" bootbench -n 5 -j 5 --db "$T/r.db" --cmd 'echo UKF-READY' >/dev/null ||
	fail "bootbench exited $?"

# No gnuplot: status 1, a message saying what to install, no output.
PATH=/nonexistent "$UKFORK" report "$T/r.db" --plot "$T/none" >"$T/out" 2>"$T/err"
rc=$?
[ $rc = 1 ] || fail "without gnuplot: exit $rc, want 1"
grep -q "needs gnuplot.*gnuplot-nox" "$T/err" || fail "without gnuplot: $(cat "$T/err")"
[ ! -s "$T/out" ] || fail "without gnuplot: a report was printed"
UKF_GNUPLOT=/nonexistent/gnuplot "$UKFORK" report "$T/r.db" --plot "$T/none" >/dev/null 2>"$T/err" &&
	fail "UKF_GNUPLOT=/nonexistent/gnuplot succeeded"
grep -q "UKF_GNUPLOT=/nonexistent/gnuplot" "$T/err" || fail "bad UKF_GNUPLOT: $(cat "$T/err")"
# a bare name is looked up in PATH, as a shell does (it was taken as a
# file in the current directory and refused); true draws nothing: status
# 1 naming the missing plots, no "wrote" (it said it wrote them all)
UKF_GNUPLOT=true "$UKFORK" report "$T/r.db" --plot "$T/bare" >"$T/out" 2>"$T/err" &&
	fail "UKF_GNUPLOT=true (no plots made) succeeded"
grep -q "^ukfork report: --plot: .*/true exited 0 but 12 of the 12 plot files are missing or empty in $T/bare: s1-latency-cdf.png, s1-latency-cdf.svg, s1-compare.png, s1-compare.svg and 8 more\$" "$T/err" ||
	fail "UKF_GNUPLOT=true: $(cat "$T/err")"
grep -q wrote "$T/err" && fail "UKF_GNUPLOT=true: 'wrote' plots it did not make"
[ ! -s "$T/out" ] || fail "UKF_GNUPLOT=true: a report was printed"
UKF_GNUPLOT=no-such-gnuplot "$UKFORK" report "$T/r.db" --plot "$T/none" >/dev/null 2>"$T/err" &&
	fail "UKF_GNUPLOT=no-such-gnuplot succeeded"
grep -q "UKF_GNUPLOT=no-such-gnuplot is not an executable program in PATH" "$T/err" || fail "bad bare UKF_GNUPLOT: $(cat "$T/err")"
"$UKFORK" report "$T/r.db" --plot >/dev/null 2>&1 && fail "--plot without a directory accepted"

if ! command -v gnuplot >/dev/null; then
	echo "SKIP: gnuplot is not installed (apt-get install gnuplot-nox)"
	exit 77
fi
"$UKFORK" report "$T/r.db" --plot "$T/p" >"$T/out" 2>"$T/err" || fail "report --plot: $(cat "$T/err")"
grep -q "== scenario" "$T/out" || fail "no report printed with --plot"
brun=$(q "select id from runs where kind = 'bootbench'")
for b in s1-latency-cdf s1-compare s1-success s1-load s1-template-hits "bootbench-run$brun"; do
	[ "$(head -c 8 "$T/p/$b.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
		fail "$b.png is not a PNG"
	grep -q "<svg" "$T/p/$b.svg" || fail "$b.svg is not an SVG"
	grep -q "wrote $T/p/$b.png" "$T/err" || fail "$b not listed on stderr"
done

ready="t_ready > 0 and t_ready >= t_request"
# CDF, one block per configuration in order of first run: first x = min
# latency, last x = max latency, last y = completed / requests.
awk '/^#/ { b++; next } NF == 2 { if (!(b in f)) f[b] = $1; l[b] = $1; y[b] = $2; n[b]++ }
     END { for (i = 1; i <= b; i++) print f[i], l[i], y[i], n[i] }' \
	"$T/p/s1-latency-cdf.dat" >"$T/cdf"
[ "$(wc -l <"$T/cdf")" = 2 ] || fail "CDF: $(wc -l <"$T/cdf") blocks, want 2"
i=0
for cfg in placement=random placement=least-loaded; do
	i=$((i + 1))
	set -- $(sed -n "${i}p" "$T/cdf")
	w="from instances i join runs r on r.id = i.run where r.config = '$cfg'"
	min=$(q "select min(t_ready - t_request) / 1e6 $w and $ready")
	max=$(q "select max(t_ready - t_request) / 1e6 $w and $ready")
	succ=$(q "select 1.0 * sum($ready) / count(*) $w")
	cnt=$(q "select count(*) $w and $ready")
	near "$1" "$min" || fail "CDF $cfg starts at $1, min latency is $min"
	near "$2" "$max" || fail "CDF $cfg ends at $2, max latency is $max"
	near "$3" "$succ" || fail "CDF $cfg tops at $3, success rate is $succ"
	[ "$4" = "$cnt" ] || fail "CDF $cfg has $4 points, $cnt completed requests"
done

# Bars: the report's mean latency and success rate with their intervals.
"$UKFORK" report "$T/r.db" --json >"$T/j" || fail "report --json"
for i in 0 1; do
	set -- $(awk -v i=$i '$1 == i { print $3, $4, $5, $9, $10, $11 }' "$T/p/s1-compare.dat")
	c=".scenarios[0].configs[$i]"
	near "$1" "$(jq "$c.latency_mean_ms.mean" "$T/j")" || fail "bar $i mean $1"
	near "$2" "$(jq "$c.latency_mean_ms.ci95_lo" "$T/j")" || fail "bar $i lo $2"
	near "$3" "$(jq "$c.latency_mean_ms.ci95_hi" "$T/j")" || fail "bar $i hi $3"
	near "$4" "$(jq "$c.success_rate.mean" "$T/j")" || fail "success bar $i $4"
	near "$6" "$(jq "$c.success_rate.ci95_hi" "$T/j")" || fail "success bar $i hi $6"
done

# Time series of the first configuration's first run: one row per sample
# time, load summed over nodes, template hits adding up to the run's
# template starts up to the last sample.
run=$(q "select min(id) from runs where config = 'placement=random'")
awk '/^#/ { b++; next } b == 1 && NF == 4' "$T/p/s1-timeseries.dat" >"$T/ts"
[ "$(wc -l <"$T/ts")" = "$(q "select count(distinct t) from samples where run = $run")" ] ||
	fail "time series rows"
last=$(q "select max(t) from samples where run = $run")
hits=$(q "select count(*) from instances where run = $run and start_code = 1 and t_start <= $last")
[ "$(awk '{ s += $4 } END { print s + 0 }' "$T/ts")" = "$hits" ] ||
	fail "template hits sum to $(awk '{ s += $4 } END { print s + 0 }' "$T/ts"), want $hits"
[ "$hits" -gt 0 ] || fail "no template hit to plot"
t1=$(q "select min(t) from samples where run = $run and t > 0")
load=$(q "select sum(instances) from samples where run = $run and t = $t1")
awk -v t="$t1" -v l="$load" '$1 * 1e9 > t - 1 && $1 * 1e9 < t + 1 { found = 1; exit !($2 == l) } END { if (!found) exit 1 }' "$T/ts" ||
	fail "load at t=$t1 is not $load"

# Bootbench histogram: 5 boots that showed the marker, ceil(sqrt 5) = 3
# bins (or 1 if all took the same time) counting them all.
bins=$(grep -vc '^#' "$T/p/bootbench-run$brun.dat")
[ "$bins" = 3 ] || [ "$bins" = 1 ] || fail "$bins histogram bins"
[ "$(awk '!/^#/ { s += $2 } END { print s }' "$T/p/bootbench-run$brun.dat")" = 5 ] ||
	fail "histogram does not count the 5 boots"
echo "ok plot"
