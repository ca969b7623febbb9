#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# race_matrix.sh: the guest half of `make matrix` (scripts/matrix starts it
# in one boot; scripts/matrix-report turns its output into tables).  Not a
# TAP test: it measures, it does not judge.
#
# For every cell (file system, holefs policy, scenario): mount, clear the
# counters, run holefs-repro RUNS times, read the counters and the kernel
# log, unmount, and print one line
#	HOLEFS-RESULT: {json}
# (fields: Documentation/matrix.rst).  A run is one holefs-repro
# invocation with a budget of HITS window hits (racer accesses that
# overlapped a punch or truncate system call), capped at RUN_MS; it ends
# at its first detection.  Hits, not time, so that a slow kernel gets the
# same chances as a fast one; a SAFE cell reports the hits it took.
# All result lines are printed once more between HOLEFS-MATRIX-BEGIN and
# HOLEFS-MATRIX-END at the end, when no kernel message can split them.
#
# Settings (environment; defaults in brackets):
#	MATRIX_RUNS [10]  MATRIX_HITS [20000]  MATRIX_RUN_MS [20000]
#	MATRIX_SAFE_RUNS [3]  a cell whose first MATRIX_SAFE_RUNS runs all
#	    ran to their budget without a detection stops there (SAFE with
#	    that many runs); a cell with a detection runs all MATRIX_RUNS, so
#	    a RACE cell reports how reliably it races
#	MATRIX_SIZE [1m]  MATRIX_THREADS [2]  MATRIX_SEED [1]
#	MATRIX_DELAY_US [2000]   punch_delay_us and truncate_delay_us of
#	                         every holefs mount
#	MATRIX_FS ["holefs tmpfs ext4 xfs"]
#	MATRIX_MAP_PAGES ["filemap trylock off locked"]
#	MATRIX_FAULT ["filemap unlocked"]  MATRIX_PUNCH ["locked unlocked"]
#	MATRIX_SCENARIOS ["seed map-pages-hot read-race write-race truncate"]
#	MATRIX_FOLIOS ["small large"]   folios= of the holefs cells; large
#	    cells skip map_pages=locked
#	MATRIX_GEOMETRY ["aligned split"]   holefs-repro --geometry of the
#	    large-folio holefs cells and of the peers (the small-folio holefs
#	    cells stay aligned)
# ext4 and xfs need images/ext4.img.gz and images/xfs.img.gz in the
# payload (made on the host: busybox has no mkfs for them); they are
# written to /dev/ram0 and /dev/ram1.
#
# Order: the holefs cells without map_pages=locked, then the peers, then
# map_pages=locked last: on a debug kernel that policy's reports switch
# lockdep off ("suspicious RCU usage" also fires only once per boot), so
# any later cell would run unchecked.

. "$(dirname "$0")/lib.sh"

: "${MATRIX_RUNS:=10}" "${MATRIX_HITS:=20000}" "${MATRIX_RUN_MS:=20000}"
: "${MATRIX_SAFE_RUNS:=3}"
: "${MATRIX_SIZE:=1m}" "${MATRIX_THREADS:=2}" "${MATRIX_SEED:=1}"
: "${MATRIX_DELAY_US:=2000}"
: "${MATRIX_FS:=holefs tmpfs ext4 xfs}"
: "${MATRIX_MAP_PAGES:=filemap trylock off locked}"
: "${MATRIX_FAULT:=filemap unlocked}" "${MATRIX_PUNCH:=locked unlocked}"
: "${MATRIX_SCENARIOS:=seed map-pages-hot read-race write-race truncate}"
: "${MATRIX_FOLIOS:=small large}" "${MATRIX_GEOMETRY:=aligned split}"

mnt=/mnt/matrix
tmp=$(mktemp -d)
results=$tmp/results
: >"$results"

# Milliseconds since boot.
now_ms() {
	awk '{ split($1, t, "."); print t[1] * 1000 + substr(t[2] "00", 1, 2) * 10 }' /proc/uptime
}

# jstr S: S as a JSON string (quotes and backslashes escaped, control
# characters dropped).
jstr() {
	printf '"%s"' "$(printf '%s' "$1" | tr -d '\000-\037' | sed 's/[\\"]/\\&/g')"
}

# counters MNT: the holefs counters as JSON members, "{}" elsewhere.
counters() {
	if ! _d=$(holefs_stats_dir "$1" 2>/dev/null) || [ ! -r "$_d/stats" ]; then
		echo '{}'
		return
	fi
	awk 'BEGIN { printf "{" } { printf "%s\"%s\":%s", (NR > 1 ? "," : ""), $1, $2 }
		END { printf "}" }' "$_d/stats"
}

# splats: kernel reports since dmesg_mark: "COUNT<TAB>header|header|..."
# (at most three distinct headers, time stamps removed).
splats() {
	dmesg_since_mark | sh "$HOLEFS_TESTS/scan-log" - 2>/dev/null | awk '
		/NOT ALLOWED/ { grab = 1; next }
		grab {
			grab = 0
			sub(/^ *\[ *[0-9]+\.[0-9]+\] */, "")
			sub(/^ +/, "")
			if (!(($0) in seen) && nh < 3) { seen[$0] = 1; h[++nh] = substr($0, 1, 100) }
		}
		/^scan-log: [0-9]+ kernel report/ { n = $2 }
		END {
			s = ""
			for (i = 1; i <= nh; i++) s = s (i > 1 ? "|" : "") h[i]
			printf "%d\t%s\n", n, s
		}'
}

# fs_mount FS MAP_PAGES FAULT PUNCH FOLIOS: mount a fresh instance at $mnt.
fs_mount() {
	mkdir -p "$mnt"
	case $1 in
	holefs)
		mount -t holefs -o "size=256m,punch_delay_us=$MATRIX_DELAY_US,truncate_delay_us=$MATRIX_DELAY_US,map_pages=$2,fault=$3,punch=$4,folios=$5" \
			holefs "$mnt"
		;;
	tmpfs) mount -t tmpfs -o size=64m tmpfs "$mnt" ;;
	ext4) mount -t ext4 /dev/ram0 "$mnt" ;;
	xfs) mount -t xfs /dev/ram1 "$mnt" ;;
	*) return 1 ;;
	esac
}

# peer_setup: write the ext4 and xfs images onto the RAM disks.
peer_setup() {
	for _p in ext4:/dev/ram0 xfs:/dev/ram1; do
		_fs=${_p%%:*}
		_dev=${_p#*:}
		case " $MATRIX_FS " in *" $_fs "*) ;; *) continue ;; esac
		_img=$HOLEFS_DIR/images/$_fs.img.gz
		if [ ! -r "$_img" ] || [ ! -b "$_dev" ]; then
			echo "matrix: no $_img or $_dev: $_fs cells will fail" >&2
			continue
		fi
		gunzip -c "$_img" >"$_dev" || echo "matrix: writing $_img to $_dev failed" >&2
	done
}

# run_once R: run R of the current cell ($sc on $mnt): one invocation with
# the hit budget, ending at its first detection.  Sets t_R (ms raced), d_R
# (detections), f_R (ms into the run of the first detection, or null), i_R
# (rounds) and h_R (hits); sets $errors and $error on a reproducer error.
run_once() {
	# The result as repro_FIELD='value' lines (no JSON parser in the
	# guest); an empty verdict if the reproducer died.
	repro_verdict="" repro_error=""
	out=$(holefs-repro --scenario "$sc" --geometry "$geo" --dir "$mnt" --hits "$MATRIX_HITS" \
		--duration-ms "$MATRIX_RUN_MS" --size "$MATRIX_SIZE" \
		--threads "$MATRIX_THREADS" --seed $((MATRIX_SEED + 1000 * ($1 - 1))) \
		--format shell 2>"$tmp/err")
	rc=$?
	eval "$out"
	v=$repro_verdict
	if [ "$v" != SAFE ] && [ "$v" != RACE ]; then
		errors=$((errors + 1))
		error="holefs-repro exited $rc: $(head -c 200 "$tmp/err") $repro_error"
		return
	fi
	op_reads=$((op_reads + repro_op_reads))
	first=null
	if [ "$v" = RACE ]; then
		cell_detected=1
		first=$repro_first_detection_ms
		if [ "$first_ms" = null ] || [ "$first" -lt "$first_ms" ]; then
			first_ms=$first
			first_view=$(jstr "$repro_first_detection__view")
			first_class=$(jstr "$repro_first_detection__class")
		fi
	fi
	eval "t_$1=\$repro_elapsed_ms d_$1=\$repro_detections f_$1=\$first" \
		"i_$1=\$repro_iterations h_$1=\$repro_hits"
}

# run_cell FS MAP_PAGES FAULT PUNCH SCENARIO FOLIOS GEOMETRY: measure one
# cell (MATRIX_RUNS runs), print its result line.  Policies and FOLIOS are
# "-" for the peers.
run_cell() {
	fs=$1 mp=$2 fa=$3 pu=$4 sc=$5 fol=$6 geo=$7
	start=$(now_ms)
	errors=0 error=""
	op_reads=0
	first_ms=null first_view=null first_class=null
	dmesg_mark "matrix-$fs-$mp-$fa-$pu-$sc"
	r=0
	while [ "$r" -lt "$MATRIX_RUNS" ]; do
		r=$((r + 1))
		eval "t_$r=0 d_$r=0 f_$r=null i_$r=0 h_$r=0"
	done
	runs_done=0 cell_detected=0
	if ! fs_mount "$fs" "$mp" "$fa" "$pu" "$fol" 2>"$tmp/err"; then
		errors=1
		error="mount: $(head -c 200 "$tmp/err")"
	else
		holefs_stats_clear "$mnt" 2>/dev/null
		r=0
		while [ "$r" -lt "$MATRIX_RUNS" ] && [ "$errors" -eq 0 ]; do
			r=$((r + 1))
			run_once "$r"
			[ "$errors" -ne 0 ] || runs_done=$r
			# The sequential stop: every known race is seen in at
			# least 9 of 10 runs, so one that exists misses
			# MATRIX_SAFE_RUNS runs in a row with a chance of at
			# most 0.1^MATRIX_SAFE_RUNS; more clean runs would add
			# little but time.
			[ "$cell_detected" -ne 0 ] || [ "$r" -lt "$MATRIX_SAFE_RUNS" ] || break
		done
	fi
	ctr=$(counters "$mnt")
	if grep -q " $mnt " /proc/mounts; then
		if ! umount "$mnt" 2>"$tmp/err"; then
			errors=$((errors + 1))
			error="${error:+$error; }umount: $(head -c 200 "$tmp/err")"
		fi
	fi
	sp=$(splats)
	nsplat=$(printf '%s' "$sp" | cut -f1)
	kinds=$(printf '%s' "$sp" | cut -f2-)
	# Per-run lists and sums.
	runs_detected=0 detections=0 iterations=0 race_ms=0 hits=0
	l_det="" l_first="" l_iter="" l_ms="" l_hits=""
	r=0
	while [ "$r" -lt "$runs_done" ]; do
		r=$((r + 1))
		eval "t=\$t_$r det=\$d_$r first=\$f_$r iter=\$i_$r h=\$h_$r"
		[ "$det" -eq 0 ] || runs_detected=$((runs_detected + 1))
		detections=$((detections + det))
		iterations=$((iterations + iter))
		race_ms=$((race_ms + t))
		hits=$((hits + h))
		l_det="$l_det${l_det:+,}$det"
		l_first="$l_first${l_first:+,}$first"
		l_iter="$l_iter${l_iter:+,}$iter"
		l_ms="$l_ms${l_ms:+,}$t"
		l_hits="$l_hits${l_hits:+,}$h"
	done
	pol() { if [ "$1" = - ]; then echo null; else echo "\"$1\""; fi; }
	line=$(printf '{"fs":"%s","map_pages":%s,"fault":%s,"punch":%s,"scenario":"%s",' \
		"$fs" "$(pol "$mp")" "$(pol "$fa")" "$(pol "$pu")" "$sc")
	line=$line$(printf '"folios":%s,"geometry":"%s",' "$(pol "$fol")" "$geo")
	line=$line$(printf '"runs":%d,"runs_detected":%d,"detections":%d,"iterations":%d,"hits":%d,' \
		"$runs_done" "$runs_detected" "$detections" "$iterations" "$hits")
	line=$line$(printf '"first_detection_ms":%s,"first_view":%s,"first_class":%s,' \
		"$first_ms" "$first_view" "$first_class")
	line=$line$(printf '"op_reads":%d,"race_ms":%d,"cell_ms":%d,' \
		"$op_reads" "$race_ms" "$(($(now_ms) - start))")
	line=$line$(printf '"run_detections":[%s],"run_first_ms":[%s],"run_iterations":[%s],"run_ms":[%s],"run_hits":[%s],' \
		"$l_det" "$l_first" "$l_iter" "$l_ms" "$l_hits")
	line=$line$(printf '"splats":%d,"splat_kinds":%s,"errors":%d,"error":%s,"counters":%s}' \
		"${nsplat:-0}" "$(jstr "$kinds")" "$errors" "$(jstr "$error")" "$ctr")
	echo "HOLEFS-RESULT: $line" | tee -a "$results"
}

# cells: one "FS MAP_PAGES FAULT PUNCH SCENARIO FOLIOS GEOMETRY" line per
# cell, in run order.
cells() {
	for pass in unlocked peers locked; do
		for fs in $MATRIX_FS; do
			if [ "$fs" = holefs ]; then
				[ "$pass" != peers ] || continue
				for fol in $MATRIX_FOLIOS; do
					geos=aligned
					[ "$fol" = small ] || geos=$MATRIX_GEOMETRY
					for geo in $geos; do
						for mp in $MATRIX_MAP_PAGES; do
							if [ "$mp" = locked ]; then
								[ "$pass" = locked ] && [ "$fol" = small ] || continue
							else
								[ "$pass" = unlocked ] || continue
							fi
							for fa in $MATRIX_FAULT; do
								for pu in $MATRIX_PUNCH; do
									for sc in $MATRIX_SCENARIOS; do
										echo "holefs $mp $fa $pu $sc $fol $geo"
									done
								done
							done
						done
					done
				done
			elif [ "$pass" = peers ]; then
				for geo in $MATRIX_GEOMETRY; do
					for sc in $MATRIX_SCENARIOS; do
						echo "$fs - - - $sc - $geo"
					done
				done
			fi
		done
	done
}

# cell_label FS FOLIOS GEOMETRY: the row's file system label, as
# scripts/matrix-report keys it: holefs, holefs[large], holefs[large,split],
# xfs, xfs[split], ...
cell_label() {
	_tags=""
	[ "$2" != large ] || _tags=large
	[ "$3" != split ] || _tags=${_tags:+$_tags,}split
	echo "$1${_tags:+[$_tags]}"
}

echo "HOLEFS-MATRIX-CONFIG: runs=$MATRIX_RUNS safe_runs=$MATRIX_SAFE_RUNS hits=$MATRIX_HITS run_ms=$MATRIX_RUN_MS" \
	"size=$MATRIX_SIZE threads=$MATRIX_THREADS seed=$MATRIX_SEED delay_us=$MATRIX_DELAY_US" \
	"kernel=$(uname -r) cpus=$(grep -c ^processor /proc/cpuinfo)"
holefs_unload 2>/dev/null
case " $MATRIX_FS " in
*" holefs "*) holefs_load unsafe_policies=1 || echo "matrix: insmod holefs.ko failed" >&2 ;;
esac
peer_setup
cells >"$tmp/cells"
total=$(wc -l <"$tmp/cells")
n=0
while read -r fs mp fa pu sc fol geo; do
	n=$((n + 1))
	echo "matrix: cell $n/$total: $(cell_label "$fs" "$fol" "$geo") $mp $fa $pu $sc"
	run_cell "$fs" "$mp" "$fa" "$pu" "$sc" "$fol" "$geo" </dev/null
done <"$tmp/cells"
holefs_unload 2>/dev/null
echo HOLEFS-MATRIX-BEGIN
cat "$results"
echo "HOLEFS-MATRIX-END: cells=$(wc -l <"$results")"
rm -rf "$tmp"
