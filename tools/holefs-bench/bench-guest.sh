#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# bench-guest.sh: the guest half of scripts/bench (make bench).  Mounts every
# file system of $BENCH_FS at /mnt/bench/<label> and runs one
# `holefs-bench run` over all of them, which interleaves them repetition by
# repetition; the records go to the console as "HOLEFS-BENCH: {json}"
# lines, which scripts/bench-report reads back.  POSIX sh (busybox ash).
#
# Environment (set by scripts/bench):
#	BENCH_FS           labels: holefs-<map_pages policy>[-large] (-large:
#	                   folios=large), tmpfs, ext4, xfs
#	BENCH_ARGS         options for `holefs-bench run` (sizes, reps, phases)
#	BENCH_HOLEFS_OPTS  extra holefs mount options
#	BENCH_TIMEOUT      seconds holefs-bench may take (1200)
# ext4 and xfs need images/ext4.sparse and images/xfs.sparse in the payload
# (made on the host: busybox has no mkfs); they are written to /dev/ram0
# and /dev/ram1.

: "${BENCH_FS:=holefs-filemap holefs-filemap-large holefs-trylock holefs-off tmpfs ext4 xfs}"
: "${BENCH_ARGS:=}"
: "${BENCH_HOLEFS_OPTS:=}"
: "${BENCH_TIMEOUT:=1200}"
top=/mnt/bench
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

# bench_mount LABEL DIR
bench_mount() {
	mkdir -p "$2"
	case $1 in
	holefs-*-large)
		# The same policy with large folios in the page cache.
		_mp=${1#holefs-}
		mount -t holefs -o "size=2g,map_pages=${_mp%-large},folios=large${BENCH_HOLEFS_OPTS:+,$BENCH_HOLEFS_OPTS}" \
			holefs "$2"
		;;
	holefs-*)
		mount -t holefs -o "size=2g,map_pages=${1#holefs-}${BENCH_HOLEFS_OPTS:+,$BENCH_HOLEFS_OPTS}" \
			holefs "$2"
		;;
	tmpfs) mount -t tmpfs -o size=2g tmpfs "$2" ;;
	ext4 | xfs)
		_img=$HOLEFS_DIR/images/$1.sparse
		if [ "$1" = ext4 ]; then _dev=/dev/ram0; else _dev=/dev/ram1; fi
		[ -r "$_img" ] || { echo "no $_img" >&2; return 1; }
		holefs-bench sparse-write "$_img" "$_dev" || return 1
		mount -t "$1" "$_dev" "$2"
		;;
	*) echo "unknown file system label $1" >&2; return 1 ;;
	esac
}

# wait_bench PID: wait for holefs-bench, at most $BENCH_TIMEOUT seconds;
# past that, show where its threads sleep, kill it and fail.
wait_bench() {
	_t=0
	while kill -0 "$1" 2>/dev/null; do
		sleep 1
		_t=$((_t + 1))
		[ "$_t" -lt "$BENCH_TIMEOUT" ] && continue
		for _task in /proc/"$1"/task/*; do
			echo "bench: thread ${_task##*/} state $(awk '{ print $3 }' "$_task/stat")" \
				"in $(cat "$_task/wchan"), syscall $(cut -d' ' -f1 "$_task/syscall")" >&2
		done
		grep -E '^(MemFree|Dirty|Writeback):' /proc/meminfo >&2
		kill -9 "$1"
		wait "$1" 2>/dev/null
		fail "timeout after ${_t}s"
		return 1
	done
	return 0
}

case " $BENCH_FS " in
*" holefs-"*) insmod "$HOLEFS_DIR/holefs.ko" || fail "insmod holefs.ko" ;;
esac
targets=""
for fs in $BENCH_FS; do
	if bench_mount "$fs" "$top/$fs"; then
		echo "bench: $(grep " $top/$fs " /proc/mounts)" >&2
		targets="$targets --target $fs=$top/$fs"
	else
		fail "fs=$fs mount"
	fi
done

start=$(date +%s)
# shellcheck disable=SC2086 # lists of options
holefs-bench run $targets $BENCH_ARGS >"$out.run" &
bpid=$!
if wait_bench "$bpid" && ! wait "$bpid"; then
	fail "holefs-bench failed"
fi
echo "bench: measured in $(($(date +%s) - start))s;" \
	"MemFree $(awk '/^MemFree:/ { print $2 }' /proc/meminfo) kB" >&2
cat "$out.run" >>"$out"

for fs in $BENCH_FS; do
	grep -q " $top/$fs " /proc/mounts || continue
	rm -f "$top/$fs/bench.dat" "$top/$fs/p5.dat"
	umount "$top/$fs" || fail "fs=$fs umount"
done

# The records, whole: on the console a kernel message can split a line
# (the report takes the first whole copy of each).
echo "HOLEFS-BENCH-COPY-BEGIN"
cat "$out"
echo "HOLEFS-BENCH-COPY-END"
exit "$status"
