#!/bin/sh
# SPDX-License-Identifier: MIT
# mpi_test.sh - MPI sweeps (issue 11): `mpirun -n N ukfork run` stores the
# very database a serial run stores, names the rank of a failure.
#   mpi_test.sh UKFORK CASE     (CASE: equal, nodb, error, usage, abort, dbfail, trace, progress; nompi
#   for a build without MPI; srun_none for any build)
# Exit 77 (skipped) without mpirun or sqlite3.
set -u
UKFORK=$1
case $UKFORK in /*) ;; *) UKFORK=$PWD/$UKFORK ;; esac
CASE=$2
LIB=$(cd "$(dirname "$0")" && pwd)
[ "$CASE" = nompi ] || [ "$CASE" = srun_none ] || command -v mpirun >/dev/null 2>&1 || { echo "SKIP: no mpirun"; exit 77; }
command -v sqlite3 >/dev/null 2>&1 || { echo "SKIP: no sqlite3"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/ukf-mpi.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
. "$LIB/mpi_lib.sh"

fail() { echo "FAIL [$CASE]: $*" >&2; for f in err merr; do [ -f "$T/$f" ] && sed "s/^/  $f: /" "$T/$f" >&2; done; exit 1; }
# mpi N ARGS...: ukfork under mpirun with N ranks (stdout mout, stderr merr)
mpi() {
	n=$1; shift
	mpirun --allow-run-as-root --oversubscribe -n "$n" "$UKFORK" "$@" \
	    >mout 2>merr </dev/null
	rc=$?
}
# dump DB OUT: the rows of DB, as mpi_lib.sh's mpi_dump compares them
dump() { mpi_dump "$1" "$2" || fail "sqlite3 $1"; }
table() { mpi_table "$1"; }

# Two configurations (rate), prewarmed templates (template_boots), forks,
# node samples: every table the runner writes (mpi_lib.sh).
mpi_sweep_lua s.lua
# rate 40 fails in its process (its first run is grid index 3: rank 1's)
cat >f.lua <<'LUA'
cluster { nodes = 2 }
run { duration = "1s" }
app("a", "mem=64M init=50ms work=10ms")
local rate = param("rate", 20)
poisson { app = "a", rate = rate }
process(function()
  sleep("100ms")
  if rate > 20 then error("boom at rate " .. rate) end
end)
LUA

case "$CASE" in
srun_none)
	# srun's tasks with no MPI plugin (--mpi=none: no launcher variable,
	# only Slurm's own) refuse: each would run and store the whole sweep;
	# a lone task, or a batch script's process (no step task count), runs
	rm -f r.db
	SLURM_STEP_NUM_TASKS=2 SLURM_PROCID=1 "$UKFORK" run s.lua --db r.db \
	    >out 2>err && fail "task 1 of 2: ran"
	grep -q "started by srun as task 1 of 2 with no MPI plugin.*srun --mpi=pmix" err ||
		fail "task 1 of 2: $(cat err)"
	[ ! -f r.db ] || [ "$(sqlite3 r.db 'select count(*) from runs')" = 0 ] ||
		fail "task 1 of 2: runs stored"
	SLURM_STEP_NUM_TASKS=1 SLURM_PROCID=0 "$UKFORK" run s.lua --db r.db \
	    >out 2>err || fail "one task of one: $(cat err)"
	SLURM_NTASKS=4 SLURM_PROCID=0 "$UKFORK" run s.lua --db r2.db \
	    >out 2>err || fail "a batch script's process: $(cat err)"
	;;
nompi)
	# a build without MPI started as one of two ranks (the launcher's
	# variables, as mpirun or srun set them) refuses: each rank would
	# run and store the whole sweep
	for v in OMPI_COMM_WORLD_SIZE=2 PMI_SIZE=3 PMIX_RANK=1; do
		rm -f r.db
		env "$v" "$UKFORK" run s.lua --db r.db >out 2>err && fail "$v: ran"
		grep -q "built without MPI" err || fail "$v: $(cat err)"
		[ ! -f r.db ] || [ "$(sqlite3 r.db 'select count(*) from runs')" = 0 ] ||
			fail "$v: runs stored"
	done
	# one rank of one (mpirun -n 1) runs as usual
	OMPI_COMM_WORLD_SIZE=1 "$UKFORK" run s.lua --db r.db >out 2>err ||
		fail "one rank of one: $(cat err)"
	;;
equal)
	"$UKFORK" run s.lua --set rate=10,40 --reps 3 --db serial.db \
	    >out 2>err || fail "serial run failed"
	dump serial.db serial.txt
	[ "$(grep -c '^inst' serial.txt)" -gt 0 ] || fail "no instances"
	grep -q '^tboot' serial.txt || fail "no template boots"
	grep -q '^sample' serial.txt || fail "no samples"
	for n in 2 3; do
		mpi "$n" run s.lua --set rate=10,40 --reps 3 --db mpi$n.db
		[ "$rc" -eq 0 ] || fail "mpirun -n $n: exit status $rc"
		dump mpi$n.db mpi$n.txt
		cmp -s serial.txt mpi$n.txt || {
			diff serial.txt mpi$n.txt | head -20 >&2
			fail "mpirun -n $n: database differs from the serial one"
		}
		# rank 0 alone prints: one table, every run's line once
		[ "$(grep -c '^config ' mout)" -eq 1 ] ||
			fail "mpirun -n $n: not one summary table"
		[ "$(grep -c '^run rate=' mout)" -eq 6 ] ||
			fail "mpirun -n $n: not 6 run lines"
		table out >t1; table mout >t2
		sed -i "s/mpi$n.db/serial.db/g" t2
		cmp -s t1 t2 || fail "mpirun -n $n: summary differs"
	done
	;;
nodb)
	# Without --db the summary still counts every rank's requests.
	"$UKFORK" run s.lua --set rate=10,40 --reps 3 >out 2>err ||
		fail "serial run failed"
	mpi 2 run s.lua --set rate=10,40 --reps 3
	[ "$rc" -eq 0 ] || fail "exit status $rc"
	table out >t1; table mout >t2
	cmp -s t1 t2 || fail "summary differs from the serial one"
	;;
error)
	"$UKFORK" run f.lua --set rate=10,40 --reps 3 --db s.db >out 2>err
	src=$?
	[ "$src" -ne 0 ] || fail "serial run of f.lua succeeded"
	dump s.db s.txt
	[ "$(sqlite3 s.db 'select count(*) from runs')" = 3 ] ||
		fail "serial: not the 3 runs before the failure stored"
	# the failing run (grid index 3) is rank 1's of 2, rank 3's of 4:
	# rank 0 stores the runs before it, made by every rank, as the
	# serial run did, then stops them all. (Before, the failing rank
	# stopped every rank at once: with 4 ranks rank 3 failed while the
	# others still ran grid 0-2, and nothing was stored.)
	for n in 2 4; do
		rm -f m.db
		mpi $n run f.lua --set rate=10,40 --reps 3 --db m.db
		[ "$rc" -eq "$src" ] || fail "mpirun -n $n: exit status $rc, the serial run's $src"
		grep -q "ukfork run: rank $((n - 1)): .*boom at rate 40" merr ||
			fail "mpirun -n $n: no message naming rank $((n - 1))"
		[ "$(grep -c 'boom at rate 40' merr)" = 1 ] ||
			fail "mpirun -n $n: the failure said $(grep -c 'boom at rate 40' merr) times"
		dump m.db m.txt
		cmp -s s.txt m.txt || {
			diff s.txt m.txt | head -20 >&2
			fail "mpirun -n $n: stored runs differ from the serial run's"
		}
	done
	;;
setup_one_rank)
	# the scenario's checks fail on rank 1 alone (as a model file missing
	# on its host would): every rank stops, rank 1 says why, nothing is
	# stored. Before, rank 1 went to MPI_Finalize while rank 0 waited at
	# the barrier before the runs for ever.
	cat >r1.lua <<'LUA'
cluster { nodes = 2 }
run { duration = "1s" }
app("a", "mem=64M init=50ms work=10ms")
poisson { app = "a", rate = 20 }
if os.getenv("OMPI_COMM_WORLD_RANK") == "1" then error("checks fail on rank 1") end
LUA
	timeout 120 mpirun --allow-run-as-root --oversubscribe -n 2 "$UKFORK" \
	    run r1.lua --trusted --reps 2 --db m.db >mout 2>merr </dev/null
	rc=$?
	[ "$rc" -ne 124 ] || fail "mpirun hung (killed after 120 s)"
	[ "$rc" -ne 0 ] || fail "mpirun: exit status 0"
	grep -q 'ukfork run: rank 1: .*checks fail on rank 1' merr ||
		fail "rank 1 does not say why"
	grep -q 'checks failed on another rank' merr ||
		fail "rank 0 does not say another rank failed"
	[ ! -s m.db ] || [ "$(sqlite3 m.db 'select count(*) from runs')" = 0 ] ||
		fail "runs stored"
	# a bad scenario, alike on every rank, is still said once (rank 0)
	mpirun --allow-run-as-root --oversubscribe -n 3 "$UKFORK" run r1.lua \
	    --trusted --set bogus=1 >mout 2>merr </dev/null
	[ "$(grep -c "unknown setting 'bogus'" merr)" = 1 ] ||
		fail "a bad setting said $(grep -c "unknown setting" merr) times, expected once"
	;;
usage)
	# a bad command line is the same on every rank: said once (rank 0),
	# not once per rank; every rank exits 2
	mpi 3 run s.lua --bogus
	[ "$rc" -ne 0 ] || fail "mpirun: exit status 0"
	[ "$(grep -c "unknown option '--bogus'" merr)" = 1 ] ||
		fail "the bad option said $(grep -c "unknown option" merr) times, expected once"
	mpi 3 run s.lua --db
	[ "$(grep -c "option --db needs a value" merr)" = 1 ] ||
		fail "the missing value said $(grep -c "needs a value" merr) times, expected once"
	;;
abort)
	# rank 1's first run fails at once: its MPI_Abort stopped rank 0
	# while SQLite was making the new --db, which was left empty (0
	# bytes, refused by `ukfork report`) about one time in three here.
	# The runs start once rank 0 has made it: a database report reads.
	cat >g.lua <<'LUA'
cluster { nodes = 2 }
run { duration = "1s" }
app("a", "mem=64M init=50ms work=10ms")
local rate = param("rate", 20)
process(function()
  if rate > 20 then error("boom at rate " .. rate) end
end)
LUA
	for i in 1 2 3 4 5 6 7 8 9 10; do
		rm -f m.db m.db-wal m.db-shm m.db-journal
		mpi 2 run g.lua --set rate=10,40 --db m.db
		[ "$rc" -ne 0 ] || fail "try $i: mpirun: exit status 0"
		grep -q 'ukfork run: rank 1: .*boom at rate 40' merr ||
			fail "try $i: no message naming rank 1"
		[ -s m.db ] || fail "try $i: m.db missing or empty"
		# a database report reads, with rank 0's run (grid index 0,
		# before the failure), as a serial run stores it (before, rank
		# 1's MPI_Abort could stop rank 0 before it had stored it)
		"$UKFORK" report m.db >out 2>err ||
			fail "try $i: ukfork report m.db: $(cat err)"
		[ "$(sqlite3 m.db 'select count(*) from runs')" = 1 ] ||
			fail "try $i: $(sqlite3 m.db 'select count(*) from runs') runs stored, expected rank 0's one"
	done
	;;
dbfail)
	# rank 0 stores the runs of rank 1 from their journals: a write that
	# fails there (a trigger raising "disk full" on rank 1's run, its
	# instances, its samples) fails the sweep naming rank 1, the
	# database and what was written, and stores none of that run
	for w in runs:'the run' instances:'an instance' samples:'a sample'; do
		t=${w%%:*}
		rm -f m.db
		"$UKFORK" run s.lua --reps 1 --db m.db --quiet >out 2>err ||
			fail "$t: first run failed"
		if [ "$t" = runs ]; then
			cond="new.rep = 1"
		else
			cond="(select rep from runs where id = new.run) = 1"
		fi
		sqlite3 m.db "create trigger full before insert on $t when $cond begin select raise(abort, 'database or disk is full'); end" ||
			fail "$t: sqlite3 trigger"
		mpi 2 run s.lua --reps 2 --db m.db --quiet
		[ "$rc" -ne 0 ] || fail "$t: mpirun: exit status 0"
		grep -q -F "ukfork run: rank 1: database: m.db: recording ${w#*:}: database or disk is full" merr ||
			fail "$t: no message naming rank 1 and the write"
		[ "$(sqlite3 m.db "select count(*) from runs where rep = 1")" = 0 ] ||
			fail "$t: rank 1's run stored"
	done
	# the same when rank 1's run is finished (its row updated, committed)
	rm -f m.db
	"$UKFORK" run s.lua --reps 1 --db m.db --quiet >out 2>err || fail "commit: first run failed"
	sqlite3 m.db "create trigger full before update on runs when new.rep = 1 begin select raise(abort, 'database or disk is full'); end" ||
		fail "commit: sqlite3 trigger"
	mpi 2 run s.lua --reps 2 --db m.db --quiet
	[ "$rc" -ne 0 ] || fail "commit: mpirun: exit status 0"
	grep -q -F "ukfork run: rank 1: database: m.db: finishing the run: database or disk is full" merr ||
		fail "commit: no message naming rank 1 and the write"
	[ "$(sqlite3 m.db "select count(*) from runs where rep = 1")" = 0 ] ||
		fail "commit: rank 1's run stored"
	;;
progress)
	# --progress under MPI: a line at the end of every run of the grid,
	# in its order, those of the other ranks' runs too (rank 0 had one
	# for its own runs only), naming the rank that made it
	mpi 2 run s.lua --set rate=10,40 --reps 2 --progress --quiet
	[ "$rc" -eq 0 ] || fail "exit status $rc"
	[ -s mout ] && fail "--quiet printed on stdout: $(cat mout)"
	n=0
	for pr in "1/2, run 1/4: rate=10 rep 0:" "1/2, run 2/4: rate=10 rep 1 (rank 1):" \
	    "2/2, run 3/4: rate=40 rep 0:" "2/2, run 4/4: rate=40 rep 1 (rank 1):"; do
		n=$((n + 1))
		grep '^point ' merr | sed -n "${n}p" | grep -q "^point $pr [0-9]*\.[0-9]\{3\} / 1\.000 s world time, [0-9]* events, " ||
			fail "progress line $n is not the end of point $pr"
	done
	[ "$(grep -c '^point ' merr)" = 4 ] || fail "$(grep -c '^point ' merr) progress lines, expected 4"
	grep '^point ' merr | tail -n 1 | grep -q ", ETA 0 s$" || fail "the last line's ETA"
	;;
trace)
	mpi 2 run s.lua --reps 2 --trace t.log --db m.db
	[ "$rc" -eq 2 ] || fail "exit status $rc, expected 2"
	grep -q -e '--trace with 2 MPI ranks' merr || fail "no refusal"
	[ "$(grep -c -e '--trace with' merr)" -eq 1 ] ||
		fail "the refusal is not said once (rank 0)"
	[ ! -e m.db ] || fail "database created"
	;;
*) fail "unknown case" ;;
esac
exit 0
