// SPDX-License-Identifier: GPL-2.0
/*
 * NFS 4.2: FICLONERANGE (CLONE) can leave the destination's old data in the
 * cloned range when an mmap store to the destination races it.
 *
 * A thread stores one byte (0xff at byte 8) into every page of the
 * destination range through a shared mapping while the main thread
 * clones the same range from a second file with FICLONERANGE.  A store
 * can land before the clone (the clone then overwrites it) or after it
 * (it then sits in the source's data); either way every other byte of the
 * range must be the source's once the call has returned.  The
 * destination's old data there is the bug.  The server's export must
 * support reflinks (e.g. XFS with reflink=1, btrfs).
 *
 * Usage: nfs-clone-range [DIR [ITERATIONS]]
 * DIR must be on NFS 4.2 (default: the current directory).
 * Exit status: 0 not reproduced, 1 reproduced, 2 error; one line on stdout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef NFS_SUPER_MAGIC
#define NFS_SUPER_MAGIC 0x6969
#endif

#define PG		4096
#define NR_PAGES	64	/* file size, in pages */
#define RANGE_PAGE	16	/* first page of the cloned range */
#define RANGE_PAGES	8	/* length of the cloned range, in pages */
#define RACER_BYTE	8	/* the byte of each page the racer stores to */
#define RACER_VAL	0xff

static atomic_int racer_stop;
static atomic_long racer_stores;
static unsigned char *racer_map;
static unsigned char check_buf[RANGE_PAGES * PG];

/* Never zero, never RACER_VAL; the destination and source differ. */
static unsigned char data_byte(int src, long page, long off)
{
	return (src ? 0x80 : 0x10) + (page * 7 + off) % 0x60;
}

static void *racer(void *arg)
{
	(void)arg;
	while (!atomic_load(&racer_stop)) {
		for (long p = RANGE_PAGE; p < RANGE_PAGE + RANGE_PAGES; p++) {
			/* A store the compiler must emit: a write fault. */
			__atomic_store_n(&racer_map[p * PG + RACER_BYTE],
					 RACER_VAL, __ATOMIC_RELAXED);
			atomic_fetch_add(&racer_stores, 1);
		}
	}
	return NULL;
}

static int fail(const char *what)
{
	printf("nfs-clone-range: error: %s: %s\n", what, strerror(errno));
	return 2;
}

static int fill(int fd, int src)
{
	static unsigned char buf[NR_PAGES * PG];

	for (long p = 0; p < NR_PAGES; p++)
		for (long o = 0; o < PG; o++)
			buf[p * PG + o] = data_byte(src, p, o);
	if (pwrite(fd, buf, sizeof(buf), 0) != sizeof(buf))
		return -1;
	return fsync(fd);
}

/* Returns the first offset in the range not holding source data, or -1. */
static long check(int fd)
{
	off_t start = (off_t)RANGE_PAGE * PG;

	if (pread(fd, check_buf, sizeof(check_buf), start) != sizeof(check_buf))
		return -2;
	for (long i = 0; i < (long)sizeof(check_buf); i++) {
		if (i % PG == RACER_BYTE && check_buf[i] == RACER_VAL)
			continue;
		if (check_buf[i] != data_byte(1, RANGE_PAGE + i / PG, i % PG))
			return i;
	}
	return -1;
}

static int open_file(const char *dir, const char *name)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/nfs-clone-range.%d.%s", dir,
		 getpid(), name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0)
		unlink(path);
	return fd;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	long iterations = argc > 2 ? strtol(argv[2], NULL, 10) : 200;
	off_t start = (off_t)RANGE_PAGE * PG;
	struct statfs sfs;
	long it, bad = -1;
	int src, dst;

	if (iterations <= 0) {
		printf("nfs-clone-range: error: bad iteration count '%s'\n",
		       argv[2]);
		return 2;
	}
	if (statfs(dir, &sfs))
		return fail(dir);
	if (sfs.f_type != NFS_SUPER_MAGIC) {
		printf("nfs-clone-range: error: %s is not on NFS\n", dir);
		return 2;
	}
	src = open_file(dir, "src");
	dst = open_file(dir, "dst");
	if (src < 0 || dst < 0)
		return fail("open");
	if (fill(src, 1))
		return fail("fill source");

	for (it = 0; it < iterations && bad < 0; it++) {
		struct file_clone_range fcr;
		pthread_t thr;
		int ret;
		long seen;

		if (fill(dst, 0))
			return fail("fill destination");
		racer_map = mmap(NULL, NR_PAGES * PG, PROT_READ | PROT_WRITE,
				 MAP_SHARED, dst, 0);
		if (racer_map == MAP_FAILED)
			return fail("mmap");
		atomic_store(&racer_stop, 0);
		atomic_store(&racer_stores, 0);
		errno = pthread_create(&thr, NULL, racer, NULL);
		if (errno)
			return fail("pthread_create");
		/* Clone only once the racer is storing. */
		seen = atomic_load(&racer_stores);
		while (atomic_load(&racer_stores) < seen + RANGE_PAGES)
			;
		fcr.src_fd = src;
		fcr.src_offset = start;
		fcr.src_length = RANGE_PAGES * PG;
		fcr.dest_offset = start;
		ret = ioctl(dst, FICLONERANGE, &fcr);
		atomic_store(&racer_stop, 1);
		pthread_join(thr, NULL);
		if (ret)
			return fail("FICLONERANGE");
		/* Write the racer's stores back: they are part of the file. */
		if (msync(racer_map, NR_PAGES * PG, MS_SYNC))
			return fail("msync");
		munmap(racer_map, NR_PAGES * PG);
		bad = check(dst);
		if (bad == -2)
			return fail("pread");
	}
	if (bad >= 0) {
		long page = bad / PG;
		int old = check_buf[bad] == data_byte(0, RANGE_PAGE + page,
						      bad % PG);

		printf("nfs-clone-range: REPRODUCED: iteration %ld: byte %ld of page %ld of the cloned range reads 0x%02x (%s) after FICLONERANGE returned, must be 0x%02x\n",
		       it, bad % PG, page, check_buf[bad],
		       old ? "the destination's old data" : "not the old data",
		       data_byte(1, RANGE_PAGE + page, bad % PG));
		return 1;
	}
	printf("nfs-clone-range: not reproduced in %ld iterations\n", it);
	return 0;
}
