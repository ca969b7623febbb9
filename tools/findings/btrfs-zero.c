// SPDX-License-Identifier: GPL-2.0
/*
 * btrfs: FALLOC_FL_ZERO_RANGE of one page can leave the page's old data
 * in the page cache when readahead races it.
 *
 * btrfs_punch_hole_lock_range() drops the range's page cache, locks the
 * extent range and asks check_range_has_page() whether a folio came back
 * in between; only then does btrfs_zero_range() replace the extent with
 * a preallocated one.  check_range_has_page() treats the last index of
 * the range as exclusive, so for a one-page range it never sees a folio.
 * A readahead that adds the folio after the truncation and locks the
 * extent range before fallocate does reads the old extent into it, and
 * the folio stays cached over the new extent: pread() returns the old
 * data after fallocate() has returned.
 *
 * Each iteration writes a page and its two neighbours with a nonzero
 * pattern, fdatasync()s and drops the file's page cache; a thread then
 * calls readahead(2) and POSIX_FADV_WILLNEED, in turn, over 16 pages
 * from the first neighbour while the main thread zeroes the middle page
 * with FALLOC_FL_ZERO_RANGE.  Once it has returned and the thread has
 * stopped, pread() of that page must return zeros.
 *
 * Usage, as any user who can write DIR:
 *	btrfs-zero [DIR [ITERATIONS]]
 * DIR must be on btrfs (default: the current directory).
 * Exit status: 0 not reproduced, 1 reproduced, 2 error; one line on stdout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef BTRFS_SUPER_MAGIC
#define BTRFS_SUPER_MAGIC 0x9123683E
#endif
#ifndef FALLOC_FL_ZERO_RANGE
#define FALLOC_FL_ZERO_RANGE 0x10
#endif

#define PG		4096
#define NR_PAGES	272	/* file size in pages */
#define RA_PAGES	16	/* pages per readahead call */
#define WORDS		(PG / 8)

static int fd;
static atomic_long racer_off = -1;	/* where the racer reads; -1: pause */
static atomic_long racer_calls;
static atomic_int racer_quit;
static uint64_t fill_buf[NR_PAGES * WORDS];
static uint64_t check_buf[WORDS];

/* Old data: never zero; tells iteration and word apart. */
static uint64_t old_word(long it, long word)
{
	return 0xa000000000000000ull | ((uint64_t)it << 24) | (uint64_t)word;
}

static void *racer(void *arg)
{
	long n = 0;

	(void)arg;
	while (!atomic_load(&racer_quit)) {
		long off = atomic_load(&racer_off);
		long len = RA_PAGES * PG;

		if (off < 0) {
			sched_yield();
			continue;
		}
		if (off + len > NR_PAGES * PG)
			len = NR_PAGES * PG - off;
		if (n++ % 2)
			posix_fadvise(fd, off, len, POSIX_FADV_WILLNEED);
		else
			readahead(fd, off, len);
		atomic_fetch_add(&racer_calls, 1);
	}
	return NULL;
}

static int fail(const char *what)
{
	printf("btrfs-zero: error: %s: %s\n", what, strerror(errno));
	return 2;
}

/* Write pages page - 1 .. page + 1 with the old data of iteration it. */
static int fill(long it, long page)
{
	for (long i = 0; i < 3 * WORDS; i++)
		fill_buf[i] = old_word(it, (page - 1) * WORDS + i);
	if (pwrite(fd, fill_buf, 3 * PG, (page - 1) * PG) != 3 * PG)
		return -1;
	if (fdatasync(fd))
		return -1;
	errno = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	return errno ? -1 : 0;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	long iterations = argc > 2 ? strtol(argv[2], NULL, 10) : 1000;
	char path[PATH_MAX];
	struct statfs sfs;
	pthread_t thr;
	long it, page = 0, bad = -1;

	if (iterations <= 0) {
		printf("btrfs-zero: error: bad iteration count '%s'\n", argv[2]);
		return 2;
	}
	if (statfs(dir, &sfs))
		return fail(dir);
	if (sfs.f_type != BTRFS_SUPER_MAGIC) {
		printf("btrfs-zero: error: %s is not on btrfs\n", dir);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/btrfs-zero.%d", dir, getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return fail(path);
	unlink(path);
	for (long i = 0; i < NR_PAGES * WORDS; i++)
		fill_buf[i] = old_word(0, i);
	if (pwrite(fd, fill_buf, sizeof(fill_buf), 0) != sizeof(fill_buf))
		return fail("pwrite");
	errno = pthread_create(&thr, NULL, racer, NULL);
	if (errno)
		return fail("pthread_create");

	for (it = 1; it <= iterations && bad < 0; it++) {
		long calls;

		page = 1 + (it * 97) % (NR_PAGES - 2);
		if (fill(it, page))
			return fail("fill");
		/* Zero only once the racer is reading over the page. */
		calls = atomic_load(&racer_calls);
		atomic_store(&racer_off, (page - 1) * PG);
		while (atomic_load(&racer_calls) < calls + 2)
			;
		if (fallocate(fd, FALLOC_FL_ZERO_RANGE, page * PG, PG)) {
			if (errno == EOPNOTSUPP) {
				printf("btrfs-zero: error: ZERO_RANGE not supported here\n");
				return 2;
			}
			return fail("fallocate(ZERO_RANGE)");
		}
		/*
		 * The racer may still be in a call: readahead only creates
		 * folios, and one created after fallocate() returned reads
		 * the new extent, so the check need not wait for it.
		 */
		atomic_store(&racer_off, -1);
		if (pread(fd, check_buf, PG, page * PG) != PG)
			return fail("pread");
		for (long w = 0; w < WORDS && bad < 0; w++)
			if (check_buf[w])
				bad = w;
	}
	atomic_store(&racer_quit, 1);
	pthread_join(thr, NULL);
	it--;
	if (bad >= 0) {
		int old = check_buf[bad] == old_word(it, page * WORDS + bad);

		printf("btrfs-zero: REPRODUCED: iteration %ld: byte %ld of page %ld reads %#llx (%s) after FALLOC_FL_ZERO_RANGE of that page returned, must be 0\n",
		       it, bad * 8, page, (unsigned long long)check_buf[bad],
		       old ? "its old data" : "not the old data");
		return 1;
	}
	printf("btrfs-zero: not reproduced in %ld iterations\n", it);
	return 0;
}
