#!/bin/sh
# SPDX-License-Identifier: MIT
# plot_names.sh UKFORK - `ukfork report DB --plot DIR` with a DB and DIR
# whose names hold newlines and quotes, and labels with ' " \ and %:
# plots.gp's header names them as shell words on its one comment line (a
# DB named $'x\nsystem "touch PWNED"\n#.db' had gnuplot run that command,
# a DIR with a newline made gnuplot fail after the data files were
# written), and the labels reach the plots unchanged. The script's text
# with a stand-in gnuplot; the plots themselves when gnuplot is installed.
set -u
UKFORK=$1
FAKE=$(cd "$(dirname "$0")" && pwd)/fake_gnuplot.sh
T=$(mktemp -d "${TMPDIR:-/tmp}/ukf-plotnames.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL (plot_names): $*" >&2; exit 1; }
NL='
'

cat >"$T/s.lua" <<'LUA'
cluster { nodes = 2, vcpus = 4, memory = "2G" }
run { duration = "1s" }
local l = param("l", { "it's", "a\"b\\c", "50% %s %n" })
app("svc", "mem=64M init=60ms work=5ms")
bursts { app = "svc", every = "400ms", size = 3 }
LUA
"$UKFORK" run "$T/s.lua" --db "$T/base.db" -q || fail "run exited $?"
DB="$T/inj${NL}system \"touch PWNED\"${NL}#.db"
DIR="$T/d${NL}ir"
cp "$T/base.db" "$DB" || fail "cp"

# The header: one line, DB and DIR as $'...' words (a newline as \n).
UKF_GNUPLOT=$FAKE "$UKFORK" report "$DB" --plot "$DIR" >/dev/null 2>"$T/err" ||
	fail "report --plot exited $?: $(cat "$T/err")"
want="# plots.gp - written by \`ukfork report \$'$T/inj\\nsystem \"touch PWNED\"\\n#.db' --plot \$'$T/d\\nir'\`; run: cd \$'$T/d\\nir' && gnuplot plots.gp"
[ "$(sed -n 1p "$DIR/plots.gp")" = "$want" ] ||
	fail "header: $(sed -n 1,3p "$DIR/plots.gp")"
grep -q '^system\|^ir\|^#\.db' "$DIR/plots.gp" && fail "a name's rest on its own line"
# the run: hint is a command that works (a gnuplot in PATH: the stand-in)
if command -v bash >/dev/null; then
	mkdir "$T/bin" && ln -s "$FAKE" "$T/bin/gnuplot" || fail "bin"
	rm -f "$DIR"/*.png
	PATH="$T/bin:$PATH" bash -c "$(sed -n '1s/.*; run: //p' "$DIR/plots.gp")" ||
		fail "the header's run: command failed"
	[ -s "$DIR/s1-compare.png" ] || fail "the run: command drew nothing"
fi
# a name with ' and a blank (no control character): '...' with '\''
cp "$T/base.db" "$T/q'x y.db"
UKF_GNUPLOT=$FAKE "$UKFORK" report "$T/q'x y.db" --plot "$T/plain" >/dev/null 2>"$T/err" ||
	fail "report q'x y.db exited $?: $(cat "$T/err")"
want="# plots.gp - written by \`ukfork report '$T/q'\\''x y.db' --plot $T/plain\`; run: cd $T/plain && gnuplot plots.gp"
[ "$(sed -n 1p "$T/plain/plots.gp")" = "$want" ] ||
	fail "header of q'x y.db: $(sed -n 1p "$T/plain/plots.gp")"
# bar tick labels: ' doubled, % doubled (set xtics takes them as formats)
grep -qxF "set xtics rotate by -20 ('l=it''s' 0, 'l=a\"b\\c' 1, 'l=50%% %%s %%n' 2)" "$DIR/plots.gp" ||
	fail "tick labels: $(grep xtics "$DIR/plots.gp")"

if ! command -v gnuplot >/dev/null; then
	echo "SKIP: gnuplot is not installed (apt-get install gnuplot-nox)"
	exit 77
fi
rm -rf "$DIR"
(cd "$T" && "$UKFORK" report "$DB" --plot "$DIR" >/dev/null 2>"$T/err") ||
	fail "report --plot with gnuplot exited $?: $(cat "$T/err")"
[ -z "$(find "$T" -name PWNED)" ] || fail "gnuplot ran a command from the DB's name"
for l in "l=it's" 'l=a"b\c' 'l=50% %s %n'; do
	for f in s1-compare s1-success s1-latency-cdf; do
		grep -qF "<text>$l</text>" "$DIR/$f.svg" || fail "$f.svg: no label $l"
	done
done
echo "ok: plot_names"
