// SPDX-License-Identifier: GPL-2.0
/*
 * holefs_falloc - fallocate(2) on holefs (issue 5): hole punch (aligned,
 * unaligned, across EOF, on a hole; seen through read(2), an existing
 * mapping and the store), ZERO_RANGE with and without KEEP_SIZE,
 * preallocation (mode 0 and KEEP_SIZE), ENOSPC leaving files unchanged,
 * and the exact errno of every refused call (unsupported modes, bad
 * offsets, directories, read-only descriptors; the order of the checks in
 * 6.12's vfs_fallocate()).
 *
 * Run by run_tests.sh with holefs mounted at $HOLEFS_MNT; the ENOSPC tests
 * mount small instances of their own under /tmp.
 */
#define _GNU_SOURCE
#include <grp.h>
#include <linux/falloc.h>
#include <time.h>

#include "holefs_util.h"
#include "kselftest_harness.h"
#include "holefs_ksft.h"

/* Standalone (kselftest) runs: a mount of its own, see holefs_ksft.h. */
static void __attribute__((constructor)) standalone_fixture(void)
{
	holefs_ksft_fixture();
}

#ifndef FALLOC_FL_NO_HIDE_STALE
#define FALLOC_FL_NO_HIDE_STALE		0x04
#endif
#ifndef FALLOC_FL_COLLAPSE_RANGE
#define FALLOC_FL_COLLAPSE_RANGE	0x08
#endif
#ifndef FALLOC_FL_ZERO_RANGE
#define FALLOC_FL_ZERO_RANGE		0x10
#endif
#ifndef FALLOC_FL_INSERT_RANGE
#define FALLOC_FL_INSERT_RANGE		0x20
#endif
#ifndef FALLOC_FL_UNSHARE_RANGE
#define FALLOC_FL_UNSHARE_RANGE		0x40
#endif

#define PUNCH		(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)
#define T_TIMEOUT	300

FIXTURE(fa) {
	char path[PATH_MAX];
	const char *dir;
	int fd;
};

FIXTURE_SETUP(fa)
{
	struct statfs sf;

	self->fd = -1;
	self->dir = holefs_dir();
	ASSERT_EQ(0, statfs(self->dir, &sf));
	if (sf.f_type != HOLEFS_MAGIC)
		SKIP(return, "%s is not holefs (run me through run_tests.sh)",
		     self->dir);
	snprintf(self->path, sizeof(self->path), "%s/fa.XXXXXX", self->dir);
	self->fd = mkstemp(self->path);
	ASSERT_LE(0, self->fd) TH_LOG("mkstemp: %s", strerror(errno));
	ASSERT_EQ(0, holefs_stats_clear(self->dir));
}

FIXTURE_TEARDOWN(fa)
{
	if (self->fd >= 0) {
		close(self->fd);
		unlink(self->path);
	}
}

/* A small instance of our own, unmounted by the parent. */
FIXTURE(small) {
	char dir[TMPDIR_LEN];
	bool mounted;
};

FIXTURE_SETUP(small)
{
	ASSERT_NE(NULL, make_tmpdir(self->dir, "falloc"));
	self->mounted = false;
	/* 16 blocks. */
	ASSERT_EQ(0, holefs_mount_at(self->dir, "size=64k"));
	self->mounted = true;
}

FIXTURE_TEARDOWN_PARENT(small)
{
	if (self->mounted && umount(self->dir))
		TH_LOG("umount %s: %s", self->dir, strerror(errno));
	rmdir(self->dir);
}

static int open_in(const char *dir, const char *name, int flags)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return open(path, flags, 0644);
}

static long long free_blocks(const char *dir)
{
	struct statfs sf;

	return statfs(dir, &sf) ? -1 : (long long)sf.f_bfree;
}

/* --- hole punch ----------------------------------------------------------- */

TEST_F_TIMEOUT(fa, punch_middle, T_TIMEOUT)
{
	int fd = self->fd;
	char *p;

	ASSERT_EQ(0, pat_pwrite(fd, 8 * PG, 30, 0));
	ASSERT_EQ(0, fsync(fd));
	EXPECT_EQ(8 * 8, file_blocks(fd));
	/* A mapping that has every page mapped before the punch. */
	p = mmap(NULL, 8 * PG, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(-1, pat_mismatch(p, 8 * PG, 30, 0));

	ASSERT_EQ(0, fallocate(fd, PUNCH, 2 * PG, 4 * PG));
	EXPECT_EQ(8 * PG, file_size(fd));
	EXPECT_EQ(4 * 8, file_blocks(fd));
	EXPECT_EQ(1, holefs_stat(self->dir, "punches"));
	EXPECT_EQ(4, holefs_stat(self->dir, "punch_blocks_freed"));
	/* read(2) */
	EXPECT_EQ(-1, check_pat(fd, 2 * PG, 30, 0));
	EXPECT_EQ(-1, check_zero(fd, 4 * PG, 2 * PG));
	EXPECT_EQ(-1, check_pat(fd, 2 * PG, 30, 6 * PG));
	/* the existing mapping */
	EXPECT_EQ(-1, pat_mismatch(p, 2 * PG, 30, 0));
	EXPECT_EQ(-1, nonzero_at(p + 2 * PG, 4 * PG));
	EXPECT_EQ(-1, pat_mismatch(p + 6 * PG, 2 * PG, 30, 6 * PG));
	munmap(p, 8 * PG);
	/* the store */
	ASSERT_EQ(0, drop_page_cache());
	EXPECT_EQ(-1, check_pat(fd, 2 * PG, 30, 0));
	EXPECT_EQ(-1, check_zero(fd, 4 * PG, 2 * PG));
	EXPECT_EQ(-1, check_pat(fd, 2 * PG, 30, 6 * PG));
	/* The punched range is a hole again. */
	EXPECT_EQ(2 * PG, lseek(fd, 0, SEEK_HOLE));
	EXPECT_EQ(6 * PG, lseek(fd, 2 * PG, SEEK_DATA));
}

TEST_F_TIMEOUT(fa, punch_dirty_mapping, T_TIMEOUT)
{
	int fd = self->fd;
	char *p;

	/* Dirty pages through a writable mapping, not written back. */
	ASSERT_EQ(0, ftruncate(fd, 4 * PG));
	p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	pat_fill(p, 4 * PG, 31, 0);
	ASSERT_EQ(0, fallocate(fd, PUNCH, PG, 2 * PG));
	EXPECT_EQ(-1, nonzero_at(p + PG, 2 * PG));
	EXPECT_EQ(-1, pat_mismatch(p, PG, 31, 0));
	EXPECT_EQ(-1, pat_mismatch(p + 3 * PG, PG, 31, 3 * PG));
	EXPECT_EQ(2 * 8, file_blocks(fd));
	ASSERT_EQ(0, msync(p, 4 * PG, MS_SYNC));
	munmap(p, 4 * PG);
	ASSERT_EQ(0, drop_page_cache());
	EXPECT_EQ(-1, check_pat(fd, PG, 31, 0));
	EXPECT_EQ(-1, check_zero(fd, 2 * PG, PG));
	EXPECT_EQ(-1, check_pat(fd, PG, 31, 3 * PG));
	EXPECT_EQ(2 * 8, file_blocks(fd));
}

TEST_F_TIMEOUT(fa, punch_unaligned_keeps_edges, T_TIMEOUT)
{
	off_t start = PG + 100, end = 3 * PG + 200;
	int fd = self->fd;

	ASSERT_EQ(0, pat_pwrite(fd, 4 * PG, 32, 0));
	ASSERT_EQ(0, fallocate(fd, PUNCH, start, end - start));
	/* Only page 2 is covered whole: one block freed. */
	EXPECT_EQ(3 * 8, file_blocks(fd));
	EXPECT_EQ(1, holefs_stat(self->dir, "punch_blocks_freed"));
	EXPECT_EQ(-1, check_pat(fd, start, 32, 0));
	EXPECT_EQ(-1, check_zero(fd, end - start, start));
	EXPECT_EQ(-1, check_pat(fd, 4 * PG - end, 32, end));
	/* The same from the store. */
	ASSERT_EQ(0, fsync(fd));
	ASSERT_EQ(0, drop_page_cache());
	EXPECT_EQ(-1, check_pat(fd, start, 32, 0));
	EXPECT_EQ(-1, check_zero(fd, end - start, start));
	EXPECT_EQ(-1, check_pat(fd, 4 * PG - end, 32, end));

	/* Inside one page, with the cache dropped first. */
	ASSERT_EQ(0, drop_page_cache());
	ASSERT_EQ(0, fallocate(fd, PUNCH, 50, 10));
	EXPECT_EQ(-1, check_pat(fd, 50, 32, 0));
	EXPECT_EQ(-1, check_zero(fd, 10, 50));
	EXPECT_EQ(-1, check_pat(fd, PG + 100 - 60, 32, 60));
	EXPECT_EQ(3 * 8, file_blocks(fd));
	ASSERT_EQ(0, drop_page_cache());
	EXPECT_EQ(-1, check_zero(fd, 10, 50));
	EXPECT_EQ(-1, check_pat(fd, 50, 32, 0));
	EXPECT_EQ(4 * PG, file_size(fd));
}

TEST_F_TIMEOUT(fa, punch_across_eof, T_TIMEOUT)
{
	off_t size = 3 * PG + 100;
	int fd = self->fd;

	ASSERT_EQ(0, pat_pwrite(fd, size, 33, 0));
	ASSERT_EQ(0, fallocate(fd, PUNCH, 2 * PG, 1 << 20));
	/* KEEP_SIZE: the size stays; pages 2 and 3 are gone. */
	EXPECT_EQ(size, file_size(fd));
	EXPECT_EQ(2 * 8, file_blocks(fd));
	EXPECT_EQ(-1, check_pat(fd, 2 * PG, 33, 0));
	EXPECT_EQ(-1, check_zero(fd, size - 2 * PG, 2 * PG));
	/* Growing shows zeros, not the old tail. */
	ASSERT_EQ(0, ftruncate(fd, 5 * PG));
	EXPECT_EQ(-1, check_zero(fd, 3 * PG, 2 * PG));
	ASSERT_EQ(0, drop_page_cache());
	EXPECT_EQ(-1, check_zero(fd, 3 * PG, 2 * PG));
	EXPECT_EQ(-1, check_pat(fd, 2 * PG, 33, 0));
}

TEST_F_TIMEOUT(fa, punch_hole_and_past_eof, T_TIMEOUT)
{
	int fd = self->fd;

	ASSERT_EQ(0, ftruncate(fd, 10 * PG));
	ASSERT_EQ(0, pat_pwrite(fd, PG, 34, 5 * PG));
	/* A punch over a hole changes nothing and frees nothing. */
	ASSERT_EQ(0, fallocate(fd, PUNCH, PG, 2 * PG));
	EXPECT_EQ(10 * PG, file_size(fd));
	EXPECT_EQ(8, file_blocks(fd));
	EXPECT_EQ(0, holefs_stat(self->dir, "punch_blocks_freed"));
	/* Wholly past EOF: fine, the size stays. */
	ASSERT_EQ(0, fallocate(fd, PUNCH, 20 * PG, 10 * PG));
	EXPECT_EQ(10 * PG, file_size(fd));
	EXPECT_EQ(8, file_blocks(fd));
	EXPECT_EQ(2, holefs_stat(self->dir, "punches"));
	EXPECT_EQ(-1, check_zero(fd, 5 * PG, 0));
	EXPECT_EQ(-1, check_pat(fd, PG, 34, 5 * PG));
	EXPECT_EQ(-1, check_zero(fd, 4 * PG, 6 * PG));
	/* The whole file. */
	ASSERT_EQ(0, fallocate(fd, PUNCH, 0, 10 * PG));
	EXPECT_EQ(0, file_blocks(fd));
	EXPECT_EQ(-1, check_zero(fd, 10 * PG, 0));
	EXPECT_EQ(1, holefs_stat(self->dir, "punch_blocks_freed"));
}

/* --- ZERO_RANGE ----------------------------------------------------------- */

TEST_F_TIMEOUT(fa, zero_range_keep_size, T_TIMEOUT)
{
	int fd = self->fd;

	ASSERT_EQ(0, pat_pwrite(fd, 4 * PG, 35, 0));
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
			       PG, 9 * PG));
	EXPECT_EQ(1, holefs_stat(self->dir, "zero_ranges"));
	EXPECT_EQ(4 * PG, file_size(fd));
	/* Blocks for the whole range, past EOF too. */
	EXPECT_EQ(10 * 8, file_blocks(fd));
	EXPECT_EQ(-1, check_pat(fd, PG, 35, 0));
	EXPECT_EQ(-1, check_zero(fd, 3 * PG, PG));
	ASSERT_EQ(0, drop_page_cache());
	EXPECT_EQ(-1, check_pat(fd, PG, 35, 0));
	EXPECT_EQ(-1, check_zero(fd, 3 * PG, PG));
	/* Growing over the preallocated part reads zeros. */
	ASSERT_EQ(0, ftruncate(fd, 10 * PG));
	EXPECT_EQ(-1, check_zero(fd, 9 * PG, PG));
	EXPECT_EQ(10 * 8, file_blocks(fd));
}

TEST_F_TIMEOUT(fa, zero_range_extends_size, T_TIMEOUT)
{
	off_t size = 2 * PG + 10, start = PG + 5, len = 3 * PG;
	int fd = self->fd;

	ASSERT_EQ(0, pat_pwrite(fd, size, 36, 0));
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_ZERO_RANGE, start, len));
	EXPECT_EQ(start + len, file_size(fd));
	/* Pages 0..4 all have blocks. */
	EXPECT_EQ(5 * 8, file_blocks(fd));
	EXPECT_EQ(-1, check_pat(fd, start, 36, 0));
	EXPECT_EQ(-1, check_zero(fd, len, start));
	ASSERT_EQ(0, drop_page_cache());
	EXPECT_EQ(-1, check_pat(fd, start, 36, 0));
	EXPECT_EQ(-1, check_zero(fd, len, start));
	/* Not past the end of the range. */
	EXPECT_EQ(0, fallocate(fd, FALLOC_FL_ZERO_RANGE, 0, PG));
	EXPECT_EQ(start + len, file_size(fd));
}

TEST_F_TIMEOUT(fa, zero_range_unaligned_keeps_edges, T_TIMEOUT)
{
	off_t start = 100, end = 3 * PG + 50;
	int fd = self->fd;

	ASSERT_EQ(0, pat_pwrite(fd, 4 * PG, 37, 0));
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
			       start, end - start));
	EXPECT_EQ(4 * 8, file_blocks(fd));
	EXPECT_EQ(4 * PG, file_size(fd));
	EXPECT_EQ(-1, check_pat(fd, start, 37, 0));
	EXPECT_EQ(-1, check_zero(fd, end - start, start));
	EXPECT_EQ(-1, check_pat(fd, 4 * PG - end, 37, end));
	ASSERT_EQ(0, fsync(fd));
	ASSERT_EQ(0, drop_page_cache());
	EXPECT_EQ(-1, check_pat(fd, start, 37, 0));
	EXPECT_EQ(-1, check_zero(fd, end - start, start));
	EXPECT_EQ(-1, check_pat(fd, 4 * PG - end, 37, end));
}

TEST_F_TIMEOUT(fa, zero_range_and_prealloc_through_mapping, T_TIMEOUT)
{
	int fd = self->fd;
	char *p;

	ASSERT_EQ(0, ftruncate(fd, 4 * PG));
	p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	/* Dirty, not written back. */
	pat_fill(p, 4 * PG, 55, 0);
	/* Preallocation keeps what the mapping wrote... */
	ASSERT_EQ(0, fallocate(fd, 0, 0, 6 * PG));
	EXPECT_EQ(-1, pat_mismatch(p, 4 * PG, 55, 0));
	EXPECT_EQ(-1, check_pat(fd, 4 * PG, 55, 0));
	/* ...ZERO_RANGE clears it, in the mapping too. */
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
			       PG + 10, 2 * PG));
	EXPECT_EQ(-1, pat_mismatch(p, PG + 10, 55, 0));
	EXPECT_EQ(-1, nonzero_at(p + PG + 10, 2 * PG));
	EXPECT_EQ(-1, pat_mismatch(p + 3 * PG + 10, PG - 10, 55, 3 * PG + 10));
	EXPECT_EQ(-1, check_zero(fd, 2 * PG, PG + 10));
	ASSERT_EQ(0, msync(p, 4 * PG, MS_SYNC));
	munmap(p, 4 * PG);
	ASSERT_EQ(0, drop_page_cache());
	EXPECT_EQ(-1, check_pat(fd, PG + 10, 55, 0));
	EXPECT_EQ(-1, check_zero(fd, 2 * PG, PG + 10));
	EXPECT_EQ(-1, check_pat(fd, PG - 10, 55, 3 * PG + 10));
	EXPECT_EQ(6 * 8, file_blocks(fd));
}

TEST_F_TIMEOUT(fa, zero_range_on_hole_allocates, T_TIMEOUT)
{
	int fd = self->fd;

	ASSERT_EQ(0, ftruncate(fd, 4 * PG));
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
			       0, 4 * PG));
	EXPECT_EQ(4 * 8, file_blocks(fd));
	EXPECT_EQ(4, holefs_stat(self->dir, "blocks_allocated"));
	EXPECT_EQ(-1, check_zero(fd, 4 * PG, 0));
}

/* --- preallocation -------------------------------------------------------- */

TEST_F_TIMEOUT(fa, prealloc_mode0, T_TIMEOUT)
{
	int fd = self->fd;

	ASSERT_EQ(0, fallocate(fd, 0, 0, 5 * PG + 10));
	EXPECT_EQ(1, holefs_stat(self->dir, "preallocs"));
	EXPECT_EQ(5 * PG + 10, file_size(fd));
	EXPECT_EQ(6 * 8, file_blocks(fd));
	EXPECT_EQ(6, holefs_stat(self->dir, "blocks_allocated"));
	EXPECT_EQ(-1, check_zero(fd, 5 * PG + 10, 0));
	/* Writing into it allocates nothing more. */
	ASSERT_EQ(0, holefs_stats_clear(self->dir));
	ASSERT_EQ(0, pat_pwrite(fd, 2 * PG, 38, PG + 1));
	EXPECT_EQ(0, holefs_stat(self->dir, "blocks_allocated"));
	EXPECT_EQ(6 * 8, file_blocks(fd));
	EXPECT_EQ(-1, check_pat(fd, 2 * PG, 38, PG + 1));
	/* A smaller range does not shrink the file. */
	ASSERT_EQ(0, fallocate(fd, 0, 0, PG));
	EXPECT_EQ(5 * PG + 10, file_size(fd));
}

TEST_F_TIMEOUT(fa, prealloc_keep_size, T_TIMEOUT)
{
	int fd = self->fd;
	char buf[PG];

	ASSERT_EQ(0, pat_pwrite(fd, 100, 39, 0));
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 4 * PG));
	EXPECT_EQ(100, file_size(fd));
	EXPECT_EQ(4 * 8, file_blocks(fd));
	EXPECT_EQ(100, pread(fd, buf, sizeof(buf), 0));
	EXPECT_EQ(-1, pat_mismatch(buf, 100, 39, 0));
	/* Wholly past EOF. */
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_KEEP_SIZE, 10 * PG, 2 * PG));
	EXPECT_EQ(100, file_size(fd));
	EXPECT_EQ(6 * 8, file_blocks(fd));
	/* Growing over it: zeros after the old EOF, no new blocks. */
	ASSERT_EQ(0, ftruncate(fd, 4 * PG));
	EXPECT_EQ(-1, check_pat(fd, 100, 39, 0));
	EXPECT_EQ(-1, check_zero(fd, 4 * PG - 100, 100));
	EXPECT_EQ(6 * 8, file_blocks(fd));
	/* Truncating frees the blocks past EOF as well. */
	ASSERT_EQ(0, ftruncate(fd, PG));
	EXPECT_EQ(1 * 8, file_blocks(fd));
	ASSERT_EQ(0, ftruncate(fd, 0));
	EXPECT_EQ(0, file_blocks(fd));
}

TEST_F_TIMEOUT(fa, prealloc_keeps_data, T_TIMEOUT)
{
	int fd = self->fd;

	ASSERT_EQ(0, pat_pwrite(fd, 3 * PG, 40, PG));
	ASSERT_EQ(0, fsync(fd));
	ASSERT_EQ(0, fallocate(fd, 0, 0, 6 * PG));
	EXPECT_EQ(6 * PG, file_size(fd));
	EXPECT_EQ(6 * 8, file_blocks(fd));
	EXPECT_EQ(-1, check_zero(fd, PG, 0));
	EXPECT_EQ(-1, check_pat(fd, 3 * PG, 40, PG));
	EXPECT_EQ(-1, check_zero(fd, 2 * PG, 4 * PG));
	ASSERT_EQ(0, drop_page_cache());
	EXPECT_EQ(-1, check_pat(fd, 3 * PG, 40, PG));
	EXPECT_EQ(-1, check_zero(fd, PG, 0));
}

/* --- ENOSPC --------------------------------------------------------------- */

TEST_F_TIMEOUT(small, enospc_prealloc_unchanged, T_TIMEOUT)
{
	int a, b;

	a = open_in(self->dir, "a", O_CREAT | O_RDWR);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, pat_pwrite(a, 4 * PG, 41, 0));
	EXPECT_EQ(12, free_blocks(self->dir));
	b = open_in(self->dir, "b", O_CREAT | O_RDWR);
	ASSERT_LE(0, b);

	/* 16 blocks wanted, 12 free: nothing happens. */
	errno = 0;
	EXPECT_EQ(-1, fallocate(b, 0, 0, 16 * PG));
	EXPECT_EQ(ENOSPC, errno);
	EXPECT_EQ(0, file_size(b));
	EXPECT_EQ(0, file_blocks(b));
	EXPECT_EQ(12, free_blocks(self->dir));

	/* Over existing data, growing: 16 more wanted. */
	errno = 0;
	EXPECT_EQ(-1, fallocate(a, 0, 0, 20 * PG));
	EXPECT_EQ(ENOSPC, errno);
	errno = 0;
	EXPECT_EQ(-1, fallocate(a, FALLOC_FL_KEEP_SIZE, 0, 20 * PG));
	EXPECT_EQ(ENOSPC, errno);
	EXPECT_EQ(4 * PG, file_size(a));
	EXPECT_EQ(4 * 8, file_blocks(a));
	EXPECT_EQ(12, free_blocks(self->dir));
	EXPECT_EQ(4, holefs_stat(self->dir, "blocks_used"));
	EXPECT_EQ(-1, check_pat(a, 4 * PG, 41, 0));

	/* Exactly what is free: fine. */
	EXPECT_EQ(0, fallocate(b, 0, 0, 12 * PG));
	EXPECT_EQ(12 * PG, file_size(b));
	EXPECT_EQ(0, free_blocks(self->dir));
	close(a);
	close(b);
}

TEST_F_TIMEOUT(small, enospc_zero_range_unchanged, T_TIMEOUT)
{
	int a;

	a = open_in(self->dir, "a", O_CREAT | O_RDWR);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, pat_pwrite(a, 4 * PG, 42, 0));
	/* Needs 16 new blocks past the 4: ENOSPC, and nothing is zeroed. */
	errno = 0;
	EXPECT_EQ(-1, fallocate(a, FALLOC_FL_ZERO_RANGE, 0, 20 * PG));
	EXPECT_EQ(ENOSPC, errno);
	errno = 0;
	EXPECT_EQ(-1, fallocate(a, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
				PG, 19 * PG));
	EXPECT_EQ(ENOSPC, errno);
	EXPECT_EQ(4 * PG, file_size(a));
	EXPECT_EQ(4 * 8, file_blocks(a));
	EXPECT_EQ(12, free_blocks(self->dir));
	EXPECT_EQ(-1, check_pat(a, 4 * PG, 42, 0));
	ASSERT_EQ(0, drop_page_cache());
	EXPECT_EQ(-1, check_pat(a, 4 * PG, 42, 0));
	/* Within the allocated blocks it needs no space. */
	EXPECT_EQ(0, fallocate(a, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
			       PG, 2 * PG));
	EXPECT_EQ(-1, check_zero(a, 2 * PG, PG));
	EXPECT_EQ(12, free_blocks(self->dir));
	/* A punch always works when full. */
	EXPECT_EQ(0, fallocate(a, FALLOC_FL_KEEP_SIZE, 4 * PG, 12 * PG));
	EXPECT_EQ(0, free_blocks(self->dir));
	EXPECT_EQ(0, fallocate(a, PUNCH, 0, 16 * PG));
	EXPECT_EQ(16, free_blocks(self->dir));
	close(a);
}

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 +
	       (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/*
 * A range far larger than the store fails at once, in a time that does not
 * grow with the range: the answer needs the blocks the file has, not a
 * walk over every page index of the range.  (Such a walk holds i_rwsem
 * and invalidate_lock without rescheduling: over 64 TiB, 2^34 pages, it
 * stalls RCU for a minute.)  Compared: the best of three calls over 8 GiB
 * and the best of two over 64 times that, each failing with ENOSPC.
 */
static long timed_enospc(struct __test_metadata *_metadata, int fd, int mode,
			 long long len, int tries)
{
	struct timespec t0;
	long best = LONG_MAX, ms;
	int ret;

	while (tries--) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		errno = 0;
		ret = fallocate(fd, mode, 0, len);
		ms = elapsed_ms(&t0);
		EXPECT_EQ(-1, ret);
		EXPECT_EQ(ENOSPC, errno);
		if (ms < best)
			best = ms;
	}
	return best;
}

TEST_F_TIMEOUT(small, huge_range_enospc_promptly, T_TIMEOUT)
{
	static const struct { int mode; const char *name; } m[] = {
		{ 0, "mode 0" },
		{ FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
		  "ZERO_RANGE|KEEP_SIZE" },
	};
	long ms_small, ms_big;
	unsigned int i;
	int fd;

	fd = open_in(self->dir, "huge", O_CREAT | O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pat_pwrite(fd, PG, 46, 0));
	for (i = 0; i < ARRAY_SIZE(m); i++) {
		ms_small = timed_enospc(_metadata, fd, m[i].mode, 1LL << 33, 3);
		ms_big = timed_enospc(_metadata, fd, m[i].mode, 1LL << 39, 2);
		TH_LOG("%s: %ld ms over 8 GiB, %ld ms over 512 GiB", m[i].name,
		       ms_small, ms_big);
		EXPECT_GE(4 * ms_small + 200, ms_big);
		EXPECT_EQ(PG, file_size(fd));
		EXPECT_EQ(8, file_blocks(fd));
		EXPECT_EQ(15, free_blocks(self->dir));
	}
	close(fd);
}

TEST_F_TIMEOUT(fa, updates_times, T_TIMEOUT)
{
	static const struct { int mode; const char *name; } m[] = {
		{ PUNCH, "PUNCH_HOLE" },
		{ FALLOC_FL_ZERO_RANGE, "ZERO_RANGE" },
		{ 0, "mode 0, growing" },
	};
	struct timespec old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	unsigned int i;
	struct stat st;

	ASSERT_EQ(0, pat_pwrite(self->fd, 4 * PG, 47, 0));
	for (i = 0; i < ARRAY_SIZE(m); i++) {
		ASSERT_EQ(0, futimens(self->fd, old));
		ASSERT_EQ(0, fallocate(self->fd, m[i].mode, PG, (i + 1) * 4 * PG));
		ASSERT_EQ(0, fstat(self->fd, &st));
		EXPECT_LT(old[1].tv_sec, st.st_mtim.tv_sec) TH_LOG("%s", m[i].name);
		EXPECT_LT(old[1].tv_sec, st.st_ctim.tv_sec) TH_LOG("%s", m[i].name);
	}
}

/*
 * Like a write, an fallocate that changes data or size drops set-user-ID
 * and set-group-ID (with group execute) for a caller without CAP_FSETID:
 * ext4, XFS and tmpfs call file_modified() in ->fallocate.
 */
TEST_F_TIMEOUT(fa, drops_suid_sgid, T_TIMEOUT)
{
	static const struct { int mode; const char *name; } m[] = {
		{ -1, "write(2) (for comparison)" },
		{ PUNCH, "PUNCH_HOLE" },
		{ FALLOC_FL_ZERO_RANGE, "ZERO_RANGE" },
		{ 0, "mode 0, growing" },
	};
	unsigned int i;
	struct stat st;
	int ret;

	ASSERT_EQ(0, pat_pwrite(self->fd, 4 * PG, 48, 0));
	/* nobody's file, written by nobody (this test's own child). */
	ASSERT_EQ(0, fchown(self->fd, 65534, 65534));
	ASSERT_EQ(0, setgroups(0, NULL));
	ASSERT_EQ(0, setgid(65534));
	ASSERT_EQ(0, setuid(65534));
	for (i = 0; i < ARRAY_SIZE(m); i++) {
		ASSERT_EQ(0, fchmod(self->fd, 06777));
		ASSERT_EQ(0, fstat(self->fd, &st));
		ASSERT_EQ(06777, st.st_mode & 07777);
		if (m[i].mode < 0)
			ret = pwrite(self->fd, "x", 1, PG) == 1 ? 0 : -1;
		else
			ret = fallocate(self->fd, m[i].mode, PG,
					(i + 1) * 4 * PG);
		ASSERT_EQ(0, ret) TH_LOG("%s: %s", m[i].name, strerror(errno));
		ASSERT_EQ(0, fstat(self->fd, &st));
		EXPECT_EQ(0777, st.st_mode & 07777)
			TH_LOG("%s left mode %04o", m[i].name,
			       st.st_mode & 07777);
	}
}

/* --- refused calls -------------------------------------------------------- */

/* The file must still hold @len bytes of @seed with @blocks blocks. */
#define EXPECT_UNCHANGED(fd, len, seed, blocks) do {			\
	EXPECT_EQ(len, file_size(fd));					\
	EXPECT_EQ(blocks, file_blocks(fd));				\
	EXPECT_EQ(-1, check_pat(fd, len, seed, 0));			\
} while (0)

TEST_F_TIMEOUT(fa, unsupported_modes_eopnotsupp, T_TIMEOUT)
{
	static const struct { int mode; const char *name; } m[] = {
		{ FALLOC_FL_COLLAPSE_RANGE, "COLLAPSE_RANGE" },
		{ FALLOC_FL_INSERT_RANGE, "INSERT_RANGE" },
		{ FALLOC_FL_UNSHARE_RANGE, "UNSHARE_RANGE" },
		{ FALLOC_FL_UNSHARE_RANGE | FALLOC_FL_KEEP_SIZE,
		  "UNSHARE_RANGE|KEEP_SIZE" },
		{ FALLOC_FL_PUNCH_HOLE, "PUNCH_HOLE without KEEP_SIZE" },
		{ FALLOC_FL_NO_HIDE_STALE, "NO_HIDE_STALE" },
		{ FALLOC_FL_NO_HIDE_STALE | PUNCH, "PUNCH_HOLE|KEEP|NO_HIDE" },
		{ FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_KEEP_SIZE,
		  "COLLAPSE_RANGE|KEEP_SIZE" },
		{ FALLOC_FL_ZERO_RANGE | FALLOC_FL_PUNCH_HOLE,
		  "ZERO_RANGE|PUNCH_HOLE" },
		{ 0x80, "unknown 0x80" },
	};
	int fd = self->fd;
	unsigned int i;
	int ret;

	ASSERT_EQ(0, pat_pwrite(fd, 4 * PG, 43, 0));
	for (i = 0; i < ARRAY_SIZE(m); i++) {
		errno = 0;
		ret = fallocate(fd, m[i].mode, PG, PG);
		EXPECT_EQ(-1, ret) TH_LOG("%s succeeded", m[i].name);
		EXPECT_EQ(EOPNOTSUPP, errno)
			TH_LOG("%s: %s", m[i].name, strerror(errno));
		EXPECT_UNCHANGED(fd, 4 * PG, 43, 4 * 8);
	}
	EXPECT_EQ(0, holefs_stat(self->dir, "punches"));
	EXPECT_EQ(0, holefs_stat(self->dir, "zero_ranges"));
	EXPECT_EQ(0, holefs_stat(self->dir, "preallocs"));
}

TEST_F_TIMEOUT(fa, bad_offset_len, T_TIMEOUT)
{
	static const int modes[] = {
		0, FALLOC_FL_KEEP_SIZE, PUNCH, FALLOC_FL_ZERO_RANGE,
		FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
	};
	int fd = self->fd;
	unsigned int i;

	ASSERT_EQ(0, pat_pwrite(fd, 2 * PG, 44, 0));
	for (i = 0; i < ARRAY_SIZE(modes); i++) {
		errno = 0;
		EXPECT_EQ(-1, fallocate(fd, modes[i], -1, PG));
		EXPECT_EQ(EINVAL, errno) TH_LOG("mode %#x offset -1", modes[i]);
		errno = 0;
		EXPECT_EQ(-1, fallocate(fd, modes[i], 0, -PG));
		EXPECT_EQ(EINVAL, errno) TH_LOG("mode %#x len -4096", modes[i]);
		errno = 0;
		EXPECT_EQ(-1, fallocate(fd, modes[i], 0, 0));
		EXPECT_EQ(EINVAL, errno) TH_LOG("mode %#x len 0", modes[i]);
		/* offset + len overflowing loff_t: EFBIG. */
		errno = 0;
		EXPECT_EQ(-1, fallocate(fd, modes[i], LLONG_MAX - 10, 100));
		EXPECT_EQ(EFBIG, errno) TH_LOG("mode %#x overflow", modes[i]);
		EXPECT_UNCHANGED(fd, 2 * PG, 44, 2 * 8);
	}
	/* The offset check comes before the mode check. */
	errno = 0;
	EXPECT_EQ(-1, fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, -1, PG));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F_TIMEOUT(fa, directory, T_TIMEOUT)
{
	char path[PATH_MAX + 8];
	int dfd;

	snprintf(path, sizeof(path), "%s.d", self->path);
	ASSERT_EQ(0, mkdir(path, 0755));
	/* A directory cannot be opened for writing: EISDIR there. */
	errno = 0;
	EXPECT_EQ(-1, open(path, O_WRONLY));
	EXPECT_EQ(EISDIR, errno);
	errno = 0;
	EXPECT_EQ(-1, open(path, O_RDWR));
	EXPECT_EQ(EISDIR, errno);
	/*
	 * So fallocate gets a read-only descriptor, and 6.12's
	 * vfs_fallocate() checks FMODE_WRITE (EBADF) before S_ISDIR
	 * (EISDIR): EBADF for every valid mode, EOPNOTSUPP for invalid ones.
	 */
	dfd = open(path, O_RDONLY | O_DIRECTORY);
	ASSERT_LE(0, dfd);
	errno = 0;
	EXPECT_EQ(-1, fallocate(dfd, 0, 0, PG));
	EXPECT_EQ(EBADF, errno);
	errno = 0;
	EXPECT_EQ(-1, fallocate(dfd, PUNCH, 0, PG));
	EXPECT_EQ(EBADF, errno);
	errno = 0;
	EXPECT_EQ(-1, fallocate(dfd, FALLOC_FL_PUNCH_HOLE, 0, PG));
	EXPECT_EQ(EOPNOTSUPP, errno);
	close(dfd);
	EXPECT_EQ(0, rmdir(path));
}

TEST_F_TIMEOUT(fa, readonly_fd_ebadf, T_TIMEOUT)
{
	static const int modes[] = {
		0, FALLOC_FL_KEEP_SIZE, PUNCH, FALLOC_FL_ZERO_RANGE,
		FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
	};
	unsigned int i;
	int ro;

	ASSERT_EQ(0, pat_pwrite(self->fd, 2 * PG, 45, 0));
	ro = open(self->path, O_RDONLY);
	ASSERT_LE(0, ro);
	for (i = 0; i < ARRAY_SIZE(modes); i++) {
		errno = 0;
		EXPECT_EQ(-1, fallocate(ro, modes[i], 0, 4 * PG));
		EXPECT_EQ(EBADF, errno) TH_LOG("mode %#x", modes[i]);
		EXPECT_UNCHANGED(self->fd, 2 * PG, 45, 2 * 8);
	}
	close(ro);
}

TEST_HARNESS_MAIN
