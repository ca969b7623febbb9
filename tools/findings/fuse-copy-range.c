// SPDX-License-Identifier: GPL-2.0
/*
 * FUSE: copy_file_range() can leave the destination's old data in the
 * copied range when an mmap store to the destination races it.
 *
 * A thread stores one byte (0xff at byte 8) into every page of the
 * destination range through a shared mapping while the main thread copies
 * the same range from a second file with copy_file_range().  A store can
 * land before the copy (the copy then overwrites it) or after it (it then
 * sits in the source's data); either way every other byte of the range
 * must be the source's once the call has returned.  The destination's old
 * data there is the bug.
 *
 * A second thread starts writeback of the destination range in a loop
 * with sync_file_range(SYNC_FILE_RANGE_WRITE), which takes no lock the
 * copy holds.  With "nowriteback" as third argument it does not run: the
 * only writeback is then what the kernel starts by itself for the dirty
 * pages.
 *
 * With "partial" as third argument it checks the other outcome instead:
 * the copy starts at byte PARTIAL_HEAD of its first page, and once per
 * iteration, at a random moment during the copy, the racer stores a value
 * to byte 8 of that page, outside the copied range.  Nothing else writes
 * there, so the value must be there once both are done; the kernel
 * dropping the dirty page without writing it back loses it.
 *
 * Usage: fuse-copy-range [DIR [ITERATIONS [nowriteback|partial]]]
 * DIR must be on a FUSE file system that implements copy_file_range
 * (default: the current directory).
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
#include <time.h>
#include <unistd.h>

#ifndef FUSE_SUPER_MAGIC
#define FUSE_SUPER_MAGIC 0x65735546
#endif

#define PG		4096
#define NR_PAGES	64	/* file size, in pages */
#define RANGE_PAGE	16	/* first page of the copied range */
#define RANGE_PAGES	8	/* length of the copied range, in pages */
#define RACER_BYTE	8	/* the byte of each page the racer stores to */
#define RACER_VAL	0xff
#define PARTIAL_HEAD	1024	/* partial: the copy starts at this byte */

static atomic_int stop;
static atomic_long racer_stores;
static unsigned char *racer_map;
static int dst_fd;
static unsigned char check_buf[RANGE_PAGES * PG];
static int bad_pages;		/* pages of the range that failed the check */

/*
 * Never zero, never RACER_VAL; the destination's bytes (0x10-0x6f) and the
 * source's (0x80-0xdf) differ, and both change from iteration to
 * iteration.
 */
static unsigned char data_byte(int src, long it, long page, long off)
{
	return (src ? 0x80 : 0x10) + (it * 13 + page * 7 + off) % 0x60;
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
		sync_file_range(dst_fd, (off_t)RANGE_PAGE * PG,
				RANGE_PAGES * PG, SYNC_FILE_RANGE_WRITE);
	return NULL;
}

static long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static atomic_long store_at_ns;		/* partial: when the racer stores */
static unsigned long long store_val;	/* partial: what it stores */

/* Partial: one 8-byte store to byte 8 of the first page, at store_at_ns. */
static void *racer_once(void *arg)
{
	long at = atomic_load(&store_at_ns);

	(void)arg;
	while (now_ns() < at)
		;
	__atomic_store_n((unsigned long long *)&racer_map[RANGE_PAGE * PG +
							   RACER_BYTE],
			 store_val, __ATOMIC_RELAXED);
	return NULL;
}

static int fail(const char *what)
{
	printf("fuse-copy-range: error: %s: %s\n", what, strerror(errno));
	return 2;
}

static int fill(int fd, int src, long it)
{
	static unsigned char buf[NR_PAGES * PG];

	for (long p = 0; p < NR_PAGES; p++)
		for (long o = 0; o < PG; o++)
			buf[p * PG + o] = data_byte(src, it, p, o);
	if (pwrite(fd, buf, sizeof(buf), 0) != sizeof(buf))
		return -1;
	return fsync(fd);
}

/*
 * Writes the mapping's dirty pages back, drops the clean ones and reads
 * the destination range.  Returns the first offset in the range that does
 * not hold the source's data (the racer's byte may hold RACER_VAL), -1 if
 * none, -2 on error; counts the pages with such a byte in bad_pages.
 */
static long check(int fd, long it)
{
	off_t start = (off_t)RANGE_PAGE * PG;
	long first = -1;

	if (msync(racer_map, NR_PAGES * PG, MS_SYNC) ||
	    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED))
		return -2;
	if (pread(fd, check_buf, sizeof(check_buf), start) != sizeof(check_buf))
		return -2;
	for (long i = 0; i < (long)sizeof(check_buf); i++) {
		if (i % PG == RACER_BYTE && check_buf[i] == RACER_VAL)
			continue;
		if (check_buf[i] == data_byte(1, it, RANGE_PAGE + i / PG, i % PG))
			continue;
		if (first < 0)
			first = i;
		bad_pages++;
		i |= PG - 1;	/* on to the next page */
	}
	return first;
}

static int copy_range(int src_fd, loff_t off, size_t left)
{
	loff_t off_in = off, off_out = off;

	while (left) {
		ssize_t n = copy_file_range(src_fd, &off_in, dst_fd, &off_out,
					    left, 0);

		if (n <= 0) {
			if (!n)
				errno = EIO;
			return -1;
		}
		left -= n;
	}
	return 0;
}

/*
 * Partial: returns 1 when a store outside the copied range was lost, 0 if
 * none was in ITERATIONS, 2 on error; prints the line.
 */
static int run_partial(int src_fd, long iterations)
{
	loff_t off = (loff_t)RANGE_PAGE * PG + PARTIAL_HEAD;
	long copy_ns = 1000000;	/* how long a copy takes, a first guess */
	unsigned int seed = 1;
	unsigned long long seen;
	long it;

	for (it = 0; it < iterations; it++) {
		pthread_t thr;
		long t0;

		if (fill(src_fd, 1, it) || fill(dst_fd, 0, it))
			return fail("fill");
		/* The data bytes are below 0xe0: never this value. */
		store_val = 0xff00000000000000ULL | it;
		atomic_store(&store_at_ns,
			     now_ns() + rand_r(&seed) % (2 * copy_ns));
		errno = pthread_create(&thr, NULL, racer_once, NULL);
		if (errno)
			return fail("pthread_create");
		t0 = now_ns();
		if (copy_range(src_fd, off, RANGE_PAGES * PG - PARTIAL_HEAD))
			return fail("copy_file_range");
		copy_ns = (copy_ns + now_ns() - t0) / 2 + 1;
		pthread_join(thr, NULL);
		if (msync(racer_map, NR_PAGES * PG, MS_SYNC) ||
		    posix_fadvise(dst_fd, 0, 0, POSIX_FADV_DONTNEED) ||
		    pread(dst_fd, &seen, sizeof(seen),
			  (off_t)RANGE_PAGE * PG + RACER_BYTE) != sizeof(seen))
			return fail("check");
		if (seen != store_val) {
			printf("fuse-copy-range: REPRODUCED: iteration %ld: a store of 0x%llx through the mapping to byte %d of the copy's first page, outside the copied range, is lost: it reads 0x%llx after copy_file_range() returned\n",
			       it + 1, store_val, RACER_BYTE, seen);
			return 1;
		}
	}
	printf("fuse-copy-range: partial: not reproduced in %ld iterations\n",
	       it);
	return 0;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	long iterations = argc > 2 ? strtol(argv[2], NULL, 10) : 200;
	int with_wb = argc <= 3, partial = argc > 3 && !strcmp(argv[3], "partial");
	char path[PATH_MAX];
	struct statfs sfs;
	long it, bad = -1;
	int src_fd;

	if (iterations <= 0 || argc > 4 ||
	    (argc > 3 && !partial && strcmp(argv[3], "nowriteback"))) {
		printf("fuse-copy-range: error: usage: fuse-copy-range [DIR [ITERATIONS [nowriteback|partial]]]\n");
		return 2;
	}
	if (statfs(dir, &sfs))
		return fail(dir);
	if (sfs.f_type != FUSE_SUPER_MAGIC) {
		printf("fuse-copy-range: error: %s is not on FUSE\n", dir);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/fuse-copy-range.src.%d", dir, getpid());
	src_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (src_fd < 0)
		return fail("open source");
	unlink(path);
	snprintf(path, sizeof(path), "%s/fuse-copy-range.dst.%d", dir, getpid());
	dst_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (dst_fd < 0)
		return fail("open destination");
	unlink(path);
	racer_map = mmap(NULL, NR_PAGES * PG, PROT_READ | PROT_WRITE,
			 MAP_SHARED, dst_fd, 0);
	if (racer_map == MAP_FAILED)
		return fail("mmap");
	if (partial)
		return run_partial(src_fd, iterations);

	for (it = 0; it < iterations && bad < 0; it++) {
		pthread_t thr, wb;
		long seen;

		if (fill(src_fd, 1, it) || fill(dst_fd, 0, it))
			return fail("fill");
		atomic_store(&stop, 0);
		atomic_store(&racer_stores, 0);
		errno = pthread_create(&thr, NULL, racer, NULL);
		if (!errno && with_wb)
			errno = pthread_create(&wb, NULL, writeback, NULL);
		if (errno)
			return fail("pthread_create");
		/* Copy only once the racer is storing. */
		seen = atomic_load(&racer_stores);
		while (atomic_load(&racer_stores) < seen + RANGE_PAGES)
			;
		if (copy_range(src_fd, (loff_t)RANGE_PAGE * PG,
			       RANGE_PAGES * PG))
			return fail("copy_file_range");
		atomic_store(&stop, 1);
		pthread_join(thr, NULL);
		if (with_wb)
			pthread_join(wb, NULL);
		bad = check(dst_fd, it);
		if (bad == -2)
			return fail("check");
	}
	if (bad >= 0) {
		long page = bad / PG;
		int old = check_buf[bad] == data_byte(0, it - 1,
						      RANGE_PAGE + page,
						      bad % PG);

		printf("fuse-copy-range: REPRODUCED: iteration %ld: byte %ld of page %ld of the copied range reads 0x%02x (%s) after copy_file_range() returned, must be 0x%02x (%d of %d pages)\n",
		       it, bad % PG, page, check_buf[bad],
		       old ? "the destination's old data" :
		       "not the destination's old data",
		       data_byte(1, it - 1, RANGE_PAGE + page, bad % PG),
		       bad_pages, RANGE_PAGES);
		return 1;
	}
	printf("fuse-copy-range: not reproduced in %ld iterations\n", it);
	return 0;
}
