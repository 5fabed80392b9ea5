#!/bin/sh
# SPDX-License-Identifier: MIT
# fake_gnuplot.sh SCRIPT - a stand-in for gnuplot in tests (UKF_GNUPLOT):
# writes a few bytes to every file SCRIPT names in a "set output 'NAME'"
# line, as gnuplot would draw them, without needing gnuplot installed.
# `report --plot` checks that each plot it lists was made: /bin/true as
# the stand-in is refused.
set -eu
sed -n "s/^set output '\(.*\)'\$/\1/p" "$1" | while IFS= read -r f; do
	printf 'stand-in plot\n' >"$f"
done
