#!/bin/sh
# SPDX-License-Identifier: MIT
# fake_keys.sh - stand-in for `ukfork keys NAME --dir DIR` (testbed.sh's
# --keys-cmd hook): NAME.key (mode 0600) and NAME.pub, one line of 40 Z85
# characters each, random but not a real CURVE key pair.
# FAKE_KEYS_BAD=mode|pub makes a wrong key file (to test testbed.sh's checks).
set -eu
[ $# -eq 3 ] && [ "$2" = --dir ] || { echo "usage: fake_keys.sh NAME --dir DIR" >&2; exit 2; }
name=$1
dir=$3
z85() { LC_ALL=C tr -dc '0-9a-zA-Z.:+=^!/*?&<>()[]{}@%$#-' </dev/urandom | head -c 40; echo; }
umask 077
z85 >"$dir/$name.key"
z85 >"$dir/$name.pub"
chmod 644 "$dir/$name.pub"
case ${FAKE_KEYS_BAD:-} in
mode) chmod 644 "$dir/$name.key" ;;
pub) echo 'not z85 "quoted"' >"$dir/$name.pub" ;;
esac
