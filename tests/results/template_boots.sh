#!/bin/sh
# SPDX-License-Identifier: MIT
# template_boots.sh UKFORK - the engine's own template boots (prewarm) in
# `ukfork report`: per configuration their count, the seconds they ran and
# those seconds times the app's vCPUs and memory equal what SQL computes
# from the template_boots rows, in the text table and in --json; a file without the table (written before it existed)
# still reports, text, JSON and --plot, without those figures.
set -u
UKFORK=$1
T=$(mktemp -d "${TMPDIR:-/tmp}/ukf-tboots.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL (template_boots): $*" >&2; cat "$T/out" >&2 2>/dev/null; exit 1; }
command -v jq >/dev/null || { echo "SKIP: jq is not installed"; exit 77; }
command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 is not installed"; exit 77; }

# Three nodes prewarm a at the start; b and rare are prewarmed at their
# first request; two configurations (placements), two replications.
cat >"$T/s.lua" <<'LUA'
cluster { nodes = 3, vcpus = 4, memory = "2G", cache = "512M" }
policy { placement = { "local", "template-affinity" }, templates = "prewarm",
         prewarm = 1, fetch = "peer" }
run { duration = "2s" }
app("a", "mem=64M init=50ms work=10ms vcpus=2")
app("b", "mem=64M init=50ms work=10ms dirty=16")
app("rare", "mem=64M init=50ms work=10ms")
constant { app = "b", interval = "200ms", node = 1, start = "300ms" }
constant { app = "a", interval = "500ms", node = 0, start = "100ms" }
process(function()
  sleep(0.5)
  wait(spawn("rare", 2))
end)
LUA
"$UKFORK" run "$T/s.lua" --reps 2 --db "$T/r.db" -q || fail "run exited $?"
q() { sqlite3 "$T/r.db" "$1"; }
# per run: the count of its boots, the seconds they ran (a boot still
# going at the end: to the run's end), times the vCPUs (a: 2, others 1)
# and the memory (64 MiB each)
d="(coalesce(b.t_end, r.sim_end_ns) - b.t_start) / 1e9"
per_run="select r.config, count(b.run) c, total($d) s,
	total($d * (case b.app when 'a' then 2 else 1 end)) v, total($d * 64) m
	from runs r left join template_boots b on b.run = r.id group by r.id"
[ "$(q "select count(*) from template_boots")" -ge 8 ] ||
	fail "only $(q "select count(*) from template_boots") template boots"
"$UKFORK" report "$T/r.db" --json >"$T/out" || fail "report --json exited $?"
"$UKFORK" report "$T/r.db" >"$T/txt" || fail "report exited $?"
for cfg in placement=local placement=template-affinity; do
	ns=$(q "select count(*) from ($per_run) where config = '$cfg'")
	n=$(q "select avg(c) from ($per_run) where config = '$cfg'")
	s=$(q "select avg(s) from ($per_run) where config = '$cfg'")
	v=$(q "select avg(v) from ($per_run) where config = '$cfg'")
	m=$(q "select avg(m) from ($per_run) where config = '$cfg'")
	[ "$ns" = 2 ] || fail "$cfg: $ns runs"
	jq -e --arg c "$cfg" --argjson n "$n" --argjson s "$s" \
		--argjson v "$v" --argjson m "$m" '
		(.scenarios[0].configs[] | select(.config == $c)) as $x
		| ($x.template_boots.mean - $n | fabs) < 1e-9
		and ($x.template_boot_s.mean - $s | fabs) < 1e-9
		and ($x.template_boot_vcpu_s.mean - $v | fabs) < 1e-9
		and ($x.template_boot_mem_mib_s.mean - $m | fabs) < 1e-6
		and $v > $s
		and $x.template_boots.n == 2
		and ([$x.per_run[].template_boots] | add) == 2 * $n
		and $x.template_boot_s.mean > 0' "$T/out" >/dev/null ||
		fail "$cfg: want $n boots, $s s, $v vCPU-s, $m MiB-s"
	# the text table shows the mean as the report rounds it
	sf=$(awk -v s="$s" 'BEGIN { printf(s >= 100 ? "%.1f" : s >= 10 ? "%.2f" : "%.3f", s) }')
	grep -E "^  template boot time \(s\) .* $sf( |$)" "$T/txt" >/dev/null ||
		fail "$cfg: no $sf s in the text: $(grep 'template boot' "$T/txt")"
	vf=$(awk -v s="$v" 'BEGIN { printf(s >= 100 ? "%.1f" : s >= 10 ? "%.2f" : "%.3f", s) }')
	grep -E "^  template boot vCPU-seconds .* $vf( |$)" "$T/txt" >/dev/null ||
		fail "$cfg: no $vf vCPU-s in the text: $(grep 'template boot' "$T/txt")"
done
grep -q '^template boots: the engine' "$T/txt" || fail "text header says nothing of template boots"
jq -e '.template_boot_method | test("t_end - t_start")' "$T/out" >/dev/null ||
	fail "no template_boot_method"
# each method whole, as in the text header (a 512-byte buffer cut this
# one after "before the table exis")
jq -e '.template_boot_method | endswith("a file written before the table existed")' "$T/out" >/dev/null ||
	fail "template_boot_method cut: $(jq -r .template_boot_method "$T/out" | tail -c 60)"

# An older file: the table dropped; report, --json and --plot still work.
sqlite3 "$T/r.db" "drop table template_boots" || fail "drop table"
"$UKFORK" report "$T/r.db" >"$T/txt" 2>"$T/err" || fail "report of an old file exited $?: $(cat "$T/err")"
grep -Eq '^  template boots \(not requests\) +- +-$' "$T/txt" ||
	fail "old file, text: $(grep 'template boots' "$T/txt")"
"$UKFORK" report "$T/r.db" --json >"$T/out" || fail "report --json of an old file exited $?"
jq -e '.scenarios[0].configs[0].template_boots.mean == null
	and .scenarios[0].configs[0].per_run[0].template_boot_s == null
	and .scenarios[0].configs[1].template_boot_vcpu_s.mean == null
	and .scenarios[0].configs[0].requests.mean > 0' "$T/out" >/dev/null ||
	fail "old file, json"
if command -v gnuplot >/dev/null; then
	"$UKFORK" report "$T/r.db" --plot "$T/plots" >"$T/txt" 2>"$T/err" ||
		fail "report --plot of an old file exited $?: $(cat "$T/err")"
	[ -s "$T/plots/s1-latency-cdf.png" ] || fail "no latency plot: $(ls "$T/plots")"
fi
echo "ok template_boots"
