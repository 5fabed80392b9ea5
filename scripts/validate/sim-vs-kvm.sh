#!/bin/sh
# SPDX-License-Identifier: MIT
# sim-vs-kvm.sh - run validate.lua on the simulator (calibrated by data/kvm-local.conf) and on KVM into one db, print request-to-ready p50/p95 per start kind side by side.
#
# usage: scripts/validate/sim-vs-kvm.sh BUILD_DIR [MODEL.conf] [DB]
#   MODEL.conf  cost model for the sim run (default data/kvm-local.conf)
#   DB          results database (default: a new temporary file, removed);
#               an existing DB gets two more sets of runs, the table is
#               computed from this invocation's runs only.
# Environment: VAL_REPS (replications per backend, default 3), VAL_SEED (1).
# Exit status: 0 both runs stored and the table printed; 1 a run failed
# (in particular: the sim run rejected the model file - unknown key, bad
# value - which ukfork reports as `setting 'model': FILE:LINE: ...`);
# 77 /dev/kvm is unusable (the sim run and the model check still ran).
set -eu

die() { echo "sim-vs-kvm.sh: $*" >&2; exit 1; }

[ $# -ge 1 ] || { sed -n '5,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
B=$(cd "$1" && pwd) || die "no build dir $1"
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
MODEL=${2:-$REPO/data/kvm-local.conf}
[ -r "$MODEL" ] || die "cannot read model file $MODEL"
MODEL=$(cd "$(dirname "$MODEL")" && pwd)/$(basename "$MODEL")
REPS=${VAL_REPS:-3}
SEED=${VAL_SEED:-1}
UKF=$B/ukfork
[ -x "$UKF" ] || die "missing $UKF"
command -v sqlite3 >/dev/null || die "sqlite3 (the CLI) is needed"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
DB=${3:-$TMP/validate.db}
SCEN=$HERE/validate.lua

# the runs this invocation adds are those with an id above this one
FIRST=0
[ -s "$DB" ] && FIRST=$(sqlite3 "$DB" "SELECT coalesce(max(id), 0) FROM runs")

echo "sim: ukfork run validate.lua --backend sim --set model=$MODEL --reps $REPS --seed $SEED" >&2
if ! "$UKF" run "$SCEN" --backend sim --set "model=$MODEL" --reps "$REPS" \
	--seed "$SEED" --db "$DB" --quiet >"$TMP/sim.out" 2>&1; then
	cat "$TMP/sim.out" >&2
	die "the sim run failed (a model file it rejects fails here)"
fi
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "SKIP: /dev/kvm not usable; the sim run and the model file are fine"
	exit 77
fi
echo "kvm: ukfork run validate.lua --backend kvm --reps $REPS --seed $SEED" >&2
if ! "$UKF" run "$SCEN" --backend kvm --reps "$REPS" --seed "$SEED" \
	--db "$DB" --quiet >"$TMP/kvm.out" 2>&1; then
	cat "$TMP/kvm.out" >&2
	die "the kvm run failed"
fi

# request-to-ready per backend and start kind, nearest-rank quantiles
# (rank ceil(q n), as ukfork run's summary), instances that became ready
sqlite3 "$DB" >"$TMP/table" <<EOF
.mode list
.separator ' '
WITH l AS (
  SELECT r.backend AS b, i.start AS k, (i.t_ready - i.t_request) / 1e6 AS ms
  FROM instances i JOIN runs r ON r.id = i.run
  WHERE r.id > $FIRST AND r.kind = 'scenario'
    AND i.t_ready IS NOT NULL AND i.t_ready >= i.t_request),
o AS (
  SELECT b, k, ms, row_number() OVER (PARTITION BY b, k ORDER BY ms) AS rn,
         count(*) OVER (PARTITION BY b, k) AS n FROM l),
q AS (
  SELECT b, k, max(n) AS n,
         max(CASE WHEN rn = (n * 50 + 99) / 100 THEN ms END) AS p50,
         max(CASE WHEN rn = (n * 95 + 99) / 100 THEN ms END) AS p95
  FROM o GROUP BY b, k),
kinds(k, ord) AS (VALUES ('cold', 1), ('template', 2), ('fork', 3))
SELECT kinds.k,
       coalesce(s.n, 0), coalesce(printf('%.3f', s.p50), '-'),
       coalesce(printf('%.3f', s.p95), '-'),
       coalesce(v.n, 0), coalesce(printf('%.3f', v.p50), '-'),
       coalesce(printf('%.3f', v.p95), '-'),
       CASE WHEN s.p50 > 0 AND v.p50 > 0 THEN printf('%.2f', s.p50 / v.p50) ELSE '-' END,
       CASE WHEN s.p95 > 0 AND v.p95 > 0 THEN printf('%.2f', s.p95 / v.p95) ELSE '-' END
FROM kinds LEFT JOIN q s ON s.k = kinds.k AND s.b = 'sim'
           LEFT JOIN q v ON v.k = kinds.k AND v.b = 'kvm'
ORDER BY kinds.ord;
EOF
# dirty_pages on the fork children's own rows (pages since the template at
# exit: the parent's copied pages + the child's unit), per backend
DIRTY=$(sqlite3 -separator ' ' "$DB" "WITH d AS (
	SELECT r.backend AS b, i.dirty_pages AS v,
	       row_number() OVER (PARTITION BY r.backend ORDER BY i.dirty_pages) AS rn,
	       count(*) OVER (PARTITION BY r.backend) AS n
	FROM instances i JOIN runs r ON r.id = i.run
	WHERE r.id > $FIRST AND r.kind = 'scenario' AND i.start = 'fork')
	SELECT b, max(n), min(v), max(CASE WHEN rn = (n * 50 + 99) / 100 THEN v END), max(v)
	FROM d GROUP BY b ORDER BY b DESC" |
	awk '{ printf "%s%s n=%s min %s median %s max %s", (NR > 1 ? "; " : ""), $1, $2, $3, $4, $5 }')
FAILS=$(sqlite3 "$DB" "SELECT r.backend || ' ' || count(*) FROM instances i
	JOIN runs r ON r.id = i.run WHERE r.id > $FIRST
	AND (i.t_ready IS NULL OR i.t_ready < 0) GROUP BY r.backend")

echo "validate.lua, $REPS runs per backend, seed $SEED, model $(basename "$MODEL"); $(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "request-to-ready in ms (nearest-rank quantiles over all runs' instances)"
awk 'BEGIN { printf "%-9s | %4s %9s %9s | %4s %9s %9s | %9s %9s\n", "start", "n", "sim p50", "sim p95", "n", "kvm p50", "kvm p95", "p50 s/k", "p95 s/k"
             print "----------+-------------------------+-------------------------+--------------------" }
     { printf "%-9s | %4s %9s %9s | %4s %9s %9s | %9s %9s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }' "$TMP/table"
echo "dirty_pages of fork children (own rows): ${DIRTY:-none}"
[ -z "$FAILS" ] || echo "never ready (failed or still starting): $FAILS"
[ "${3:-}" ] && echo "runs stored in $DB (ids > $FIRST)"
exit 0
