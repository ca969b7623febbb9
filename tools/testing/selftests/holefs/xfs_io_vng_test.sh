#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# xfs_io_vng_test.sh: fstests-style golden-output test of holefs (issue 4)
# with the host's xfs_io (xfsprogs), so it runs under scripts/run-vng only.
#
# Sections of pwrite/pread/truncate/mmap/mread/mwrite/msync/fsync/fpunch/
# falloc/fzero/seek sequences, with drop_caches in between so reads come
# from the backing store, and the refusals (unsupported fallocate modes,
# ENOSPC on a size=1m instance).  The output is filtered like fstests'
# _filter_xfs_io (no rates or times, the mount point as MNT), then each
# "== section" is compared with the same section of xfs_io_basic.out, one
# TAP point per section, plus one for the whole file.  A mismatch is a
# failure; the diff is printed.
#
# HOLEFS_XFS_IO_UPDATE=1 also prints the filtered output as "#| " lines
# (the guest cannot write the host's tree): to review and commit as the new
# golden file after a deliberate change.

. "$(dirname "$0")/lib.sh"
holefs_require_module

golden=$HOLEFS_TESTS/xfs_io_basic.out
base=$(mktemp -d)
mnt=$base/mnt
out=$base/out

trap holefs_scratch_cleanup EXIT

if ! command -v xfs_io >/dev/null 2>&1; then
	tap_skip "xfs_io golden output" "no xfs_io (install xfsprogs; run under run-vng)"
	tap_done
	exit
fi

# _filter_xfs_io: drop the rate lines, name the mount point MNT.
filter() {
	sed -E -e '/^[0-9.]+ ([KMGTPE]iB|bytes), [0-9]+ ops?; /d' \
		-e "s|$mnt|MNT|g"
}

# io FILE CMD...: xfs_io -f with one -c per CMD, filtered, on stdout.
# xfs_io's error messages (stderr) are not ordered with its buffered
# stdout: a command expected to fail goes into an io call of its own.
io() {
	_f=$1
	shift
	_n=$#
	for _c in "$@"; do
		set -- "$@" -c "$_c"
	done
	shift "$_n"
	xfs_io -f "$@" "$_f" 2>&1 | filter
}

# io_status FILE CMD...: the same for commands that kill xfs_io (SIGBUS):
# its output is lost with it, so print only how it ended.
io_status() {
	_f=$1
	shift
	_n=$#
	for _c in "$@"; do
		set -- "$@" -c "$_c"
	done
	shift "$_n"
	# An inner shell reaps xfs_io, so that its "Bus error" goes nowhere.
	# shellcheck disable=SC2016 # expanded by that inner sh
	_rc=$(sh -c 'xfs_io -f "$@" >/dev/null 2>&1; echo $?' sh "$@" "$_f" 2>/dev/null)
	if [ "$_rc" -gt 128 ]; then
		echo "xfs_io killed by signal $((_rc - 128))"
	else
		echo "xfs_io exit status $_rc"
	fi
}

# st FILE: size and blocks as xfs_io's stat shows them.
st() {
	xfs_io -c stat "$1" 2>&1 | grep -E '^stat\.(size|blocks) '
}

drop() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

section() {
	echo "== $*"
}

# --- the script --------------------------------------------------------------
run_script() {
	f=$mnt/file

	section pwrite pread
	io "$f" "pwrite -S 0x61 0 4096" "pwrite -S 0x62 4096 100" \
		"pread -v 4090 16" "pread -v 4190 16" "pread 4196 16"
	st "$f"

	section truncate
	io "$f" "truncate 5000" "pread -v 4990 16"
	st "$f"
	io "$f" "truncate 12288" "pread -v 4990 20" "pread -v 12270 32"
	st "$f"
	drop
	io "$f" "pread -v 4990 20"
	io "$f" "truncate 0"
	st "$f"
	rm -f "$f"

	section mmap mread mwrite msync
	io "$f" "truncate 8192" "mmap -rw 0 8192" "mwrite -S 0x63 100 200" \
		"msync -s 0 8192" "mread -v 290 20" "munmap" "pread -v 290 20"
	st "$f"
	drop
	io "$f" "mmap -r 0 8192" "mread -v 96 8" "munmap"
	rm -f "$f"

	section mmap past EOF
	io "$f" "pwrite -S 0x6d 0 100" "mmap -r 0 8192" "mread -v 96 8" \
		"munmap"
	# SIGBUS (7) past the EOF page, for loads and stores.
	io_status "$f" "mmap -r 0 8192" "mread 4096 1"
	io_status "$f" "mmap -rw 0 8192" "mwrite 4096 1"
	io_status "$f" "mmap -r 0 8192" "mread 0 100"
	st "$f"
	rm -f "$f"

	section fsync fdatasync drop_caches
	io "$f" "pwrite -S 0x64 0 8192" "fsync" "pwrite -S 0x65 4000 200" \
		"fdatasync"
	drop
	io "$f" "pread -v 3992 16" "pread -v 4192 16"
	st "$f"
	rm -f "$f"

	section fpunch
	io "$f" "pwrite -S 0x66 0 16384" "fpunch 4096 8192"
	st "$f"
	io "$f" "pread -v 4088 16" "pread -v 12280 16" "seek -a -r 0"
	io "$f" "fpunch 100 50" "pread -v 96 8" "pread -v 148 4"
	st "$f"
	io "$f" "fpunch 8192 1m"
	st "$f"
	drop
	io "$f" "pread -v 96 8" "pread -v 12280 16"
	rm -f "$f"

	section falloc
	io "$f" "falloc 0 10000"
	st "$f"
	io "$f" "falloc -k 16384 8192"
	st "$f"
	io "$f" "pread -v 9990 16" "seek -a -r 0"
	io "$f" "pwrite -S 0x67 4096 10" "falloc 0 4096" "pread -v 4094 4"
	st "$f"
	io "$f" "truncate 4096"
	st "$f"
	rm -f "$f"

	section fzero
	io "$f" "pwrite -S 0x68 0 12288" "fzero 1000 5000" "pread -v 996 8" \
		"pread -v 5996 8"
	st "$f"
	io "$f" "fzero 10000 10000"
	st "$f"
	io "$f" "fzero -k 20480 8192"
	st "$f"
	drop
	io "$f" "pread -v 996 8" "pread -v 12280 16" "pread -v 19996 4"
	rm -f "$f"

	section seek
	io "$f" "truncate 40960" "pwrite -S 0x69 8192 8192" \
		"pwrite -S 0x69 28672 10" "seek -d 0" "seek -h 0" "seek -d 9000" \
		"seek -h 8192" "seek -d 16384" "seek -h 28672" "seek -d 32768" \
		"seek -a -r 0"
	rm -f "$f"

	section unsupported
	io "$f" "pwrite -S 0x6a 0 8192"
	io "$f" "fcollapse 0 4096"
	io "$f" "finsert 0 4096"
	io "$f" "funshare 0 4096"
	st "$f"
	io "$f" "pread -v 4092 8"
	rm -f "$f"

	section ENOSPC
	umount "$mnt"
	holefs_mount "$mnt" size=64k
	io "$mnt/a" "pwrite -b 4096 -S 0x6b 0 65536"
	io "$mnt/a" "pwrite -S 0x6b 65536 1"
	st "$mnt/a"
	io "$mnt/b" "falloc 0 4096"
	io "$mnt/b" "truncate 8192" "mmap -rw 0 8192" "mread -v 0 4" "munmap"
	# A store into the hole needs a block: SIGBUS for the writer.
	io_status "$mnt/b" "mmap -rw 0 8192" "mwrite -S 0x6c 0 1"
	st "$mnt/b"
	io "$mnt/a" "fpunch 0 8192"
	io_status "$mnt/b" "mmap -rw 0 8192" "mwrite -S 0x6c 0 1" "msync -s 0 4096"
	io "$mnt/b" "falloc 0 8192" "pread -v 0 4"
	st "$mnt/b"
	io "$mnt/a" "pread -v 8188 8"
	rm -f "$mnt/a" "$mnt/b"
	io "$mnt/c" "falloc 0 65536"
	io "$mnt/c" "falloc 0 65537"
	st "$mnt/c"
	rm -f "$mnt/c"
}

# --- compare -------------------------------------------------------------
dmesg_mark xfs_io_vng_test
holefs_unload 2>/dev/null
tap_check "insmod holefs.ko" holefs_load
tap_check "mount -o size=1m" holefs_mount "$mnt" size=1m
holefs_mounted "$mnt" || { tap_done; exit; }
run_script >"$out" 2>&1
if [ "${HOLEFS_XFS_IO_UPDATE:-0}" = 1 ]; then
	# For a new golden file: grep '^#| ' LOG | cut -c4- >xfs_io_basic.out
	sed 's/^/#| /' "$out"
fi

# split FILE DIR: one file per section, named by its number.
split() {
	mkdir -p "$2"
	awk -v d="$2" '/^== / { n++ } { f = sprintf("%s/%02d", d, n); print >> f }' "$1"
}
if [ ! -f "$golden" ]; then
	tap_fail "golden file $golden exists"
	sed 's/^/# /' "$out"
	tap_done
	exit
fi
split "$golden" "$base/want"
split "$out" "$base/got"
for w in "$base"/want/*; do
	name=$(head -n1 "$w" | sed 's/^== //')
	g=$base/got/$(basename "$w")
	if [ -f "$g" ] && cmp -s "$w" "$g"; then
		tap_ok "xfs_io: $name"
	else
		tap_fail "xfs_io: $name" "$(diff -u "$w" "$g" 2>&1)"
	fi
done
if cmp -s "$golden" "$out"; then
	tap_ok "xfs_io: whole output matches xfs_io_basic.out"
else
	tap_fail "xfs_io: whole output matches xfs_io_basic.out" \
		"$(diff -u "$golden" "$out" 2>&1)"
fi
tap_check "umount" umount "$mnt"
tap_check "rmmod" holefs_unload
tap_dmesg_clean "no kernel report"

tap_done
