# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Run directories for results that are kept and compared (scripts/matrix,
# scripts/bench, scripts/audit; scripts/compare reads them):
#
#   build/results/<kind>/<UTC time>/    one run: meta.json + the report's files
#   build/results/<kind>/latest         -> the newest finished run
#
# Usage, in a script that has set $top (the repository) and sourced
# scripts/lib/accel.sh:
#
#   results_new KIND "${KIND_OUT:-}"          # sets RESULTS_DIR
#   results_meta "$RESULTS_DIR" KIND KDIR key=value...   # at the start
#   ... run, write the report into $RESULTS_DIR ...
#   results_latest "$RESULTS_DIR"            # at the end, whatever the verdict
#
# meta.json (schema "holefs-results-meta/1") says what the run was measured
# on; Documentation/interfaces.rst, "Results", lists its fields.

# results_new KIND [DIR]: create the run directory and set RESULTS_DIR to
# its absolute path: DIR when given (kept as is, no "latest" link), else a
# new build/results/KIND/<UTC time>/.
results_new() {
	local kind=$1 dir=${2:-} stamp n=1
	if [ -z "$dir" ]; then
		stamp=$(date -u +%Y%m%dT%H%M%SZ)
		dir=$top/build/results/$kind/$stamp
		while [ -e "$dir" ]; do
			n=$((n + 1))
			dir=$top/build/results/$kind/$stamp-$n
		done
	fi
	mkdir -p "$dir"
	RESULTS_DIR=$(cd "$dir" && pwd)
}

# results_latest DIR: point DIR's sibling "latest" at DIR, if DIR is a run
# directory of build/results/<kind>/ (an explicit output directory is not).
results_latest() {
	local dir=$1 parent
	parent=$(dirname "$dir")
	[ "$(dirname "$parent")" = "$top/build/results" ] || return 0
	ln -sfn "$(basename "$dir")" "$parent/latest"
}

# results_meta DIR KIND KDIR [KEY=VALUE...]: write DIR/meta.json: the kind,
# the date, the holefs commit and whether the tree was dirty, the kernel
# release and version of the tree KDIR, the QEMU version, the host CPU and
# the accelerator (accel_probe), and the KEY=VALUE settings of the run
# (values that are decimal numbers are stored as numbers).
results_meta() {
	local dir=$1 kind=$2 kdir=$3 commit dirty=false
	shift 3
	[ -n "${ACCEL:-}" ] || accel_probe
	commit=$(git -C "$top" rev-parse HEAD 2>/dev/null || echo unknown)
	if [ -n "$(git -C "$top" status --porcelain 2>/dev/null)" ]; then
		dirty=true
	fi
	META_KIND=$kind META_KDIR=$kdir META_COMMIT=$commit META_DIRTY=$dirty \
		META_ACCEL=$ACCEL META_ACCEL_REASON=$ACCEL_REASON \
		python3 - "$dir/meta.json" "$@" <<'PY'
import json, os, platform, re, subprocess, sys, datetime

def text(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None

def first_line(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout
        return out.splitlines()[0].strip() if out else None
    except (OSError, subprocess.TimeoutExpired):
        return None

env = os.environ
kdir = env["META_KDIR"]
uts = text(os.path.join(kdir, "include/generated/utsversion.h")) or ""
m = re.search(r'UTS_VERSION "([^"]*)"', uts)
cpu = None
for line in (text("/proc/cpuinfo") or "").splitlines():
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break
qemu = first_line(["qemu-system-x86_64", "--version"]) or ""
meta = {
    "schema": "holefs-results-meta/1",
    "kind": env["META_KIND"],
    "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "holefs_commit": env["META_COMMIT"],
    "holefs_dirty": env["META_DIRTY"] == "true",
    "kernel_release": text(os.path.join(kdir, "include/config/kernel.release")),
    # The build tree's directory: the scripts/kernel-build flavor and key.
    "kernel_tree": os.path.basename(os.path.dirname(os.path.realpath(kdir))),
    "kernel_version": m.group(1) if m else None,
    "qemu_version": qemu.removeprefix("QEMU emulator version ") or None,
    "host_cpu": cpu or platform.processor() or None,
    "host_cpus": os.cpu_count(),
    "accel": env["META_ACCEL"],
    "accel_reason": env["META_ACCEL_REASON"],
}
settings = {}
for kv in sys.argv[2:]:
    k, _, v = kv.partition("=")
    settings[k] = int(v) if re.fullmatch(r"-?[0-9]+", v) else v
meta["settings"] = settings
with open(sys.argv[1] + ".tmp", "w") as f:
    json.dump(meta, f, indent=1)
    f.write("\n")
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
PY
}
