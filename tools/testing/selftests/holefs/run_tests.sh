#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# run_tests.sh [TEST...]: run holefs guest tests and count TAP test points.
#
# Without arguments: every *_test.sh here (except *_vng_test.sh, which need
# the host userspace that only run-vng has, unless $HOLEFS_RUNNER is vng)
# and every TAP binary listed in tap_binaries (built from selftests/*.c).
# A TEST is a script name, a binary in $HOLEFS_DIR/bin, or a shell pattern
# such as '*_vng_test.sh' (a pattern that matches nothing is skipped).
#
# Scripts set up what they need themselves (lib.sh).  A binary gets a
# fixture: holefs loaded (module parameters: $HOLEFS_MODULE_PARAMS), a
# fresh instance mounted (options: $HOLEFS_MOUNT_OPTS) at a new directory
# exported as HOLEFS_MNT and HOLEFS_RACE_DIR, which is also its working
# directory; afterwards it is unmounted and the module unloaded.
#
# Each test's (K)TAP goes to stdout; a test that exits non-zero without
# any "not ok", or prints no test point, or runs past $HOLEFS_TEST_TIMEOUT
# seconds (default 900) counts as one failed point.  So does a test that
# skips itself with KSFT_SKIP (exit status 4): this runner stages what the
# tests need, so a skip here is a missing piece, not a finding.  The same
# tests run under the kernel's run_kselftest.sh (the Makefile here).  The last line is
#	HOLEFS-SUITE: passed=N failed=M
# (skipped points and "# TODO" points, known failures, are in neither
# number; a "# skipped=K todo=T" line before it counts them).  Exit status
# 0 if nothing failed.

here=$(cd "$(dirname "$0")" && pwd)
HOLEFS_DIR=${HOLEFS_DIR:-$(dirname "$here")}
export HOLEFS_DIR
: "${HOLEFS_TEST_TIMEOUT:=900}"

. "$here/lib.sh"

passed=0
failed=0
skipped=0
todo=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The default list: scripts, then binaries.
default_tests() {
	for t in "$here"/*_test.sh; do
		[ -f "$t" ] || continue
		case $t in
		*_vng_test.sh) [ "${HOLEFS_RUNNER:-}" = vng ] || continue ;;
		esac
		basename "$t"
	done
	[ -f "$here/tap_binaries" ] && grep -v '^#' "$here/tap_binaries"
}

# Expand one argument (name or pattern) to test names.
expand_arg() {
	case $1 in
	*'*'* | *'?'* | *'['*)
		found=0
		for t in "$here"/$1 "$HOLEFS_DIR"/bin/$1; do
			[ -e "$t" ] || continue
			basename "$t"
			found=1
		done
		[ $found -eq 1 ] || echo "# no test matches $1" >&2
		;;
	*) echo "$1" ;;
	esac
}

# fixture_up: load and mount holefs for a test binary (see the top).
fixture_up() {
	# shellcheck disable=SC2086 # one word per parameter
	holefs_load ${HOLEFS_MODULE_PARAMS:-} && holefs_mount "$HOLEFS_MNT" "${HOLEFS_MOUNT_OPTS:-}"
}

fixture_down() {
	# Retry: a test's last processes may still be exiting.
	for _try in 1 2 3 4 5; do
		holefs_mounted "$HOLEFS_MNT" || break
		umount "$HOLEFS_MNT" 2>/dev/null && break
		sleep 1
	done
	holefs_mounted "$HOLEFS_MNT" && umount "$HOLEFS_MNT"
	holefs_unload
}

# run_one NAME: run a test, print its TAP, add up its points.
run_one() {
	name=$1
	fixture=0
	cwd=/tmp
	if [ -f "$here/$name" ]; then
		set -- sh "$here/$name"
	elif [ -x "$HOLEFS_DIR/bin/$name" ]; then
		set -- "$HOLEFS_DIR/bin/$name"
		fixture=1
		HOLEFS_MNT=$tmp/mnt
		HOLEFS_RACE_DIR=$HOLEFS_MNT
		export HOLEFS_MNT HOLEFS_RACE_DIR
		# (Piped: it runs in a subshell, which is fine for load and mount.)
		fixture_up 2>&1 | sed 's/^/# /'
		if ! holefs_mounted "$HOLEFS_MNT"; then
			echo "not ok 1 - $name: could not load and mount holefs for it"
			failed=$((failed + 1))
			fixture_down >/dev/null 2>&1
			return
		fi
		cwd=$HOLEFS_MNT
	else
		echo "# $name: no such test"
		echo "not ok 1 - $name: no such test"
		failed=$((failed + 1))
		return
	fi
	# Change directory inside the timeout: busybox timeout leaves a watcher
	# process behind for up to a second, which must not pin the mount.
	# shellcheck disable=SC2016 # expanded by that inner sh
	set -- sh -c 'cd "$1" || exit 1; shift; exec "$@"' sh "$cwd" "$@"
	if command -v timeout >/dev/null 2>&1; then
		set -- timeout "$HOLEFS_TEST_TIMEOUT" "$@"
	fi

	echo "# ==== $name"
	start=$(date +%s)
	# The status travels through a file: POSIX sh has no pipefail.
	{ (cd /tmp && "$@" 2>&1); echo $? >"$tmp/rc"; } | tee "$tmp/out"
	rc=$(cat "$tmp/rc")
	[ $fixture -eq 0 ] || fixture_down 2>&1 | sed 's/^/# /'
	# Points at the start of a line; indented ones are nested subtests.
	# "# TODO" points (known failures) count in neither number.
	p=$(grep -cE '^ok ' "$tmp/out")
	s=$(grep -cE '^ok .*# *(SKIP|skip)' "$tmp/out")
	f=$(grep -cE '^not ok ' "$tmp/out")
	td=$(grep -cE '^ok .*# *TODO' "$tmp/out")
	tf=$(grep -cE '^not ok .*# *TODO' "$tmp/out")
	p=$((p - s - td))
	f=$((f - tf))
	td=$((td + tf))
	if [ "$rc" -eq 4 ] && [ "$f" -eq 0 ]; then
		# KSFT_SKIP: the test could not run here.  Under this runner,
		# which stages holefs.ko and the binaries, that is an error.
		echo "not ok - $name skipped itself (exit status 4, KSFT_SKIP)"
		f=1
	elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $name exited with status $rc"
		f=1
	elif [ $((p + s + f + td)) -eq 0 ]; then
		echo "not ok - $name printed no test point"
		f=1
	fi
	echo "# ==== $name: passed=$p failed=$f skipped=$s todo=$td status=$rc ($(($(date +%s) - start))s)"
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	todo=$((todo + td))
}

if [ $# -eq 0 ]; then
	tests=$(default_tests)
else
	tests=$(for a in "$@"; do expand_arg "$a"; done)
fi

for t in $tests; do
	run_one "$t"
done

echo "# skipped=$skipped todo=$todo"
echo "HOLEFS-SUITE: passed=$passed failed=$failed"
# Again as a kernel log record, which no other console output can split.
echo "HOLEFS-SUITE: passed=$passed failed=$failed" 2>/dev/null >/dev/kmsg
[ "$failed" -eq 0 ]
