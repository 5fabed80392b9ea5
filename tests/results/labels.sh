#!/bin/sh
# SPDX-License-Identifier: MIT
# labels.sh UKFORK - configuration labels made of swept strings (param()
# values with a newline, a tab, quotes, a backslash, UTF-8): the text
# report keeps one line per table row (control characters as C escapes),
# the --plot CDF data keeps its "# label: ..." comment on one line (a
# newline in it made the label's rest a data line), the bars' tick labels
# keep quotes and backslashes, and --json keeps the raw config next to the
# escaped label.
set -u
UKFORK=$1
T=$(mktemp -d "${TMPDIR:-/tmp}/ukf-labels.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL (labels): $*" >&2; cat "$T/out" >&2 2>/dev/null; exit 1; }
command -v jq >/dev/null || { echo "SKIP: jq is not installed"; exit 77; }

cat >"$T/lab.lua" <<'LUA'
cluster { nodes = 2, vcpus = 4, memory = "2G" }
run { duration = "1s" }
local x = param("x", { "a\nb", "t\tq\"u\\o", "\u{fc}\u{1F600} sp" })
app("svc", "mem=64M init=60ms work=5ms")
bursts { app = "svc", every = "400ms", size = 3 }
LUA
"$UKFORK" run "$T/lab.lua" --db "$T/l.db" >"$T/out" 2>&1 || fail "ukfork run exited $?"

"$UKFORK" report "$T/l.db" >"$T/out" 2>&1 || fail "report exited $?"
# the header row: all three labels on the line after "== scenario"
hdr=$(sed -n '/^== scenario/{n;p;}' "$T/out")
case $hdr in
*'x=a\nb'*'x=t\tq"u\o'*'x=ü😀 sp'*) ;;
*) fail "header row '$hdr': labels not on one line, escaped" ;;
esac
# every other line of the section is a figure row or blank: none starts
# with the rest of a label
grep -q '^b ' "$T/out" && fail "a label's newline broke the table"
# the header ends where the figures end: the emoji takes two columns
# (the label was padded as if it took one: the header a column short)
runs=$(grep -m1 '^  runs (replications)' "$T/out")
w1=$(printf '%s' "$hdr" | LC_ALL=C.UTF-8 wc -L)
w2=$(printf '%s' "$runs" | LC_ALL=C.UTF-8 wc -L)
[ "$w1" = "$w2" ] || fail "header $w1 columns wide, the rows $w2"
grep -q 'paired differences against x=a\\nb (' "$T/out" ||
	fail "the baseline's label not escaped in the paired differences"

UKF_GNUPLOT="$(dirname "$0")/fake_gnuplot.sh" "$UKFORK" report "$T/l.db" --plot "$T/p" >"$T/out" 2>&1 ||
	fail "report --plot exited $?"
# the bars' tick labels keep " and \ (they were ? from the data file):
# in the script, single-quoted; in the data file, one token with octal
# escapes
grep -qxF "set xtics rotate by -20 ('x=a\nb' 0, 'x=t\tq\"u\o' 1, 'x=ü😀 sp' 2)" "$T/p/plots.gp" ||
	fail "bar tick labels: $(grep xtics "$T/p/plots.gp")"
grep -qF '1 "x=t\134tq\042u\134o" ' "$T/p/s1-compare.dat" ||
	fail "bar data label: $(cat "$T/p/s1-compare.dat")"
grep -q '^# x=a\\nb: 9 completed of 9 requests$' "$T/p/s1-latency-cdf.dat" ||
	fail "CDF block comment not on one line"
# every line of the CDF data: a comment, blank, or two numbers
awk '/^#/ || NF == 0 { next } NF != 2 || $1 + 0 != $1 { print; bad = 1 } END { exit bad }' \
	"$T/p/s1-latency-cdf.dat" >"$T/out" || fail "CDF data has lines that are not data"

"$UKFORK" report "$T/l.db" --json >"$T/out" 2>&1 || fail "report --json exited $?"
jq -e '[.scenarios[0].configs[] | [.config, .label]] ==
	[["x=a\nb", "x=a\\nb"], ["x=t\tq\"u\\o", "x=t\\tq\"u\\o"],
	 ["x=\u00fc\ud83d\ude00 sp", "x=\u00fc\ud83d\ude00 sp"]]' "$T/out" >/dev/null ||
	fail "JSON config/label"
echo "ok: labels"
