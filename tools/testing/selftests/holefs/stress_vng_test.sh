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
# HOLEFS_STRESS_SECONDS   duration of each run (default 12)
# HOLEFS_STRESS_SIZE      holefs size= (default 512m)
# HOLEFS_STRESS_SPLIT     1: two runs of HOLEFS_STRESS_SECONDS each, the
#                         file stressors (fallocate iomix hdd fpunch), then
#                         the mapping ones (mmap madvise fault), instead of
#                         all seven at once.  For the debug kernel under
#                         TCG, where one madvise bogo op costs ~15 s of CPU
#                         and seven stressors on two vCPUs leave it ~2/7 of
#                         one (scripts/check-debug sets it).
# HOLEFS_STRESS_FALLOCATE_BYTES, HOLEFS_STRESS_MMAP_BYTES
#                         --fallocate-bytes (default 32m), --mmap-bytes
#                         (default 4m): one bogo op of the fallocate stressor
#                         preallocates and frees that much, of the mmap
#                         stressor maps and touches it (debug kernel, alone:
#                         32m takes 22 s per op, 4m 1.3 s; tmpfs there is
#                         only 2.5-4x faster).

. "$(dirname "$0")/lib.sh"
holefs_require_module

secs=${HOLEFS_STRESS_SECONDS:-12}
falloc_bytes=${HOLEFS_STRESS_FALLOCATE_BYTES:-32m}
mmap_bytes=${HOLEFS_STRESS_MMAP_BYTES:-4m}
STRESSORS="fallocate mmap madvise fault iomix hdd fpunch"
NSTRESSORS=7
# Runs, separated by "/".
if [ "${HOLEFS_STRESS_SPLIT:-0}" = 1 ]; then
	RUNS="fallocate iomix hdd fpunch/mmap madvise fault"
	NRUNS=2
else
	RUNS=$STRESSORS
	NRUNS=1
fi
NPOINTS=$((NSTRESSORS + 5 + 2 * NRUNS))

tap_plan $NPOINTS
if ! command -v stress-ng >/dev/null 2>&1; then
	for i in $(seq $NPOINTS); do
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

# Keep the page cache cold: every 3 s, drop what is clean.
(
	while :; do
		sleep 3
		echo 3 >/proc/sys/vm/drop_caches
	done
) &
dropper=$!

# run_group N "STRESSOR...": one stress-ng run, output in $base/out.N.
run_group() {
	_run=""
	for _s in $2; do
		case " $have " in
		*" $_s "*) _run="$_run --$_s 1" ;;
		*) diag "stress-ng has no $_s stressor" ;;
		esac
	done
	diag "stress-ng --temp-path $mnt$_run --verify -t ${secs}s"
	_start=$(date +%s)
	# Sizes fit the store and a slow debug kernel; --mmap-file maps a
	# file in --temp-path instead of anonymous memory.
	# shellcheck disable=SC2086 # $_run is a list of options
	(cd "$mnt" && stress-ng --temp-path "$mnt" $_run --verify -t "${secs}s" \
		--metrics-brief --mmap-file --mmap-bytes "$mmap_bytes" \
		--fallocate-bytes "$falloc_bytes" --iomix-bytes 32m \
		--hdd-bytes 32m --hdd-write-size 4k \
		</dev/null >"$base/out.$1" 2>&1)
	_rc=$?
	_wall=$(($(date +%s) - _start))
	sed 's/^/#   /' "$base/out.$1"
	_what="stress-ng ($2) exits 0 (${_wall}s)"
	if [ $_rc -eq 0 ]; then
		tap_ok "$_what"
	else
		tap_fail "$_what" "exit status $_rc (2: a stressor failed, 3: no resource, 4: not implemented)"
	fi
	# stress-ng tags its messages "info:", "metrc:", "fail:", "error:".
	_bad='^stress-ng: (fail|error):|verif[a-z]* (fail|error)'
	_what="no failure or verification error in stress-ng's output ($2)"
	if grep -qiE "$_bad" "$base/out.$1"; then
		tap_fail "$_what" "$(grep -iE "$_bad" "$base/out.$1")"
	else
		tap_ok "$_what"
	fi
}

n=0
rest=$RUNS
while [ -n "$rest" ]; do
	group=${rest%%/*}
	case $rest in
	*/*) rest=${rest#*/} ;;
	*) rest="" ;;
	esac
	n=$((n + 1))
	run_group $n "$group"
done
kill "$dropper" 2>/dev/null
wait "$dropper" 2>/dev/null
dropper=""
cat "$base"/out.* >"$base/out"

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
diag "holefs-stress: stressors=$NSTRESSORS runs=$NRUNS seconds=$secs stressor_seconds=$((NSTRESSORS * secs)) bogo_ops=$total"

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
