# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The QEMU accelerator for the guests: KVM when it works, TCG otherwise.
# Sourced by scripts/lib/runner.sh (run-qemu, run-vng) and by the scripts
# that record it with their results (scripts/lib/results.sh).

# accel_probe: set ACCEL to "kvm" or "tcg" and ACCEL_REASON to why.
# HOLEFS_ACCEL=kvm|tcg forces the choice.  KVM needs a /dev/kvm this user
# can open read-write *and* a CPU that advertises hardware virtualisation:
# a host without vmx/svm can still have a /dev/kvm that creates VMs, but a
# guest on it hangs after "Booting from ROM".
accel_probe() {
	case ${HOLEFS_ACCEL:-} in
	kvm | tcg)
		ACCEL=$HOLEFS_ACCEL
		ACCEL_REASON="HOLEFS_ACCEL=$HOLEFS_ACCEL"
		return
		;;
	"") ;;
	*)
		ACCEL=tcg
		ACCEL_REASON="HOLEFS_ACCEL=$HOLEFS_ACCEL is neither kvm nor tcg"
		return
		;;
	esac
	ACCEL=tcg
	if [ ! -c /dev/kvm ]; then
		ACCEL_REASON="no /dev/kvm"
	elif ! { : <>/dev/kvm; } 2>/dev/null; then
		ACCEL_REASON="/dev/kvm cannot be opened read-write by $(id -un)"
	elif ! grep -qwE 'vmx|svm' /proc/cpuinfo; then
		ACCEL_REASON="/dev/kvm opens but the CPU has no vmx/svm flag"
	else
		ACCEL=kvm
		ACCEL_REASON="/dev/kvm opens and the CPU has vmx/svm"
	fi
}
