// SPDX-License-Identifier: GPL-2.0
/*
 * holefs_folios - folios=large against folios=small: that large folios are
 * really used (the per-order fill counters, large folios written back),
 * that reads, writes and mappings see the same bytes as with order-0
 * folios, and what happens to a large folio at the edge of a hole punch or
 * a truncate: split (clean), dropped whole (clean, split impossible) or
 * kept whole with the covered part zeroed (dirty, split impossible).  A
 * page spliced into a pipe with vmsplice(2) holds a reference that makes
 * the split fail.  Afterwards the store must agree with the page cache:
 * the same bytes after the cache is dropped.
 *
 * Each test mounts its own instances (size=64m) with an explicit folios=
 * (not through $HOLEFS_EXTRA_OPTS: the small mounts are the controls).
 */
#define _GNU_SOURCE
#include <linux/falloc.h>
#include <sys/uio.h>

#include "holefs_util.h"
#include "kselftest_harness.h"

#define PUNCH		(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)
#define MB		(1024L * 1024)
#define T_TIMEOUT	300

FIXTURE(fol) {
	char dir[TMPDIR_LEN];
	char path[PATH_MAX];
	bool mounted;
	int fd;
};

FIXTURE_VARIANT(fol) {
	const char *opts;
	bool large;
};

FIXTURE_VARIANT_ADD(fol, small) {
	.opts = "size=64m,folios=small",
	.large = false,
};

FIXTURE_VARIANT_ADD(fol, large) {
	.opts = "size=64m,folios=large",
	.large = true,
};

FIXTURE_SETUP(fol)
{
	self->fd = -1;
	self->mounted = false;
	ASSERT_NE(NULL, make_tmpdir(self->dir, "folios"));
	ASSERT_EQ(0, mount("holefs", self->dir, "holefs", 0, variant->opts))
		TH_LOG("mount -o %s: %s", variant->opts, strerror(errno));
	self->mounted = true;
	snprintf(self->path, sizeof(self->path), "%s/f", self->dir);
	self->fd = open(self->path, O_RDWR | O_CREAT, 0644);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN_PARENT(fol)
{
	if (self->mounted && umount(self->dir))
		TH_LOG("umount %s: %s", self->dir, strerror(errno));
	rmdir(self->dir);
}

/* Folios of order > 0 filled from the store so far. */
static long long large_fills(const char *dir)
{
	char name[64];
	long long sum = 0;
	int order;

	for (order = 1; order <= 9; order++) {
		snprintf(name, sizeof(name), "folios_filled_order%d", order);
		sum += holefs_stat(dir, name);
	}
	return sum;
}

/* Read all of @fd sequentially in 64 KiB calls, as readahead likes. */
static int read_all(int fd, size_t len)
{
	char *buf = malloc(64 * 1024);
	size_t done = 0;

	if (!buf)
		return -1;
	while (done < len) {
		ssize_t n = pread(fd, buf, 64 * 1024, done);

		if (n <= 0)
			break;
		done += n;
	}
	free(buf);
	return done == len ? 0 : -1;
}

/* Pin the page at @addr with a pipe reference; returns the pipe's read end. */
static int pin_page(void *addr, int pipefd[2])
{
	struct iovec iov = { .iov_base = addr, .iov_len = PG };

	if (pipe(pipefd))
		return -1;
	return vmsplice(pipefd[1], &iov, 1, 0) == PG ? 0 : -1;
}

static void unpin(int pipefd[2])
{
	close(pipefd[0]);
	close(pipefd[1]);
}

/*
 * Bytes [0, len) of @fd are pattern @seed except [hole, hole + hlen),
 * which reads zeros: through read(2) and through a mapping.
 */
static int check_punched(struct __test_metadata *_metadata, int fd,
			 size_t len, off_t hole, size_t hlen, const char *when)
{
	char *m;
	long bad;

	bad = check_pat(fd, hole, 7, 0);
	EXPECT_EQ(-1, bad) TH_LOG("%s: before the hole, byte %ld", when, bad);
	bad = check_zero(fd, hlen, hole);
	EXPECT_EQ(-1, bad) TH_LOG("%s: hole, byte %ld", when, bad);
	bad = check_pat(fd, len - hole - hlen, 7, hole + hlen);
	EXPECT_EQ(-1, bad) TH_LOG("%s: after the hole, byte %ld", when, bad);
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return -1;
	EXPECT_EQ(-1, pat_mismatch(m, hole, 7, 0)) TH_LOG("%s: mapped", when);
	EXPECT_EQ(-1, nonzero_at(m + hole, hlen)) TH_LOG("%s: mapped", when);
	EXPECT_EQ(-1, pat_mismatch(m + hole + hlen, len - hole - hlen, 7,
				   hole + hlen)) TH_LOG("%s: mapped", when);
	munmap(m, len);
	return 0;
}

/* A write of 2 MiB at 0 creates large folios on the large mount only. */
TEST_F_TIMEOUT(fol, write_creates_large_folios, T_TIMEOUT)
{
	ASSERT_EQ(0, pat_pwrite(self->fd, 2 * MB, 7, 0));
	ASSERT_EQ(0, fsync(self->fd));
	/* Large folios on the large mount, and only there. */
	EXPECT_EQ(variant->large,
		  holefs_stat(self->dir, "writeback_large_folios") > 0);
	EXPECT_EQ(-1, check_pat(self->fd, 2 * MB, 7, 0));
}

/* Readahead fills large folios from the store on the large mount only. */
TEST_F_TIMEOUT(fol, readahead_fills_large_folios, T_TIMEOUT)
{
	long long large;
	char *m;

	ASSERT_EQ(0, pat_pwrite(self->fd, 8 * MB, 7, 0));
	/* Holes inside folios read as zeros. */
	ASSERT_EQ(0, fallocate(self->fd, PUNCH, 3 * MB + 5000, 70000));
	ASSERT_EQ(0, drop_page_cache());
	ASSERT_EQ(0, holefs_stats_clear(self->dir));
	ASSERT_EQ(0, read_all(self->fd, 8 * MB));
	large = large_fills(self->dir);
	TH_LOG("order0 %lld, larger %lld",
	       holefs_stat(self->dir, "folios_filled_order0"), large);
	EXPECT_EQ(variant->large, large > 0);
	check_punched(_metadata, self->fd, 8 * MB, 3 * MB + 5000, 70000,
		      "read after drop");
	/* Faults on a cold cache: filemap_fault's readahead. */
	ASSERT_EQ(0, drop_page_cache());
	ASSERT_EQ(0, holefs_stats_clear(self->dir));
	m = mmap(NULL, 8 * MB, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(-1, pat_mismatch(m, 3 * MB, 7, 0));
	munmap(m, 8 * MB);
	EXPECT_EQ(variant->large, large_fills(self->dir) > 0);
}

/* A punch inside a clean large folio: split, the store agrees. */
TEST_F_TIMEOUT(fol, punch_splits_clean_folio, T_TIMEOUT)
{
	const off_t hole = MB + 1000;
	const size_t hlen = 300000;

	ASSERT_EQ(0, pat_pwrite(self->fd, 2 * MB, 7, 0));
	ASSERT_EQ(0, fsync(self->fd));
	ASSERT_EQ(0, holefs_stats_clear(self->dir));
	ASSERT_EQ(0, fallocate(self->fd, PUNCH, hole, hlen));
	TH_LOG("edge folios %lld, kept %lld, dropped %lld",
	       holefs_stat(self->dir, "edge_folios_large"),
	       holefs_stat(self->dir, "edge_split_failed_kept"),
	       holefs_stat(self->dir, "edge_split_failed_dropped"));
	EXPECT_EQ(variant->large,
		  holefs_stat(self->dir, "edge_folios_large") > 0);
	EXPECT_EQ(0, holefs_stat(self->dir, "edge_split_failed_kept"));
	check_punched(_metadata, self->fd, 2 * MB, hole, hlen, "cached");
	ASSERT_EQ(0, drop_page_cache());
	check_punched(_metadata, self->fd, 2 * MB, hole, hlen, "store");
}

/*
 * A punch inside a dirty large folio that cannot be split (a pipe holds
 * one of its pages): truncate_inode_partial_folio() zeroes the covered
 * part and keeps the whole folio; the store zeroes those blocks and keeps
 * them, since the folio will write them back.  With order-0 folios the
 * whole pages of the range are freed.
 */
TEST_F_TIMEOUT(fol, punch_keeps_pinned_dirty_folio, T_TIMEOUT)
{
	const off_t hole = MB + 1000;
	const size_t hlen = 300000;
	const size_t len = 2 * MB;
	int pipefd[2];
	char *m;

	ASSERT_EQ(0, pat_pwrite(self->fd, len, 7, 0));
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	ASSERT_EQ(0, pin_page(m + MB, pipefd)) TH_LOG("vmsplice: %s",
						       strerror(errno));
	ASSERT_EQ(0, holefs_stats_clear(self->dir));
	ASSERT_EQ(0, fallocate(self->fd, PUNCH, hole, hlen));
	TH_LOG("edge folios %lld, kept %lld, blocks kept %lld, freed %lld",
	       holefs_stat(self->dir, "edge_folios_large"),
	       holefs_stat(self->dir, "edge_split_failed_kept"),
	       holefs_stat(self->dir, "punch_blocks_kept"),
	       holefs_stat(self->dir, "punch_blocks_freed"));
	if (variant->large) {
		EXPECT_LT(0, holefs_stat(self->dir, "edge_split_failed_kept"));
		EXPECT_LT(0, holefs_stat(self->dir, "punch_blocks_kept"));
		/* Every page of the kept folio keeps its block. */
		EXPECT_EQ((long long)(len / 512), file_blocks(self->fd));
	} else {
		EXPECT_EQ(0, holefs_stat(self->dir, "punch_blocks_kept"));
		EXPECT_GT((long long)(len / 512), file_blocks(self->fd));
	}
	check_punched(_metadata, self->fd, len, hole, hlen, "cached");
	munmap(m, len);
	unpin(pipefd);
	ASSERT_EQ(0, drop_page_cache());
	check_punched(_metadata, self->fd, len, hole, hlen, "store");
}

/*
 * The same at a truncate: the dirty folio across the new EOF cannot be
 * split and stays, zeroed past EOF; growing the file again reads zeros
 * there, from the cache and from the store.
 */
TEST_F_TIMEOUT(fol, truncate_keeps_pinned_dirty_folio, T_TIMEOUT)
{
	const off_t cut = MB + 1000;
	const size_t len = 2 * MB;
	int pipefd[2];
	char *m;

	ASSERT_EQ(0, pat_pwrite(self->fd, len, 7, 0));
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, m);
	ASSERT_EQ(0, pin_page(m, pipefd));
	munmap(m, len);
	ASSERT_EQ(0, holefs_stats_clear(self->dir));
	ASSERT_EQ(0, ftruncate(self->fd, cut));
	TH_LOG("edge folios %lld, kept %lld",
	       holefs_stat(self->dir, "edge_folios_large"),
	       holefs_stat(self->dir, "edge_split_failed_kept"));
	EXPECT_EQ(variant->large,
		  holefs_stat(self->dir, "edge_split_failed_kept") > 0);
	ASSERT_EQ(0, ftruncate(self->fd, len));
	check_punched(_metadata, self->fd, len, cut, len - cut, "cached");
	unpin(pipefd);
	ASSERT_EQ(0, fsync(self->fd));
	ASSERT_EQ(0, drop_page_cache());
	check_punched(_metadata, self->fd, len, cut, len - cut, "store");
}

TEST_HARNESS_MAIN
