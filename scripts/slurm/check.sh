#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# check.sh - run one small ukfork sweep under a real, throwaway Slurm on this
# machine (serial, mpirun inside sbatch and salloc allocations, srun direct
# launch, srun inside sbatch) and compare every database with the serial run's (issue 11).
set -uo pipefail

usage() {
	cat <<'EOF'
usage: scripts/slurm/check.sh [OPTIONS] BUILD_DIR

Sets up a private single-machine Slurm cluster (munged, slurmctld, slurmd,
this host as its one node with its real CPUs; every file under a fresh
temporary directory, its own ports and munge socket: an existing Slurm or
munge configuration is neither read nor changed), runs one small sweep of
BUILD_DIR/ukfork (2 rates x 3 replications, tests/cli/mpi_lib.sh) six ways:

  serial   ukfork run s.lua --set rate=10,40 --reps 3 --db serial.db
  sbatch   sbatch --wait -n 2 job.sh, job.sh running mpirun -n 2 ukfork run ...
  salloc   salloc -n 2 mpirun -n 2 ukfork run ...
  srun     srun -n 2 --mpi=PLUGIN ukfork run ...
  sbatch_srun  sbatch --wait -n 2 job_srun.sh, job_srun.sh running
           srun --mpi=PLUGIN ukfork run ...
  sbatch_plain  sbatch --wait -n 2 job_plain.sh, job_plain.sh running
           ukfork run ... itself (one process: a serial run)

and compares each database with the serial one as tests/cli/mpi_test.sh
does (every row but the wall-clock columns, one summary table, six run
lines). Then `srun -n 2 --mpi=none ukfork run ...` must be refused by
both tasks with nothing stored (each would store the whole sweep). The daemons are stopped and the directory removed on exit, failure
or interrupt. Missing packages (slurmctld slurmd slurm-client munge
openmpi-bin sqlite3) are installed with apt-get --no-install-recommends.
Needs root.

  --mpi PLUGIN    srun's MPI plugin (default pmix; `srun --mpi=list`)
  --timeout SEC   limit for each launch and daemon start (default 300)
  --no-install    never run apt-get: missing packages exit 77
  --keep          keep the temporary directory (configs, logs, databases)
  -h, --help      this text

Exit status: 0 every database equals the serial one; 1 a difference or a
failed run (named, with its stderr and slurmd's log tail); 2 usage; 77
Slurm cannot be set up here (not root, packages, a daemon not starting:
named with its log tail).
EOF
}

MPI=pmix
TIMEOUT=300
INSTALL=1
KEEP=0
BUILD=
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	--mpi) [ $# -ge 2 ] || { echo "check.sh: --mpi needs a plugin name" >&2; exit 2; }
		MPI=$2; shift ;;
	--mpi=*) MPI=${1#--mpi=} ;;
	--timeout) [ $# -ge 2 ] || { echo "check.sh: --timeout needs seconds" >&2; exit 2; }
		TIMEOUT=$2; shift ;;
	--no-install) INSTALL=0 ;;
	--keep) KEEP=1 ;;
	-*) echo "check.sh: unknown option '$1' (--help)" >&2; exit 2 ;;
	*) [ -z "$BUILD" ] || { echo "check.sh: one BUILD_DIR only (--help)" >&2; exit 2; }
		BUILD=$1 ;;
	esac
	shift
done
[ -n "$BUILD" ] || { usage >&2; exit 2; }
case $TIMEOUT in '' | *[!0-9]*) echo "check.sh: --timeout '$TIMEOUT' is not a number of seconds" >&2; exit 2 ;; esac
[ -n "$MPI" ] || { echo "check.sh: --mpi needs a plugin name" >&2; exit 2; }
UKFORK=$(cd "$BUILD" 2>/dev/null && pwd)/ukfork
[ -d "$BUILD" ] || { echo "check.sh: $BUILD: no such build directory" >&2; exit 2; }
[ -x "$UKFORK" ] || { echo "check.sh: $UKFORK: missing or not executable (build it: cmake --build $BUILD --target ukfork)" >&2; exit 2; }
LIB=$(cd "$(dirname "$0")/../../tests/cli" && pwd)/mpi_lib.sh
[ -r "$LIB" ] || { echo "check.sh: $LIB missing" >&2; exit 2; }
. "$LIB"

say() { echo "check.sh: $*"; }
skip() { echo "check.sh: SKIP: cannot set Slurm up here: $*" >&2; exit 77; }
# tail_of FILE...: each existing FILE, indented: whole up to 40 lines,
# else its first 15 and last 15 (where the cause and the end are)
tail_of() {
	local f n
	for f; do
		[ -s "$f" ] || continue
		n=$(wc -l <"$f")
		if [ "$n" -le 40 ]; then
			echo "  --- $f:" >&2
			sed 's/^/  | /' "$f" >&2
		else
			echo "  --- $f (first and last 15 of $n lines):" >&2
			{ head -n 15 "$f"; echo "..."; tail -n 15 "$f"; } | sed 's/^/  | /' >&2
		fi
	done
}

[ "$(id -u)" -eq 0 ] || skip "needs root (installs packages, runs slurmd, which launches jobs as their user)"
case $(ldd "$UKFORK" 2>/dev/null) in *libmpi.so*) ;; *) false ;; esac ||
	{ echo "check.sh: $UKFORK is built without MPI (configure with -DUKF_MPI=ON and libopenmpi-dev)" >&2; exit 2; }

# --- packages --------------------------------------------------------------
PKGS=(slurmctld slurmd slurm-client munge openmpi-bin sqlite3)
missing=()
for p in "${PKGS[@]}"; do
	dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
	[ "$INSTALL" = 1 ] || skip "packages missing: ${missing[*]} (--no-install)"
	command -v apt-get >/dev/null || skip "packages missing: ${missing[*]}, and no apt-get"
	say "installing ${missing[*]}"
	alog=$(mktemp "${TMPDIR:-/tmp}/ukf-slurm-apt.XXXXXX")
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		"${missing[@]}" >"$alog" 2>&1; then
		apt-get update -q >>"$alog" 2>&1
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			"${missing[@]}" >>"$alog" 2>&1 ||
			{ tail_of "$alog"; rm -f "$alog"; skip "apt-get install ${missing[*]} failed"; }
	fi
	rm -f "$alog"
fi
for c in munged munge unmunge slurmctld slurmd sbatch salloc srun scontrol sinfo squeue scancel mpirun sqlite3; do
	command -v "$c" >/dev/null || skip "$c not found after installing ${PKGS[*]}"
done

# --- the private cluster ---------------------------------------------------
T=$(mktemp -d "${TMPDIR:-/tmp}/ukf-slurm.XXXXXX") || skip "mktemp failed"
# munged wants every directory up to its socket searchable by all
chmod 755 "$T"
mkdir -p "$T/run" "$T/key" "$T/state" "$T/log" "$T/work" && chmod 700 "$T/key" ||
	skip "cannot make directories under $T"
CONF=$T/slurm.conf
declare -A PID=()
# Every process this script starts has UKF_SLURM_CHECK=$T in its
# environment (the jobs inherit it from sbatch/salloc/srun): at exit, what
# the daemons leave (slurmstepd, job processes) is found by it and nothing
# else is touched.
# An array, not a function: a redirection of a function call holds in this
# shell while it runs (a trap would write there), and a function started
# with & is a subshell whose PID is not the daemon's.
SL=(env UKF_SLURM_CHECK="$T" SLURM_CONF="$CONF")
# no job or allocation of an outer Slurm leaks into ours
for v in $(compgen -e | grep '^SLURM_\|^SBATCH_\|^SALLOC_\|^SRUN_'); do unset "$v"; done

alive() { [ -n "${PID[$1]:-}" ] && kill -0 "${PID[$1]}" 2>/dev/null; }
stop() {
	local n=$1 i
	alive "$n" || return 0
	kill -TERM "${PID[$n]}" 2>/dev/null
	for i in $(seq 1 50); do alive "$n" || break; sleep 0.2; done
	if alive "$n"; then
		echo "check.sh: $n (pid ${PID[$n]}) still running 10 s after SIGTERM: SIGKILL" >&2
		kill -KILL "${PID[$n]}" 2>/dev/null
	fi
	wait "${PID[$n]}" 2>/dev/null
}
# ours: PIDs of the processes with UKF_SLURM_CHECK=$T in their environment
ours() {
	local e p
	for e in /proc/[0-9]*/environ; do
		p=${e#/proc/}; p=${p%/environ}
		[ "$p" != $$ ] && [ "$p" != "$BASHPID" ] || continue
		grep -qzx "UKF_SLURM_CHECK=$T" "$e" 2>/dev/null && echo "$p"
	done
}
cleanup() {
	local rc=$? p i
	local -a left
	trap - EXIT INT TERM
	if alive slurmctld; then
		for j in $("${SL[@]}" squeue -h -o %i 2>/dev/null); do "${SL[@]}" scancel "$j" 2>/dev/null; done
		for i in $(seq 1 20); do [ -z "$("${SL[@]}" squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.5; done
	fi
	stop slurmd
	stop slurmctld
	stop munged
	mapfile -t left < <(ours)
	if ((${#left[@]})); then
		echo "check.sh: stopping what the cluster left:" \
			"$(for p in "${left[@]}"; do printf '%s(%s) ' "$p" "$(cat "/proc/$p/comm" 2>/dev/null)"; done)" >&2
		kill -TERM "${left[@]}" 2>/dev/null
		sleep 1
		mapfile -t left < <(ours)
		((${#left[@]} == 0)) || kill -KILL "${left[@]}" 2>/dev/null
	fi
	if [ "$KEEP" = 1 ]; then
		echo "check.sh: kept $T (slurm.conf, log/, work/)" >&2
	else
		rm -rf "$T"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'echo "check.sh: interrupted" >&2; exit 1' INT TERM

# two free TCP ports for slurmctld and slurmd (not the standard 6817/6818:
# an existing Slurm keeps its own)
port_used() { command -v ss >/dev/null && [ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]; }
P=16817
while port_used "$P" || port_used $((P + 1)); do
	P=$((P + 2))
	[ "$P" -lt 17817 ] || skip "no two free TCP ports in 16817-17817"
done

# munge: its own key and socket
head -c 1024 /dev/urandom >"$T/key/munge.key" && chmod 600 "$T/key/munge.key" ||
	skip "cannot write the munge key"
MSOCK=$T/run/munge.sock
"${SL[@]}" munged -F --key-file="$T/key/munge.key" --socket="$MSOCK" \
	--pid-file="$T/run/munged.pid" --log-file="$T/log/munged.log" \
	--seed-file="$T/key/munged.seed" >"$T/log/munged.out" 2>&1 </dev/null &
PID[munged]=$!
ok=0
for i in $(seq 1 50); do
	alive munged || break
	munge -S "$MSOCK" -n 2>/dev/null | unmunge -S "$MSOCK" >/dev/null 2>&1 && { ok=1; break; }
	sleep 0.2
done
[ "$ok" = 1 ] || { tail_of "$T/log/munged.out" "$T/log/munged.log"; skip "munged did not start (a credential could not be made and checked through $MSOCK)"; }

H=$(hostname -s)
NODE=$(slurmd -C 2>/dev/null | grep '^NodeName=' | head -n 1)
[ -n "$NODE" ] || skip "slurmd -C printed no node line"
NCPU=$(echo "$NODE" | sed -n 's/.*CPUs=\([0-9]*\).*/\1/p')
mkdir -p "$T/spool/$H"
cat >"$CONF" <<EOF
# ukfork scripts/slurm/check.sh: a throwaway one-node cluster
ClusterName=ukfcheck
SlurmctldHost=$H(127.0.0.1)
SlurmctldPort=$P
SlurmdPort=$((P + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MSOCK
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool/%n
SlurmctldPidFile=$T/run/slurmctld.pid
SlurmdPidFile=$T/run/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
$NODE NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=ukf Nodes=$H Default=YES MaxTime=INFINITE State=UP
EOF

"${SL[@]}" slurmctld -D -f "$CONF" >"$T/log/slurmctld.out" 2>&1 </dev/null &
PID[slurmctld]=$!
ok=0
for i in $(seq 1 $((TIMEOUT * 2))); do
	alive slurmctld || break
	case $("${SL[@]}" scontrol ping 2>/dev/null) in *'is UP'*) ok=1; break ;; esac
	sleep 0.5
done
[ "$ok" = 1 ] || { tail_of "$T/log/slurmctld.out" "$T/log/slurmctld.log"; skip "slurmctld did not start (scontrol ping: $("${SL[@]}" scontrol ping 2>&1 | head -n 1))"; }

"${SL[@]}" slurmd -D -f "$CONF" >"$T/log/slurmd.out" 2>&1 </dev/null &
PID[slurmd]=$!
ok=0
for i in $(seq 1 $((TIMEOUT * 2))); do
	alive slurmd || break
	[ "$("${SL[@]}" sinfo -h -n "$H" -o %T 2>/dev/null)" = idle ] && { ok=1; break; }
	sleep 0.5
done
[ "$ok" = 1 ] || { tail_of "$T/log/slurmd.out" "$T/log/slurmd.log" "$T/log/slurmctld.log"; skip "slurmd did not start or node $H is not idle (sinfo: $("${SL[@]}" sinfo -h -n "$H" -o '%T %E' 2>&1 | head -n 1))"; }
say "cluster up: $(slurmctld -V), node $H with $NCPU CPUs, ports $P/$((P + 1)), $T"
say "srun --mpi=list: $("${SL[@]}" srun --mpi=list 2>&1 | tr '\n\t' '  ' | tr -s ' ')"

# --- the sweep, four ways --------------------------------------------------
cd "$T/work" || exit 1
mpi_sweep_lua s.lua
ARGS=(run s.lua --set rate=10,40 --reps 3)
MPIRUN=(mpirun -n 2)
[ "$(id -u)" -ne 0 ] || MPIRUN+=(--allow-run-as-root)
OVER=()
OV= # OVER's words and a space, for the lines printed
# fewer than 2 CPUs: 2 tasks only by overcommitting
if [ "${NCPU:-0}" -lt 2 ]; then OVER=(--overcommit); OV="--overcommit "; MPIRUN+=(--oversubscribe); fi

"$UKFORK" "${ARGS[@]}" --db serial.db >serial.out 2>serial.err ||
	{ tail_of serial.err; echo "check.sh: FAIL: the serial run failed" >&2; exit 1; }
mpi_dump serial.db serial.txt || { echo "check.sh: FAIL: sqlite3 serial.db" >&2; exit 1; }
grep -q '^inst' serial.txt && grep -q '^tboot' serial.txt && grep -q '^sample' serial.txt ||
	{ echo "check.sh: FAIL: the serial run stored no instances, template boots or samples" >&2; exit 1; }
mpi_table serial.out >serial.table
say "serial: $(grep -c '^run' serial.txt) runs, $(wc -l <serial.txt) rows"

failed=()
# compare WAY RC: WAY.db, WAY.out against the serial run's
compare() {
	local w=$1 rc=$2 why=
	if [ "$rc" -eq 124 ]; then
		why="timed out after $TIMEOUT s"
	elif [ "$rc" -ne 0 ]; then
		why="exit status $rc"
	elif ! mpi_dump "$w.db" "$w.txt" 2>"$w.sqlerr"; then
		why="sqlite3 $w.db: $(head -n 1 "$w.sqlerr")"
	elif ! cmp -s serial.txt "$w.txt"; then
		diff serial.txt "$w.txt" | head -n 20 | cut -c 1-200 | sed 's/^/  | /' >&2
		why="database differs from the serial one ($(grep -c '^run' "$w.txt") runs, serial $(grep -c '^run' serial.txt))"
	elif [ "$(grep -c '^config ' "$w.out")" -ne 1 ]; then
		why="not one summary table"
	elif [ "$(grep -c '^run rate=' "$w.out")" -ne 6 ]; then
		why="$(grep -c '^run rate=' "$w.out") run lines, not 6"
	elif ! mpi_table "$w.out" | sed "s/$w\.db/serial.db/g" | cmp -s serial.table -; then
		why="summary differs from the serial one"
	fi
	if [ -z "$why" ]; then
		say "$w: ok (database equal to the serial one)"
		return
	fi
	echo "check.sh: FAIL: $w: $why" >&2
	tail_of "$w.err" "$T/log/slurmd.log"
	failed+=("$w")
}

# batch WAY JOB CMD: the batch script JOB running `exec CMD --db WAY.db`,
# submitted with sbatch --wait -n 2; WAY.db compared with the serial one
batch() {
	local w=$1 job=$2 rc
	printf '#!/bin/sh\nexec %s --db %s.db\n' "$3" "$w" >"$job"
	say "$w: sbatch --wait -n 2 ${OV}$job ($(tail -n 1 "$job"))"
	"${SL[@]}" timeout "$TIMEOUT" sbatch --wait -n 2 "${OVER[@]}" -J ukf-check -o "$w.out" \
		-e "$w.err" "$job" >"$w.sub" 2>"$w.suberr" </dev/null
	rc=$?
	[ "$rc" -eq 0 ] || cat "$w.suberr" >>"$w.err"
	compare "$w" "$rc"
}

batch sbatch job.sh "${MPIRUN[*]} $UKFORK ${ARGS[*]}"

say "salloc: salloc -n 2 ${OV}${MPIRUN[*]} ukfork ${ARGS[*]} --db salloc.db"
"${SL[@]}" timeout "$TIMEOUT" salloc -n 2 "${OVER[@]}" -J ukf-check \
	"${MPIRUN[@]}" "$UKFORK" "${ARGS[@]}" --db salloc.db >salloc.out 2>salloc.err </dev/null
compare salloc $?

say "srun: srun -n 2 ${OV}--mpi=$MPI ukfork ${ARGS[*]} --db srun.db"
"${SL[@]}" timeout "$TIMEOUT" srun -n 2 "${OVER[@]}" --mpi="$MPI" -J ukf-check \
	"$UKFORK" "${ARGS[@]}" --db srun.db >srun.out 2>srun.err </dev/null
compare srun $?

# the usual batch job: srun inside sbatch's allocation
batch sbatch_srun job_srun.sh "srun --mpi=$MPI $UKFORK ${ARGS[*]}"

# a batch script running ukfork itself (no srun, no mpirun) in a 2-task
# allocation: one process, the serial run (the srun guard must not fire)
batch sbatch_plain job_plain.sh "$UKFORK ${ARGS[*]}"

# srun with no MPI plugin: each task would store the whole sweep, so
# ukfork refuses (cli/scen_mpi.c) and stores nothing
say "srun_none: srun -n 2 ${OV}--mpi=none ukfork ${ARGS[*]} --db srun_none.db (must be refused)"
"${SL[@]}" timeout "$TIMEOUT" srun -n 2 "${OVER[@]}" --mpi=none -J ukf-check \
	"$UKFORK" "${ARGS[@]}" --db srun_none.db >srun_none.out 2>srun_none.err </dev/null
rc=$?
nrefused=$(grep -c 'no MPI plugin' srun_none.err)
nruns=0
[ -e srun_none.db ] && nruns=$(sqlite3 srun_none.db 'select count(*) from runs' 2>/dev/null || echo 0)
if [ "$rc" -ne 0 ] && [ "$nrefused" -eq 2 ] && [ "${nruns:-0}" -eq 0 ]; then
	say "srun_none: ok (both tasks refused, no run stored)"
else
	echo "check.sh: FAIL: srun_none: exit $rc, $nrefused of 2 tasks refused, $nruns runs stored" >&2
	tail_of srun_none.err
	failed+=(srun_none)
fi

if ((${#failed[@]})); then
	echo "check.sh: FAIL: ${failed[*]} (of sbatch, salloc, srun, sbatch_srun, sbatch_plain, srun_none with --mpi=$MPI; $(uptime))" >&2

	exit 1
fi
say "all equal: sbatch+mpirun, salloc+mpirun, srun --mpi=$MPI, sbatch+srun --mpi=$MPI and a plain batch job store the serial run's database; srun --mpi=none refused ($(uptime | sed 's/.*load/load/'))"
exit 0
