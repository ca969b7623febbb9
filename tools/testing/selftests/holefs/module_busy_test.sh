#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# module_busy_test.sh: unmounting a busy holefs and removing the module
# while it is in use, and the lazy way out.
#
#   umount with an open file            EBUSY
#   umount with a mapping (fd closed)   EBUSY
#   delete_module while mounted         EAGAIN (EWOULDBLOCK: the file
#                                       system type holds a reference)
#   umount -l (MNT_DETACH)              0: the mount point is free at once,
#                                       the open file and mapping still work
#   delete_module after umount -l       EAGAIN while a file is open or mapped
#   ... after the last close/munmap     0: the superblock went with the
#                                       last user, and the module can go
#
# The errno values come from `bad_input --call` (the C test binary's helper
# mode), which makes the system call itself: busybox and util-linux word
# their messages differently.  No kernel report, no "blocks still
# accounted" at the end.

. "$(dirname "$0")/lib.sh"
holefs_require_module

top=$(mktemp -d)
mnt=$top/mnt
fifo=$top/hold
holder=""

cleanup() {
	exec 3>&- 2>/dev/null
	exec 4<&- 2>/dev/null
	[ -z "$holder" ] || kill "$holder" 2>/dev/null
	holefs_mounted "$mnt" && umount "$mnt"
	holefs_unload 2>/dev/null
	rm -rf "$top"
}
trap cleanup EXIT

# call WHAT ARG: the errno name of one umount/umount-lazy/rmmod call.
call() {
	bad_input --call "$1" "$2" | sed -n 's/^errno=//p'
}

# expect_errno DESC WANT WHAT ARG
expect_errno() {
	_got=$(call "$3" "$4")
	if [ "$_got" = "$2" ]; then
		tap_ok "$1: $_got"
	else
		tap_fail "$1: got ${_got:-nothing}, want $2"
	fi
}

# stats_dir_exists DEV: is /sys/fs/holefs/DEV there?
stats_dir_exists() {
	[ -d "/sys/fs/holefs/$1" ]
}

tap_plan 16
dmesg_mark module_busy_test

if ! command -v bad_input >/dev/null 2>&1; then
	for i in $(seq 16); do
		tap_skip "module_busy_test $i" "bad_input binary missing (scripts/build-tools)"
	done
	tap_done
	exit
fi

holefs_unload 2>/dev/null
tap_check "insmod and mount" sh -c ". '$HOLEFS_TESTS/lib.sh'; holefs_load && holefs_mount '$mnt' size=1m"
dev=$(holefs_mount_dev "$mnt")
printf 'holefs\n' >"$mnt/f"

# An open file.
exec 4<"$mnt/f"
expect_errno "umount with an open file" EBUSY umount "$mnt"
exec 4<&-

# A mapping whose fd is closed, held by a helper until its stdin closes.
mkfifo "$fifo"
bad_input --hold-map "$mnt/f" <"$fifo" >"$top/held" &
holder=$!
exec 3>"$fifo"
for _ in $(seq 100); do
	grep -q held "$top/held" 2>/dev/null && break
	sleep 0.1
done
if grep -q held "$top/held"; then
	tap_ok "a helper holds a mapping of the file"
else
	tap_fail "a helper holds a mapping of the file"
fi
expect_errno "umount with a live mapping" EBUSY umount "$mnt"
expect_errno "rmmod while mounted" EAGAIN rmmod holefs

# Lazy: detached now, alive until the last user.
exec 4<"$mnt/f"
expect_errno "umount -l with an open file and a mapping" 0 umount-lazy "$mnt"
if holefs_mounted "$mnt"; then
	tap_fail "the mount point is free after umount -l"
else
	tap_ok "the mount point is free after umount -l"
fi
if [ "$(cat <&4)" = holefs ]; then
	tap_ok "the open file still reads after umount -l"
else
	tap_fail "the open file still reads after umount -l"
fi
expect_errno "rmmod after umount -l, file open and mapped" EAGAIN rmmod holefs
exec 4<&-
expect_errno "rmmod after umount -l, file mapped" EAGAIN rmmod holefs
if stats_dir_exists "$dev"; then
	tap_ok "the superblock lives while the mapping does (/sys/fs/holefs/$dev)"
else
	tap_fail "the superblock lives while the mapping does (/sys/fs/holefs/$dev)"
fi

# The last user goes: the helper unmaps and exits.
exec 3>&-
wait "$holder"
holder=""
if stats_dir_exists "$dev"; then
	tap_fail "the superblock went with the last user"
else
	tap_ok "the superblock went with the last user"
fi
# The module reference is dropped with the superblock, synchronously
# (task work of the exiting holder); allow a moment anyway.
for _ in $(seq 20); do
	[ "$(call rmmod holefs)" = 0 ] && break
	sleep 0.2
done
if holefs_loaded; then
	tap_fail "rmmod after the last close and munmap"
else
	tap_ok "rmmod after the last close and munmap"
fi
expect_errno "rmmod when not loaded" ENOENT rmmod holefs

if dmesg_since_mark | grep -q 'still accounted'; then
	tap_fail "no blocks accounted at unmount" "$(dmesg_since_mark | grep 'still accounted')"
else
	tap_ok "no blocks accounted at unmount"
fi
tap_dmesg_clean "no kernel report during the test"

tap_done
