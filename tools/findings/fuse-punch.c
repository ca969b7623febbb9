// SPDX-License-Identifier: GPL-2.0
/*
 * FUSE: fallocate(PUNCH_HOLE) can leave the old data in the punched range
 * when an mmap store to the range races it.
 *
 * A thread stores one byte (0xff at byte 8) into every page of the range
 * through a shared mapping while the main thread punches the range with
 * fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE).  A store can land
 * before the punch (the punch then removes it) or after it (it then sits
 * in a page of zeros); either way every other byte of the range must read
 * zero once the call has returned.  The old data there is the bug.
 *
 * A second thread starts writeback of the range in a loop with
 * sync_file_range(SYNC_FILE_RANGE_WRITE), which takes no lock the punch
 * holds.  With "nowriteback" as third argument it does not run: the only
 * writeback is then what the kernel starts by itself for the dirty pages.
 *
 * Usage: fuse-punch [DIR [ITERATIONS [nowriteback]]]
 * DIR must be on a FUSE file system that implements fallocate (default: the
 * current directory).
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
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef FUSE_SUPER_MAGIC
#define FUSE_SUPER_MAGIC 0x65735546
#endif

#define PG		4096
#define NR_PAGES	64	/* file size, in pages */
#define RANGE_PAGE	16	/* first page of the punched range */
#define RANGE_PAGES	8	/* length of the punched range, in pages */
#define RACER_BYTE	8	/* the byte of each page the racer stores to */
#define RACER_VAL	0xff

static atomic_int stop;
static atomic_long racer_stores;
static unsigned char *racer_map;
static int file_fd;
static unsigned char check_buf[RANGE_PAGES * PG];

/* Never zero, never RACER_VAL, different in every iteration. */
static unsigned char data_byte(long it, long page, long off)
{
	return 0x10 + (it * 13 + page * 7 + off) % 0x60;
}

static void *racer(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		for (long p = RANGE_PAGE; p < RANGE_PAGE + RANGE_PAGES; p++) {
			/* A store the compiler must emit: a write fault. */
			__atomic_store_n(&racer_map[p * PG + RACER_BYTE],
					 RACER_VAL, __ATOMIC_RELAXED);
			atomic_fetch_add(&racer_stores, 1);
		}
	}
	return NULL;
}

static void *writeback(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		sync_file_range(file_fd, (off_t)RANGE_PAGE * PG,
				RANGE_PAGES * PG, SYNC_FILE_RANGE_WRITE);
	return NULL;
}

static int fail(const char *what)
{
	printf("fuse-punch: error: %s: %s\n", what, strerror(errno));
	return 2;
}

static int fill(int fd, long it)
{
	static unsigned char buf[NR_PAGES * PG];

	for (long p = 0; p < NR_PAGES; p++)
		for (long o = 0; o < PG; o++)
			buf[p * PG + o] = data_byte(it, p, o);
	if (pwrite(fd, buf, sizeof(buf), 0) != sizeof(buf))
		return -1;
	return fsync(fd);
}

/*
 * Writes the mapping's dirty pages back, drops the clean ones and reads
 * the range from the server.  Returns the first offset in the range that
 * is neither zero nor the racer's byte, -1 if none, -2 on error.
 */
static long check(int fd)
{
	off_t start = (off_t)RANGE_PAGE * PG;

	if (msync(racer_map, NR_PAGES * PG, MS_SYNC) ||
	    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED))
		return -2;
	if (pread(fd, check_buf, sizeof(check_buf), start) != sizeof(check_buf))
		return -2;
	for (long i = 0; i < (long)sizeof(check_buf); i++) {
		if (i % PG == RACER_BYTE && check_buf[i] == RACER_VAL)
			continue;
		if (check_buf[i])
			return i;
	}
	return -1;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	long iterations = argc > 2 ? strtol(argv[2], NULL, 10) : 200;
	int with_wb = argc <= 3;
	off_t start = (off_t)RANGE_PAGE * PG;
	char path[PATH_MAX];
	struct statfs sfs;
	long it, bad = -1;

	if (iterations <= 0 || argc > 4 ||
	    (argc > 3 && strcmp(argv[3], "nowriteback"))) {
		printf("fuse-punch: error: usage: fuse-punch [DIR [ITERATIONS [nowriteback]]]\n");
		return 2;
	}
	if (statfs(dir, &sfs))
		return fail(dir);
	if (sfs.f_type != FUSE_SUPER_MAGIC) {
		printf("fuse-punch: error: %s is not on FUSE\n", dir);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/fuse-punch.%d", dir, getpid());
	file_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (file_fd < 0)
		return fail("open");
	unlink(path);
	racer_map = mmap(NULL, NR_PAGES * PG, PROT_READ | PROT_WRITE,
			 MAP_SHARED, file_fd, 0);
	if (racer_map == MAP_FAILED)
		return fail("mmap");

	for (it = 0; it < iterations && bad < 0; it++) {
		pthread_t thr, wb;
		long seen;

		if (fill(file_fd, it))
			return fail("fill");
		atomic_store(&stop, 0);
		atomic_store(&racer_stores, 0);
		errno = pthread_create(&thr, NULL, racer, NULL);
		if (!errno && with_wb)
			errno = pthread_create(&wb, NULL, writeback, NULL);
		if (errno)
			return fail("pthread_create");
		/* Punch only once the racer is storing. */
		seen = atomic_load(&racer_stores);
		while (atomic_load(&racer_stores) < seen + RANGE_PAGES)
			;
		if (fallocate(file_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      start, RANGE_PAGES * PG))
			return fail("fallocate");
		atomic_store(&stop, 1);
		pthread_join(thr, NULL);
		if (with_wb)
			pthread_join(wb, NULL);
		bad = check(file_fd);
		if (bad == -2)
			return fail("check");
	}
	if (bad >= 0) {
		long page = bad / PG;
		int old = check_buf[bad] == data_byte(it - 1, RANGE_PAGE + page,
						      bad % PG);

		printf("fuse-punch: REPRODUCED: iteration %ld: byte %ld of page %ld of the punched range reads 0x%02x (%s) after fallocate(PUNCH_HOLE) returned, must be 0\n",
		       it, bad % PG, page, check_buf[bad],
		       old ? "the old data" : "not the old data");
		return 1;
	}
	printf("fuse-punch: not reproduced in %ld iterations\n", it);
	return 0;
}
