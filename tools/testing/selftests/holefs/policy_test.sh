#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# policy_test.sh: every locking policy mounts and shows in /proc/mounts
# (issue 5); the unsafe ones (map_pages=locked, fault=unlocked,
# punch=unlocked) are refused with a kernel message unless holefs is
# loaded with unsafe_policies=1, and accepted with a warning when it is;
# and a short workload (buffered I/O, truncate, and the race reproducer's
# faults and punches) leaves the kernel log clean under every policy but
# map_pages=locked, which sleeps under rcu_read_lock() by design (the debug
# kernel reports it) and is only mounted here.
#
# The counters per policy (map_pages calls, trylock failures) and the exact
# errnos are checked by holefs_policy.c.

. "$(dirname "$0")/lib.sh"
holefs_require_module

base=$(mktemp -d)
mnt=$base/mnt
SAFE="map_pages=filemap map_pages=trylock map_pages=off fault=filemap punch=locked punch_delay_us=500"
UNSAFE="map_pages=locked fault=unlocked punch=unlocked"

trap holefs_scratch_cleanup EXIT
mkdir -p "$mnt"

# workload: I/O on $mnt that goes through every path the policies change.
workload() {
	dd if=/dev/urandom of="$mnt/w" bs=4096 count=64 2>/dev/null || return 1
	cat "$mnt/w" >/dev/null || return 1
	truncate -s 100000 "$mnt/w" || return 1
	sync
	echo 3 >/proc/sys/vm/drop_caches
	cat "$mnt/w" >/dev/null || return 1
	rm -f "$mnt/w"
	command -v holefs-repro >/dev/null || return 0
	# Exit status 0 or 1 (SAFE or RACE) both mean it ran; 2 is an error.
	for sc in seed truncate; do
		holefs-repro --scenario "$sc" --dir "$mnt" --duration-ms 300 \
			--size 256k >"$base/repro.out" 2>&1
		rc=$?
		grep 'verdict=' "$base/repro.out" | sed 's/^[# ]*/#   /'
		[ $rc -le 1 ] || { cat "$base/repro.out"; return 1; }
	done
}

# shown OPT: does /proc/mounts show OPT on $mnt?
shown() {
	awk -v m="$(cd "$mnt" && pwd -P)" -v o="$1" '
		$2 == m && $3 == "holefs" { n = split($4, a, ","); for (i = 1; i <= n; i++) if (a[i] == o) f = 1 }
		END { exit !f }' /proc/mounts
}

# one_policy OPT WORKLOAD(0/1): mount, show, [workload + clean log], umount.
one_policy() {
	dmesg_mark "policy-$1"
	if ! holefs_mount "$mnt" "$1" 2>"$base/err"; then
		tap_fail "-o $1 mounts" "$(cat "$base/err")"
		return
	fi
	tap_ok "-o $1 mounts"
	if shown "$1"; then
		tap_ok "-o $1: /proc/mounts shows it"
	else
		tap_fail "-o $1: /proc/mounts shows it" "$(grep holefs /proc/mounts)"
	fi
	if [ "$2" -eq 1 ]; then
		tap_check "-o $1: workload" workload
	fi
	tap_check "-o $1: umount" umount "$mnt"
	if [ "$2" -eq 1 ]; then
		tap_dmesg_clean "-o $1: kernel log clean"
	fi
}

# --- without unsafe_policies ----------------------------------------------
holefs_unload 2>/dev/null
tap_check "insmod holefs.ko (no parameters)" holefs_load
check_param() {
	[ "$(cat /sys/module/holefs/parameters/unsafe_policies)" = "$1" ]
}
tap_check "unsafe_policies reads N" check_param N

for p in $SAFE; do
	one_policy "$p" 1
done

for p in $UNSAFE; do
	dmesg_mark "refused-$p"
	if holefs_mount "$mnt" "$p" 2>"$base/err"; then
		tap_fail "-o $p refused without unsafe_policies=1" "it mounted"
		umount "$mnt"
	else
		tap_ok "-o $p refused without unsafe_policies=1"
		echo "#   $(cat "$base/err")"
	fi
	if dmesg_since_mark | grep holefs | grep -q "unsafe policy refused"; then
		tap_ok "-o $p: the kernel log says why"
	else
		tap_fail "-o $p: the kernel log says why" "$(dmesg_since_mark | tail -n 3)"
	fi
done

# --- with unsafe_policies=1 ------------------------------------------------
tap_check "rmmod" holefs_unload
tap_check "insmod holefs.ko unsafe_policies=1" holefs_load unsafe_policies=1
tap_check "unsafe_policies reads Y" check_param Y

for p in $UNSAFE; do
	case $p in
	map_pages=locked) one_policy "$p" 0 ;;
	*) one_policy "$p" 1 ;;
	esac
	if dmesg_since_mark | grep holefs | grep -q "mounting with unsafe policy $p"; then
		tap_ok "-o $p: warned about at mount"
	else
		tap_fail "-o $p: warned about at mount" "$(dmesg_since_mark | tail -n 3)"
	fi
done
# A safe policy is not warned about.
one_policy map_pages=trylock 0
if dmesg_since_mark | grep -q "unsafe policy"; then
	tap_fail "-o map_pages=trylock: no unsafe-policy warning" "$(dmesg_since_mark | grep 'unsafe policy')"
else
	tap_ok "-o map_pages=trylock: no unsafe-policy warning"
fi
tap_check "rmmod" holefs_unload

tap_done
