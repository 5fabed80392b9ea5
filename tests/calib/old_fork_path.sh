#!/bin/sh
# SPDX-License-Identifier: MIT
# old_fork_path.sh UKFORK SRC - a calibration without the engine's own
# samples (before the host model keys: no clone_engine) fits the live
# fork with its intercept fixed at the clone's and scales the line by
# the spread's mean: the model file then says fork_base_ns (it left it
# out, and the simulator charged clone_base_ns, not the base the summary
# printed), and the summary's slope lies inside its own interval (it
# printed the unscaled one: 755.7 [874.8, 916.9]). Synthetic samples of
# known costs (awk, a fixed seed). 77 without the sqlite3 command.
set -u
ukf=$1 src=$2
command -v sqlite3 >/dev/null || { echo "SKIP: no sqlite3 command"; exit 77; }
T=$(mktemp -d /tmp/ukf-oldfork-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() {
	echo "old_fork_path.sh: FAIL: $*" >&2
	exit 1
}
# boots and templates at 3 sizes, clones, forks at 3 page counts (a
# heavy-ish spread: its fitted mean is not 1), agent messages
awk 'function z() { u1 = rand(); u2 = rand(); return sqrt(-2 * log(u1)) * cos(6.283185307 * u2) }
function f() { return exp(s * z() - s * s / 2) }
BEGIN { srand(42); s = 0.05; print "op,x,ns,calib"
	split("8388608 16777216 33554432", M, " ")
	for (i = 1; i <= 3; i++) for (k = 0; k < 50; k++) {
		printf "boot,%.1f,%.1f,1\n", M[i], (2e6 + 0.5 * M[i]) * f()
		printf "template,%.1f,%.1f,1\n", M[i], (1e6 + 0.2 * M[i]) * f() }
	for (k = 0; k < 50; k++) printf "clone,8388608.0,%.1f,1\n", 500000 * f()
	split("72 520 2056", D, " ")
	for (i = 1; i <= 3; i++) for (k = 0; k < 50; k++)
		printf "fork,%.1f,%.1f,1\n", D[i], (300000 + 1000 * D[i]) * f()
	for (k = 0; k < 100; k++) printf "agent,0.0,%.1f,1\n", 20000 * f() }' >"$T/s.csv"
printf '%s\n' 'id,date,host,kvm,backend,plan,command,load,n,cluster,link,link_latency_ns,link_bandwidth' \
	'1,2026-12-07T00:00Z,synthetic,none,kvm,none,awk,,50,,,0.0,0.0' >"$T/r.csv"
sh "$src/scripts/calibrate/from-csv.sh" "$T/s.csv" "$T/r.csv" "$T/c.db" || fail "from-csv.sh"
"$ukf" calibrate --from-db "$T/c.db" --out "$T/m.conf" >"$T/out" 2>&1 || fail "calibrate: $(cat "$T/out")"
row=$(grep '^fork  ' "$T/out") || fail "no fork row: $(cat "$T/out")"
# fork  150  416.1 us + 755.7 ns/page [738, 773.4]  ...
echo "$row" | awk '{ sl = $6; lo = $8; hi = $9; gsub(/[\[,]/, "", lo); gsub(/\]/, "", hi)
	exit !(lo + 0 <= sl + 0 && sl + 0 <= hi + 0) }' || fail "the slope outside its interval: $row"
base_us=$(echo "$row" | awk '{ print $3 }')
fb=$(sed -n 's/^fork_base_ns = \([0-9]*\) .*/\1/p' "$T/m.conf")
[ -n "$fb" ] || fail "no fork_base_ns in the model: $(grep -n 'fork\|clone' "$T/m.conf")"
awk -v a="$base_us" -v b="$fb" 'BEGIN { d = a * 1000 - b; exit !(d < 1000 && d > -1000) }' ||
	fail "fork_base_ns $fb against the summary's $base_us us"
# the simulator loads it
printf '%s\n' 'cluster { nodes = 1 }' "run { duration = \"1s\", model = \"$T/m.conf\" }" \
	'app("a", "mem=16M init=1ms work=1ms")' 'poisson { app = "a", rate = 10 }' >"$T/s.lua"
"$ukf" run "$T/s.lua" --quiet >/dev/null 2>"$T/err" || fail "run with the model: $(cat "$T/err")"
echo ok
