#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# module_test.sh: the module's life cycle: load, register, mount, reject
# an unknown option, refuse unloading while mounted, unmount, unload,
# and no kernel report on the way.

. "$(dirname "$0")/lib.sh"
holefs_require_module

mnt=$(mktemp -d)/mnt
mkdir -p "$mnt" "$mnt-bogus"

cleanup() {
	holefs_mounted "$mnt" && umount "$mnt"
	holefs_mounted "$mnt-bogus" && umount "$mnt-bogus"
	holefs_unload 2>/dev/null
	rm -rf "$(dirname "$mnt")"
}
trap cleanup EXIT

tap_plan 10
dmesg_mark module_test

# Start from an unloaded module, whatever ran before.
holefs_unload 2>/dev/null

tap_check "insmod holefs.ko" holefs_load

if grep -qw holefs /proc/filesystems; then
	tap_ok "/proc/filesystems lists holefs"
else
	tap_fail "/proc/filesystems lists holefs"
fi

tap_check "mount -t holefs none MNT" mount -t holefs none "$mnt"

if [ -d "$mnt" ] && holefs_mounted "$mnt"; then
	tap_ok "the mount point is a directory on a holefs mount"
else
	tap_fail "the mount point is a directory on a holefs mount" \
		"$(grep holefs /proc/mounts)"
fi

if mount -t holefs -o bogus=1 none "$mnt-bogus" 2>/dev/null; then
	tap_fail "mount -o bogus=1 fails"
else
	tap_ok "mount -o bogus=1 fails"
fi

# The fs_context error goes to the kernel log ("holefs: Unknown parameter
# 'bogus'") when mount(2) is used, as busybox and util-linux 2.38 do.
if dmesg_since_mark | grep holefs | grep -q bogus; then
	tap_ok "the kernel log names the bogus option"
else
	tap_fail "the kernel log names the bogus option" \
		"$(dmesg_since_mark | tail -n 5)"
fi

if rmmod holefs 2>/dev/null; then
	tap_fail "rmmod while mounted fails"
else
	if holefs_loaded; then
		tap_ok "rmmod while mounted fails"
	else
		tap_fail "rmmod while mounted fails" "rmmod failed but the module is gone"
	fi
fi

tap_check "umount" umount "$mnt"
tap_check "rmmod after umount" rmmod holefs

tap_dmesg_clean "no kernel report during the test"

tap_done
