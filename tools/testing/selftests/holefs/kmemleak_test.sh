#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kmemleak_test.sh: no kernel memory leaked by what ran before it in this
# boot (debug kernel, CONFIG_DEBUG_KMEMLEAK without auto scan; skipped on
# kernels without /sys/kernel/debug/kmemleak).
#
# Run it LAST in a boot (scripts/check-debug does): it makes sure no holefs
# file system is mounted and the module is unloaded -- so the module's own
# objects are gone or leaked by then -- waits past kmemleak's minimum object
# age (5 s), and scans twice (an object is reported only once two scans
# agree it is unreferenced, and a scan right after frees can see stale
# pointers on stacks).  Any "unreferenced object" fails the test, holefs or
# not; the ones whose backtrace mentions holefs are counted separately.
#
# HOLEFS_KMEMLEAK_WAIT: seconds between the scans (default 6).

. "$(dirname "$0")/lib.sh"
holefs_require_module

kl=/sys/kernel/debug/kmemleak
[ -e $kl ] || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null

tap_plan 4
if [ ! -e $kl ]; then
	for d in "no holefs mount left" "holefs unloaded" "kmemleak scans" "no leak"; do
		tap_skip "$d" "no $kl (not a kmemleak kernel)"
	done
	tap_done
	exit
fi

if grep -q ' holefs ' /proc/mounts; then
	tap_fail "no holefs mount left" "$(grep ' holefs ' /proc/mounts)"
	awk '$3 == "holefs" { print $2 }' /proc/mounts | sort -r | while read -r m; do
		umount "$m" || umount -l "$m"
	done
else
	tap_ok "no holefs mount left"
fi
holefs_unload 2>/dev/null
if holefs_loaded; then
	tap_fail "holefs unloaded" "rmmod holefs failed"
else
	tap_ok "holefs unloaded"
fi

wait=${HOLEFS_KMEMLEAK_WAIT:-6}
sleep "$wait"
ok=1
echo scan >$kl || ok=0
sleep "$wait"
echo scan >$kl || ok=0
if [ $ok -eq 1 ]; then
	tap_ok "kmemleak scans (twice, ${wait}s apart)"
else
	tap_fail "kmemleak scans (twice, ${wait}s apart)" "writing scan to $kl failed (kmemleak disabled?)"
fi

report=$(cat $kl)
n=$(printf '%s\n' "$report" | grep -c 'unreferenced object')
nh=$(printf '%s\n' "$report" | awk '
	/unreferenced object/ { if (h) c++; h = 0 }
	/holefs/ { h = 1 }
	END { if (h) c++; print c + 0 }')
if [ "$n" -eq 0 ]; then
	tap_ok "no leak (kmemleak)"
else
	# The report goes to the console, where scan-log sees it too.
	tap_fail "no leak (kmemleak): $n unreferenced object(s), $nh with holefs in the backtrace" \
		"$(printf '%s\n' "$report" | head -n 200)"
fi

tap_done
