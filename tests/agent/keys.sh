#!/bin/sh
# SPDX-License-Identifier: MIT
# keys.sh UKF_KEYS - the ukf-keys program: files and modes, refusing to
# overwrite, --force, exit codes 0/1/2, --help.
set -u
K=$1
d=$(mktemp -d) || exit 1
trap 'rm -rf "$d"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

pub=$("$K" node0 --dir "$d") || fail "ukf-keys node0 exited $?"
[ "$(stat -c %a "$d/node0.key")" = 600 ] || fail "node0.key mode $(stat -c %a "$d/node0.key")"
[ "$(stat -c %a "$d/node0.pub")" = 644 ] || fail "node0.pub mode"
[ "$pub" = "$(cat "$d/node0.pub")" ] || fail "printed key is not node0.pub"
[ ${#pub} -eq 40 ] || fail "public key of ${#pub} characters"
[ "$(wc -l <"$d/node0.key")" -eq 1 ] || fail "node0.key is not one line"
before=$(cat "$d/node0.key")
"$K" node0 --dir "$d" >/dev/null 2>"$d/err"; rc=$?
[ $rc -eq 1 ] || fail "overwrite: exit $rc, want 1"
grep -q "exists" "$d/err" || fail "overwrite: no clear error: $(cat "$d/err")"
[ "$(cat "$d/node0.key")" = "$before" ] || fail "node0.key changed without --force"
"$K" node0 --dir "$d" --force >/dev/null || fail "--force exit $?"
[ "$(cat "$d/node0.key")" != "$before" ] || fail "--force did not replace"
[ "$(stat -c %a "$d/node0.key")" = 600 ] || fail "--force mode"
(cd "$d" && "$K" here >/dev/null) || fail "default --dir"
[ -f "$d/here.key" ] || fail "no here.key in the current directory"
"$K" >/dev/null 2>&1; [ $? -eq 2 ] || fail "no NAME: want exit 2"
"$K" a b >/dev/null 2>&1; [ $? -eq 2 ] || fail "two NAMEs: want exit 2"
"$K" a --bogus >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown option: want exit 2"
"$K" a --dir "$d/none" >/dev/null 2>&1; [ $? -eq 1 ] || fail "missing dir: want exit 1"
"$K" --help | grep -q "usage:" || fail "--help"
echo ok
