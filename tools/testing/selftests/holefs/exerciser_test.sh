#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# exerciser_test.sh: holefs-exerciser (tools/holefs-exerciser) on holefs with
# the safe policies: one run per safe map_pages policy (filemap, trylock,
# off) with drop_caches and remounts, and one run on a small store where
# ENOSPC is frequent (--allow-enospc).  Every run checks holefs's exact
# allocation rules (--exact) and must end with exit status 0; afterwards
# the store must have no block left in use.  Under folios=large (in
# $HOLEFS_EXTRA_OPTS) blocks are reserved for whole folios, not pages, so
# the runs check data, sizes and that st_blocks and SEEK_DATA cover every
# non-zero byte, but not the page-exact allocation; and each run must
# prove it went through large folios (its counters): large folios filled
# from the store and written back, and large folios that an edge of a
# punch, zero range or truncate cut inside.  Under folios=large a fifth
# run uses files of up to 4 MiB, so that folios of order 5 and more
# (128 KiB to 2 MiB) are filled, mapped, punched and written back too;
# it must have filled some.
#
# First, fixed probes of one bug class the exerciser found (b753f98):
# bytes stored through a mapping past EOF in the EOF page must read as
# zeros once the size grows over them, whatever grows it (POSIX; fsx -e
# checks the same).  The random runs include such stores too.
#
# HOLEFS_EXERCISER_OPS    operations per run (default 3000; the long soak
#                         of make check-debug sets >= 100000)
# HOLEFS_EXERCISER_SEED   seed of the first run (default: from the clock;
#                         printed); later runs use SEED+1, SEED+2, ...
# HOLEFS_EXERCISER_ARGS   more holefs-exerciser options

. "$(dirname "$0")/lib.sh"
holefs_require_module
holefs_require_cmd holefs-exerciser

ops=${HOLEFS_EXERCISER_OPS:-3000}
seed=${HOLEFS_EXERCISER_SEED:-$(($(date +%s) % 1000000))}
base=$(mktemp -d)
mnt=$base/mnt

cleanup() {
	holefs_mounted "$mnt" && umount "$mnt"
	holefs_unload 2>/dev/null
	rm -rf "$base"
}
trap cleanup EXIT

exact=--exact large=0 min_order=1
case ",${HOLEFS_EXTRA_OPTS:-}," in
*,folios=large,*) exact= large=1 ;;
esac

if [ $large -eq 1 ]; then
	tap_plan 22
else
	tap_plan 15
fi
dmesg_mark exerciser_test
diag "holefs-exerciser: ops=$ops first seed=$seed"

holefs_unload 2>/dev/null
tap_check "insmod holefs.ko" holefs_load

# counter_sum MNT NAME...: the sum of MNT's counters NAME...
counter_sum() {
	_mnt=$1 _sum=0
	shift
	for _c in "$@"; do
		_sum=$((_sum + $(holefs_stat "$_c" "$_mnt" || echo 0)))
	done
	echo "$_sum"
}

# large_folios_used DESC MIN_ORDER: under folios=large, a run proves
# something about large folios only if it went through them: folios of
# order MIN_ORDER or more filled from the store, large folios written
# back, and large folios cut inside by an edge of a punch, zero range or
# truncate.  One test point.
large_folios_used() {
	_names=""
	_o=$2
	while [ "$_o" -le 9 ]; do
		_names="$_names folios_filled_order$_o"
		_o=$((_o + 1))
	done
	# shellcheck disable=SC2086 # a list of counter names
	_filled=$(counter_sum "$mnt" $_names)
	_wb=$(counter_sum "$mnt" writeback_large_folios)
	_edges=$(counter_sum "$mnt" edge_folios_large)
	if [ "$_filled" -gt 0 ] && [ "$_wb" -gt 0 ] && [ "$_edges" -gt 0 ]; then
		tap_ok "$1: large folios used"
	else
		tap_fail "$1: large folios used" \
			"filled order>=$2: $_filled, written back: $_wb, cut by an edge: $_edges"
	fi
}

# exercise DESC MOUNT_OPTS SEED ARGS...: mount, run, report, check the store
# is empty again, unmount.  Two test points, three under folios=large
# (large_folios_used: folios of order $min_order or more filled).
exercise() {
	_desc=$1 _opts=$2 _seed=$3
	shift 3
	if ! holefs_mount "$mnt" "$_opts"; then
		tap_fail "$_desc: exerciser" "mount -o $_opts failed"
		tap_fail "$_desc: no block in use afterwards" "not mounted"
		return
	fi
	# shellcheck disable=SC2086 # $exact, HOLEFS_EXERCISER_ARGS: words
	_out=$(holefs-exerciser --dir "$mnt" --seed "$_seed" --ops "$ops" $exact \
		"$@" ${HOLEFS_EXERCISER_ARGS:-} 2>&1)
	_rc=$?
	if [ $_rc -eq 0 ]; then
		tap_ok "$_desc: exerciser"
	else
		tap_fail "$_desc: exerciser" "holefs-exerciser exited $_rc (1: divergence, 2: error)"
	fi
	# The summary line always; everything on failure.
	if [ $_rc -eq 0 ]; then
		printf '%s\n' "$_out" | grep 'result=' | sed 's/^/#   /'
	else
		printf '%s\n' "$_out" | sed 's/^/#   /'
	fi
	# Which paths the run went through (map_pages_calls, fault_calls, ...).
	_stats=$(holefs_stats_dir "$mnt") &&
		diag "counters: $(grep -v '^blocks_' "$_stats/stats" | tr ' \n' '= ')"
	[ $large -eq 0 ] || large_folios_used "$_desc" "$min_order"
	_used=$(holefs_stat blocks_used "$mnt")
	if [ "$_used" = 0 ]; then
		tap_ok "$_desc: no block in use afterwards"
	else
		tap_fail "$_desc: no block in use afterwards" "blocks_used=$_used after the files were removed"
	fi
	umount "$mnt"
}

# past_eof DESC OP...: replay "a 5000-byte file; a store through a
# mapping from byte 4999 to the end of the page; OP...; read it all" and
# expect zeros where the size grew.
past_eof() {
	_desc="store past EOF, then $1: the grown part reads zeros"
	shift
	_log=$base/probe.log
	{
		echo "truncate f=0 size=5000"
		echo "mstore f=0 off=0 len=1 pat=0x5a5a5a5a5a5a5a5b msync=0 eof=1"
		printf '%s\n' "$@"
		echo "verify f=0"
	} >"$_log"
	# shellcheck disable=SC2086 # $exact: no word or one
	_out=$(holefs-exerciser --dir "$mnt" --replay "$_log" $exact --no-drop-caches \
		--no-remount --shrink-secs 0 2>&1)
	_rc=$?
	if [ $_rc -eq 0 ]; then
		tap_ok "$_desc"
	else
		tap_fail "$_desc" "holefs-exerciser exited $_rc"
		printf '%s\n' "$_out" | sed 's/^/#   /'
	fi
}

if holefs_mount "$mnt" ""; then
	past_eof "ftruncate up" "truncate f=0 size=12000" "mload f=0 off=0 len=12288"
	past_eof "fallocate" "prealloc f=0 off=0 len=12000 keep=0"
	past_eof "zero range" "zero f=0 off=10000 len=100 keep=0"
	past_eof "pwrite past the EOF page" "write f=0 off=9000 len=10 pat=0x3"
	past_eof "pwrite in the EOF page past EOF" "write f=0 off=6000 len=10 pat=0x3"
	umount "$mnt"
else
	for _p in 1 2 3 4 5; do
		tap_fail "store past EOF probe $_p" "mount failed"
	done
fi

n=0
for policy in filemap trylock off; do
	exercise "map_pages=$policy" "map_pages=$policy" $((seed + n))
	n=$((n + 1))
done

# 96 KiB (24 blocks) for three files of up to 64 KiB each.
exercise "size=96k, ENOSPC" "size=96k" $((seed + n)) --allow-enospc --max-size 64k
n=$((n + 1))

if [ $large -eq 1 ]; then
	# Files of up to 4 MiB: folios up to 2 MiB, edges inside them.
	min_order=5
	exercise "max-size 4m" "" $((seed + n)) --max-size 4m
fi

tap_dmesg_clean "no kernel report during the test"

tap_done
