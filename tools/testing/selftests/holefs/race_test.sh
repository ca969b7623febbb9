#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# race_test.sh: both race reproducers (holefs-repro, Rust, and holefs_race,
# C) in every scenario on three holefs mounts, all with punch_delay_us=2000
# and truncate_delay_us=2000 (Documentation/holefs.rst, mount options):
#
#   default policies         no detection while the racers hit the window
#                            (accesses that overlapped a punch or truncate
#                            system call) RACE_SAFE_HITS times, or until
#                            RACE_SAFE_CAP_MS with at least RACE_SAFE_MIN_HITS
#                            hits: a safe run is evidence only with enough
#                            hits;
#   punch=unlocked           stale data detected within RACE_DETECT_HITS
#                            hits;
#   fault=unlocked           the same.
#
# Budgets are hits, not wall time, so that a slow kernel (the debug kernel
# under TCG is 10-30x slower) gets the same chances as a fast one.  Each
# check is one reproducer run with --hits (HOLEFS_RACE_HITS), which ends at
# the budget or at the first detection; RACE_SAFE_CAP_MS and RACE_CAP_MS
# cap its wall time.  10000 hits is more than the unsafe policies needed to
# show stale data in most runs of every scenario on the base kernel (a few
# hundred to ~9000; write-race up to ~16000); a detection test may go on to
# 100000.  write-race under a locked punch hits the window slowly: its
# writers wait for the punch, so a round brings a hit or two per writer on
# a slow kernel (tens on a fast one).  Hence the cap, and two floors for the
# safe runs, either of which makes a run evidence: RACE_SAFE_MIN_HITS hits,
# or enough rounds in which a racer access overlapped the punch
# (op_rounds): RACE_SAFE_ROUNDS_FACTOR times the rounds the unsafe
# policies needed to detect that scenario with that reproducer in this
# boot, and at least RACE_SAFE_MIN_ROUNDS.  The unsafe policies run first
# so that the safe runs are measured against them on the same kernel, in
# the same load.
#
# Environment: RACE_SAFE_HITS [10000], RACE_SAFE_MIN_HITS [2000],
# RACE_SAFE_MIN_ROUNDS [50], RACE_SAFE_ROUNDS_FACTOR [10],
# RACE_SAFE_CAP_MS [30000],
# RACE_DETECT_HITS [100000], RACE_CAP_MS [60000] (per scenario and
# reproducer), RACE_SIZE [1m].

. "$(dirname "$0")/lib.sh"
holefs_require_module
holefs_require_cmd holefs-repro holefs_race

: "${RACE_SAFE_HITS:=10000}" "${RACE_SAFE_MIN_HITS:=2000}" "${RACE_SAFE_CAP_MS:=30000}"
: "${RACE_SAFE_MIN_ROUNDS:=50}" "${RACE_SAFE_ROUNDS_FACTOR:=10}"
: "${RACE_DETECT_HITS:=100000}" "${RACE_CAP_MS:=60000}"
: "${RACE_SIZE:=1m}"
DELAY_US=2000
SCENARIOS="seed map-pages-hot read-race write-race truncate"

mnt=$(mktemp -d)/mnt
tmp=$(mktemp -d)

cleanup() {
	holefs_mounted "$mnt" && umount "$mnt"
	holefs_unload 2>/dev/null
	rm -rf "$(dirname "$mnt")" "$tmp"
}
trap cleanup EXIT

# invoke REPRO SCENARIO HITS CAP_MS: one reproducer run on $mnt with a
# budget of HITS window hits and CAP_MS; its summary lines ("holefs-race: ...",
# without the C version's "# ") go to $tmp/summary, its whole output to
# $tmp/out.  Returns 0 on SAFE or RACE, 1 on an error (no summary line).
invoke() {
	case $1 in
	rust)
		holefs-repro --scenario "$2" --dir "$mnt" --hits "$3" \
			--duration-ms "$4" --size "$RACE_SIZE" >"$tmp/out" 2>&1
		;;
	c)
		# Its TAP goes to $tmp/out only: run_tests.sh must not count it.
		(cd "$mnt" && HOLEFS_RACE_DIR=$mnt HOLEFS_RACE_HITS=$3 \
			HOLEFS_RACE_DURATION_MS=$4 HOLEFS_RACE_SIZE=$RACE_SIZE \
			holefs_race -t "$(echo "$2" | tr - _)") >"$tmp/out" 2>&1
		;;
	esac
	sed -n 's/^[# ]*\(holefs-race: .*\)/\1/p' "$tmp/out" >"$tmp/summary"
	grep -q '^holefs-race: scenario=.* verdict=\(SAFE\|RACE\)' "$tmp/summary"
}

# field NAME: a key=value from the last summary.
field() {
	tr ' ' '\n' <"$tmp/summary" | sed -n "s/^$1=//p" | head -n1
}

stats_line() {
	_d=$(holefs_stats_dir "$mnt") || return
	awk '$1 ~ /^(fault_calls|map_pages_calls|map_pages_trylock_failed|unlocked_fault_folios|read_folio|readahead_folios|punches)$/ {
		printf "%s=%s ", $1, $2 }' "$_d/stats"
}

npol=3
nsc=$(echo "$SCENARIOS" | wc -w)
tap_plan $((npol * nsc * 2 + 1))
dmesg_mark race_test
holefs_unload 2>/dev/null
if ! holefs_load unsafe_policies=1; then
	diag "insmod holefs.ko unsafe_policies=1 failed"
fi

# need_REPRO_SCENARIO: the most rounds a detection run of the unsafe
# policies took (they run first).
for policy in punch=unlocked fault=unlocked default; do
	opts="size=64m,punch_delay_us=$DELAY_US,truncate_delay_us=$DELAY_US"
	[ "$policy" = default ] || opts="$opts,$policy"
	mounted=1
	holefs_mount "$mnt" "$opts" 2>"$tmp/err" || mounted=0
	[ $mounted -eq 1 ] && holefs_stats_clear "$mnt"
	for sc in $SCENARIOS; do
		for repro in rust c; do
			desc="$repro $sc, $policy"
			if [ $mounted -eq 0 ]; then
				tap_fail "$desc" "mount -o $opts failed: $(cat "$tmp/err")"
				continue
			fi
			budget=$RACE_DETECT_HITS cap=$RACE_CAP_MS
			[ "$policy" != default ] || budget=$RACE_SAFE_HITS cap=$RACE_SAFE_CAP_MS
			if ! invoke "$repro" "$sc" "$budget" "$cap"; then
				tap_fail "$desc" "reproducer error:" "$(tail -n 5 "$tmp/out")"
				continue
			fi
			det=$(field detections) hits=$(field hits) rounds=$(field op_rounds)
			iter=$(field iterations)
			info="hits=$hits op_rounds=$rounds detections=$det iterations=$iter ms=$(field elapsed_ms)"
			need=need_${repro}_$(echo "$sc" | tr - _)
			if [ "$policy" = default ]; then
				eval "floor=\$((\${$need:-0} * RACE_SAFE_ROUNDS_FACTOR))"
				[ "$floor" -ge "$RACE_SAFE_MIN_ROUNDS" ] || floor=$RACE_SAFE_MIN_ROUNDS
				if [ "$det" -ne 0 ]; then
					tap_fail "$desc: no detection" "$info" "$(cat "$tmp/summary")"
				elif [ "$hits" -lt "$RACE_SAFE_MIN_HITS" ] &&
					[ "${rounds:-0}" -lt "$floor" ]; then
					tap_fail "$desc: no detection" \
						"$info: fewer than $RACE_SAFE_MIN_HITS hits and $floor window rounds within $cap ms"
				else
					tap_ok "$desc: no detection ($info; floors $RACE_SAFE_MIN_HITS hits or $floor rounds)"
				fi
			elif [ "$det" -gt 0 ]; then
				eval "[ \"\${$need:-0}\" -ge \"\$iter\" ] || $need=\$iter"
				tap_ok "$desc: race detected ($info first_detection_ms=$(field first_detection_ms))"
			else
				tap_fail "$desc: race detected" "$info" "counters so far: $(stats_line)"
			fi
		done
	done
	diag "counters ($policy): $(stats_line)"
	[ $mounted -eq 0 ] || umount "$mnt"
done

holefs_unload
tap_dmesg_clean "no kernel report during the test"
tap_done
