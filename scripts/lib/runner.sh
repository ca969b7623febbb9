# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# The opt_* variables are read by the runners that source this file.
# shellcheck disable=SC2034
#
# Shared by scripts/run-qemu and scripts/run-vng: option parsing, kernel
# lookup, the exit-status marker and the final verdict.  Source it after
# setting RUNNER (the runner's name, used in messages and log names).
#
# Contract (Documentation/interfaces.rst, "Runners"): run one shell command
# in a guest and exit with its status.  QEMU's own exit status says nothing
# about the guest, so the guest prints "HOLEFS-EXIT: <status>" as its last
# word and the verdict is read back from the console log.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib/accel.sh
source "$TOP/scripts/lib/accel.sh"
BUILD=$TOP/build
MARKER=HOLEFS-EXIT

log() { printf '%s: %s\n' "$RUNNER" "$*" >&2; }
die() { log "error: $*"; exit 2; }

# runner_usage [STATUS]: the options; on stdout and exit 0 for --help, on
# stderr and exit 2 (a usage error) otherwise.
runner_usage() {
	local status=${1:-2}
	[ "$status" -eq 0 ] || exec >&2
	cat <<EOF
usage: scripts/$RUNNER [OPTION]... [--] CMD...

Boot the holefs test kernel, run CMD (joined by spaces, given to sh -c) in
the guest with \$HOLEFS_DIR set to the payload and its bin/ and tests/ on
PATH, and exit with CMD's status (124: timeout, 125: no exit marker, i.e.
the guest crashed; 1: CMD passed but the kernel log has a report).

  --flavor FLAVOR      kernel flavour (scripts/kernel-build FLAVOR: base,
                       debug, debug+fixes, ...);
                       default: \$KDIR's kernel if KDIR is set, else base
  --kernel BZIMAGE     boot this kernel image instead
  --payload DIR        guest payload (default build/guest, see stage-guest)
  --timeout SECS       kill the guest after SECS (default $opt_timeout)
  --log FILE           console log (default build/logs/$RUNNER-<time>.log)
  --allow REGEX        a kernel report whose header matches is not an error
                       (repeatable; see scripts/scan-log)
  --interactive        a shell in the guest instead of CMD
  --mem SIZE           guest memory (default 1G)
  --cpus N             guest CPUs (default 2)
  --quiet              do not echo kernel messages (the log keeps them)
  --rwdir DIR          a host directory the guest can write (run-vng only;
                       repeatable; elsewhere the host is read-only)

The accelerator is KVM when /dev/kvm opens read-write and the CPU has
vmx/svm, TCG otherwise; HOLEFS_ACCEL=kvm|tcg forces it.  The choice and
its reason go to stderr.
EOF
	exit "$status"
}

# Defaults, overridden by the options below.
opt_flavor=""
opt_kernel=""
opt_payload=$BUILD/guest
opt_timeout=600
opt_log=""
opt_allow=()
opt_interactive=0
opt_mem=1G
opt_cpus=2
opt_quiet=0
opt_rwdir=()
opt_cmd=""

runner_parse_args() {
	while [ $# -gt 0 ]; do
		case $1 in
		--flavor) opt_flavor=${2:?}; shift 2 ;;
		--kernel) opt_kernel=${2:?}; shift 2 ;;
		--payload) opt_payload=${2:?}; shift 2 ;;
		--timeout) opt_timeout=${2:?}; shift 2 ;;
		--log) opt_log=${2:?}; shift 2 ;;
		--allow) opt_allow+=(--allow "${2:?}"); shift 2 ;;
		--interactive) opt_interactive=1; shift ;;
		--mem) opt_mem=${2:?}; shift 2 ;;
		--cpus) opt_cpus=${2:?}; shift 2 ;;
		--quiet) opt_quiet=1; shift ;;
		--rwdir) opt_rwdir+=(--rwdir "${2:?}"); shift 2 ;;
		-h|--help) runner_usage 0 ;;
		--) shift; break ;;
		-*) log "unknown option $1"; runner_usage ;;
		*) break ;;
		esac
	done
	opt_cmd="$*"
	[[ $opt_timeout =~ ^[0-9]+$ ]] || die "--timeout wants seconds"
	if [ "$opt_interactive" -eq 0 ] && [ -z "$opt_cmd" ]; then
		log "no command given (use --interactive for a shell)"
		runner_usage
	fi
	[ -d "$opt_payload" ] || die "no payload at $opt_payload (run: make guest-payload)"
	opt_payload=$(cd "$opt_payload" && pwd)

	mkdir -p "$BUILD/logs"
	if [ -z "$opt_log" ]; then
		opt_log=$BUILD/logs/$RUNNER-$(date +%Y%m%d-%H%M%S).log
		ln -sfn "$(basename "$opt_log")" "$BUILD/logs/$RUNNER-latest.log"
	fi
	mkdir -p "$(dirname "$opt_log")"
	: >"$opt_log"
	accel_probe
	log "accelerator: $ACCEL ($ACCEL_REASON)"
}

# Print the bzImage to boot: --kernel, else the --flavor kernel, else
# $KDIR's, else the cached base kernel (built on first use, ~11 min).
runner_kernel() {
	local tree
	if [ -n "$opt_kernel" ]; then
		[ -f "$opt_kernel" ] || die "no kernel image $opt_kernel"
		echo "$opt_kernel"
		return
	fi
	if [ -z "$opt_flavor" ] && [ -n "${KDIR:-}" ]; then
		tree=$KDIR
	else
		tree=$("$TOP/scripts/kernel-build" "${opt_flavor:-base}" | tail -n1)
	fi
	[ -f "$tree/arch/x86/boot/bzImage" ] || die "no bzImage in $tree"
	echo "$tree/arch/x86/boot/bzImage"
}

# The status in the last marker line of the log, or nothing.
runner_marker_status() {
	tr -d '\r' <"$opt_log" | grep -aoE "$MARKER: [0-9]+" | tail -n1 |
		sed "s/^$MARKER: //" || true
}

# runner_verdict TIMED_OUT: decide the exit status from the log, scan it
# for kernel reports, and exit.
runner_verdict() {
	local timed_out=$1 status
	status=$(runner_marker_status)
	if [ "$timed_out" -eq 1 ]; then
		log "timeout after ${opt_timeout}s; last lines of the log:"
		tail -n 20 "$opt_log" | tr -d '\r' >&2
		status=124
	elif [ -z "$status" ]; then
		log "no '$MARKER' line: the guest crashed or stopped early; last lines:"
		tail -n 30 "$opt_log" | tr -d '\r' >&2
		status=125
	fi
	if ! "$TOP/scripts/scan-log" "$opt_log" "${opt_allow[@]}" >&2; then
		log "kernel report(s) in the log (see above)"
		[ "$status" -ne 0 ] || status=1
	fi
	log "exit status $status (log: $opt_log)"
	exit "$status"
}
