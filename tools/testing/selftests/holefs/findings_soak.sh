#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# findings_soak.sh: run the findings' reproducers (tools/findings/*.c, built
# into the payload's bin/ by scripts/build-tools) on their file systems,
# several rounds, then the audit cells the candidate fixes touch; made for
# the debug kernel with every fix (scripts/kernel-build debug+fixes), under
# scripts/run-vng (the host's mkfs tools and servers).  Not a TAP test: it
# measures; Documentation/findings/validating-fixes.rst says what to expect.
#
# Each round sets every file system up as the audit's rows do (the
# set-ups of audit_rows.sh, sourced), runs each of its reproducers once and
# tears it down, so that a time limit still leaves every reproducer run.
# CLONE needs an export that shares extents: the row "nfs-xfs" is the
# "nfs" row exporting XFS (reflink=1) instead of tmpfs.
#
# Output: one "SOAK: ..." line per run (the reproducer's exit status and
# its one line), "SOAK-SUM: ..." per reproducer and file system,
# "SOAK-KERNEL-REPORTS: N" (scan-log over the kernel log since the start),
# then audit_rows.sh's lines for the audit part.
#
# Settings (environment; defaults in brackets):
#	SOAK_RUNS [3]            rounds
#	SOAK_SECONDS [1800]      no run starts after this many seconds
#	SOAK_RUN_TIMEOUT [900]   seconds before a run is killed (an error)
#	SOAK_ONLY [all]          only these reproducers (names, e.g. btrfs-zero)
#	SOAK_PLAN [below]        the runs of a round, one "ROW REPRODUCER
#	                         ITERATIONS [MODE]" a line
#	SOAK_AUDIT [below]       "ROW:OP,OP ..." audit cells after the soak,
#	                         each row with its own operations; "none": no
#	                         audit part
#	AUDIT_JSON, AUDIT_CELL_ARGS, AUDIT_CELL_TIMEOUT   as for audit_rows.sh

case ${1:-} in
-h|--help)
	sed -n '3,/^$/p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
esac

# The full audit's cell budget (scripts/audit), unless given.
: "${AUDIT_CELL_ARGS:=--runs 2 --hits 200 --min-iterations 10 --max-ms 15000 --seed 1}"
: "${AUDIT_CELL_TIMEOUT:=90}" "${AUDIT_JSON:=/tmp/audit.jsonl}"
export AUDIT_CELL_ARGS AUDIT_CELL_TIMEOUT AUDIT_JSON
: "${SOAK_RUNS:=3}" "${SOAK_SECONDS:=1800}" "${SOAK_RUN_TIMEOUT:=900}" "${SOAK_ONLY:=}"
: "${SOAK_AUDIT:=gfs2:punch,madv-remove btrfs:zero f2fs:insert fuse:punch,copy-range,dio-write cifs:copy-range,dio-write nfs:copy-range,dio-write}"

# The reproducers: "row reproducer iterations [mode]", each line one run
# per round, at the budget of its finding's validation (SOAK_PLAN in the
# environment replaces it, e.g. with a few iterations to try the script).
: "${SOAK_PLAN:=gfs2 gfs2-punch 200 punch
gfs2 gfs2-punch 200 madv-remove
btrfs btrfs-zero 2000
f2fs f2fs-insert 40
fuse fuse-punch 200
fuse fuse-copy-range 200
fuse dio-write-stale 100
cifs cifs-copy-range 200
cifs dio-write-stale 100
nfs nfs-copy-range 200
nfs dio-write-stale 100
nfs-xfs nfs-clone-range 200}"

# audit_rows.sh: the set-ups, teardown, $mnt, $work, $base; nothing else.
AUDIT_ROWS_LIB=1
. "$(dirname "$0")/audit_rows.sh"
AUDIT_ROWS_LIB=0

soak_dir=/tmp/holefs-soak
mkdir -p "$soak_dir"
: >"$soak_dir/runs"

# setup_nfs_xfs: the nfs row with an XFS export (reflink=1) on a loop
# device, as the CLONE validation ran it.
setup_nfs_xfs() {
	need mkfs.xfs && loop_image "$AUDIT_IMG_MB" &&
		run_or_fail mkfs.xfs env TEST_DIR=1 TEST_DEV=1 QA_CHECK_FS=1 \
			mkfs.xfs -q -f -m reflink=1 "$loopdev" || return 1
	nfs_export_xfs=$loopdev
	setup_nfs
	_rc=$?
	nfs_export_xfs=""
	return $_rc
}

# teardown_row ROW: audit_rows.sh's teardown; nfs-xfs is the nfs row.
teardown_row() {
	case $1 in
	nfs-xfs) teardown nfs ;;
	*) teardown "$1" ;;
	esac
}

dmesg_mark soak-start
start=$(date +%s)
round=1
while [ "$round" -le "$SOAK_RUNS" ]; do
	for row in $(echo "$SOAK_PLAN" | awk '!seen[$1]++ { print $1 }'); do
		lines=$(echo "$SOAK_PLAN" | awk -v r="$row" -v only=" $SOAK_ONLY " \
			'$1 == r && (only == "  " || index(only, " " $2 " "))')
		[ -n "$lines" ] || continue
		if [ $(($(date +%s) - start)) -ge "$SOAK_SECONDS" ]; then
			echo "$lines" | while read -r _ repro iters mode; do
				echo "SOAK: repro=$repro fs=$row args=\"$iters${mode:+ $mode}\" round=$round status=skipped line=\"past SOAK_SECONDS\""
				echo "$repro $row ${mode:--} skipped" >>"$soak_dir/runs"
			done
			continue
		fi
		setup=setup_$(echo "$row" | tr - _)
		if ! $setup 3>/dev/null >"$soak_dir/reason" 2>&1 || ! on_row_mount; then
			reason=$(tail -n 2 "$soak_dir/reason" | tr '\n' ' ')
			echo "$lines" | while read -r _ repro iters mode; do
				echo "SOAK: repro=$repro fs=$row args=\"$iters${mode:+ $mode}\" round=$round status=setup line=\"$reason\""
				echo "$repro $row ${mode:--} setup" >>"$soak_dir/runs"
			done
			teardown_row "$row"
			continue
		fi
		# Not in a pipe: each run's record must reach the summary file.
		echo "$lines" >"$soak_dir/lines"
		while read -r _ repro iters mode; do
			t0=$(date +%s)
			# shellcheck disable=SC2086 # mode is one word or none
			out=$(cd "$work" && timeout -k 10 "$SOAK_RUN_TIMEOUT" \
				"$HOLEFS_DIR/bin/$repro" "$work" "$iters" $mode 2>&1 </dev/null)
			rc=$?
			out=$(echo "$out" | tail -n 1 | tr '"' "'")
			echo "SOAK: repro=$repro fs=$row args=\"$iters${mode:+ $mode}\" round=$round" \
				"status=$rc seconds=$(($(date +%s) - t0)) line=\"$out\""
			echo "$repro $row ${mode:--} $rc" >>"$soak_dir/runs"
		done <"$soak_dir/lines"
		teardown_row "$row"
	done
	round=$((round + 1))
done

# Per reproducer, file system and mode: runs, reproduced (status 1),
# errors (another status, or the set-up failed), skipped (out of time).
awk '{ k = $1 " fs=" $2 " mode=" $3; n[k] += 0
	if ($4 == "skipped") s[k]++; else { n[k]++; if ($4 == "1") r[k]++; else if ($4 != "0") e[k]++ } }
	END { for (k in n) printf "SOAK-SUM: repro=%s runs=%d reproduced=%d errors=%d skipped=%d\n",
		k, n[k], r[k] + 0, e[k] + 0, s[k] + 0 }' "$soak_dir/runs" | sort
echo "SOAK-TIME: $(($(date +%s) - start)) s"

dmesg_since_mark >"$soak_dir/klog"
sh "$HOLEFS_TESTS/scan-log" "$soak_dir/klog" >"$soak_dir/kreports" 2>&1
echo "SOAK-KERNEL-REPORTS: $(grep -c '^scan-log: NOT ALLOWED' "$soak_dir/kreports")"
grep -A3 '^scan-log: NOT ALLOWED' "$soak_dir/kreports" | head -n 40

[ "$SOAK_AUDIT" != none ] || exit 0
for spec in $SOAK_AUDIT; do
	AUDIT_ROWS=${spec%%:*} AUDIT_OPS=$(echo "${spec#*:}" | tr , ' ') \
		sh "$HOLEFS_TESTS/audit_rows.sh"
done
exit 0
