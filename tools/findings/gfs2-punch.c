// SPDX-License-Identifier: GPL-2.0
/*
 * gfs2: a hole punched by FALLOC_FL_PUNCH_HOLE or MADV_REMOVE can keep
 * its old data in the page cache when readahead races the punch.
 *
 * __gfs2_punch_hole() drops the page cache of the range with
 * truncate_pagecache_range() and only then frees the blocks with
 * punch_hole().  It holds the inode glock exclusively, which keeps
 * read() and page faults out, but readahead(2), POSIX_FADV_WILLNEED and
 * MADV_WILLNEED reach gfs2_readahead() through page_cache_ra_unbounded(),
 * which takes only the mapping's invalidate_lock shared, and gfs2 never
 * takes that lock.  Readahead between the two steps maps the blocks that
 * are still allocated and reads their old data into new folios, which
 * stay cached over the hole once the punch has returned.
 *
 * A racing thread issues readahead(2), POSIX_FADV_WILLNEED and
 * MADV_WILLNEED over the range in turn while the main thread punches
 * it; then the range is read back with pread(), which must return zeros
 * whatever the racer did.  A nonzero byte is the bug.
 *
 * Usage, as root or as any user who can write DIR:
 *	gfs2-punch [DIR [ITERATIONS [punch|madv-remove|punch-alone]]]
 * DIR must be on gfs2 (default: the current directory).  "madv-remove"
 * punches with madvise(MADV_REMOVE) instead of fallocate(); "punch-alone"
 * runs no racer (a control: the punch alone must leave zeros).
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

#ifndef GFS2_MAGIC
#define GFS2_MAGIC 0x01161970
#endif

#define PG		4096
#define NR_PAGES	256	/* the file and the punched range: 1 MiB */
#define FILE_SIZE	((off_t)NR_PAGES * PG)

enum op { OP_PUNCH, OP_MADV_REMOVE, OP_PUNCH_ALONE };

static int file_fd;
static unsigned char *file_map;
static atomic_int racer_stop;
static atomic_long racer_calls;
static unsigned char check_buf[NR_PAGES * PG];

/* Old data: never zero, tells the page apart. */
static unsigned char old_byte(long page, long off)
{
	return 0x10 + (page * 7 + off) % 0xe0;
}

static void *racer(void *arg)
{
	(void)arg;
	while (!atomic_load(&racer_stop)) {
		/* Errors are ignored: a racer only has to try. */
		switch (atomic_load(&racer_calls) % 3) {
		case 0:
			readahead(file_fd, 0, FILE_SIZE);
			break;
		case 1:
			posix_fadvise(file_fd, 0, FILE_SIZE, POSIX_FADV_WILLNEED);
			break;
		default:
			madvise(file_map, FILE_SIZE, MADV_WILLNEED);
			break;
		}
		atomic_fetch_add(&racer_calls, 1);
	}
	return NULL;
}

static int fail(const char *what)
{
	printf("gfs2-punch: error: %s: %s\n", what, strerror(errno));
	return 2;
}

/* Old data in every block of the file, on disk and in the page cache. */
static int fill(int fd)
{
	static unsigned char buf[NR_PAGES * PG];

	for (long p = 0; p < NR_PAGES; p++)
		for (long o = 0; o < PG; o++)
			buf[p * PG + o] = old_byte(p, o);
	if (pwrite(fd, buf, sizeof(buf), 0) != sizeof(buf))
		return -1;
	return fdatasync(fd);
}

static int punch(enum op op)
{
	if (op == OP_MADV_REMOVE)
		return madvise(file_map, FILE_SIZE, MADV_REMOVE);
	return fallocate(file_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			 0, FILE_SIZE);
}

/* Returns the first nonzero offset in the punched range, -1 or -2. */
static long check(int fd)
{
	if (pread(fd, check_buf, sizeof(check_buf), 0) != sizeof(check_buf))
		return -2;
	for (long i = 0; i < (long)sizeof(check_buf); i++)
		if (check_buf[i] != 0)
			return i;
	return -1;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	long iterations = argc > 2 ? strtol(argv[2], NULL, 10) : 200;
	const char *opname = argc > 3 ? argv[3] : "punch";
	char path[PATH_MAX];
	struct statfs sfs;
	long it, bad = -1;
	enum op op;

	if (iterations <= 0) {
		printf("gfs2-punch: error: bad iteration count '%s'\n", argv[2]);
		return 2;
	}
	if (!strcmp(opname, "punch")) {
		op = OP_PUNCH;
	} else if (!strcmp(opname, "madv-remove")) {
		op = OP_MADV_REMOVE;
	} else if (!strcmp(opname, "punch-alone")) {
		op = OP_PUNCH_ALONE;
	} else {
		printf("gfs2-punch: error: unknown operation '%s'\n", opname);
		return 2;
	}
	if (statfs(dir, &sfs))
		return fail(dir);
	if (sfs.f_type != GFS2_MAGIC) {
		printf("gfs2-punch: error: %s is not on gfs2\n", dir);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/gfs2-punch.%d", dir, getpid());
	file_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (file_fd < 0)
		return fail(path);
	unlink(path);
	if (ftruncate(file_fd, FILE_SIZE))
		return fail("ftruncate");
	file_map = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			file_fd, 0);
	if (file_map == MAP_FAILED)
		return fail("mmap");

	for (it = 0; it < iterations && bad < 0; it++) {
		pthread_t thr;
		long seen;

		if (fill(file_fd))
			return fail("fill");
		atomic_store(&racer_stop, 0);
		atomic_store(&racer_calls, 0);
		if (op != OP_PUNCH_ALONE) {
			errno = pthread_create(&thr, NULL, racer, NULL);
			if (errno)
				return fail("pthread_create");
			/* Punch only once the racer is calling. */
			seen = atomic_load(&racer_calls);
			while (atomic_load(&racer_calls) < seen + 3)
				;
		}
		if (punch(op)) {
			if (errno == EOPNOTSUPP) {
				printf("gfs2-punch: error: %s not supported here\n",
				       opname);
				return 2;
			}
			return fail(opname);
		}
		atomic_store(&racer_stop, 1);
		if (op != OP_PUNCH_ALONE)
			pthread_join(thr, NULL);
		bad = check(file_fd);
		if (bad == -2)
			return fail("pread");
	}
	if (bad >= 0) {
		long page = bad / PG;
		int stale = check_buf[bad] == old_byte(page, bad % PG);

		printf("gfs2-punch: REPRODUCED: iteration %ld: byte %ld of page %ld of the punched range reads 0x%02x (%s) after %s returned, must be 0\n",
		       it, bad % PG, page, check_buf[bad],
		       stale ? "its old data" : "not the old data",
		       op == OP_MADV_REMOVE ? "MADV_REMOVE" : "PUNCH_HOLE");
		return 1;
	}
	printf("gfs2-punch: not reproduced in %ld iterations (%s)\n", it,
	       opname);
	return 0;
}
