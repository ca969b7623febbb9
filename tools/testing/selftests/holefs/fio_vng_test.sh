#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# fio_vng_test.sh: fio (Debian's 3.33) verify jobs on holefs that mix the
# psync and mmap engines with hole punching, all at once:
#
#   psync-verify       file p [0, R): random writes, crc32c-verified
#   punch              file p [R, 2R): FALLOC_FL_PUNCH_HOLE (ioengine=falloc,
#                      rw=randtrim) for the whole run
#   psync-into-punch   file p [R, 2R): random writes racing the punches
#   mmap-read-all      file p [0, 2R): random reads through a mapping
#   mmap-verify        file m [0, R): random stores through a mapping,
#                      crc32c-verified
#   psync-read-m       file m: random reads
#
# so punches and faults on file p run beside the verified region of the
# same inode.  Then the page cache is dropped and a second fio run with
# verify_only=1 re-reads both verified regions from the store.  (fio's
# own trim, rw=randtrim with a data engine, is BLKDISCARD: block devices
# only; the falloc engine punches.  fio's mmap engine misplaces I/O when a
# job has offset=, so mmap jobs cover their files from 0.)
#
# Needs the host's fio: runs under run-vng (make check).
#
# HOLEFS_FIO_SECONDS   run time of the racing jobs (default 5)
# HOLEFS_FIO_MB        R in MiB (default 8)

. "$(dirname "$0")/lib.sh"
holefs_require_module

secs=${HOLEFS_FIO_SECONDS:-5}
mb=${HOLEFS_FIO_MB:-8}
region=${mb}m
NPOINTS=12

tap_plan $NPOINTS
if ! command -v fio >/dev/null 2>&1 || ! command -v python3 >/dev/null 2>&1; then
	for i in $(seq $NPOINTS); do
		tap_skip "fio $i" "no fio or python3 on PATH (run under run-vng)"
	done
	tap_done
	exit
fi

base=$(mktemp -d)
mnt=$base/mnt
trap holefs_scratch_cleanup EXIT
dmesg_mark fio_vng_test

holefs_unload 2>/dev/null
tap_check "insmod and mount" sh -c \
	". '$HOLEFS_TESTS/lib.sh'; holefs_load && holefs_mount '$mnt' size=256m"

# The verified jobs, shared by both runs.
verified() {
	cat <<EOF
[psync-verify]
ioengine=psync
filename=p
rw=randwrite
size=$region
verify=crc32c
verify_fatal=1

[mmap-verify]
ioengine=mmap
filename=m
rw=randwrite
size=$region
verify=crc32c
verify_fatal=1
EOF
}

{
	cat <<EOF
[global]
directory=$mnt
bsrange=4k-32k
blockalign=4k
fallocate=none
end_fsync=1
verify_state_save=0

EOF
	verified
	cat <<EOF

[punch]
ioengine=falloc
filename=p
rw=randtrim
offset=$region
size=$region
bsrange=4k-64k
time_based=1
runtime=$secs

[psync-into-punch]
ioengine=psync
filename=p
rw=randwrite
offset=$region
size=$region
time_based=1
runtime=$secs

[mmap-read-all]
ioengine=mmap
filename=p
rw=randread
size=$((2 * mb))m
time_based=1
runtime=$secs

[psync-read-m]
ioengine=psync
filename=m
rw=randread
size=$region
time_based=1
runtime=$secs
EOF
} >"$base/run.fio"

{
	cat <<EOF
[global]
directory=$mnt
bsrange=4k-32k
blockalign=4k
fallocate=none
verify_only=1
verify_state_save=0

EOF
	verified
} >"$base/verify.fio"

# summary JSON: one line per job: name error read_kb write_kb trim_ios
# read_ios write_ios.
summary() {
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
for j in d["jobs"]:
    print(j["jobname"], j["error"], j["read"]["io_kbytes"], j["write"]["io_kbytes"],
          j["trim"]["total_ios"], j["read"]["total_ios"], j["write"]["total_ios"])
' "$1"
}

# Run from inside the mount: fio writes no state files elsewhere.
(cd "$mnt" && fio --output-format=json --output="$base/run.json" "$base/run.fio" \
	>"$base/run.err" 2>&1)
rc=$?
sed 's/^/#   /' "$base/run.err"
summary "$base/run.json" >"$base/run.sum" 2>&1
sed 's/^/#   /' "$base/run.sum"
if [ $rc -eq 0 ]; then
	tap_ok "fio: the racing run exits 0"
else
	tap_fail "fio: the racing run exits 0" "exit status $rc"
fi
if grep -qi 'verify' "$base/run.err"; then
	tap_fail "no verify error" "$(grep -i verify "$base/run.err")"
else
	tap_ok "no verify error"
fi
if awk '$2 != 0 { bad = 1 } END { exit bad || NR < 6 }' "$base/run.sum"; then
	tap_ok "every job ends with error=0"
else
	tap_fail "every job ends with error=0"
fi
trims=$(awk '$1 == "punch" { print $5 }' "$base/run.sum")
if [ "${trims:-0}" -gt 0 ] 2>/dev/null; then
	tap_ok "holes were punched ($trims punches)"
else
	tap_fail "holes were punched" "punch job: ${trims:-no} trim I/Os"
fi
faults=$(awk '$1 == "mmap-read-all" { print $6 }' "$base/run.sum")
if [ "${faults:-0}" -gt 0 ] 2>/dev/null; then
	tap_ok "reads through the mapping beside the punches ($faults reads)"
else
	tap_fail "reads through the mapping beside the punches"
fi

echo 3 >/proc/sys/vm/drop_caches
(cd "$mnt" && fio --output-format=json --output="$base/verify.json" "$base/verify.fio" \
	>"$base/verify.err" 2>&1)
rc=$?
sed 's/^/#   /' "$base/verify.err"
summary "$base/verify.json" >"$base/verify.sum" 2>&1
sed 's/^/#   /' "$base/verify.sum"
if [ $rc -eq 0 ] && ! grep -qi verify "$base/verify.err"; then
	tap_ok "fio verify_only: the data reads back from the store"
else
	tap_fail "fio verify_only: the data reads back from the store" "exit status $rc"
fi
# Both verified regions were read in full.
want_kb=$(awk '$1 == "psync-verify" { print $3 }' "$base/run.sum")
if awk -v w="$want_kb" '$3 != w || w == 0 { bad = 1 } END { exit bad || NR != 2 }' \
	"$base/verify.sum"; then
	tap_ok "verify_only read both regions ($want_kb KiB each)"
else
	tap_fail "verify_only read both regions"
fi
ops=$(awk '{ n += $5 + $6 + $7 } END { print n + 0 }' "$base/run.sum" "$base/verify.sum")
diag "holefs-fio: seconds=$secs region=$region ios=$ops"

tap_check "umount" umount "$mnt"
tap_check "rmmod" holefs_unload
if dmesg_since_mark | grep -q 'still accounted'; then
	tap_fail "the store is empty at unmount" "$(dmesg_since_mark | grep 'still accounted')"
else
	tap_ok "the store is empty at unmount"
fi
tap_dmesg_clean "no kernel report during the test"
tap_done
