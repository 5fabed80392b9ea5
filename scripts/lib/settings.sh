# SPDX-License-Identifier: MIT
# scripts/lib/settings.sh - checks of the settings the validation scripts
# take from the environment (sourced; the caller sets PROG to its name for
# the messages). Each exits 2 naming the setting and the value it refused.

# NAME's VALUE must be a positive whole number without a leading zero
# (the shell's arithmetic would read 010 as octal).
need_count() { # NAME VALUE
	case "$2" in
	'' | 0* | *[!0-9]*)
		echo "$PROG: $1 must be a positive number, got '$2'" >&2
		exit 2 ;;
	esac
}

# NAME's VALUE must be a seed: a whole number, 0 or without a leading zero.
need_seed() { # NAME VALUE
	case "$2" in
	0) ;;
	'' | 0* | *[!0-9]*)
		echo "$PROG: $1 must be a whole number, got '$2'" >&2
		exit 2 ;;
	esac
}

# NAME's VALUE must be a duration in whole us, ms or s (a plan's `gap`),
# at most 10 s.
need_gap() { # NAME VALUE
	case "$2" in
	*[0-9]us | *[0-9]ms | *[0-9]s)
		_g=${2%us}; _g=${_g%ms}; _g=${_g%s}
		case "$_g" in '' | *[!0-9]*) ;; *)
			case "$2" in
			*us) [ "${#_g}" -le 8 ] && [ "$_g" -le 10000000 ] && return 0 ;;
			*ms) [ "${#_g}" -le 5 ] && [ "$_g" -le 10000 ] && return 0 ;;
			*) [ "${#_g}" -le 2 ] && [ "$_g" -le 10 ] && return 0 ;;
			esac ;;
		esac ;;
	esac
	echo "$PROG: $1 must be a duration such as 300ms (us, ms or s; at most 10 s), got '$2'" >&2
	exit 2
}

# NAME's VALUE must be a compression the node agents know.
need_compress() { # NAME VALUE
	case "$2" in
	zstd | lz4 | none) ;;
	*)
		echo "$PROG: $1 must be zstd, lz4 or none, got '$2'" >&2
		exit 2 ;;
	esac
}
