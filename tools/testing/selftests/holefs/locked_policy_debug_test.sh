#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# locked_policy_debug_test.sh: the positive control of the debug kernel.
#
# map_pages=locked takes invalidate_lock (a sleeping rwsem) inside
# ->map_pages, which 6.12 calls under rcu_read_lock() (Documentation/
# holefs.rst, "Why map_pages=locked is invalid").  A kernel with
# CONFIG_PROVE_RCU and CONFIG_DEBUG_ATOMIC_SLEEP must say so, even when the
# lock is uncontended: "suspicious RCU usage" and/or "sleeping function
# called from invalid context".  This test faults on a map_pages=locked
# mount (the seed reproducer: fault-around reads racing hole punches) and
# FAILS if neither report appears -- so a debug kernel whose checkers are
# not live cannot pass make check-debug silently.
#
# The reports disable lockdep and the once-per-boot RCU check for the rest
# of the boot, so this test only runs when HOLEFS_EXPECT_LOCKED_SPLAT=1 is
# set, which scripts/check-debug does in a boot of its own (with run-qemu
# --allow for exactly the expected report headers); everywhere else (make
# check, a plain run_tests.sh) each point is skipped.
#
# HOLEFS_LOCKED_MS: how long the reproducer runs (default 3000).

. "$(dirname "$0")/lib.sh"
holefs_require_module

NPOINTS=6

cleanup() {
	holefs_mounted "$mnt" && umount "$mnt"
	holefs_unload 2>/dev/null
	rm -rf "$(dirname "$mnt")"
}

if [ "${HOLEFS_EXPECT_LOCKED_SPLAT:-0}" != 1 ]; then
	tap_plan $NPOINTS
	for i in $(seq $NPOINTS); do
		tap_skip "locked policy positive control $i" \
			"runs only in a debug boot of its own (HOLEFS_EXPECT_LOCKED_SPLAT=1, make check-debug)"
	done
	tap_done
	exit
fi

mnt=$(mktemp -d)/mnt
trap cleanup EXIT
tap_plan $NPOINTS
dmesg_mark locked_policy_debug_test

holefs_unload 2>/dev/null
tap_check "insmod holefs.ko unsafe_policies=1" holefs_load unsafe_policies=1
tap_check "mount -o map_pages=locked" holefs_mount "$mnt" "map_pages=locked,size=64m"

# Fault-around on the locked policy.  Neither the verdict (SAFE or RACE)
# nor the exit status matters here: once the kernel has scheduled inside
# the RCU read-side section ("scheduling while atomic" resets the preempt
# count), the reproducer may even die of a segmentation fault -- the
# invalid policy corrupts the fault path's state, which is the point.
holefs-repro --scenario seed --dir "$mnt" --duration-ms "${HOLEFS_LOCKED_MS:-3000}" \
	--size 1m >"$mnt.out" 2>&1
rc=$?
sed 's/^/#   /' "$mnt.out"
diag "the seed reproducer exited with status $rc on map_pages=locked"
calls=$(holefs_stat map_pages_calls "$mnt")
if [ "${calls:-0}" -gt 0 ]; then
	tap_ok "->map_pages was called ($calls calls)"
else
	tap_fail "->map_pages was called" "map_pages_calls=${calls:-?}"
fi
tap_check "umount" umount "$mnt"
tap_check "rmmod" holefs_unload

# The headers the debug kernel printed since the mark.
dmesg_since_mark >"$mnt.log"
for h in "suspicious RCU usage" "sleeping function called from invalid context" \
	"Invalid wait context" "scheduling while atomic"; do
	diag "\"$h\": $(grep -c "$h" "$mnt.log") report(s)"
done
if grep -qE "suspicious RCU usage|sleeping function called from invalid context" "$mnt.log"; then
	tap_ok "the debug kernel reports map_pages=locked sleeping under rcu_read_lock()"
else
	tap_fail "the debug kernel reports map_pages=locked sleeping under rcu_read_lock()" \
		"no \"suspicious RCU usage\" nor \"sleeping function called from invalid context\" in dmesg: are PROVE_RCU and DEBUG_ATOMIC_SLEEP live? (or a report earlier in this boot used them up)"
fi

tap_done
