# SPDX-License-Identifier: MIT
# lib.sh - sourced by the tests/cli case scripts (SCRIPT UKFORK SCENARIO_DIR
# CASE): their arguments, the work directory $T and the helpers around one
# ukfork call. POSIX sh, with set -u in the caller.

# cli_args PREFIX UKFORK SCENARIO_DIR CASE: set UKFORK and S (made absolute:
# some cases cd) and CASE, and T, a fresh directory named after PREFIX,
# removed on exit.
cli_args() {
	UKFORK=$2
	case $UKFORK in /*) ;; *) UKFORK=$PWD/$UKFORK ;; esac
	S=$3
	case $S in /*) ;; *) S=$PWD/$S ;; esac
	CASE=$4
	T=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
	trap 'rm -rf "$T"' EXIT
}

fail() { echo "FAIL [$CASE]: $*" >&2; [ -f "$T/err" ] && sed 's/^/  stderr: /' "$T/err" >&2; exit 1; }
# run ARGS...: runs ukfork, stdout in $T/out, stderr in $T/err, status in $rc
run() { "$UKFORK" "$@" >"$T/out" 2>"$T/err"; rc=$?; }
expect_rc() { [ "$rc" -eq "$1" ] || fail "exit status $rc, expected $1"; }
q() { sqlite3 "$1" "$2" || fail "sqlite3 query failed: $2"; }
# no_runs DB: DB, if there, holds no run (a refusal stores nothing)
no_runs() {
	if [ -f "$1" ]; then
		n=$(q "$1" "select count(*) from runs")
		[ "$n" = 0 ] || fail "$n runs stored in $1, expected none"
	fi
}
