#!/bin/bash
# SPDX-License-Identifier: MIT
# dir_cmd.sh UKFORK SRC embedded|etcd - `ukfork calibrate --directory` end to
# end: the model file gets dir_delay_ns and dir_delay_p99_ns (p99 >= median
# > 0), the raw samples are in calib_samples, a simulated run naming the
# file (--set model=) takes them as dir_delay and dir_delay_p99 (its
# settings_json: fails if the keys are ignored), a scenario's own dir_delay
# wins, data/model.conf leaves the defaults, --from-db refits the same keys.
# etcd: on a local etcd (scripts/etcd/local.sh; skipped, 77, without etcd),
# and an etcd nobody listens on: exit 1 naming the endpoint.
set -u
ukf=$1 src=$2 mode=$3
scen=$src/tests/cli/scenarios/effect_directory.lua
T=$(mktemp -d /tmp/ukf-dircal-test.XXXXXX)
cleanup() {
	[ -d "$T/etcd" ] && bash "$src/scripts/etcd/local.sh" stop "$T/etcd" --clean >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
fail() {
	echo "dir_cmd.sh: FAIL: $*" >&2
	exit 1
}
key() { sed -n "s/^$1 = \([0-9]*\) .*/\1/p" "$2"; }
setting() { sqlite3 "$1" "SELECT json_extract(settings_json, '\$.$2') FROM runs"; }

case $mode in
embedded)
	args=(--directory embedded) op=dir_embedded ;;
etcd)
	if ! command -v etcd >/dev/null; then
		echo "dir_cmd.sh: etcd is not installed (apt-get install etcd-server): skipped" >&2
		exit 77
	fi
	"$ukf" calibrate --directory etcd --etcd http://127.0.0.1:9 -n 5 \
		--out "$T/none.conf" 2>"$T/err" >/dev/null
	rc=$?
	[ $rc = 1 ] || fail "unreachable etcd: exit $rc, not 1"
	grep -q "127.0.0.1:9" "$T/err" || fail "unreachable etcd: the error names no endpoint: $(cat "$T/err")"
	[ ! -e "$T/none.conf" ] || fail "unreachable etcd: a model file was written"
	eps=$(bash "$src/scripts/etcd/local.sh" start "$T/etcd" 2>"$T/etcd.err") ||
		fail "cannot start etcd: $(cat "$T/etcd.err")"
	args=(--directory etcd --etcd "$eps") op=dir_etcd ;;
*)
	echo "usage: dir_cmd.sh UKFORK SRC embedded|etcd" >&2
	exit 2 ;;
esac

"$ukf" calibrate "${args[@]}" -n 40 --db "$T/c.db" --out "$T/m.conf" \
	--note "test (it's one)" >"$T/summary" 2>"$T/progress" ||
	fail "calibrate: $(cat "$T/progress")"
cat "$T/summary"
# the command line as a shell takes it back (was: --note test (it's one))
grep -qF -- "--note 'test (it'\''s one)'" "$T/m.conf" ||
	fail "the Command comment: $(grep '^# Command' "$T/m.conf")"
d=$(key dir_delay_ns "$T/m.conf") p=$(key dir_delay_p99_ns "$T/m.conf")
[ -n "$d" ] && [ -n "$p" ] || fail "no dir_delay_ns / dir_delay_p99_ns in the model file"
[ "$d" -gt 0 ] && [ "$p" -ge "$d" ] || fail "keys: median $d ns, p99 $p ns"
n=$(sqlite3 "$T/c.db" "SELECT count(*) FROM calib_samples WHERE op = '$op' AND x = 0 AND ns > 0")
[ "$n" = 40 ] || fail "calib_samples holds $n samples of $op, not 40"
grep -q "^jitter\|^boot_base_ns\|^clone_base_ns" "$T/m.conf" && fail "cost keys in a directory calibration"

# a simulated run naming the file takes the keys
"$ukf" run "$scen" --set "model=$T/m.conf" --db "$T/r.db" --quiet >/dev/null ||
	fail "ukfork run with the model file"
[ "$(setting "$T/r.db" dir_delay_ns)" = "$d" ] ||
	fail "run: dir_delay_ns '$(setting "$T/r.db" dir_delay_ns)', the file says $d"
[ "$(setting "$T/r.db" dir_delay_p99_ns)" = "$p" ] ||
	fail "run: dir_delay_p99_ns '$(setting "$T/r.db" dir_delay_p99_ns)', the file says $p"
# the scenario's own dir_delay wins (the p99 is not taken either)
"$ukf" run "$scen" --set "model=$T/m.conf" --set dir_delay=3ms --db "$T/r2.db" --quiet >/dev/null ||
	fail "ukfork run with dir_delay"
[ "$(setting "$T/r2.db" dir_delay_ns)" = 3000000 ] && [ -z "$(setting "$T/r2.db" dir_delay_p99_ns)" ] ||
	fail "dir_delay=3ms with the model file: $(setting "$T/r2.db" dir_delay_ns) / $(setting "$T/r2.db" dir_delay_p99_ns)"
# data/model.conf: 0, the defaults stay (nothing in settings_json)
"$ukf" run "$scen" --set "model=$src/data/model.conf" --db "$T/r3.db" --quiet >/dev/null ||
	fail "ukfork run with data/model.conf"
[ -z "$(setting "$T/r3.db" dir_delay_ns)" ] || fail "data/model.conf set dir_delay"

# --from-db refits the same keys
"$ukf" calibrate --from-db "$T/c.db" --out "$T/re.conf" >/dev/null 2>&1 || fail "--from-db"
[ "$(key dir_delay_ns "$T/re.conf")" = "$d" ] && [ "$(key dir_delay_p99_ns "$T/re.conf")" = "$p" ] ||
	fail "--from-db: other keys"
grep -q "too few" "$T/m.conf" "$T/summary" && fail "n=40: the p99 said to be from too few samples"
# n=2: the interpolated p99 lies below its own interval's lower bound (the
# larger sample); the file and the summary say so beside it
# (with a note of 1500 bytes: the file's command line is whole, it was cut
# at 1024 bytes)
long=$(printf 'n%.0s' $(seq 1500))
"$ukf" calibrate "${args[@]}" -n 2 --out "$T/two.conf" --note "$long end" >"$T/sum2" 2>/dev/null ||
	fail "calibrate -n 2"
grep -q "^# Command: .* --note '$long end'\$" "$T/two.conf" ||
	fail "-n 2: the command line is not whole: $(grep '^# Command' "$T/two.conf" | wc -c) bytes"
grep -q "^#   (n=2 is too few for a p99" "$T/two.conf" ||
	fail "-n 2: no note beside the p99 in the file: $(grep -i p99 "$T/two.conf")"
grep -q "(too few samples for a p99)" "$T/sum2" || fail "-n 2: summary: $(cat "$T/sum2")"
echo "dir_cmd.sh: $mode: median $d ns, p99 $p ns; taken by the run: ok"
