# SPDX-License-Identifier: MIT
# scripts/lib/procs.sh - process helpers shared by the testbed and the local
# etcd clusters (sourced; the caller defines say MESSAGE for its messages).

# Is PID a live process (not a zombie)?
alive() { # PID
	local st
	st=$(sed -n 's/.*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null || true)
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# Is PID a child of shell SHELLPID (alive or not yet reaped)? A PID a
# script recorded may have ended and been reaped long ago, its number
# given to another process since (pid_max is 32768 here, and a test suite
# runs through it in minutes): signal only what is still the script's.
own_child() { # PID SHELLPID
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) } # after the command name, which may hold spaces
	set -- $st "$2"
	[ "$2" = "${*: -1}" ]
}

# SIGKILL every process whose command line names a path under DIR (but
# this shell): the last resort of a test's cleanup.
kill_naming() { # DIR
	local f p
	for f in $(grep -laF -- "$1/" /proc/[0-9]*/cmdline 2>/dev/null); do
		p=${f#/proc/}
		p=${p%/cmdline}
		[ "$p" = $$ ] || [ "$p" = "${BASHPID:-$$}" ] || kill -KILL "$p" 2>/dev/null
	done
}

# SIGTERM the PIDs, up to GRACE seconds, then SIGKILL those left (and a
# bounded wait for them): 0 when all are gone.
stop_pids() { # GRACE PID...
	local grace=$1 p i any
	shift
	(($#)) || return 0
	kill -TERM "$@" 2>/dev/null || true
	for ((i = 0; i < grace * 10; i++)); do
		any=0
		for p in "$@"; do alive "$p" && any=1 && break; done
		[ $any = 0 ] && return 0
		sleep 0.1
	done
	for p in "$@"; do
		if alive "$p"; then
			say "process $p still running after ${grace}s: SIGKILL"
			kill -KILL "$p" 2>/dev/null || true
		fi
	done
	for ((i = 0; i < 50; i++)); do
		any=0
		for p in "$@"; do alive "$p" && any=1 && break; done
		[ $any = 0 ] && return 0
		sleep 0.1
	done
	return 1
}
