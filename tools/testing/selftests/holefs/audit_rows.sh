#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# audit_rows.sh: the guest half of `make audit` (scripts/audit boots it under
# scripts/run-vng, which gives the guest the host's userspace: mkfs tools,
# servers, python3).  Not a TAP test: it measures, it does not judge.
#
# For every row (a file system, or holefs with one policy) it sets the file
# system up on /tmp (a tmpfs in the guest), runs every cell of
# `holefs-audit plan` on it, then the plan's positive control per operation
# (`--control`: the operation is skipped, so the checker must see the old
# data), all in one `holefs-audit batch` process per row (a process start
# costs about a second under TCG), and tears the file system down.  The holefs rows
# with an unsafe policy are controls as a whole: the same cells, which must
# race; they get no per-operation controls.  A row that cannot be set up
# keeps all its cells, as SKIP with the reason.
#
# Output: holefs-audit's "AUDIT ..." line per cell on stdout (scripts/audit
# shows them as progress), "AUDIT-ROW: ..." lines per row, and one JSON
# object per cell appended to $AUDIT_JSON (Documentation/audit.rst,
# "Schema").
#
# Settings (environment; defaults in brackets):
#	AUDIT_ROWS [all rows]    the rows to run, in this order
#	AUDIT_QUICK [0]          1: `holefs-audit plan --quick`
#	AUDIT_OPS [all]          only the cells of these operations
#	AUDIT_JSON [/tmp/audit.jsonl]
#	AUDIT_CELL_ARGS [""]     more holefs-audit cell options (--runs,
#	                         --max-ms, --hits, --seed)
#	AUDIT_CELL_TIMEOUT [120] seconds before a cell is killed (ERROR)
#	AUDIT_DELAY_US [2000]    punch_delay_us of every holefs mount
#	AUDIT_HUGEPAGES [32]     2 MiB pages reserved for the hugetlbfs row
#	AUDIT_IMG_MB [256]       size of the loop images (sparse, on tmpfs)

case ${1:-} in
-h|--help)
	sed -n '3,/^$/p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
esac

. "$(dirname "$0")/lib.sh"

ALL_ROWS="tmpfs ext4 xfs btrfs f2fs ntfs3 gfs2 ocfs2 nfs cifs fuse hugetlbfs holefs
holefs-punch-unlocked holefs-fault-unlocked"
: "${AUDIT_ROWS:=$ALL_ROWS}" "${AUDIT_QUICK:=0}" "${AUDIT_OPS:=}" "${AUDIT_JSON:=/tmp/audit.jsonl}"
: "${AUDIT_CELL_ARGS:=}" "${AUDIT_CELL_TIMEOUT:=120}" "${AUDIT_DELAY_US:=2000}"
: "${AUDIT_HUGEPAGES:=32}" "${AUDIT_IMG_MB:=256}"

PATH=$PATH:/sbin:/usr/sbin
base=/tmp/holefs-audit
mnt=$base/mnt
# The cells' scratch directory: on the file system under audit.
work=$mnt/holefs-audit
mkdir -p "$base" "$mnt"
touch "$AUDIT_JSON"

# What each row's teardown has to undo, set by its setup.
loopdev=""
daemon_pid=""

# fail REASON...: print the reason a setup step failed (the row's SKIP
# reason) on stdout, return 1.
fail() {
	printf '%s\n' "$*" | tr '\n' ' ' | sed 's/ *$//'
	echo
	return 1
}

# need CMD...: each CMD is installed (scripts/setup installs them).
need() {
	for _c in "$@"; do
		command -v "$_c" >/dev/null 2>&1 || { fail "$_c not found (scripts/setup)"; return 1; }
	done
}

# kernel_fs NAME: the kernel knows file system NAME (built in or loadable).
kernel_fs() {
	grep -qw "$1" /proc/filesystems && return 0
	modprobe "$1" 2>/dev/null && grep -qw "$1" /proc/filesystems && return 0
	fail "kernel has no $1 file system (CONFIG option off)"
}

# run_or_fail WHAT CMD...: CMD's output becomes the reason when it fails.
run_or_fail() {
	_what=$1
	shift
	if ! _out=$("$@" 2>&1); then
		fail "$_what failed: $(printf '%s' "$_out" | tail -n 2)"
		return 1
	fi
}

# loop_image MB: a sparse image on /tmp attached to a loop device ($loopdev).
loop_image() {
	rm -f "$base/img"
	truncate -s "${1}M" "$base/img" || { fail "cannot create $base/img"; return 1; }
	loopdev=$(losetup -f --show "$base/img" 2>&1) || {
		fail "losetup failed: $loopdev"
		loopdev=""
		return 1
	}
}

# mount_or_fail ARGS...: mount, the error text as the reason.
mount_or_fail() {
	run_or_fail mount mount "$@"
}

# --- rows: setup_ROW prints nothing and returns 0, or prints the reason ------

setup_tmpfs() {
	mount_or_fail -t tmpfs -o size=512m tmpfs "$mnt"
}

setup_ext4() {
	need mkfs.ext4 && loop_image "$AUDIT_IMG_MB" &&
		run_or_fail mkfs.ext4 mkfs.ext4 -q -F -O extent \
			-E lazy_itable_init=0,lazy_journal_init=0 "$loopdev" &&
		mount_or_fail -t ext4 "$loopdev" "$mnt" &&
		echo "AUDIT-ROW: ext4 $(dumpe2fs -h "$loopdev" 2>/dev/null | grep -i '^filesystem features')" >&3
}

setup_xfs() {
	# mkfs.xfs refuses file systems under 300 MB unless it believes it
	# runs under fstests, which is what these variables tell it.
	need mkfs.xfs && loop_image "$AUDIT_IMG_MB" &&
		run_or_fail mkfs.xfs env TEST_DIR=1 TEST_DEV=1 QA_CHECK_FS=1 \
			mkfs.xfs -q -f -m reflink=1 "$loopdev" &&
		mount_or_fail -t xfs "$loopdev" "$mnt"
}

setup_btrfs() {
	need mkfs.btrfs && kernel_fs btrfs && loop_image "$AUDIT_IMG_MB" &&
		run_or_fail mkfs.btrfs mkfs.btrfs -q -f "$loopdev" &&
		mount_or_fail -t btrfs "$loopdev" "$mnt"
}

setup_f2fs() {
	need mkfs.f2fs && kernel_fs f2fs && loop_image "$AUDIT_IMG_MB" &&
		run_or_fail mkfs.f2fs mkfs.f2fs -q -f "$loopdev" &&
		mount_or_fail -t f2fs "$loopdev" "$mnt"
}

setup_ntfs3() {
	# sparse: new files are sparse, so that a punched range can become a
	# hole (ntfs3 punches only sparse and compressed files).
	need mkntfs && kernel_fs ntfs3 && loop_image "$AUDIT_IMG_MB" &&
		run_or_fail mkntfs mkntfs -q -F -Q "$loopdev" &&
		mount_or_fail -t ntfs3 -o sparse "$loopdev" "$mnt"
}

setup_gfs2() {
	# lock_nolock: a single-node gfs2 needs no cluster stack.
	need mkfs.gfs2 && kernel_fs gfs2 && loop_image "$AUDIT_IMG_MB" &&
		run_or_fail mkfs.gfs2 mkfs.gfs2 -O -p lock_nolock -j 1 -J 8 "$loopdev" &&
		mount_or_fail -t gfs2 "$loopdev" "$mnt"
}

setup_ocfs2() {
	# -M local: a single-node ocfs2 that needs no o2cb cluster stack.
	need mkfs.ocfs2 && kernel_fs ocfs2 && loop_image "$AUDIT_IMG_MB" &&
		run_or_fail mkfs.ocfs2 mkfs.ocfs2 -q -F -M local -N 1 -b 4096 -C 4096 \
			-J size=8M --fs-feature-level=max-features "$loopdev" &&
		mount_or_fail -t ocfs2 "$loopdev" "$mnt"
}

setup_hugetlbfs() {
	kernel_fs hugetlbfs || return 1
	echo "$AUDIT_HUGEPAGES" >/proc/sys/vm/nr_hugepages 2>/dev/null
	_n=$(cat /proc/sys/vm/nr_hugepages)
	[ "$_n" -gt 0 ] || { fail "no huge pages could be reserved (nr_hugepages=$_n)"; return 1; }
	mount_or_fail -t hugetlbfs -o pagesize=2M,size=$((_n * 2))M hugetlbfs "$mnt"
}

# holefs_row OPTS [PARAMS...]: holefs mounted with OPTS, the module loaded
# with PARAMS.  Every holefs row gets the same punch_delay_us (as in make
# matrix), so that the default policy is judged with the window as wide as
# the control rows have it.
holefs_row() {
	_opts=$1
	shift
	[ -f "$HOLEFS_DIR/holefs.ko" ] || { fail "no holefs.ko in the payload (make module)"; return 1; }
	holefs_unload 2>/dev/null
	run_or_fail "insmod holefs.ko $*" holefs_load "$@" &&
		run_or_fail mount holefs_mount "$mnt" "size=512m,punch_delay_us=$AUDIT_DELAY_US$_opts"
}

setup_holefs() {
	holefs_row ""
}

setup_holefs_punch_unlocked() {
	holefs_row ",punch=unlocked" unsafe_policies=1
}

setup_holefs_fault_unlocked() {
	holefs_row ",fault=unlocked" unsafe_policies=1
}

# nfs_export_fs: the file system the NFS server exports, on $base/export:
# a tmpfs, or the XFS on device $nfs_export_xfs when that is set
# (findings_soak.sh: CLONE needs a file system that shares extents).
nfs_export_fs() {
	if [ -n "${nfs_export_xfs:-}" ]; then
		mount_or_fail -t xfs "$nfs_export_xfs" "$base/export"
	else
		run_or_fail "mount export tmpfs" mount -t tmpfs -o size=512m tmpfs "$base/export"
	fi
}

# NFS 4.2 from the in-kernel server over loopback.  The export is a tmpfs
# (fsid=0: it has no UUID).  NFSv4 only, so that neither rpcbind nor statd
# is needed; the grace period is ended at once (no client to reclaim).
setup_nfs() {
	need rpc.nfsd rpc.mountd exportfs mount.nfs4 && kernel_fs nfsd && kernel_fs nfs4 || return 1
	ip link set lo up 2>/dev/null
	mkdir -p "$base/export" /proc/fs/nfsd /var/lib/nfs
	grep -q ' /proc/fs/nfsd ' /proc/mounts ||
		run_or_fail "mount nfsd" mount -t nfsd nfsd /proc/fs/nfsd || return 1
	nfs_export_fs || return 1
	: >/etc/exports 2>/dev/null
	run_or_fail exportfs exportfs -o rw,no_root_squash,fsid=0,insecure,no_subtree_check,sync \
		"127.0.0.1:$base/export" || return 1
	echo 10 >/proc/fs/nfsd/nfsv4leasetime 2>/dev/null
	echo 10 >/proc/fs/nfsd/nfsv4gracetime 2>/dev/null
	run_or_fail rpc.mountd rpc.mountd -N 2 -N 3 --no-udp || return 1
	run_or_fail rpc.nfsd rpc.nfsd -N 3 -V 4.2 --no-udp 2 || return 1
	echo Y >/proc/fs/nfsd/v4_end_grace 2>/dev/null
	mount_or_fail -t nfs4 -o vers=4.2,proto=tcp,timeo=100,retrans=2 127.0.0.1:/ "$mnt"
}

# SMB3 from the in-kernel ksmbd over loopback, mounted by cifs.
setup_cifs() {
	need ksmbd.adduser ksmbd.addshare ksmbd.mountd mount.cifs && kernel_fs cifs || return 1
	grep -q '^ksmbd ' /proc/modules || modprobe ksmbd 2>/dev/null
	[ -d /sys/class/ksmbd-control ] || [ -d /sys/module/ksmbd ] ||
		{ fail "kernel has no ksmbd (CONFIG_SMB_SERVER off)"; return 1; }
	ip link set lo up 2>/dev/null
	mkdir -p "$base/share" /etc/ksmbd
	run_or_fail "mount share tmpfs" mount -t tmpfs -o size=512m tmpfs "$base/share" || return 1
	rm -f /etc/ksmbd/ksmbd.conf /etc/ksmbd/ksmbdpwd.db
	# One --options argument, the parameters separated by newlines: given
	# several times, only the last counts, and a share without "path"
	# tree-connects (ksmbd resolves the empty path to its working
	# directory) but fails every SMB2_CREATE of the share root with
	# STATUS_INVALID_PARAMETER (Documentation/audit.rst, "Rows").
	run_or_fail ksmbd.addshare ksmbd.addshare -a audit -o "path = $base/share
read only = no
force user = root" || return 1
	grep -q "path = $base/share" /etc/ksmbd/ksmbd.conf ||
		{ fail "ksmbd.addshare wrote no path: $(tr '\n' ' ' </etc/ksmbd/ksmbd.conf)"; return 1; }
	run_or_fail ksmbd.adduser ksmbd.adduser -a audit -p audit || return 1
	run_or_fail ksmbd.mountd ksmbd.mountd || return 1
	# ksmbd.mountd returns before the server listens: retry for a while.
	for _i in 1 2 3 4 5 6 7 8 9 10; do
		mount -t cifs -o username=audit,password=audit,vers=3.1.1,cache=strict \
			//127.0.0.1/audit "$mnt" >"$base/mount.err" 2>&1 && return 0
		# ksmbd binds one socket per interface with SO_BINDTODEVICE,
		# which fails without CONFIG_NETDEVICES: no retry helps then.
		dmesg | grep -q 'ksmbd: Failed to set SO_BINDTODEVICE: -92' && {
			fail "ksmbd cannot listen: SO_BINDTODEVICE fails with ENOPROTOOPT" \
				"(kernel without CONFIG_NETDEVICES)"
			return 1
		}
		sleep 1
	done
	fail "mount failed: $(tail -n 2 "$base/mount.err")"
}

# FUSE: holefs-fuse, the project's passthrough daemon, over a directory of
# the guest's tmpfs.
setup_fuse() {
	need holefs-fuse && kernel_fs fuse || return 1
	mkdir -p "$base/backing"
	holefs-fuse "$base/backing" "$mnt" >"$base/fuse.log" 2>&1 &
	daemon_pid=$!
	for _i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		grep -q " $mnt fuse" /proc/mounts && return 0
		kill -0 "$daemon_pid" 2>/dev/null || break
		sleep 0.5
	done
	fail "holefs-fuse did not mount: $(tail -n 2 "$base/fuse.log")"
}

# teardown ROW: undo what setup did, whatever got done.  Loud only when an
# unmount fails (a busy mount would poison the next rows).
teardown() {
	cd /
	if grep -q " $mnt " /proc/mounts; then
		umount "$mnt" 2>/dev/null || umount -l "$mnt" ||
			echo "AUDIT-ROW: $1 warning: cannot unmount $mnt"
	fi
	case $1 in
	nfs)
		rpc.nfsd 0 2>/dev/null
		exportfs -ua 2>/dev/null
		pkill -x rpc.mountd 2>/dev/null
		umount "$base/export" 2>/dev/null
		;;
	cifs)
		ksmbd.control -s 2>/dev/null
		umount "$base/share" 2>/dev/null
		;;
	fuse)
		[ -z "$daemon_pid" ] || { kill "$daemon_pid" 2>/dev/null; wait "$daemon_pid" 2>/dev/null; }
		rm -rf "$base/backing"
		;;
	hugetlbfs)
		echo 0 >/proc/sys/vm/nr_hugepages 2>/dev/null
		;;
	holefs*)
		holefs_unload 2>/dev/null
		;;
	esac
	daemon_pid=""
	if [ -n "$loopdev" ]; then
		losetup -d "$loopdev" 2>/dev/null
		loopdev=""
	fi
	rm -f "$base/img"
}

# --- cells -----------------------------------------------------------------

# emit_cells VERDICT REASON ROW KIND < CELLS: a JSON object per cell that
# did not run (a row that could not be set up, a cell that died), in the
# schema holefs-audit writes.
emit_cells() {
	python3 -c '
import json, sys
verdict, reason, fs, kind = sys.argv[1:5]
with open(sys.argv[5], "a") as out:
    for line in sys.stdin:
        f = line.split()
        if len(f) < 3:
            continue
        k = f[3] if len(f) > 3 else kind
        out.write(json.dumps({
            "fs": fs, "op": f[0], "geometry": f[1], "racer": f[2], "kind": k,
            "runs": 0, "runs_detected": 0, "detections": 0, "iterations": 0, "hits": 0,
            "first_detection_ms": None, "first_view": None, "verdict": verdict,
            "reason": reason, "duration_ms": 0}) + "\n")
        print(f"AUDIT fs={fs} op={f[0]} geometry={f[1]} racer={f[2]} kind={k} "
              f"verdict={verdict} reason={json.dumps(reason)}", flush=True)
' "$1" "$2" "$3" "$4" "$AUDIT_JSON"
}

# on_row_mount: $work can be made and is on the row's mount (not on the
# guest's /tmp below it).  Once per row: the mount does not change.
on_row_mount() {
	mkdir -p "$work" &&
		[ "$(stat -c %d "$work")" = "$(stat -c %d "$mnt")" ] &&
		[ "$(stat -c %d "$mnt")" != "$(stat -c %d "$base")" ]
}

# kernel_reports ROW: the kernel's reports (scan-log) since the row's mark,
# each attached to the cell whose "holefs-audit: cell ..." mark (written by
# holefs-audit batch --kmsg-marks) precedes it, as JSON lines that the
# report joins to the cells.  One dmesg and one scan-log per row: under
# TCG every process start costs a fraction of a second.
kernel_reports() {
	dmesg | awk -v m="$_dmesg_mark" 'on; index($0, m) { on = 1 }' >"$base/klog"
	# scan-log prints each report as "scan-log: NOT ALLOWED (line N):"
	# and the header and context lines, indented.
	sh "$HOLEFS_TESTS/scan-log" "$base/klog" >"$base/kreports" 2>/dev/null && return 0
	grep -q '^scan-log: NOT ALLOWED' "$base/kreports" || return 0
	python3 - "$1" "$base/klog" "$base/kreports" "$AUDIT_JSON" <<'EOF_PY'
import json, re, sys
row, klog, kreports, out = sys.argv[1:5]
stamp = re.compile(r"^\s*\[ *([0-9]+\.[0-9]+)\]")
mark = re.compile(r"holefs-audit: cell fs=\S+ op=(\S+) geometry=(\S+) racer=(\S+) kind=(\S+)")
marks = []
for line in open(klog, errors="replace"):
    s, m = stamp.match(line), mark.search(line)
    if s and m:
        marks.append((float(s.group(1)), m.groups()))
reports = []  # [header time, lines]
for line in open(kreports, errors="replace"):
    if line.startswith("scan-log: NOT ALLOWED"):
        reports.append([None, []])
    elif reports and stamp.match(line) and not mark.search(line):
        rep = reports[-1]
        if rep[0] is None:
            rep[0] = float(stamp.match(line).group(1))
        if len(rep[1]) < 3:
            rep[1].append(line.strip())
cells = {}
for t, lines in reports:
    if t is None:
        continue
    cell = None
    for mt, groups in marks:
        if mt <= t:
            cell = groups
    # A report before the first cell (set-up) goes to the first cell.
    cell = cell or (marks[0][1] if marks else ("setup", "-", "-", "test"))
    cells.setdefault(cell, []).extend(lines)
with open(out, "a") as f:
    for (op, geo, racer, kind), lines in cells.items():
        f.write(json.dumps({"kernel_report": " ".join(lines[:3]), "fs": row, "op": op,
                            "geometry": geo, "racer": racer, "kind": kind}) + "\n")
EOF_PY
}

# run_batch ROW KIND: the cells of $base/cells (the tests, then the
# controls) in one holefs-audit process on $work (on the row's file system,
# see on_row_mount).  A cell that hangs is killed by holefs-audit's
# watchdog (an ERROR record, status 3); a process that dies otherwise
# leaves its running cell without a record: it gets an ERROR here.  Either
# way the batch starts again after that cell.
run_batch() {
	_row=$1 _kind=$2
	_n=$(grep -c . "$base/cells")
	_done=0
	while [ "$_done" -lt "$_n" ]; do
		_before=$(wc -l <"$AUDIT_JSON")
		# shellcheck disable=SC2086 # AUDIT_CELL_ARGS is a list of options
		timeout -k 5 $(((_n - _done) * AUDIT_CELL_TIMEOUT + 60)) holefs-audit batch \
			--dir "$work" --fs "$_row" --cells "$base/cells" --skip "$_done" \
			--cell-timeout "$AUDIT_CELL_TIMEOUT" --kmsg-marks $AUDIT_CELL_ARGS \
			--json "$AUDIT_JSON" </dev/null
		_rc=$?
		_done=$((_done + $(wc -l <"$AUDIT_JSON") - _before))
		[ "$_rc" -eq 0 ] && [ "$_done" -ge "$_n" ] && break
		[ "$_rc" -eq 3 ] && continue
		[ "$_done" -lt "$_n" ] || break
		_why="holefs-audit exited $_rc without a result"
		[ "$_rc" -eq 124 ] && _why="$_why (killed by timeout)"
		sed -n "$((_done + 1))p" "$base/cells" | emit_cells ERROR "$_why" "$_row" "$_kind"
		_done=$((_done + 1))
	done
}

is_control_row() {
	case $1 in
	holefs-punch-unlocked|holefs-fault-unlocked) return 0 ;;
	esac
	return 1
}

# findings_soak.sh sources this file for the set-ups and the teardown.
[ "${AUDIT_ROWS_LIB:-0}" = 0 ] || return 0

# The plan with its controls: "<op> <geometry> <racer> test|control", one
# control per operation (holefs-audit chooses the cell).
plan=$base/plan
quick=""
[ "$AUDIT_QUICK" = 0 ] || quick=--quick
# shellcheck disable=SC2086
if ! holefs-audit plan $quick --with-controls >"$plan" || ! [ -s "$plan" ]; then
	echo "AUDIT-ROW: error: holefs-audit plan failed"
	exit 2
fi
awk -v ops=" $AUDIT_OPS " '$4 == "test" && (ops == "  " || index(ops, " " $1 " ")) {
	print $1, $2, $3 }' "$plan" >"$base/tests"
awk -v ops=" $AUDIT_OPS " '$4 == "control" && (ops == "  " || index(ops, " " $1 " ")) {
	print $1, $2, $3 }' "$plan" >"$base/controls"
ncells=$(wc -l <"$base/tests")
nctl=$(wc -l <"$base/controls")
# fault-1page sets /sys/kernel/debug/fault_around_bytes.
[ -e /sys/kernel/debug/fault_around_bytes ] ||
	mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
echo "AUDIT-CONFIG: kernel=$(uname -r) cpus=$(grep -c ^processor /proc/cpuinfo)" \
	"cells_per_row=$ncells controls_per_row=$nctl rows=$(echo $AUDIT_ROWS | wc -w)" \
	"cell_args=\"$AUDIT_CELL_ARGS\" delay_us=$AUDIT_DELAY_US"

for row in $AUDIT_ROWS; do
	setup=setup_$(echo "$row" | tr - _)
	kind=test
	is_control_row "$row" && kind=control
	if ! command -v "$setup" >/dev/null 2>&1; then
		echo "AUDIT-ROW: $row unknown row"
		emit_cells ERROR "unknown row $row" "$row" "$kind" <"$base/tests"
		continue
	fi
	echo "AUDIT-ROW: $row setup"
	dmesg_mark "audit-$row"
	# In this shell, not in $(...): setup sets loopdev and daemon_pid.
	# fd 3: what a setup has to say when it succeeds.
	if ! $setup 3>&1 >"$base/reason" 2>&1; then
		reason=$(tail -n 3 "$base/reason" | tr '\n' ' ' | sed 's/ *$//')
		[ -n "$reason" ] || reason="setup failed"
		echo "AUDIT-ROW: $row SKIP: $reason"
		emit_cells SKIP "$reason" "$row" "$kind" <"$base/tests"
		[ "$kind" = control ] || emit_cells SKIP "$reason" "$row" control <"$base/controls"
		teardown "$row"
		continue
	fi
	echo "AUDIT-ROW: $row mounted: $(grep " $mnt " /proc/mounts | tail -n 1)"
	if ! on_row_mount; then
		echo "AUDIT-ROW: $row ERROR: $work is not on the row's mount"
		emit_cells ERROR "$work is not on the row's mount" "$row" "$kind" <"$base/tests"
		[ "$kind" = control ] ||
			emit_cells ERROR "$work is not on the row's mount" "$row" control <"$base/controls"
		teardown "$row"
		continue
	fi
	# The test cells, then (test rows only) the positive controls, whose
	# operation is skipped.  The known-race holefs rows run the test cells
	# only (their records say kind=test; the report knows the rows).
	sed 's/$/ test/' "$base/tests" >"$base/cells"
	[ "$kind" = control ] || sed 's/$/ control/' "$base/controls" >>"$base/cells"
	run_batch "$row" "$kind"
	kernel_reports "$row"
	teardown "$row"
	echo "AUDIT-ROW: $row done"
done
rm -rf "$base"
echo "AUDIT-DONE: cells=$(grep -c '"verdict"' "$AUDIT_JSON")"
