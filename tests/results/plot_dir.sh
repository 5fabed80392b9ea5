#!/bin/sh
# SPDX-License-Identifier: MIT
# plot_dir.sh UKFORK - `ukfork report --plot DIR` into a DIR that holds an
# earlier report's plots: the plots of sections the new database does not
# have (s2-* after a file with two scenarios) are removed, not left beside
# the new ones as if they were its; other files stay, and a directory
# without our plots.gp is not cleaned. A stand-in gnuplot: no gnuplot needed.
set -u
UKFORK=$1
SRC=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/ukf-plotdir.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL (plot_dir): $*" >&2; ls "$T/p" >&2 2>/dev/null; exit 1; }
export UKF_GNUPLOT="$SRC/tests/results/fake_gnuplot.sh"

"$UKFORK" run "$SRC/tests/golden/sweep.lua" --db "$T/one.db" >/dev/null 2>&1 || fail "run sweep"
cp "$T/one.db" "$T/two.db"
"$UKFORK" run "$SRC/tests/golden/basic.lua" --db "$T/two.db" >/dev/null 2>&1 || fail "run basic"

"$UKFORK" report "$T/two.db" --plot "$T/p" >/dev/null 2>&1 || fail "report two.db --plot"
[ -f "$T/p/s2-compare.dat" ] && [ -f "$T/p/s2-timeseries.dat" ] || fail "no s2 data for two scenarios"
: >"$T/p/notes.txt"
: >"$T/p/s1-mine.png"
"$UKFORK" report "$T/one.db" --plot "$T/p" >/dev/null 2>&1 || fail "report one.db --plot"
for f in "$T"/p/s2-*; do
	[ -e "$f" ] && fail "$(basename "$f") of the earlier report left in DIR"
done
[ -f "$T/p/s1-compare.dat" ] || fail "s1-compare.dat not written"
# sweep.lua stores no samples: no time series data (it was an empty file
# that no plot used)
[ -e "$T/p/s1-timeseries.dat" ] && fail "s1-timeseries.dat written for a section without samples"
[ -f "$T/p/notes.txt" ] && [ -f "$T/p/s1-mine.png" ] || fail "a file not of ours removed"

mkdir "$T/q"
: >"$T/q/s2-compare.png"
"$UKFORK" report "$T/one.db" --plot "$T/q" >/dev/null 2>&1 || fail "report into q"
[ -f "$T/q/s2-compare.png" ] || fail "a directory without our plots.gp was cleaned"
echo "ok: plot_dir"
