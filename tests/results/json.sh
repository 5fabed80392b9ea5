#!/bin/sh
# SPDX-License-Identifier: MIT
# json.sh UKFORK - `ukfork bootbench --json` and `ukfork report --json`
# (one json-c writer) parse with jq and hold the expected values: quotes
# in strings, null for figures that cannot be computed (NaN), the report's
# figures equal to the database's rows.
set -u
UKFORK=$1
T=$(mktemp -d "${TMPDIR:-/tmp}/ukf-json.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL (json): $*" >&2; cat "$T/out" >&2 2>/dev/null; exit 1; }
command -v jq >/dev/null || { echo "SKIP: jq is not installed"; exit 77; }

# All boots show the marker (which holds quotes).
"$UKFORK" bootbench -n 3 -j 3 --json --marker 'say "hi"' \
	--cmd "echo 'say \"hi\"'" >"$T/out" || fail "bootbench exited $?"
jq -e '.count == 3 and .ok == 3 and .failed == 0 and .marker == "say \"hi\""
	and (.failures | length) == 0 and (.median_ms | type) == "number"
	and .min_ms <= .median_ms and .median_ms <= .max_ms
	and .kvm_emulated == false' "$T/out" >/dev/null || fail "bootbench --json, all ok"
# None does: every latency figure is null, not NaN; failures listed with
# their last output (quotes and a backslash).
"$UKFORK" bootbench -n 2 -j 2 --json --cmd 'echo "no \"way\" \\o/"; exit 3' >"$T/out"
jq -e '.ok == 0 and .failed == 2 and .median_ms == null and .median_ci_ms == [null, null]
	and .p99_ms == null and .launch_rate == null and (.failures | length) == 2
	and .failures[0].status == 3 and (.failures[0].reason | test("status 3"))
	and .failures[1].last_output == "no \"way\" \\o/\n"' \
	"$T/out" >/dev/null || fail "bootbench --json, all failed"

# report --json of a simulated run: figures equal to the rows.
cat >"$T/s.lua" <<'LUA'
cluster { nodes = 2, vcpus = 2, memory = "1G" }
run { duration = "1s" }
app("web", "mem=64M init=50ms work=100ms dirty=64")
poisson { app = "web", rate = 20 }
LUA
"$UKFORK" run "$T/s.lua" --db "$T/r.db" -q || fail "run exited $?"
"$UKFORK" report "$T/r.db" --json >"$T/out" || fail "report --json"
n=$(sqlite3 "$T/r.db" "select count(*) from instances")
ok=$(sqlite3 "$T/r.db" "select count(*) from instances where t_ready > 0 and t_ready >= t_request")
jq -e --argjson n "$n" --argjson ok "$ok" '.runs == 1
	and .scenarios[0].configs[0].requests.mean == $n
	and .scenarios[0].configs[0].requests.ci95_lo == null
	and .scenarios[0].configs[0].latency_p50_pooled_ms.n == $ok
	and (.scenarios[0].configs[0].success_rate.mean - $ok / $n | fabs) < 1e-9
	and .scenarios[0].configs[0].per_run[0].mean_memory_mib == null' \
	"$T/out" >/dev/null || fail "report --json figures (n=$n ok=$ok)"
echo "ok json"
