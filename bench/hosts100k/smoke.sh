#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# smoke.sh - scripts/bench/hosts100k.lua at a tiny size (100 hosts, 1,000 requests): the counts come out right.
#   smoke.sh UKFORK SOURCE_DIR
# Checks what a user of the benchmark would see go wrong: every spawn
# arrives and forks once (forks = spawns, about requests/2 of each), none
# fails, contention (cores) and least-loaded placement are what ran. No
# timing is asserted.
set -euo pipefail
ukf=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "hosts100k smoke: $*" >&2; exit 1; }

"$ukf" run "$src/scripts/bench/hosts100k.lua" --set hosts=100 \
	--set requests=1000 --db "$tmp/r.db" >"$tmp/out" 2>&1 ||
	{ cat "$tmp/out" >&2; fail "ukfork run failed"; }
q() { sqlite3 "$tmp/r.db" "$1"; }
[ "$(q 'select count(*) from runs')" = 1 ] || fail "expected 1 run"
spawns=$(q 'select count(*) from instances where parent = 0')
forks=$(q 'select count(*) from instances where parent <> 0')
bad=$(q 'select count(*) from instances where status <> 0 or t_exit is null')
settings=$(q "select json_extract(settings_json, '$.nodes') || ' ' ||
	json_extract(settings_json, '$.cores') || ' ' ||
	json_extract(settings_json, '$.placement') from runs")
echo "spawns $spawns, forks $forks, failed or unfinished $bad, settings: $settings"
# 500 spawns expected (Poisson, seed 7): well within 400..600.
[ "$spawns" -ge 400 ] && [ "$spawns" -le 600 ] ||
	fail "$spawns spawns, expected about 500"
[ "$forks" = "$spawns" ] || fail "$forks forks for $spawns spawns (fork=1: one each)"
[ "$bad" = 0 ] || fail "$bad instances failed or never exited"
[ "$settings" = "100 4 least-loaded" ] ||
	fail "settings '$settings', expected '100 4 least-loaded'"
grep -qE "^run .*: [0-9]+ events" "$tmp/out" || fail "no events line in the output"
echo "hosts100k smoke: ok"
