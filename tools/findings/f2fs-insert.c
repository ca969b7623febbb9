// SPDX-License-Identifier: GPL-2.0
/*
 * f2fs: FALLOC_FL_INSERT_RANGE can leave the pre-insert data in the
 * inserted range when an mmap store races it.
 *
 * f2fs_insert_range() moves checkpointed blocks by copying them through
 * the page cache (__clone_blkaddrs()): the source folio is read in with
 * the old data and the source block is punched, but the folio stays in
 * the page cache, clean and uptodate, over what is now a hole.  The
 * folios are only dropped after f2fs_insert_range() has released and
 * re-taken the invalidate_lock.  A store through a shared mapping in
 * that window dirties such a folio (f2fs_vm_page_mkwrite() allocates a
 * block for it), the final filemap_write_and_wait_range() writes it
 * back, and the inserted range, which must read as zeros, holds the old
 * data of the whole page.
 *
 * A racing thread stores one byte (0xff at byte 8) into every page of
 * the range through a shared mapping while the main thread inserts.  A
 * store can land before the insert (it is then shifted with the data)
 * or after it (it then sits in a zero page); either way every other
 * byte of the inserted range must be zero.  An old-data byte there is
 * the bug.
 *
 * Usage, as root or as any user who can write DIR:
 *	f2fs-insert [DIR [ITERATIONS]]
 * DIR must be on f2fs (default: the current directory).
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

#ifndef F2FS_SUPER_MAGIC
#define F2FS_SUPER_MAGIC 0xF2F52010
#endif
#ifndef FALLOC_FL_INSERT_RANGE
#define FALLOC_FL_INSERT_RANGE 0x20
#endif

#define PG		4096
#define NR_PAGES	64	/* file size before the insert, in pages */
#define RANGE_PAGE	16	/* first page of the inserted range */
#define RANGE_PAGES	8	/* length of the inserted range, in pages */
#define RACER_BYTE	8	/* the byte of each page the racer stores to */
#define RACER_VAL	0xff

static atomic_int racer_stop;
static atomic_long racer_stores;
static unsigned char *racer_map;
static unsigned char check_buf[RANGE_PAGES * PG];

/* Old data: never zero, never RACER_VAL, tells the page apart. */
static unsigned char old_byte(long page, long off)
{
	return 0x10 + (page * 7 + off) % 0xe0;
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
	printf("f2fs-insert: error: %s: %s\n", what, strerror(errno));
	return 2;
}

static int fill(int fd)
{
	static unsigned char buf[NR_PAGES * PG];

	for (long p = 0; p < NR_PAGES; p++)
		for (long o = 0; o < PG; o++)
			buf[p * PG + o] = old_byte(p, o);
	if (ftruncate(fd, 0))
		return -1;
	if (pwrite(fd, buf, sizeof(buf), 0) != sizeof(buf))
		return -1;
	/*
	 * Checkpoint the blocks: f2fs moves checkpointed blocks through the
	 * page cache, uncheckpointed ones by remapping.
	 */
	if (fsync(fd) || syncfs(fd))
		return -1;
	return posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) ? -1 : 0;
}

/* Returns the first stale offset in the inserted range, or -1. */
static long check(int fd)
{
	off_t start = (off_t)RANGE_PAGE * PG;

	if (pread(fd, check_buf, sizeof(check_buf), start) != sizeof(check_buf))
		return -2;
	for (long i = 0; i < (long)sizeof(check_buf); i++) {
		if (i % PG == RACER_BYTE &&
		    (check_buf[i] == 0 || check_buf[i] == RACER_VAL))
			continue;
		if (check_buf[i] != 0)
			return i;
	}
	return -1;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	long iterations = argc > 2 ? strtol(argv[2], NULL, 10) : 200;
	char path[PATH_MAX];
	struct statfs sfs;
	long it, bad = -1;
	int fd;

	if (iterations <= 0) {
		printf("f2fs-insert: error: bad iteration count '%s'\n", argv[2]);
		return 2;
	}
	if (statfs(dir, &sfs))
		return fail(dir);
	if (sfs.f_type != F2FS_SUPER_MAGIC) {
		printf("f2fs-insert: error: %s is not on f2fs\n", dir);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/f2fs-insert.%d", dir, getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return fail(path);
	unlink(path);

	for (it = 0; it < iterations && bad < 0; it++) {
		pthread_t thr;
		long seen;

		if (fill(fd))
			return fail("fill");
		racer_map = mmap(NULL, NR_PAGES * PG, PROT_READ | PROT_WRITE,
				 MAP_SHARED, fd, 0);
		if (racer_map == MAP_FAILED)
			return fail("mmap");
		atomic_store(&racer_stop, 0);
		atomic_store(&racer_stores, 0);
		errno = pthread_create(&thr, NULL, racer, NULL);
		if (errno)
			return fail("pthread_create");
		/* Insert only once the racer is storing. */
		seen = atomic_load(&racer_stores);
		while (atomic_load(&racer_stores) < seen + RANGE_PAGES)
			;
		if (fallocate(fd, FALLOC_FL_INSERT_RANGE,
			      (off_t)RANGE_PAGE * PG, (off_t)RANGE_PAGES * PG)) {
			if (errno == EOPNOTSUPP)
				printf("f2fs-insert: error: INSERT_RANGE not supported here\n");
			else
				return fail("fallocate(INSERT_RANGE)");
			return 2;
		}
		atomic_store(&racer_stop, 1);
		pthread_join(thr, NULL);
		munmap(racer_map, NR_PAGES * PG);
		bad = check(fd);
		if (bad == -2)
			return fail("pread");
	}
	if (bad >= 0) {
		long page = bad / PG;
		int stale = check_buf[bad] == old_byte(RANGE_PAGE + page, bad % PG);

		printf("f2fs-insert: REPRODUCED: iteration %ld: byte %ld of page %ld of the inserted range reads 0x%02x (%s) after INSERT_RANGE returned, must be 0\n",
		       it, bad % PG, page, check_buf[bad],
		       stale ? "its pre-insert data" : "not the old data");
		return 1;
	}
	printf("f2fs-insert: not reproduced in %ld iterations\n", it);
	return 0;
}
