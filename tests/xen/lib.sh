# SPDX-License-Identifier: MIT
# lib.sh - helpers sourced by the tests/xen scripts that run cases in dom0
# on the Xen testbed: fail, the qemu skip, the testbed run and the checks of
# its "== NAME rc=N" output. Expects set -euo pipefail in the caller.

fail() { echo "FAIL: $*" >&2; exit 1; }

# xen_need_boot APP...: fail unless ukf-xen-boot ($BOOT) and the Xen image
# $G/APP of each APP were built.
xen_need_boot() {
	local app
	[ -x "$BOOT" ] || fail "no $BOOT (cmake -DUKF_BUILD_XEN=ON)"
	for app in "$@"; do
		[ -f "$G/$app" ] || fail "no Xen image $G/$app (build target guest-xen-all)"
	done
}

# Exit 77 (skip) when qemu-system-x86_64, which the testbed needs, is missing.
xen_need_qemu() {
	command -v qemu-system-x86_64 >/dev/null || {
		echo "SKIP: qemu-system-x86_64 is not installed (apt install qemu-system-x86)"
		exit 77
	}
}

# xen_workdir NAME: D, a fresh directory shared with dom0 (mode 755), named
# after NAME and removed on exit (kept with UKF_XEN_KEEP=1).
xen_workdir() {
	D=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
	# UKF_XEN_KEEP=1: kept for a look (logs, outputs)
	if [ "${UKF_XEN_KEEP:-0}" = 1 ]; then
		trap 'echo "kept $D" >&2' EXIT
	else
		trap 'rm -rf "$D"' EXIT
	fi
	chmod 755 "$D"
	xen_write_case_helper
}

# xen_write_case_helper: write $D/case.sh, the helpers each in-dom0.sh sources
# (". $D/case.sh") to run its cases in dom0:
#   show NAME RC        prints "== NAME rc=RC", then $D/NAME.out and
#                       $D/NAME.err indented with "   | "
#   case_ [-m] NAME CMD [ARG...]
#                       runs CMD with its stdout in $D/NAME.out and its
#                       stderr in $D/NAME.err, then show NAME with its exit
#                       status. -m: stderr goes into NAME.out as it comes
#                       (NAME.err stays empty). With CASE_TPL=1 set it makes
#                       dom0's /tmp/tpl-NAME (a template directory) first.
#   domains TITLE       prints "== TITLE", then each domain's name (xl list)
#                       indented ("domains 'domains left'" is what
#                       xen_expect_no_domains_left reads)
xen_write_case_helper() {
	cat >"$D/case.sh" <<CASE
show() {
	echo "== \$1 rc=\$2"
	sed 's/^/   | /' "$D/\$1.out" "$D/\$1.err"
}
case_() {
	local merge=0 name
	[ "\$1" = -m ] && { merge=1; shift; }
	name=\$1
	shift
	[ "\${CASE_TPL:-0}" = 0 ] || mkdir -p "/tmp/tpl-\$name"
	if [ \$merge = 1 ]; then
		: >"$D/\$name.err"
		"\$@" >"$D/\$name.out" 2>&1
	else
		"\$@" >"$D/\$name.out" 2>"$D/\$name.err"
	fi
	show "\$name" \$?
}
domains() {
	echo "== \$1"
	xl list | awk 'NR > 1 { print "   | " \$1 }'
}
CASE
}

# xen_testbed_run TIMEOUT DIR: run DIR/in-dom0.sh in dom0 of the testbed
# (DIR shared), its output in DIR/out (printed), its stderr in DIR/run.err
# (printed on stderr); fail unless the testbed exited 0.
xen_testbed_run() {
	local rc
	set +e
	"$(dirname "${BASH_SOURCE[0]}")/../../scripts/xen-testbed/run" --timeout "$1" --dom0-vcpus 1 --share "$2" \
		-- bash "$2/in-dom0.sh" >"$2/out" 2>"$2/run.err"
	rc=$?
	set -e
	cat "$2/out"
	cat "$2/run.err" >&2
	((rc == 0)) || fail "scripts/xen-testbed/run exited $rc"
}

# The lines of case NAME in $D/out, from "== NAME" to the next "== ".
block() { sed -n "/^== $1\( \|$\)/,/^== /p" "$D/out"; }
expect() { # NAME RC PATTERN WHAT
	block "$1" | grep -q "^== $1 rc=$2\$" || fail "$1: exit status is not $2 ($4)"
	block "$1" | grep -Eq -- "$3" || fail "$1: no '$3' ($4)"
}

# Fail unless the "domains left" block lists Domain-0 alone.
xen_expect_no_domains_left() {
	[ "$(block 'domains left' | grep -c '^   | ')" = 1 ] && block 'domains left' | grep -q '^   | Domain-0$' ||
		fail "domains left behind: $(block 'domains left' | tr '\n' ' ')"
}
