#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# stress_vng_test.sh: stress-ng (Debian's 0.15.06) with its temporary files
# on a holefs mount: the file stressors that go through holefs's paths --
# fallocate, mmap (--mmap-file), madvise, fault, iomix, hdd, fpunch --
# all at once, one instance each, with --verify (the stressors that can
# check their data do), while the page cache is dropped every few seconds
# so that reads come from the store.  stress-ng must exit 0 with every
# stressor making progress, the store must be empty afterwards, and the
# kernel log clean.
#
# Needs the host's stress-ng: runs under run-vng (make check, short), or
# wherever `stress-ng` is on PATH -- scripts/check-debug bundles the host
# binary and its libraries into the debug payload and runs this test by
# name under run-qemu on the debug kernel (HOLEFS_STRESS_SECONDS=60).
#
# HOLEFS_STRESS_SECONDS   duration (default 12)
# HOLEFS_STRESS_SIZE      holefs size= (default 512m)

. "$(dirname "$0")/lib.sh"

secs=${HOLEFS_STRESS_SECONDS:-12}
STRESSORS="fallocate mmap madvise fault iomix hdd fpunch"
NSTRESSORS=7

tap_plan $((NSTRESSORS + 7))
if ! command -v stress-ng >/dev/null 2>&1; then
	for i in $(seq $((NSTRESSORS + 7))); do
		tap_skip "stress-ng $i" "no stress-ng on PATH (run under run-vng)"
	done
	tap_done
	exit
fi

base=$(mktemp -d)
mnt=$base/mnt
dropper=""
cleanup() {
	[ -z "$dropper" ] || kill "$dropper" 2>/dev/null
	cd /
	holefs_mounted "$mnt" && umount "$mnt"
	holefs_unload 2>/dev/null
	rm -rf "$base"
}
trap cleanup EXIT
dmesg_mark stress_vng_test

holefs_unload 2>/dev/null
tap_check "insmod and mount (size=${HOLEFS_STRESS_SIZE:-512m})" sh -c \
	". '$HOLEFS_TESTS/lib.sh'; holefs_load && holefs_mount '$mnt' size=${HOLEFS_STRESS_SIZE:-512m}"

have=$(stress-ng --stressors 2>/dev/null)
run=""
for s in $STRESSORS; do
	case " $have " in
	*" $s "*) run="$run --$s 1" ;;
	*) diag "stress-ng has no $s stressor" ;;
	esac
done

# Keep the page cache cold: every 3 s, drop what is clean.
(
	while :; do
		sleep 3
		echo 3 >/proc/sys/vm/drop_caches
	done
) &
dropper=$!

diag "stress-ng --temp-path $mnt$run --verify -t ${secs}s"
start=$(date +%s)
# Sizes fit the store and a slow debug kernel; --mmap-file maps a file in
# --temp-path instead of anonymous memory.
# shellcheck disable=SC2086 # $run is a list of options
(cd "$mnt" && stress-ng --temp-path "$mnt" $run --verify -t "${secs}s" \
	--metrics-brief --mmap-file --mmap-bytes 4m --fallocate-bytes 32m \
	--iomix-bytes 32m --hdd-bytes 32m --hdd-write-size 4k \
	</dev/null >"$base/out" 2>&1)
rc=$?
wall=$(($(date +%s) - start))
kill "$dropper" 2>/dev/null
wait "$dropper" 2>/dev/null
dropper=""
sed 's/^/#   /' "$base/out"

if [ $rc -eq 0 ]; then
	tap_ok "stress-ng exits 0 (${wall}s)"
else
	tap_fail "stress-ng exits 0 (${wall}s)" "exit status $rc (2: a stressor failed, 3: no resource, 4: not implemented)"
fi
# stress-ng tags its messages "info:", "metrc:", "fail:", "error:".
bad='^stress-ng: (fail|error):|verif[a-z]* (fail|error)'
if grep -qiE "$bad" "$base/out"; then
	tap_fail "no failure or verification error in stress-ng's output" \
		"$(grep -iE "$bad" "$base/out")"
else
	tap_ok "no failure or verification error in stress-ng's output"
fi

# Bogo ops per stressor: "stress-ng: metrc: [N] NAME OPS REAL USR SYS ...".
total=0
for s in $STRESSORS; do
	ops=$(awk -v s="$s" '$2 == "metrc:" && $4 == s { print $5; exit }' "$base/out")
	if [ -n "$ops" ] && [ "$ops" -gt 0 ] 2>/dev/null; then
		tap_ok "$s made progress ($ops bogo ops)"
		total=$((total + ops))
	else
		tap_fail "$s made progress" "bogo ops: ${ops:-none}"
	fi
done
diag "holefs-stress: stressors=$NSTRESSORS seconds=$secs stressor_seconds=$((NSTRESSORS * secs)) bogo_ops=$total"

used=$(holefs_stat blocks_used "$mnt")
tap_check "umount" umount "$mnt"
tap_check "rmmod" holefs_unload
if dmesg_since_mark | grep -q 'still accounted'; then
	tap_fail "the store is empty at unmount" "$(dmesg_since_mark | grep 'still accounted')"
else
	tap_ok "the store is empty at unmount (blocks_used before umount: ${used:-?})"
fi
tap_dmesg_clean "no kernel report during the test"
tap_done
