#!/bin/bash
# SPDX-License-Identifier: MIT
# scripts/mutate.sh - a small mutation check: make one-line changes to a C
# file (delete a statement, flip a comparison or a logical operator), one
# at a time, rebuild, run the tests that should notice, and list the
# changes no test noticed ("survivors"). Asserts nothing; the file is
# restored after each mutant and on any exit.
set -u
PROG=scripts/mutate.sh

usage() {
	cat <<EOF
usage: $PROG --file FILE --tests REGEX [--build DIR] [--function NAME | --lines A-B]
                 [--kinds delete,cond,logic] [--max N] [--timeout S]
  --file FILE       the C file to mutate (relative to the repository)
  --tests REGEX     ctest -R regex of the tests that should catch changes
  --build DIR       an already configured build directory (default: build)
  --function NAME   only the body of function NAME (its first definition)
  --lines A-B       only lines A..B
  --kinds K,...     delete: drop a statement line; cond: == <-> !=, < <-> <=,
                    > <-> >=; logic: && <-> || (default: all three)
  --max N           at most N mutants, spread evenly over the candidates (default 40)
  --timeout S       per test (default 120)
Each mutant: one line changed, the build rebuilt (incrementally), the tests
run. Killed: a test failed. Survived: all passed (a gap, or an equivalent
change: read it). Stillborn: did not compile. Do not edit FILE meanwhile.
Example: $PROG --file core/dir.c --function ukf_dir_apply --tests 'core\\.dir'
EOF
}

FILE= TESTS= BUILD=build FUNC= LINES= KINDS=delete,cond,logic MAX=40 TMO=120
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	--file) FILE=${2:?--file needs a value}; shift 2 ;;
	--tests) TESTS=${2:?--tests needs a value}; shift 2 ;;
	--build) BUILD=${2:?--build needs a value}; shift 2 ;;
	--function) FUNC=${2:?--function needs a value}; shift 2 ;;
	--lines) LINES=${2:?--lines needs a value}; shift 2 ;;
	--kinds) KINDS=${2:?--kinds needs a value}; shift 2 ;;
	--max) MAX=${2:?--max needs a value}; shift 2 ;;
	--timeout) TMO=${2:?--timeout needs a value}; shift 2 ;;
	*) echo "$PROG: unknown option '$1' (try --help)" >&2; exit 2 ;;
	esac
done
cd "$(dirname "$0")/.." || exit 2
[ -n "$FILE" ] && [ -n "$TESTS" ] || { echo "$PROG: --file and --tests are required (try --help)" >&2; exit 2; }
[ -f "$FILE" ] || { echo "$PROG: --file $FILE: no such file" >&2; exit 2; }
[ -f "$BUILD/CMakeCache.txt" ] || { echo "$PROG: --build $BUILD: not a configured build directory" >&2; exit 2; }
[[ $MAX =~ ^[1-9][0-9]*$ ]] || { echo "$PROG: --max: '$MAX' is not a positive integer" >&2; exit 2; }
[[ $TMO =~ ^[1-9][0-9]*$ ]] || { echo "$PROG: --timeout: '$TMO' is not a positive integer" >&2; exit 2; }
n_tests=$(ctest --test-dir "$BUILD" -N -R "$TESTS" | sed -n 's/^Total Tests: //p')
[ "${n_tests:-0}" -gt 0 ] || { echo "$PROG: --tests '$TESTS' matches no test in $BUILD" >&2; exit 2; }

# the line range
total=$(wc -l <"$FILE")
first=1 last=$total
if [ -n "$FUNC" ]; then
	first=$(grep -n -E "^[A-Za-z].*[^A-Za-z0-9_]$FUNC\(" "$FILE" | head -1 | cut -d: -f1)
	[ -n "$first" ] || { echo "$PROG: --function $FUNC: no definition found in $FILE" >&2; exit 2; }
	last=$(awk -v f="$first" 'NR > f && /^}/ { print NR; exit }' "$FILE")
	[ -n "$last" ] || last=$total
elif [ -n "$LINES" ]; then
	[[ $LINES =~ ^([0-9]+)-([0-9]+)$ ]] || { echo "$PROG: --lines: '$LINES' is not A-B" >&2; exit 2; }
	first=${BASH_REMATCH[1]} last=${BASH_REMATCH[2]}
fi

# the candidates: "LINE KIND FROM TO" (FROM/TO: the text replaced once)
cands=()
while IFS= read -r entry; do cands+=("$entry"); done < <(
	awk -v a="$first" -v b="$last" -v kinds=",$KINDS," '
	NR < a || NR > b { next }
	{
		line = $0
		t = line; sub(/^[ \t]+/, "", t)
		if (t ~ /^(\/\*|\*|\/\/|#)/) next
		if (index(kinds, ",delete,") && t ~ /;[ \t]*$/ && t !~ /^(return|break|continue|goto|case|default)/ &&
		    t !~ /^(static |const |struct [a-z_]+ [*a-z_]|enum |u?int[0-9]*_t |size_t |char |int |double |unsigned |long |bool |ukf_[a-z_]+_t )/ &&
		    t !~ /[{}]/)
			print NR " delete"
		if (index(kinds, ",cond,")) {
			if (line ~ /==/) print NR " cond == !="
			else if (line ~ /!=/) print NR " cond != =="
			if (line ~ /<=/) print NR " cond <= <"
			else if (line ~ / < /) print NR " cond < <="
			if (line ~ />=/) print NR " cond >= >"
			else if (line ~ / > /) print NR " cond > >="
		}
		if (index(kinds, ",logic,")) {
			if (line ~ /&&/) print NR " logic && ||"
			else if (line ~ /\|\|/) print NR " logic || &&"
		}
	}' "$FILE")
((${#cands[@]})) || { echo "$PROG: no candidate lines in $FILE:$first-$last"; exit 0; }
step=$(((${#cands[@]} + MAX - 1) / MAX))

backup=$(mktemp "${TMPDIR:-/tmp}/ukf-mutate.XXXXXX")
cp -p "$FILE" "$backup"
restore() { cp -p "$backup" "$FILE"; }
trap 'restore; rm -f "$backup"; cmake --build "$BUILD" -j"$(nproc)" >/dev/null 2>&1' EXIT
trap 'exit 130' INT TERM

echo "# $FILE lines $first-$last: ${#cands[@]} candidates, every ${step}th tried; tests: $TESTS ($n_tests)"
if ! cmake --build "$BUILD" -j"$(nproc)" >/dev/null 2>&1 ||
	! ctest --test-dir "$BUILD" -R "$TESTS" --timeout "$TMO" -j2 >/dev/null 2>&1; then
	echo "$PROG: the unmutated build or its tests fail: fix that first" >&2
	exit 1
fi
killed=0 survived=0 stillborn=0 survivors=()
for ((i = 0; i < ${#cands[@]}; i += step)); do
	read -r ln kind from to <<<"${cands[$i]}"
	restore
	if [ "$kind" = delete ]; then
		desc="delete: $(sed -n "${ln}p" "$FILE" | sed 's/^[ \t]*//')"
		sed -i "${ln}s/.*/\t;/" "$FILE"
	else
		desc="$kind: '$from' -> '$to' in: $(sed -n "${ln}p" "$FILE" | sed 's/^[ \t]*//')"
		f=$(printf '%s' "$from" | sed 's/[|&]/\\&/g') t=$(printf '%s' "$to" | sed 's/[|&]/\\&/g')
		sed -i "${ln}s/$f/$t/" "$FILE"
	fi
	if ! cmake --build "$BUILD" -j"$(nproc)" >/dev/null 2>&1; then
		stillborn=$((stillborn + 1))
		printf '%5d stillborn  %s\n' "$ln" "$desc"
		continue
	fi
	if ctest --test-dir "$BUILD" -R "$TESTS" --timeout "$TMO" -j2 --stop-on-failure >/dev/null 2>&1; then
		survived=$((survived + 1))
		survivors+=("$FILE:$ln $desc")
		printf '%5d SURVIVED   %s\n' "$ln" "$desc"
	else
		killed=$((killed + 1))
		printf '%5d killed     %s\n' "$ln" "$desc"
	fi
done
tried=$((killed + survived))
echo "# $killed killed, $survived survived, $stillborn did not compile; score $((tried ? 100 * killed / tried : 0))% of $tried"
