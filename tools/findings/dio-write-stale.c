// SPDX-License-Identifier: GPL-2.0
/*
 * An O_DIRECT write racing stores through a shared mapping of the file
 * can leave the file's old data in the written range without any error
 * from fdatasync() (seen on NFS and cifs).
 *
 * A thread stores one byte (0xff at byte 8) into every page of the range
 * through a shared mapping while the main thread overwrites the range
 * with one O_DIRECT pwrite() from a second descriptor.  A store lands
 * before the write (which then overwrites it) or after it (it then sits
 * in the new data); either way every other byte of the range must be the
 * new data once the write has returned.  The kernel may fail to drop a
 * page it cannot invalidate after a direct write: local filesystems then
 * report it (dio_warn_stale_pagecache() sets EIO for fdatasync()), so an
 * iteration whose fdatasync() or msync() fails with EIO is counted, not
 * reported.  Old data with no error is the bug.
 *
 * Usage: dio-write-stale [DIR [ITERATIONS]]
 * DIR is on the filesystem to test (default: the current directory).
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
#include <unistd.h>

#define PG		4096
#define NR_PAGES	64	/* file size, in pages */
#define RANGE_PAGE	16	/* first page of the written range */
#define RANGE_PAGES	8	/* length of the written range, in pages */
#define RACER_BYTE	8	/* the byte of each page the racer stores to */
#define RACER_VAL	0xff

static atomic_int racer_stop;
static atomic_long racer_stores;
static unsigned char *racer_map;
static unsigned char check_buf[RANGE_PAGES * PG];

/* Never zero, never RACER_VAL; the old and the new data differ. */
static unsigned char data_byte(int new, long page, long off)
{
	return (new ? 0x80 : 0x10) + (page * 7 + off) % 0x60;
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
	printf("dio-write-stale: error: %s: %s\n", what, strerror(errno));
	return 2;
}

static int fill_old(int fd)
{
	static unsigned char buf[NR_PAGES * PG];

	for (long p = 0; p < NR_PAGES; p++)
		for (long o = 0; o < PG; o++)
			buf[p * PG + o] = data_byte(0, p, o);
	if (pwrite(fd, buf, sizeof(buf), 0) != sizeof(buf))
		return -1;
	return fsync(fd);
}

/* Returns the first offset in the range not holding new data, or -1. */
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

/* 0, or 1 when the kernel reported EIO, or -1 on another error. */
static int synced(int dio, unsigned char *map)
{
	int eio = 0;

	if (fdatasync(dio)) {
		if (errno != EIO)
			return -1;
		eio = 1;
	}
	/* Write the racer's stores back: they are part of the file. */
	if (msync(map, NR_PAGES * PG, MS_SYNC)) {
		if (errno != EIO)
			return -1;
		eio = 1;
	}
	return eio;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	long iterations = argc > 2 ? strtol(argv[2], NULL, 10) : 200;
	off_t start = (off_t)RANGE_PAGE * PG;
	long it, bad = -1, reported = 0;
	char path[PATH_MAX];
	unsigned char *dbuf;
	int fd, dio;

	if (iterations <= 0) {
		printf("dio-write-stale: error: bad iteration count '%s'\n",
		       argv[2]);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/dio-write-stale.%d", dir, getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return fail(path);
	dio = open(path, O_RDWR | O_DIRECT);
	unlink(path);
	if (dio < 0)
		return fail("open O_DIRECT");
	errno = posix_memalign((void **)&dbuf, PG, RANGE_PAGES * PG);
	if (errno)
		return fail("posix_memalign");
	for (long i = 0; i < RANGE_PAGES * PG; i++)
		dbuf[i] = data_byte(1, RANGE_PAGE + i / PG, i % PG);

	for (it = 0; it < iterations && bad < 0; it++) {
		pthread_t thr;
		ssize_t n;
		long seen;
		int eio;

		if (fill_old(fd))
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
		/* Write only once the racer is storing. */
		seen = atomic_load(&racer_stores);
		while (atomic_load(&racer_stores) < seen + RANGE_PAGES)
			;
		n = pwrite(dio, dbuf, RANGE_PAGES * PG, start);
		atomic_store(&racer_stop, 1);
		pthread_join(thr, NULL);
		if (n != RANGE_PAGES * PG)
			return fail("O_DIRECT pwrite");
		eio = synced(dio, racer_map);
		if (eio < 0)
			return fail("fdatasync or msync");
		munmap(racer_map, NR_PAGES * PG);
		bad = check(fd);
		if (bad == -2)
			return fail("pread");
		if (eio) {
			/* Reported: the weaker promise of O_DIRECT holds. */
			reported++;
			bad = -1;
		}
	}
	if (bad >= 0) {
		long page = bad / PG;
		int old = check_buf[bad] == data_byte(0, RANGE_PAGE + page,
						      bad % PG);

		printf("dio-write-stale: REPRODUCED: iteration %ld: byte %ld of page %ld of the written range reads 0x%02x (%s) after the O_DIRECT write returned, must be 0x%02x; no EIO from fdatasync() or msync()\n",
		       it, bad % PG, page, check_buf[bad],
		       old ? "the old data" : "not the old data",
		       data_byte(1, RANGE_PAGE + page, bad % PG));
		return 1;
	}
	printf("dio-write-stale: not reproduced in %ld iterations (%ld with EIO reported)\n",
	       it, reported);
	return 0;
}
