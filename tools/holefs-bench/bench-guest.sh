#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# bench-guest.sh: the guest half of scripts/bench (make bench).  Mounts each
# file system of $BENCH_FS in turn at /mnt/bench and runs `holefs-bench run`
# on it; the records go to the console as "HOLEFS-BENCH: {json}" lines,
# which scripts/bench-report reads back.  POSIX sh (busybox ash).
#
# Environment (set by scripts/bench):
#	BENCH_FS     labels: holefs-<map_pages policy>, tmpfs, ext4, xfs
#	BENCH_ARGS   options for `holefs-bench run` (sizes, reps, phases)
#	BENCH_HOLEFS_OPTS  extra holefs mount options
# ext4 and xfs need images/ext4.sparse and images/xfs.sparse in the payload
# (made on the host: busybox has no mkfs); they are written to /dev/ram0
# and /dev/ram1, which are discarded after use to give the RAM back.

: "${BENCH_FS:=holefs-filemap holefs-trylock holefs-off tmpfs ext4 xfs}"
: "${BENCH_ARGS:=}"
: "${BENCH_HOLEFS_OPTS:=}"
mnt=/mnt/bench
out=/tmp/bench.out
status=0
: >"$out"

far=$(cat /sys/kernel/debug/fault_around_bytes 2>/dev/null || echo unknown)
mem=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
echo "HOLEFS-BENCH-CONFIG: kernel=$(uname -r) cpus=$(grep -c ^processor /proc/cpuinfo)" \
	"mem_kib=$mem fault_around_bytes=$far fs=$(echo "$BENCH_FS" | tr ' ' ,)" \
	"args=$(echo "$BENCH_ARGS" | tr ' ' ,)" | tee -a "$out"

fail() {
	echo "HOLEFS-BENCH-ERROR: $*" | tee -a "$out"
	status=1
}

dev_of() {
	case $1 in
	ext4) echo /dev/ram0 ;;
	xfs) echo /dev/ram1 ;;
	esac
}

bench_mount() {
	case $1 in
	holefs-*)
		mount -t holefs -o "size=2g,map_pages=${1#holefs-}${BENCH_HOLEFS_OPTS:+,$BENCH_HOLEFS_OPTS}" \
			holefs "$mnt"
		;;
	tmpfs) mount -t tmpfs -o size=1g tmpfs "$mnt" ;;
	ext4 | xfs)
		_img=$HOLEFS_DIR/images/$1.sparse
		_dev=$(dev_of "$1")
		[ -r "$_img" ] || { echo "no $_img" >&2; return 1; }
		holefs-bench sparse-write "$_img" "$_dev" || return 1
		mount -t "$1" "$_dev" "$mnt"
		;;
	*) echo "unknown file system label $1" >&2; return 1 ;;
	esac
}

case " $BENCH_FS " in
*" holefs-"*) insmod "$HOLEFS_DIR/holefs.ko" || fail "insmod holefs.ko" ;;
esac
mkdir -p "$mnt"
for fs in $BENCH_FS; do
	start=$(date +%s)
	if ! bench_mount "$fs"; then
		fail "fs=$fs mount"
		continue
	fi
	echo "bench: $fs mounted: $(grep " $mnt " /proc/mounts)" >&2
	# shellcheck disable=SC2086 # BENCH_ARGS is a list of options
	holefs-bench run --dir "$mnt" --fs "$fs" $BENCH_ARGS >"$out.fs" || fail "fs=$fs holefs-bench status $?"
	cat "$out.fs"
	cat "$out.fs" >>"$out"
	rm -f "$mnt/bench.dat" "$mnt/p5.dat"
	umount "$mnt" || fail "fs=$fs umount"
	dev=$(dev_of "$fs")
	echo "bench: $fs measured in $(($(date +%s) - start))s" >&2
	[ -z "$dev" ] || holefs-bench discard "$dev" || echo "bench: discard $dev failed" >&2
	echo "bench: $fs done in $(($(date +%s) - start))s;" \
		"MemFree $(awk '/^MemFree:/ { print $2 }' /proc/meminfo) kB" >&2
done

# A kernel message can split a record on the console: print them all
# again (the report takes the first whole copy of each).
echo "HOLEFS-BENCH-COPY-BEGIN"
cat "$out"
echo "HOLEFS-BENCH-COPY-END"
exit "$status"
