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

# NAME's VALUE must be a compression the node agents know.
need_compress() { # NAME VALUE
	case "$2" in
	zstd | lz4 | none) ;;
	*)
		echo "$PROG: $1 must be zstd, lz4 or none, got '$2'" >&2
		exit 2 ;;
	esac
}
