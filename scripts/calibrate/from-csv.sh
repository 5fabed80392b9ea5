#!/bin/sh
# SPDX-License-Identifier: MIT
# from-csv.sh - a calibration database from the raw samples kept in data/measured (SAMPLES.csv: op,x,ns,calib; RUNS.csv: the calib_runs rows, with a header line), so that `ukfork calibrate --from-db DB` refits a committed model file without the database it was measured into.
#
# usage: scripts/calibrate/from-csv.sh SAMPLES.csv RUNS.csv DB
#   e.g. scripts/calibrate/from-csv.sh data/measured/kvm-vm-calibrated.csv \
#          data/measured/kvm-vm-calibrated-runs.csv /tmp/kvm-vm.db
#        build/ukfork calibrate --from-db /tmp/kvm-vm.db --calib all \
#          --out data/kvm-vm-calibrated.conf
# DB must not exist yet. Needs the sqlite3 command. Exit status: 0 done,
# 1 failed (sqlite3's message), 2 bad usage or a missing file.
set -u
[ $# -eq 3 ] || { sed -n '5,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
S=$1 R=$2 DB=$3
for f in "$S" "$R"; do
	[ -r "$f" ] && [ -f "$f" ] || { echo "from-csv.sh: $f: not a readable file" >&2; exit 2; }
done
[ ! -e "$DB" ] || { echo "from-csv.sh: $DB exists: give a new file" >&2; exit 2; }
command -v sqlite3 >/dev/null || { echo "from-csv.sh: no sqlite3 command" >&2; exit 2; }
case $S in *\'* | *\"*) echo "from-csv.sh: a quote in $S" >&2; exit 2 ;; esac
case $R in *\'* | *\"*) echo "from-csv.sh: a quote in $R" >&2; exit 2 ;; esac
# the tables as calib/samples.c makes them; the CSVs through temporary
# tables (the samples' column order is op,x,ns,calib); a value that is not
# a number stays text, refused by `ukfork calibrate --from-db`
sqlite3 -bail "$DB" <<EOSQL || { rm -f "$DB"; exit 1; }
CREATE TABLE calib_runs(id INTEGER PRIMARY KEY, date TEXT, host TEXT,
  kvm TEXT, backend TEXT, plan TEXT, command TEXT, load TEXT, n INTEGER,
  cluster TEXT, link TEXT, link_latency_ns REAL, link_bandwidth REAL);
CREATE TABLE calib_samples(calib INTEGER NOT NULL REFERENCES calib_runs(id),
  op TEXT NOT NULL, x REAL NOT NULL, ns REAL NOT NULL);
CREATE INDEX calib_samples_calib ON calib_samples(calib);
CREATE TEMP TABLE r(id, date, host, kvm, backend, plan, command, load, n,
  cluster, link, link_latency_ns, link_bandwidth);
CREATE TEMP TABLE s(op, x, ns, calib);
.import --csv --skip 1 '$R' r
.import --csv --skip 1 '$S' s
INSERT INTO calib_runs SELECT CAST(id AS INTEGER), date, host, kvm, backend,
  plan, command, load, CAST(n AS INTEGER), nullif(cluster, ''),
  nullif(link, ''), CAST(link_latency_ns AS REAL),
  CAST(link_bandwidth AS REAL) FROM r;
-- not CAST: the columns' REAL affinity converts numbers and keeps a
-- value that is not one as text, which calibrate --from-db refuses
INSERT INTO calib_samples SELECT calib, op, x, ns FROM s;
EOSQL
n=$(sqlite3 "$DB" "SELECT count(*) FROM calib_samples WHERE calib NOT IN (SELECT id FROM calib_runs)")
[ "$n" = 0 ] || { echo "from-csv.sh: $n samples of calibrations not in $R" >&2; rm -f "$DB"; exit 1; }
echo "from-csv.sh: $(sqlite3 "$DB" "SELECT count(*) FROM calib_samples") samples of $(sqlite3 "$DB" "SELECT count(*) FROM calib_runs") calibrations in $DB" >&2
