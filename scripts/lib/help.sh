# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=sh
#
# Sourced by every script in scripts/ (bash and POSIX sh): --help prints the
# script's header comment, which is its usage, and exits 0 before the
# script does anything else.

# help_on_request SCRIPT [ARG...]: when the first ARG is -h or --help, print
# SCRIPT's leading comment block (without the #! and SPDX lines and the
# comment marks) on stdout and exit 0; otherwise return.
help_on_request() {
	help_script=$1
	shift
	case ${1:-} in
	-h | --help) ;;
	*) return 0 ;;
	esac
	awk 'NR == 1 && /^#!/ { next }
	     /SPDX-License-Identifier/ { next }
	     /^#/ { sub(/^# ?/, ""); if (!started && $0 == "") next; started = 1; print; next }
	     { exit }' "$help_script"
	exit 0
}
