#!/bin/sh
# SPDX-License-Identifier: MIT
# admission.sh - policy{ admission = } from a scenario: a bad value is
# refused at its line (exit 2, nothing stored); a sweep of full and cow on
# one 1 GiB host running 300 clones of a 64 MiB template that dirty 1 MiB
# each holds 16 instances under full and all 301 under cow (the samples).
#   admission.sh UKFORK
set -u
UKFORK=$1
T=$(mktemp -d "${TMPDIR:-/tmp}/ukf-adm.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL [admission]: $*" >&2; exit 1; }

printf 'run { duration = "1s" }\npolicy { admission = "half" }\n' >"$T/s.lua"
"$UKFORK" run "$T/s.lua" --quiet --db "$T/db" 2>"$T/err"
[ $? = 2 ] || fail "admission=half: not exit 2"
grep -qF "s.lua:2: setting 'admission': bad value 'half' (valid: full, cow)" \
	"$T/err" || fail "admission=half: $(cat "$T/err")"
[ ! -e "$T/db" ] || fail "admission=half: a database was written"

# the live world admits by the whole mem: cow is refused there
printf 'policy { admission = "cow" }\n' >"$T/s.lua"
if "$UKFORK" run "$T/s.lua" --backend kvm --quiet 2>"$T/err"; then
	fail "admission=cow on kvm: accepted"
fi
grep -qF "s.lua:1: setting 'admission': only the simulated world admits" \
	"$T/err" || grep -qi "backend" "$T/err" ||
	fail "admission=cow on kvm: $(cat "$T/err")"

cat >"$T/s.lua" <<'LUA'
cluster { nodes = 1, vcpus = 2000, memory = "1G" }
policy { templates = "on-demand", admission = { "full", "cow" } }
run { duration = "3s", sample_every = "2s" }
app("a", "mem=64M init=10ms work=10s dirty=256")
process(function()
  spawn("a", 0)
  sleep(1)
  for i = 1, 300 do spawn("a", 0) end
end)
LUA
"$UKFORK" run "$T/s.lua" --quiet --db "$T/db" 2>"$T/err" ||
	fail "sweep: $(cat "$T/err")"
got=$(sqlite3 "$T/db" "select r.config || ':' || s.instances || ':' ||
	(s.mem_used / 1048576) from samples s join runs r on r.id = s.run
	where s.t = 2000000000 order by r.id")
want="admission=full:16:1024
admission=cow:301:365"
[ "$got" = "$want" ] || fail "samples at 2 s: '$got', expected '$want'"
exit 0
