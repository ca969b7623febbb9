# SPDX-License-Identifier: GPL-2.0
#
# lib.sh - helpers for the holefs guest tests; source it:
#	. "$(dirname "$0")/lib.sh"
#
# POSIX sh: runs under busybox ash (run-qemu) and the host's dash/bash
# (run-vng), and in a kselftest tree or install (run_kselftest.sh).  The
# layout is the same in all three: the tests and this file in one
# directory, ../kselftest/ktap_helpers.sh beside it, and $HOLEFS_DIR (the
# parent directory unless set) holding holefs.ko and bin/.  $HOLEFS_KO
# names another holefs.ko.
#
# Results are KTAP, printed with the kernel's ktap_helpers.sh:
# tap_plan N (optional; tap_done prints the plan when it was not given),
# tap_ok/tap_fail/tap_skip DESC, tap_todo DESC REASON PASSED,
# tap_check DESC CMD..., tap_done (returns 1 if a point failed).  Each
# point can fail on its own: a test keeps going after a failure.
# holefs_require_module, holefs_require_cmd CMD...: exit $KSFT_SKIP (4)
# when this machine cannot load holefs or lacks a program.

HOLEFS_TESTS=${HOLEFS_TESTS:-$(cd "$(dirname "$0")" && pwd)}
HOLEFS_DIR=${HOLEFS_DIR:-$(cd "$HOLEFS_TESTS/.." && pwd)}
HOLEFS_KO=${HOLEFS_KO:-$HOLEFS_DIR/holefs.ko}
export HOLEFS_DIR HOLEFS_TESTS HOLEFS_KO
# The C programs sit beside the scripts in a kselftest install.
case ":$PATH:" in
*":$HOLEFS_TESTS:"*) ;;
*) PATH=$PATH:$HOLEFS_TESTS ;;
esac

if [ -f "$HOLEFS_TESTS/../kselftest/ktap_helpers.sh" ]; then
	# shellcheck source=/dev/null
	. "$HOLEFS_TESTS/../kselftest/ktap_helpers.sh"
else
	# Not staged from a kernel tree (scripts/stage-guest warns): the
	# subset of ktap_helpers.sh used below, with the same output.
	KTAP_TESTNO=1 KTAP_CNT_PASS=0 KTAP_CNT_FAIL=0 KTAP_CNT_SKIP=0
	KSFT_PASS=0 KSFT_FAIL=1 KSFT_SKIP=4
	ktap_print_header() { echo "TAP version 13"; }
	ktap_set_plan() { echo "1..$1"; }
	ktap_skip_all() { echo "1..0 # SKIP $*"; }
	ktap_test_pass() {
		echo "ok $KTAP_TESTNO $1"
		KTAP_TESTNO=$((KTAP_TESTNO + 1)) KTAP_CNT_PASS=$((KTAP_CNT_PASS + 1))
	}
	ktap_test_fail() {
		echo "not ok $KTAP_TESTNO $1"
		KTAP_TESTNO=$((KTAP_TESTNO + 1)) KTAP_CNT_FAIL=$((KTAP_CNT_FAIL + 1))
	}
	ktap_test_skip() {
		echo "ok $KTAP_TESTNO $1 # SKIP"
		KTAP_TESTNO=$((KTAP_TESTNO + 1)) KTAP_CNT_SKIP=$((KTAP_CNT_SKIP + 1))
	}
	ktap_print_totals() {
		echo "# Totals: pass:$KTAP_CNT_PASS fail:$KTAP_CNT_FAIL xfail:0 xpass:0" \
			"skip:$KTAP_CNT_SKIP error:0"
	}
fi

# _ktap CMD...: a ktap_helpers.sh call; it echoes descriptions unquoted,
# so no globbing while it runs.
_ktap() {
	case $- in
	*f*) "$@" ;;
	*) set -f; "$@"; set +f ;;
	esac
}

_tap_header=0
_tap_todo=0
_tap_planned=""

# The KTAP header, once, before the first plan or point.
tap_header() {
	[ $_tap_header -eq 1 ] && return
	_tap_header=1
	ktap_print_header
}

tap_plan() {
	tap_header
	_tap_planned=$1
	ktap_set_plan "$1"
}

tap_ok() {
	tap_header
	_ktap ktap_test_pass "- $1"
}

# tap_fail DESC [WHY...]: WHY is printed as TAP diagnostics.
tap_fail() {
	tap_header
	_ktap ktap_test_fail "- $1"
	shift
	[ -z "$*" ] || printf '%s\n' "$*" | sed 's/^/# /'
}

# tap_skip DESC REASON: the reason as a diagnostic before the point
# (ktap_test_skip takes none).
tap_skip() {
	tap_header
	[ -z "${2:-}" ] || echo "# $1: ${2}"
	_ktap ktap_test_skip "- $1"
}

# tap_todo DESC REASON PASSED [INFO]: a point that is expected to fail
# for a known REASON (TAP "# TODO"): counted neither as a pass nor as a
# failure.  PASSED non-zero prints "ok ... # TODO": the gap has closed.
tap_todo() {
	tap_header
	if [ "${3:-0}" -ne 0 ]; then
		echo "ok $KTAP_TESTNO - $1 # TODO $2"
	else
		echo "not ok $KTAP_TESTNO - $1 # TODO $2"
	fi
	KTAP_TESTNO=$((KTAP_TESTNO + 1))
	_tap_todo=$((_tap_todo + 1))
	[ -z "${4:-}" ] || echo "# $4"
}

# tap_check DESC CMD...: one point, ok if CMD succeeds; CMD's output is
# shown as diagnostics.
tap_check() {
	_desc=$1
	shift
	if _out=$("$@" 2>&1); then
		tap_ok "$_desc"
	else
		tap_fail "$_desc" "command failed (status $?): $*"
	fi
	[ -z "$_out" ] || printf '%s\n' "$_out" | sed 's/^/#   /'
}

# tap_done: the plan if none was given, the totals; status 1 if any point
# failed or the planned count was not met.
tap_done() {
	tap_header
	_tap_n=$((KTAP_TESTNO - 1))
	if [ -z "$_tap_planned" ]; then
		ktap_set_plan "$_tap_n"
	fi
	ktap_print_totals
	if [ -n "$_tap_planned" ] && [ "$_tap_planned" -ne "$_tap_n" ]; then
		echo "# planned $_tap_planned tests but ran $_tap_n"
		return 1
	fi
	[ "$KTAP_CNT_FAIL" -eq 0 ]
}

# holefs_require_cmd CMD...: skip the whole test (as below) unless every
# CMD is on PATH (the Rust tools come from scripts/build-tools, not from
# the kselftest build).
holefs_require_cmd() {
	for _cmd in "$@"; do
		command -v "$_cmd" >/dev/null 2>&1 && continue
		tap_header
		_ktap ktap_skip_all "$_cmd not on PATH"
		exit "$KSFT_SKIP"
	done
}

# holefs_require_module: skip the whole test (KTAP "1..0 # SKIP", exit
# status KSFT_SKIP) unless holefs.ko is there to load: the tests load it
# themselves, with the module parameters they test.
holefs_require_module() {
	[ -f "$HOLEFS_KO" ] && return 0
	tap_header
	_ktap ktap_skip_all "no $HOLEFS_KO to load (set HOLEFS_KO to the module)"
	exit "$KSFT_SKIP"
}

# diag MSG...: a TAP comment line.
diag() {
	echo "# $*"
}

# --- module and mounts -------------------------------------------------------

holefs_loaded() {
	grep -q '^holefs ' /proc/modules
}

# holefs_load [PARAM=VALUE...]: insmod the staged module; does nothing if it
# is already loaded (holefs_unload first to change parameters).
holefs_load() {
	holefs_loaded && return 0
	insmod "$HOLEFS_KO" "$@"
}

holefs_unload() {
	holefs_loaded || return 0
	rmmod holefs
}

# holefs_opts OPTS: OPTS with $HOLEFS_EXTRA_OPTS appended, comma-separated.
# HOLEFS_EXTRA_OPTS=folios=large runs a suite over large folios: every
# mount of the scripts here and of the C tests (holefs_mount_at()) gets it.
holefs_opts() {
	if [ -n "$1" ] && [ -n "${HOLEFS_EXTRA_OPTS:-}" ]; then
		echo "$1,$HOLEFS_EXTRA_OPTS"
	else
		echo "$1${HOLEFS_EXTRA_OPTS:-}"
	fi
}

# holefs_mount MNT [OPTS]: mount a holefs instance (creating MNT), with
# $HOLEFS_EXTRA_OPTS added.
holefs_mount() {
	mkdir -p "$1"
	_opts=$(holefs_opts "${2:-}")
	if [ -n "$_opts" ]; then
		mount -t holefs -o "$_opts" holefs "$1"
	else
		mount -t holefs holefs "$1"
	fi
}

# holefs_mounted MNT: is MNT a mount point of a holefs instance?
holefs_mounted() {
	awk -v m="$(cd "$1" 2>/dev/null && pwd -P)" '
		$5 == m { found = 1; for (i = 7; $i != "-"; i++); t = $(i + 1) }
		END { exit !(found && t == "holefs") }' /proc/self/mountinfo
}

# holefs_mount_dev MNT: the "major:minor" of the file system on MNT (what
# `mountpoint -d` prints; busybox has no mountpoint applet).
holefs_mount_dev() {
	awk -v m="$(cd "$1" && pwd -P)" '$5 == m { d = $3 } END { if (d == "") exit 1; print d }' \
		/proc/self/mountinfo
}

# holefs_stats_dir MNT: the sysfs directory with MNT's counters.
holefs_stats_dir() {
	_dev=$(holefs_mount_dev "$1") || return 1
	echo "/sys/fs/holefs/$_dev"
}

# holefs_stat NAME MNT: print one counter of MNT's stats file.
holefs_stat() {
	_dir=$(holefs_stats_dir "$2") || return 1
	awk -v n="$1" '$1 == n { print $2; found = 1 } END { exit !found }' "$_dir/stats"
}

# holefs_stats_clear MNT: zero MNT's event counters.
holefs_stats_clear() {
	_dir=$(holefs_stats_dir "$1") || return 1
	echo 1 >"$_dir/stats_clear"
}

# --- kernel log ---------------------------------------------------------------

_dmesg_mark=""

# dmesg_mark: put a unique line into the kernel log; dmesg_since_mark
# prints what came after it.
dmesg_mark() {
	_dmesg_mark="holefs-test: mark $$-$(date +%s)-${1:-$(basename "$0")}"
	echo "$_dmesg_mark" >/dev/kmsg
}

dmesg_since_mark() {
	if [ -z "$_dmesg_mark" ]; then
		dmesg
		return
	fi
	# The whole log if the mark scrolled out of the ring buffer.
	dmesg | awk -v m="$_dmesg_mark" '
		index($0, m) { found = 1; n = 0; next }
		{ line[++n] = $0; all[++na] = $0 }
		END {
			if (found) for (i = 1; i <= n; i++) print line[i]
			else for (i = 1; i <= na; i++) print all[i]
		}'
}

# dmesg_clean [--allow REGEX]...: true if the kernel log since the mark has
# no kernel report (scan-log's verdict); the reports go out as diagnostics.
dmesg_clean() {
	_scan=$(dmesg_since_mark | sh "$HOLEFS_TESTS/scan-log" - "$@")
	_rc=$?
	printf '%s\n' "$_scan" | sed 's/^/# /'
	return $_rc
}

# tap_dmesg_clean DESC [--allow REGEX]...: dmesg_clean as a test point.
tap_dmesg_clean() {
	_desc=$1
	shift
	if dmesg_clean "$@"; then
		tap_ok "$_desc"
	else
		tap_fail "$_desc" "kernel reports since the test began (above)"
	fi
}

# holefs_scratch_cleanup: the EXIT trap of a test that mounts holefs at $mnt
# below its scratch directory $base: unmount, unload the module, remove
# $base.
holefs_scratch_cleanup() {
	cd /
	holefs_mounted "$mnt" && umount "$mnt"
	holefs_unload 2>/dev/null
	rm -rf "$base"
}
