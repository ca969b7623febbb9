/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Standalone runs of the holefs test programs: from the kernel's
 * run_kselftest.sh or by hand, without run_tests.sh's fixture.
 *
 * run_tests.sh loads holefs and mounts an instance at $HOLEFS_MNT for each
 * program; race_test.sh points holefs_race at its own mounts with
 * $HOLEFS_RACE_DIR.  Without either, a program calls holefs_ksft_require() or
 * holefs_ksft_fixture() from a constructor, before the harness starts:
 *   - holefs not registered (not in /proc/filesystems): the whole program
 *     is skipped (KTAP "1..0 # SKIP", exit status KSFT_SKIP);
 *   - holefs_ksft_fixture() also mounts an instance of its own
 *     ($HOLEFS_MOUNT_OPTS) on a new directory under /tmp, exports it as
 *     $HOLEFS_MNT and $HOLEFS_RACE_DIR, makes it the working directory, and
 *     unmounts it when the program (not one of the harness's per-test
 *     children) exits.
 */
#ifndef HOLEFS_KSFT_H
#define HOLEFS_KSFT_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "kselftest.h"

/* Is a file system type @name registered (a line of /proc/filesystems)? */
static inline bool holefs_ksft_registered(const char *name)
{
	FILE *f = fopen("/proc/filesystems", "r");
	char line[128], *fs;
	bool found = false;

	while (f && !found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		fs = strrchr(line, '\t');
		found = !strcmp(fs ? fs + 1 : line, name);
	}
	if (f)
		fclose(f);
	return found;
}

/*
 * Told where to work: run_tests.sh's fixture ($HOLEFS_MNT), or a caller that
 * mounted holefs with the policies it tests ($HOLEFS_RACE_DIR, race_test.sh).
 */
static inline bool holefs_ksft_has_fixture(void)
{
	const char *m = getenv("HOLEFS_MNT");
	const char *r = getenv("HOLEFS_RACE_DIR");

	return (m && *m) || (r && *r);
}

/* Skip the whole program unless holefs is there to test. */
static inline void holefs_ksft_require(void)
{
	if (holefs_ksft_has_fixture() || holefs_ksft_registered("holefs"))
		return;
	ksft_print_header();
	ksft_exit_skip("holefs is not registered: insmod holefs.ko first\n");
}

static char holefs_ksft_dir[64];
static pid_t holefs_ksft_pid;

static inline void holefs_ksft_unmount(void)
{
	if (getpid() != holefs_ksft_pid)
		return;
	if (chdir("/") || umount2(holefs_ksft_dir, MNT_DETACH) || rmdir(holefs_ksft_dir))
		fprintf(stderr, "# cleaning up %s: %s\n", holefs_ksft_dir,
			strerror(errno));
}

/* holefs_ksft_require(), and a mount of its own when there is no fixture. */
static inline void holefs_ksft_fixture(void)
{
	const char *opts = getenv("HOLEFS_MOUNT_OPTS");

	if (holefs_ksft_has_fixture())
		return;
	holefs_ksft_require();
	snprintf(holefs_ksft_dir, sizeof(holefs_ksft_dir),
		 "/tmp/holefs-ksft.XXXXXX");
	if (!mkdtemp(holefs_ksft_dir))
		ksft_exit_fail_msg("mkdtemp: %s\n", strerror(errno));
	if (mount("holefs", holefs_ksft_dir, "holefs", 0,
		  opts && *opts ? opts : NULL)) {
		rmdir(holefs_ksft_dir);
		ksft_exit_fail_msg("mount -t holefs: %s\n", strerror(errno));
	}
	holefs_ksft_pid = getpid();
	atexit(holefs_ksft_unmount);
	if (setenv("HOLEFS_MNT", holefs_ksft_dir, 1) ||
	    setenv("HOLEFS_RACE_DIR", holefs_ksft_dir, 1) ||
	    chdir(holefs_ksft_dir))
		ksft_exit_fail_msg("entering %s: %s\n", holefs_ksft_dir,
				   strerror(errno));
}

#endif /* HOLEFS_KSFT_H */
