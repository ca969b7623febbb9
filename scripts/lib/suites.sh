# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Guest suite lists that more than one runner uses.  Sourced by scripts/check
# and scripts/check-debug.

# The suites of the data paths (read, write, writeback, fallocate, punch,
# truncate, faults, the exerciser's random operations), run a second time
# with HOLEFS_EXTRA_OPTS=folios=large, i.e. every holefs mount of theirs
# with large folios.  holefs_folios checks itself that large folios were
# used, with small mounts as the controls.
# shellcheck disable=SC2034 # used by the scripts that source this
large_folio_suites="fs_test.sh holefs_fs holefs_falloc policy_test.sh holefs_policy exerciser_test.sh holefs_folios"
