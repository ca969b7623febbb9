// SPDX-License-Identifier: GPL-2.0
/*
 * holefs_fs - syscall-level tests of holefs as a filesystem (issue 4):
 * read/write/mmap paths, the backing store behind the page cache
 * (drop_caches + read counters), truncate, SEEK_DATA/SEEK_HOLE, ENOSPC
 * and SIGBUS at the store's size, statfs, /proc/mounts, size= parsing,
 * independent mounts, block accounting.
 *
 * Run by run_tests.sh with its fixture: holefs mounted at $HOLEFS_MNT
 * (default options).  Tests that need a particular size= mount their own
 * instances under /tmp (fixture "own", unmounted by the parent).
 */
#define _GNU_SOURCE
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "holefs_util.h"
#include "kselftest_harness.h"
#include "holefs_ksft.h"

/* Standalone (kselftest) runs: a mount of its own, see holefs_ksft.h. */
static void __attribute__((constructor)) standalone_fixture(void)
{
	holefs_ksft_fixture();
}

#define T_TIMEOUT	300	/* seconds: TCG guests are slow */

/* --- fixture "fs": one file on the runner's mount ------------------------ */

FIXTURE(fs) {
	char path[PATH_MAX];
	const char *dir;
	int fd;
};

FIXTURE_SETUP(fs)
{
	struct statfs sf;

	self->fd = -1;
	self->dir = holefs_dir();
	ASSERT_EQ(0, statfs(self->dir, &sf));
	if (sf.f_type != HOLEFS_MAGIC)
		SKIP(return, "%s is not holefs (run me through run_tests.sh)",
		     self->dir);
	snprintf(self->path, sizeof(self->path), "%s/fs.XXXXXX", self->dir);
	self->fd = mkstemp(self->path);
	ASSERT_LE(0, self->fd) TH_LOG("mkstemp: %s", strerror(errno));
}

FIXTURE_TEARDOWN(fs)
{
	if (self->fd >= 0) {
		close(self->fd);
		unlink(self->path);
	}
}

/* --- fixture "own": instances of our own, unmounted by the parent -------- */

#define OWN_MAX 2

FIXTURE(own) {
	char dir[OWN_MAX][TMPDIR_LEN];
	bool mounted[OWN_MAX];
};

FIXTURE_SETUP(own)
{
	int i;

	for (i = 0; i < OWN_MAX; i++) {
		ASSERT_NE(NULL, make_tmpdir(self->dir[i], "own"));
		self->mounted[i] = false;
	}
}

FIXTURE_TEARDOWN_PARENT(own)
{
	int i;

	for (i = 0; i < OWN_MAX; i++) {
		if (self->mounted[i] && umount(self->dir[i]))
			TH_LOG("umount %s: %s", self->dir[i], strerror(errno));
		rmdir(self->dir[i]);
	}
}

/* Mount instance @i of the "own" fixture with @opts; 0 or -errno. */
#define own_mount(self, i, opts) \
	mount_flag((self)->dir[i], &(self)->mounted[i], (opts))
#define own_umount(self, i) umount_flag((self)->dir[i], &(self)->mounted[i])

static int mount_flag(const char *dir, bool *mounted, const char *opts)
{
	int ret = holefs_mount_at(dir, opts);

	if (!ret)
		*mounted = true;
	return ret;
}

static int umount_flag(const char *dir, bool *mounted)
{
	if (umount(dir))
		return -errno;
	*mounted = false;
	return 0;
}

static int open_in(const char *dir, const char *name, int flags)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return open(path, flags, 0644);
}

static int unlink_in(const char *dir, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return unlink(path);
}

static long long free_blocks(const char *dir)
{
	struct statfs sf;

	return statfs(dir, &sf) ? -1 : (long long)sf.f_bfree;
}

/* --- data paths ----------------------------------------------------------- */

TEST_F_TIMEOUT(fs, write_read, T_TIMEOUT)
{
	char buf[100];

	/* Unaligned, crossing pages, after a hole at the start. */
	ASSERT_EQ(0, pat_pwrite(self->fd, 10000, 1, 1234));
	EXPECT_EQ(11234, file_size(self->fd));
	EXPECT_EQ(-1, check_pat(self->fd, 10000, 1, 1234));
	EXPECT_EQ(-1, check_zero(self->fd, 1234, 0));
	/* A short read at EOF, then 0 at EOF. */
	EXPECT_EQ(34, pread(self->fd, buf, sizeof(buf), 11200));
	EXPECT_EQ(-1, pat_mismatch(buf, 34, 1, 11200));
	EXPECT_EQ(0, pread(self->fd, buf, sizeof(buf), 11234));
	/* read(2) from the file position too. */
	ASSERT_EQ(1234, lseek(self->fd, 1234, SEEK_SET));
	ASSERT_EQ(100, read(self->fd, buf, 100));
	EXPECT_EQ(-1, pat_mismatch(buf, 100, 1, 1234));
	EXPECT_EQ(1334, lseek(self->fd, 0, SEEK_CUR));
}

TEST_F_TIMEOUT(fs, write_mmap_read, T_TIMEOUT)
{
	size_t len = 5 * PG + 300;
	char *p;

	ASSERT_EQ(0, pat_pwrite(self->fd, len, 2, 0));
	p = mmap(NULL, 6 * PG, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, pat_mismatch(p, len, 2, 0));
	/* The rest of the EOF page reads as zeros. */
	EXPECT_EQ(-1, nonzero_at(p + len, 6 * PG - len));
	munmap(p, 6 * PG);
}

TEST_F_TIMEOUT(fs, mmap_write_msync_read, T_TIMEOUT)
{
	size_t len = 3 * PG;
	long long mkwrite, wb, rd;
	char *p;

	ASSERT_EQ(0, ftruncate(self->fd, len));
	EXPECT_EQ(0, file_blocks(self->fd));
	ASSERT_EQ(0, holefs_stats_clear(self->dir));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	pat_fill(p, len, 3, 0);
	ASSERT_EQ(0, msync(p, len, MS_SYNC));
	mkwrite = holefs_stat(self->dir, "page_mkwrite_calls");
	wb = holefs_stat(self->dir, "writeback_pages");
	EXPECT_LE(3, mkwrite);
	EXPECT_LE(3, wb);
	/* page_mkwrite reserved one block per page. */
	EXPECT_EQ(3 * 8, file_blocks(self->fd));
	EXPECT_EQ(-1, check_pat(self->fd, len, 3, 0));
	munmap(p, len);
	/* And it is in the store. */
	ASSERT_EQ(0, holefs_stats_clear(self->dir));
	ASSERT_EQ(0, drop_page_cache());
	EXPECT_EQ(-1, check_pat(self->fd, len, 3, 0));
	rd = holefs_stat(self->dir, "pages_filled");
	EXPECT_LE(3, rd);
}

TEST_F_TIMEOUT(fs, data_survives_drop_caches, T_TIMEOUT)
{
	size_t len = 8 * PG + 123;
	long long rf, ra, filled, wb;
	char *p;

	ASSERT_EQ(0, pat_pwrite(self->fd, len, 4, 0));
	ASSERT_EQ(0, holefs_stats_clear(self->dir));
	ASSERT_EQ(0, fsync(self->fd));
	wb = holefs_stat(self->dir, "writeback_pages");
	EXPECT_EQ(9, wb);

	/* read(2) after the page cache was dropped: from the store. */
	ASSERT_EQ(0, holefs_stats_clear(self->dir));
	ASSERT_EQ(0, drop_page_cache());
	EXPECT_EQ(-1, check_pat(self->fd, len, 4, 0));
	rf = holefs_stat(self->dir, "read_folio");
	ra = holefs_stat(self->dir, "readahead_folios");
	filled = holefs_stat(self->dir, "pages_filled");
	TH_LOG("read(2): read_folio=%lld readahead_folios=%lld pages=%lld",
	       rf, ra, filled);
	/* 9 pages, each filled from the store exactly once. */
	EXPECT_EQ(9, filled);

	/* The same through a mapping. */
	ASSERT_EQ(0, holefs_stats_clear(self->dir));
	ASSERT_EQ(0, drop_page_cache());
	p = mmap(NULL, 9 * PG, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, pat_mismatch(p, len, 4, 0));
	munmap(p, 9 * PG);
	rf = holefs_stat(self->dir, "read_folio");
	ra = holefs_stat(self->dir, "readahead_folios");
	filled = holefs_stat(self->dir, "pages_filled");
	TH_LOG("mmap: read_folio=%lld readahead_folios=%lld pages=%lld",
	       rf, ra, filled);
	EXPECT_EQ(9, filled);
}

/* --- truncate ------------------------------------------------------------- */

TEST_F_TIMEOUT(fs, truncate_shrink_cached, T_TIMEOUT)
{
	ASSERT_EQ(0, pat_pwrite(self->fd, 4 * PG, 5, 0));
	EXPECT_EQ(4 * 8, file_blocks(self->fd));
	ASSERT_EQ(0, ftruncate(self->fd, 5000));
	EXPECT_EQ(5000, file_size(self->fd));
	/* Pages 2 and 3 are freed, page 1 holds the tail. */
	EXPECT_EQ(2 * 8, file_blocks(self->fd));
	EXPECT_EQ(-1, check_pat(self->fd, 5000, 5, 0));
	/* Growing again: the old tail reads as zeros, no new blocks. */
	ASSERT_EQ(0, ftruncate(self->fd, 4 * PG));
	EXPECT_EQ(-1, check_pat(self->fd, 5000, 5, 0));
	EXPECT_EQ(-1, check_zero(self->fd, 4 * PG - 5000, 5000));
	EXPECT_EQ(2 * 8, file_blocks(self->fd));
}

TEST_F_TIMEOUT(fs, truncate_shrink_store, T_TIMEOUT)
{
	/* The same, with the tail in the store only (cache dropped). */
	ASSERT_EQ(0, pat_pwrite(self->fd, 4 * PG, 6, 0));
	ASSERT_EQ(0, fsync(self->fd));
	ASSERT_EQ(0, ftruncate(self->fd, 5000));
	EXPECT_EQ(2 * 8, file_blocks(self->fd));
	ASSERT_EQ(0, drop_page_cache());
	ASSERT_EQ(0, ftruncate(self->fd, 4 * PG));
	EXPECT_EQ(-1, check_pat(self->fd, 5000, 6, 0));
	EXPECT_EQ(-1, check_zero(self->fd, 4 * PG - 5000, 5000));
	ASSERT_EQ(0, drop_page_cache());
	EXPECT_EQ(-1, check_zero(self->fd, 4 * PG - 5000, 5000));
	EXPECT_EQ(2 * 8, file_blocks(self->fd));
	/* To zero frees everything. */
	ASSERT_EQ(0, ftruncate(self->fd, 0));
	EXPECT_EQ(0, file_blocks(self->fd));
}

TEST_F_TIMEOUT(fs, truncate_grow_reads_zeros, T_TIMEOUT)
{
	ASSERT_EQ(0, ftruncate(self->fd, 1 << 20));
	EXPECT_EQ(1 << 20, file_size(self->fd));
	EXPECT_EQ(0, file_blocks(self->fd));
	EXPECT_EQ(-1, check_zero(self->fd, 1 << 20, 0));
	/* Reading a hole allocates nothing. */
	EXPECT_EQ(0, file_blocks(self->fd));
}

/* --- SEEK_DATA / SEEK_HOLE ------------------------------------------------ */

TEST_F_TIMEOUT(fs, seek_data_hole, T_TIMEOUT)
{
	int fd = self->fd;

	/* 10 pages; data in pages 2-3 and 7 (page 7 partially written). */
	ASSERT_EQ(0, ftruncate(fd, 10 * PG));
	ASSERT_EQ(0, pat_pwrite(fd, 2 * PG, 7, 2 * PG));
	ASSERT_EQ(0, pat_pwrite(fd, 10, 7, 7 * PG + 100));
	EXPECT_EQ(3 * 8, file_blocks(fd));

	EXPECT_EQ(2 * PG, lseek(fd, 0, SEEK_DATA));
	EXPECT_EQ(0, lseek(fd, 0, SEEK_HOLE));
	EXPECT_EQ(2 * PG + 5, lseek(fd, 2 * PG + 5, SEEK_DATA));
	EXPECT_EQ(4 * PG, lseek(fd, 2 * PG, SEEK_HOLE));
	EXPECT_EQ(7 * PG, lseek(fd, 4 * PG, SEEK_DATA));
	EXPECT_EQ(4 * PG + 1, lseek(fd, 4 * PG + 1, SEEK_HOLE));
	EXPECT_EQ(8 * PG, lseek(fd, 7 * PG, SEEK_HOLE));
	errno = 0;
	EXPECT_EQ(-1, lseek(fd, 8 * PG, SEEK_DATA));
	EXPECT_EQ(ENXIO, errno);
	EXPECT_EQ(9 * PG, lseek(fd, 9 * PG, SEEK_HOLE));
	/* At and past EOF: ENXIO for both. */
	errno = 0;
	EXPECT_EQ(-1, lseek(fd, 10 * PG, SEEK_HOLE));
	EXPECT_EQ(ENXIO, errno);
	errno = 0;
	EXPECT_EQ(-1, lseek(fd, 20 * PG, SEEK_DATA));
	EXPECT_EQ(ENXIO, errno);

	/* Data up to EOF: the hole is EOF itself. */
	ASSERT_EQ(0, pat_pwrite(fd, 2 * PG, 7, 8 * PG));
	EXPECT_EQ(10 * PG, lseek(fd, 7 * PG, SEEK_HOLE));
	/* The file position moved to the result. */
	EXPECT_EQ(10 * PG, lseek(fd, 0, SEEK_CUR));

	/* A file that is all hole. */
	ASSERT_EQ(0, ftruncate(fd, 0));
	ASSERT_EQ(0, ftruncate(fd, 3 * PG));
	errno = 0;
	EXPECT_EQ(-1, lseek(fd, 0, SEEK_DATA));
	EXPECT_EQ(ENXIO, errno);
	EXPECT_EQ(0, lseek(fd, 0, SEEK_HOLE));
}

/* --- write interfaces ----------------------------------------------------- */

TEST_F_TIMEOUT(fs, o_append, T_TIMEOUT)
{
	char buf[32] = { 0 };
	int fd2;

	ASSERT_EQ(5, write(self->fd, "hello", 5));
	fd2 = open(self->path, O_WRONLY | O_APPEND);
	ASSERT_LE(0, fd2);
	EXPECT_EQ(5, write(fd2, "world", 5));
	/* Seeking does not matter: every write goes to EOF. */
	EXPECT_EQ(0, lseek(fd2, 0, SEEK_SET));
	EXPECT_EQ(1, write(fd2, "!", 1));
	EXPECT_EQ(11, lseek(fd2, 0, SEEK_CUR));
	/* Linux: pwrite on an O_APPEND fd appends too (pwrite(2), BUGS). */
	EXPECT_EQ(1, pwrite(fd2, "?", 1, 0));
	close(fd2);
	EXPECT_EQ(12, file_size(self->fd));
	EXPECT_EQ(12, pread(self->fd, buf, sizeof(buf), 0));
	EXPECT_STREQ("helloworld!?", buf);
}

TEST_F_TIMEOUT(fs, readv_writev, T_TIMEOUT)
{
	static char a[100], b[5000], c[3000], r1[4096], r2[4004], r3[500];
	struct iovec w[3] = { { a, sizeof(a) }, { b, sizeof(b) },
			      { c, sizeof(c) } };
	struct iovec r[2] = { { r1, sizeof(r1) }, { r2, sizeof(r2) } };
	struct iovec rr[2] = { { r3, 7 }, { r3 + 7, 300 } };
	off_t off = 3 * PG - 7;

	pat_fill(a, sizeof(a), 8, 0);
	pat_fill(b, sizeof(b), 8, sizeof(a));
	pat_fill(c, sizeof(c), 8, sizeof(a) + sizeof(b));
	ASSERT_EQ(8100, writev(self->fd, w, 3));
	EXPECT_EQ(8100, lseek(self->fd, 0, SEEK_CUR));
	EXPECT_EQ(-1, check_pat(self->fd, 8100, 8, 0));
	ASSERT_EQ(0, lseek(self->fd, 0, SEEK_SET));
	ASSERT_EQ(8100, readv(self->fd, r, 2));
	EXPECT_EQ(-1, pat_mismatch(r1, sizeof(r1), 8, 0));
	EXPECT_EQ(-1, pat_mismatch(r2, sizeof(r2), 8, sizeof(r1)));

	/* pwritev/preadv across a page boundary, not moving the position. */
	ASSERT_EQ(0, lseek(self->fd, 0, SEEK_SET));
	pat_fill(a, sizeof(a), 9, off);
	pat_fill(b, 207, 9, off + sizeof(a));
	w[1].iov_len = 207;
	ASSERT_EQ(307, pwritev(self->fd, w, 2, off));
	EXPECT_EQ(0, lseek(self->fd, 0, SEEK_CUR));
	ASSERT_EQ(307, preadv(self->fd, rr, 2, off));
	EXPECT_EQ(-1, pat_mismatch(r3, 307, 9, off));
	EXPECT_EQ(off + 307, file_size(self->fd));
}

TEST_F_TIMEOUT(fs, pread_pwrite, T_TIMEOUT)
{
	char buf[64];

	ASSERT_EQ(0, pat_pwrite(self->fd, 10, 10, 1 << 20));
	/* The position stays where it was. */
	EXPECT_EQ(0, lseek(self->fd, 0, SEEK_CUR));
	EXPECT_EQ((1 << 20) + 10, file_size(self->fd));
	/* A hole before it: one block allocated, zeros before. */
	EXPECT_EQ(8, file_blocks(self->fd));
	EXPECT_EQ(-1, check_zero(self->fd, 1 << 20, 0));
	EXPECT_EQ(10, pread(self->fd, buf, sizeof(buf), 1 << 20));
	EXPECT_EQ(-1, pat_mismatch(buf, 10, 10, 1 << 20));
	EXPECT_EQ(4, pread(self->fd, buf, sizeof(buf), (1 << 20) + 6));
	EXPECT_EQ(0, pread(self->fd, buf, sizeof(buf), (1 << 20) + 10));
	EXPECT_EQ(0, pread(self->fd, buf, sizeof(buf), 1 << 30));
	/* Negative offsets are EINVAL. */
	errno = 0;
	EXPECT_EQ(-1, pread(self->fd, buf, 1, -1));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, pwrite(self->fd, buf, 1, -1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, lseek(self->fd, 0, SEEK_CUR));
}

TEST_F_TIMEOUT(fs, fsync_fdatasync, T_TIMEOUT)
{
	ASSERT_EQ(0, pat_pwrite(self->fd, 4 * PG, 11, 0));
	ASSERT_EQ(0, holefs_stats_clear(self->dir));
	EXPECT_EQ(0, fsync(self->fd));
	EXPECT_EQ(4, holefs_stat(self->dir, "writeback_pages"));
	/* Nothing dirty: nothing to write. */
	EXPECT_EQ(0, fsync(self->fd));
	EXPECT_EQ(4, holefs_stat(self->dir, "writeback_pages"));
	ASSERT_EQ(0, pat_pwrite(self->fd, 2 * PG, 12, PG));
	EXPECT_EQ(0, fdatasync(self->fd));
	/* With folios=large the rewrite may dirty one 4-page folio. */
	EXPECT_LE(6, holefs_stat(self->dir, "writeback_pages"));
	EXPECT_GE(large_folios(self->dir) ? 8 : 6,
		  holefs_stat(self->dir, "writeback_pages"));
	/* What was synced is what the store returns. */
	ASSERT_EQ(0, drop_page_cache());
	EXPECT_EQ(-1, check_pat(self->fd, PG, 11, 0));
	EXPECT_EQ(-1, check_pat(self->fd, 2 * PG, 12, PG));
	EXPECT_EQ(-1, check_pat(self->fd, PG, 11, 3 * PG));
}

TEST_F_TIMEOUT(fs, copy_file_range_sendfile, T_TIMEOUT)
{
	char dst[PATH_MAX + 8], *buf;
	loff_t in = 1000, out = 100;
	off_t soff = 0;
	int d;

	ASSERT_EQ(0, pat_pwrite(self->fd, 3 * PG + 5, 23, 0));
	snprintf(dst, sizeof(dst), "%s.dst", self->path);
	d = open(dst, O_CREAT | O_RDWR | O_TRUNC, 0644);
	ASSERT_LE(0, d);
	/* copy_file_range within holefs (splice through the page cache). */
	EXPECT_EQ(2 * PG, copy_file_range(self->fd, &in, d, &out, 2 * PG, 0));
	EXPECT_EQ(1000 + 2 * PG, in);
	EXPECT_EQ(100 + 2 * PG, out);
	EXPECT_EQ(-1, check_zero(d, 100, 0));
	buf = read_at(d, 2 * PG, 100);
	ASSERT_NE(NULL, buf);
	EXPECT_EQ(-1, pat_mismatch(buf, 2 * PG, 23, 1000));
	free(buf);
	/* sendfile from holefs to holefs, up to EOF. */
	ASSERT_EQ(0, ftruncate(d, 0));
	ASSERT_EQ(0, lseek(d, 0, SEEK_SET));
	EXPECT_EQ(3 * PG + 5, sendfile(d, self->fd, &soff, 8 * PG));
	EXPECT_EQ(3 * PG + 5, file_size(d));
	EXPECT_EQ(-1, check_pat(d, 3 * PG + 5, 23, 0));
	close(d);
	unlink(dst);
}

TEST_F_TIMEOUT(fs, o_trunc_frees_blocks, T_TIMEOUT)
{
	int fd;

	ASSERT_EQ(0, pat_pwrite(self->fd, 3 * PG, 24, 0));
	EXPECT_EQ(3 * 8, file_blocks(self->fd));
	fd = open(self->path, O_RDWR | O_TRUNC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, file_size(fd));
	EXPECT_EQ(0, file_blocks(fd));
	errno = 0;
	EXPECT_EQ(-1, lseek(fd, 0, SEEK_DATA));
	EXPECT_EQ(ENXIO, errno);
	close(fd);
}

/* --- mmap and SIGBUS ------------------------------------------------------ */

TEST_F_TIMEOUT(fs, mmap_past_eof_sigbus, T_TIMEOUT)
{
	char *p, c = 1;

	ASSERT_EQ(0, pat_pwrite(self->fd, 100, 13, 0));
	p = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	/* Inside the EOF page: readable, zeros past EOF. */
	EXPECT_EQ(0, probe_load(p + 99, &c));
	EXPECT_EQ(pat(13, 99), (unsigned char)c);
	EXPECT_EQ(0, probe_load(p + 200, &c));
	EXPECT_EQ(0, c);
	/* Pages wholly past EOF: SIGBUS for loads and stores. */
	EXPECT_EQ(SIGBUS, probe_load(p + PG, &c));
	EXPECT_EQ(SIGBUS, probe_load(p + 2 * PG + 5, &c));
	EXPECT_EQ(SIGBUS, probe_store(p + PG, 1));
	EXPECT_EQ(100, file_size(self->fd));

	/* A store past EOF inside the EOF page does not change the file... */
	EXPECT_EQ(0, probe_store(p + 200, 'x'));
	EXPECT_EQ(0, msync(p, PG, MS_SYNC));
	EXPECT_EQ(100, file_size(self->fd));
	/* ...and once truncate grows the file over it, it reads zero. */
	ASSERT_EQ(0, ftruncate(self->fd, PG));
	EXPECT_EQ(-1, check_zero(self->fd, PG - 100, 100));
	EXPECT_EQ(0, probe_load(p + 200, &c));
	EXPECT_EQ(0, c);
	EXPECT_EQ(SIGBUS, probe_load(p + PG, &c));
	munmap(p, 3 * PG);
}

/*
 * Bytes stored through a mapping past EOF in the EOF page are not file
 * data; when a write (in that page or beyond it) grows the file over
 * them, they must read as zeros (fsx -e).
 */
TEST_F_TIMEOUT(fs, mmap_past_eof_then_write_grows, T_TIMEOUT)
{
	static const struct { off_t at; bool sync; const char *name; } c[] = {
		{ 2 * PG, true, "write in a later page, after msync" },
		{ 2 * PG, false, "write in a later page, page dirty" },
		{ 300, true, "write in the EOF page, after msync" },
		{ 300, false, "write in the EOF page, page dirty" },
	};
	unsigned int i;
	char *p;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		ASSERT_EQ(0, ftruncate(self->fd, 0));
		ASSERT_EQ(0, pat_pwrite(self->fd, 100, 54, 0));
		p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->fd, 0);
		ASSERT_NE(MAP_FAILED, p);
		memset(p + 100, 'x', PG - 100);
		if (c[i].sync)
			ASSERT_EQ(0, msync(p, PG, MS_SYNC));
		ASSERT_EQ(1, pwrite(self->fd, "y", 1, c[i].at));
		EXPECT_EQ(-1, check_zero(self->fd, (c[i].at < PG ? c[i].at : PG)
					 - 100, 100)) TH_LOG("%s", c[i].name);
		EXPECT_EQ(-1, nonzero_at(p + 100, (c[i].at < PG ? c[i].at :
						     PG) - 100))
			TH_LOG("%s: through the mapping", c[i].name);
		munmap(p, PG);
	}
}

TEST_F_TIMEOUT(fs, truncate_under_mapping, T_TIMEOUT)
{
	char *p, c = 1;

	ASSERT_EQ(0, pat_pwrite(self->fd, 4 * PG, 52, 0));
	p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(-1, pat_mismatch(p, 4 * PG, 52, 0));
	/* Shrinking unmaps what is past EOF: SIGBUS there afterwards. */
	ASSERT_EQ(0, ftruncate(self->fd, PG + 10));
	EXPECT_EQ(0, probe_load(p + PG + 9, &c));
	EXPECT_EQ(pat(52, PG + 9), (unsigned char)c);
	EXPECT_EQ(0, probe_load(p + PG + 10, &c));
	EXPECT_EQ(0, c);
	EXPECT_EQ(SIGBUS, probe_load(p + 2 * PG, &c));
	EXPECT_EQ(SIGBUS, probe_store(p + 3 * PG, 1));
	EXPECT_EQ(2 * 8, file_blocks(self->fd));
	/* Growing back maps zeros, not the old data. */
	ASSERT_EQ(0, ftruncate(self->fd, 4 * PG));
	EXPECT_EQ(-1, nonzero_at(p + PG + 10, 3 * PG - 10));
	EXPECT_EQ(-1, pat_mismatch(p, PG + 10, 52, 0));
	munmap(p, 4 * PG);
}

TEST_F_TIMEOUT(fs, write_short_copy, T_TIMEOUT)
{
	char *buf, *got;

	/* A source buffer whose second half is not readable. */
	buf = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	pat_fill(buf, PG, 53, 0);
	ASSERT_EQ(0, mprotect(buf + PG, PG, PROT_NONE));
	/* Page aligned, so the first attempt copies a whole page... */
	EXPECT_EQ(PG, pwrite(self->fd, buf, 2 * PG, 0));
	EXPECT_EQ(PG, file_size(self->fd));
	EXPECT_EQ(-1, check_pat(self->fd, PG, 53, 0));
	/* ...unaligned, the short copy inside one page is retried. */
	EXPECT_EQ(PG - 100, pwrite(self->fd, buf + 100, 2 * PG - 100, PG));
	EXPECT_EQ(2 * PG - 100, file_size(self->fd));
	got = read_at(self->fd, PG - 100, PG);
	ASSERT_NE(NULL, got);
	EXPECT_EQ(-1, pat_mismatch(got, PG - 100, 53, 100));
	free(got);
	/* Nothing at all: EFAULT, the file unchanged. */
	errno = 0;
	EXPECT_EQ(-1, pwrite(self->fd, buf + PG, PG, 2 * PG));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(2 * PG - 100, file_size(self->fd));
	EXPECT_EQ(2 * 8, file_blocks(self->fd));
	munmap(buf, 2 * PG);
}

TEST_F_TIMEOUT(own, mmap_write_enospc_sigbus, T_TIMEOUT)
{
	const char *d = self->dir[0];
	bool large;
	int a, b;
	char *p, c = 1;

	/* 16 blocks, all taken by file a. */
	ASSERT_EQ(0, own_mount(self, 0, "size=64k"));
	a = open_in(d, "a", O_CREAT | O_RDWR);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, pat_pwrite(a, 16 * PG, 14, 0));
	EXPECT_EQ(0, free_blocks(d));

	b = open_in(d, "b", O_CREAT | O_RDWR);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, ftruncate(b, 2 * PG));
	p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, b, 0);
	ASSERT_NE(MAP_FAILED, p);
	/* Reading the hole needs no space. */
	EXPECT_EQ(0, probe_load(p, &c));
	EXPECT_EQ(0, c);
	/* Writing needs a block: SIGBUS, after a read fault and without. */
	EXPECT_EQ(SIGBUS, probe_store(p, 1));
	EXPECT_EQ(SIGBUS, probe_store(p + PG + 7, 1));
	EXPECT_EQ(0, file_blocks(b));
	EXPECT_EQ(0, free_blocks(d));
	EXPECT_EQ(-1, check_zero(b, 2 * PG, 0));
	/* The full file is intact. */
	EXPECT_EQ(-1, check_pat(a, 16 * PG, 14, 0));

	/* With space back, the same store works. */
	close(a);
	ASSERT_EQ(0, unlink_in(d, "a"));
	EXPECT_EQ(16, free_blocks(d));
	EXPECT_EQ(0, probe_store(p + PG + 7, 'y'));
	EXPECT_EQ(0, msync(p, 2 * PG, MS_SYNC));
	/*
	 * page_mkwrite reserves the blocks of the folio it dirties: one page,
	 * or with folios=large up to both.
	 */
	large = large_folios(d);
	EXPECT_LE(1 * 8, file_blocks(b));
	EXPECT_GE(large ? 2 * 8 : 1 * 8, file_blocks(b));
	EXPECT_EQ(1, pread(b, &c, 1, PG + 7));
	EXPECT_EQ('y', c);
	munmap(p, 2 * PG);
	close(b);
}

TEST_F_TIMEOUT(own, map_private_needs_no_space, T_TIMEOUT)
{
	const char *d = self->dir[0];
	char *p, *q, c = 1;
	int a, b;

	ASSERT_EQ(0, own_mount(self, 0, "size=64k"));
	a = open_in(d, "a", O_CREAT | O_RDWR);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, pat_pwrite(a, 16 * PG, 25, 0));
	b = open_in(d, "b", O_CREAT | O_RDWR);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, ftruncate(b, 2 * PG));
	/* Private stores copy on write: no block, no SIGBUS, no change. */
	p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, b, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, probe_store(p + 10, 'p'));
	EXPECT_EQ(0, probe_load(p + 10, &c));
	EXPECT_EQ('p', c);
	EXPECT_EQ(0, file_blocks(b));
	EXPECT_EQ(-1, check_zero(b, 2 * PG, 0));
	q = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, a, 0);
	ASSERT_NE(MAP_FAILED, q);
	memset(q + PG, 0, 2 * PG);
	EXPECT_EQ(-1, check_pat(a, 16 * PG, 25, 0));
	EXPECT_EQ(-1, nonzero_at(q + PG, 2 * PG));
	EXPECT_EQ(0, holefs_stat(d, "page_mkwrite_calls"));
	munmap(p, 2 * PG);
	munmap(q, 16 * PG);
	close(a);
	close(b);
}

TEST_F_TIMEOUT(own, rename_over_open_file, T_TIMEOUT)
{
	const char *d = self->dir[0];
	char from[PATH_MAX], to[PATH_MAX];
	int a, b;

	ASSERT_EQ(0, own_mount(self, 0, "size=1m"));
	a = open_in(d, "a", O_CREAT | O_RDWR);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, pat_pwrite(a, 5 * PG, 26, 0));
	b = open_in(d, "b", O_CREAT | O_RDWR);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, pat_pwrite(b, 3 * PG, 27, 0));
	close(a);
	snprintf(from, sizeof(from), "%s/a", d);
	snprintf(to, sizeof(to), "%s/b", d);
	ASSERT_EQ(0, rename(from, to));
	/* The replaced file lives on while open, blocks and all. */
	EXPECT_EQ(8, holefs_stat(d, "blocks_used"));
	ASSERT_EQ(0, drop_page_cache());
	EXPECT_EQ(-1, check_pat(b, 3 * PG, 27, 0));
	a = open(to, O_RDONLY);
	ASSERT_LE(0, a);
	EXPECT_EQ(-1, check_pat(a, 5 * PG, 26, 0));
	close(a);
	close(b);
	EXPECT_EQ(5, holefs_stat(d, "blocks_used"));
}

TEST_F_TIMEOUT(own, remount_ro_rw, T_TIMEOUT)
{
	const char *d = self->dir[0];
	int fd;

	ASSERT_EQ(0, own_mount(self, 0, "size=1m"));
	fd = open_in(d, "f", O_CREAT | O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pat_pwrite(fd, 2 * PG, 28, 0));
	close(fd);
	ASSERT_EQ(0, mount(NULL, d, NULL, MS_REMOUNT | MS_RDONLY, NULL));
	errno = 0;
	EXPECT_EQ(-1, open_in(d, "f", O_WRONLY));
	EXPECT_EQ(EROFS, errno);
	errno = 0;
	EXPECT_EQ(-1, open_in(d, "g", O_CREAT | O_RDWR));
	EXPECT_EQ(EROFS, errno);
	fd = open_in(d, "f", O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, check_pat(fd, 2 * PG, 28, 0));
	close(fd);
	ASSERT_EQ(0, mount(NULL, d, NULL, MS_REMOUNT, NULL));
	fd = open_in(d, "f", O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, pat_pwrite(fd, PG, 29, 2 * PG));
	EXPECT_EQ(3, holefs_stat(d, "blocks_used"));
	close(fd);
}

TEST_F_TIMEOUT(own, stats_file_across_umount, T_TIMEOUT)
{
	char path[PATH_MAX], buf[4096];
	struct stat st;
	int fd;

	ASSERT_EQ(0, own_mount(self, 0, "size=1m"));
	ASSERT_EQ(0, stat(self->dir[0], &st));
	snprintf(path, sizeof(path), "/sys/fs/holefs/%u:%u/stats",
		 major(st.st_dev), minor(st.st_dev));
	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_LT(0, read(fd, buf, sizeof(buf)));
	ASSERT_EQ(0, own_umount(self, 0));
	/* The directory is gone; the open file fails cleanly. */
	errno = 0;
	EXPECT_EQ(-1, access(path, F_OK));
	EXPECT_EQ(-1, pread(fd, buf, sizeof(buf), 0));
	/* A new mount (likely the same device number) gets its own. */
	ASSERT_EQ(0, own_mount(self, 0, "size=2m"));
	EXPECT_EQ(512, holefs_stat(self->dir[0], "blocks_total"));
	close(fd);
}

/* --- ENOSPC, statfs, accounting ------------------------------------------- */

TEST_F_TIMEOUT(own, write_enospc, T_TIMEOUT)
{
	const char *d = self->dir[0];
	char buf[2 * PG];
	struct statfs sf;
	long i, n = 0;
	ssize_t w = 0;
	int fd;

	ASSERT_EQ(0, own_mount(self, 0, "size=1m"));
	fd = open_in(d, "f", O_CREAT | O_RDWR);
	ASSERT_LE(0, fd);
	for (i = 0; i < 1000; i++) {
		pat_fill(buf, PG, 15, i * PG);
		w = pwrite(fd, buf, PG, i * PG);
		if (w != PG)
			break;
		n++;
	}
	EXPECT_EQ(-1, w);
	EXPECT_EQ(ENOSPC, errno);
	EXPECT_EQ(256, n);
	ASSERT_EQ(0, statfs(d, &sf));
	EXPECT_EQ(256, sf.f_blocks);
	EXPECT_EQ(0, sf.f_bfree);
	EXPECT_EQ(0, sf.f_bavail);
	/* The failed write changed nothing. */
	EXPECT_EQ(256 * PG, file_size(fd));
	EXPECT_EQ(256 * 8, file_blocks(fd));
	EXPECT_EQ(-1, check_pat(fd, 256 * PG, 15, 0));
	/* Overwriting allocated blocks still works when full... */
	pat_fill(buf, 100, 15, 10);
	EXPECT_EQ(100, pwrite(fd, buf, 100, 10));
	/* ...a write over the last block and a new one is short... */
	pat_fill(buf, 2 * PG, 15, 255 * PG);
	EXPECT_EQ(PG, pwrite(fd, buf, 2 * PG, 255 * PG));
	/* ...and one byte past the end fails. */
	errno = 0;
	EXPECT_EQ(-1, pwrite(fd, buf, 1, 256 * PG));
	EXPECT_EQ(ENOSPC, errno);
	EXPECT_EQ(256 * PG, file_size(fd));
	/* The store holds the same. */
	ASSERT_EQ(0, fsync(fd));
	ASSERT_EQ(0, drop_page_cache());
	EXPECT_EQ(-1, check_pat(fd, 256 * PG, 15, 0));

	/* Space comes back with the last reference. */
	ASSERT_EQ(0, unlink_in(d, "f"));
	EXPECT_EQ(0, free_blocks(d));
	EXPECT_EQ(256, holefs_stat(d, "blocks_used"));
	close(fd);
	EXPECT_EQ(256, free_blocks(d));
	EXPECT_EQ(0, holefs_stat(d, "blocks_used"));
	/* And can be used again. */
	fd = open_in(d, "g", O_CREAT | O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, pat_pwrite(fd, PG, 16, 0));
	close(fd);
}

TEST_F_TIMEOUT(own, statfs_totals, T_TIMEOUT)
{
	const char *d = self->dir[0];
	struct statfs sf;
	int fd;

	ASSERT_EQ(0, own_mount(self, 0, "size=1m"));
	ASSERT_EQ(0, statfs(d, &sf));
	EXPECT_EQ(HOLEFS_MAGIC, sf.f_type);
	EXPECT_EQ(PG, sf.f_bsize);
	EXPECT_EQ(256, sf.f_blocks);
	EXPECT_EQ(256, sf.f_bfree);
	EXPECT_EQ(256, sf.f_bavail);
	EXPECT_EQ(255, sf.f_namelen);
	EXPECT_EQ(256, holefs_stat(d, "blocks_total"));
	EXPECT_EQ(0, holefs_stat(d, "blocks_used"));
	EXPECT_EQ(256, holefs_stat(d, "blocks_free"));

	fd = open_in(d, "f", O_CREAT | O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pat_pwrite(fd, 10 * PG - 1, 17, 0));
	ASSERT_EQ(0, statfs(d, &sf));
	EXPECT_EQ(256, sf.f_blocks);
	EXPECT_EQ(246, sf.f_bfree);
	EXPECT_EQ(246, sf.f_bavail);
	EXPECT_EQ(10, holefs_stat(d, "blocks_used"));
	EXPECT_EQ(246, holefs_stat(d, "blocks_free"));
	EXPECT_EQ(10, holefs_stat(d, "blocks_allocated"));
	/* A sparse file costs nothing. */
	ASSERT_EQ(0, ftruncate(fd, 100 << 20));
	ASSERT_EQ(0, statfs(d, &sf));
	EXPECT_EQ(246, sf.f_bfree);
	close(fd);
}

TEST_F_TIMEOUT(own, proc_mounts_shows_size, T_TIMEOUT)
{
	static const struct { const char *opt, *shown; } c[] = {
		{ "size=1m", "size=1048576" },
		{ "size=64k", "size=65536" },
		{ "size=3g", "size=3221225472" },
		{ "size=12288", "size=12288" },
	};
	char opts[1024];
	struct statfs sf;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		ASSERT_EQ(0, own_mount(self, 0, c[i].opt));
		ASSERT_NE(NULL, mount_options(self->dir[0], opts, sizeof(opts)));
		EXPECT_TRUE(has_option(opts, c[i].shown))
			TH_LOG("-o %s: /proc/mounts has %s", c[i].opt, opts);
		/* The defaults are shown too. */
		EXPECT_TRUE(has_option(opts, "map_pages=filemap"))
			TH_LOG("%s", opts);
		EXPECT_TRUE(has_option(opts, "fault=filemap")) TH_LOG("%s", opts);
		EXPECT_TRUE(has_option(opts, "punch=locked")) TH_LOG("%s", opts);
		ASSERT_EQ(0, statfs(self->dir[0], &sf));
		EXPECT_EQ(HOLEFS_MAGIC, sf.f_type);
		ASSERT_EQ(0, own_umount(self, 0));
	}
	/* No size=: a default, also shown. */
	ASSERT_EQ(0, own_mount(self, 0, NULL));
	ASSERT_NE(NULL, mount_options(self->dir[0], opts, sizeof(opts)));
	EXPECT_NE(NULL, strstr(opts, "size=")) TH_LOG("%s", opts);
	ASSERT_EQ(0, own_umount(self, 0));
}

TEST_F_TIMEOUT(own, size_invalid_einval, T_TIMEOUT)
{
	static const char * const bad[] = {
		"abc", "0", "0k", "", "1x", "-1", "1.5m", "100", "4095",
		"k", "99999999999999999999", "18446744073709551616",
		"9223372036854775808", "8589934592g", "17179869184g",
	};
	char opt[64], mark[128], mnt_opts[1024];
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(opt, sizeof(opt), "size=%s", bad[i]);
		kmsg_mark(mark, sizeof(mark), opt);
		ret = own_mount(self, 0, opt);
		EXPECT_EQ(-EINVAL, ret) TH_LOG("mount -o %s: %s", opt,
					      strerror(-ret));
		if (!ret) {
			mount_options(self->dir[0], mnt_opts, sizeof(mnt_opts));
			TH_LOG("mounted as %s", mnt_opts);
			own_umount(self, 0);
			continue;
		}
		/* "holefs: size: ... (got '...')" or the VFS's "Bad value". */
		EXPECT_TRUE(klog_has(mark, "holefs", "size"))
			TH_LOG("no kernel message for -o %s", opt);
	}
	/* The largest accepted value mounts (the pool is only a number). */
	ASSERT_EQ(0, own_mount(self, 0, "size=9223372036854775807"));
	ASSERT_EQ(0, own_umount(self, 0));
	ASSERT_EQ(0, own_mount(self, 0, "size=4096"));
	EXPECT_EQ(1, holefs_stat(self->dir[0], "blocks_total"));
	ASSERT_EQ(0, own_umount(self, 0));
}

TEST_F_TIMEOUT(own, two_mounts_independent, T_TIMEOUT)
{
	const char *a = self->dir[0], *b = self->dir[1];
	char path[PATH_MAX];
	struct stat sa, sb;
	int fa, fb, fd;

	ASSERT_EQ(0, own_mount(self, 0, "size=1m"));
	ASSERT_EQ(0, own_mount(self, 1, "size=2m"));
	ASSERT_EQ(0, stat(a, &sa));
	ASSERT_EQ(0, stat(b, &sb));
	EXPECT_NE(sa.st_dev, sb.st_dev);
	EXPECT_EQ(256, holefs_stat(a, "blocks_total"));
	EXPECT_EQ(512, holefs_stat(b, "blocks_total"));

	fa = open_in(a, "f", O_CREAT | O_RDWR);
	ASSERT_LE(0, fa);
	ASSERT_EQ(0, pat_pwrite(fa, 10 * PG, 18, 0));
	ASSERT_EQ(0, fsync(fa));
	EXPECT_EQ(10, holefs_stat(a, "blocks_used"));
	EXPECT_EQ(10, holefs_stat(a, "writeback_pages"));
	/* b saw none of it. */
	EXPECT_EQ(0, holefs_stat(b, "blocks_used"));
	EXPECT_EQ(0, holefs_stat(b, "writeback_pages"));
	EXPECT_EQ(0, holefs_stat(b, "blocks_allocated"));
	errno = 0;
	EXPECT_EQ(-1, open_in(b, "f", O_RDONLY));
	EXPECT_EQ(ENOENT, errno);

	/* Same name in b: different data. */
	fb = open_in(b, "f", O_CREAT | O_RDWR);
	ASSERT_LE(0, fb);
	ASSERT_EQ(0, pat_pwrite(fb, 3 * PG, 19, 0));
	ASSERT_EQ(0, fsync(fb));
	EXPECT_EQ(3, holefs_stat(b, "blocks_used"));
	EXPECT_EQ(3, holefs_stat(b, "writeback_pages"));
	EXPECT_EQ(10, holefs_stat(a, "blocks_used"));
	EXPECT_EQ(10, holefs_stat(a, "writeback_pages"));

	/* Clearing a's counters leaves b's. */
	ASSERT_EQ(0, holefs_stats_clear(a));
	EXPECT_EQ(0, holefs_stat(a, "writeback_pages"));
	EXPECT_EQ(3, holefs_stat(b, "writeback_pages"));
	/* Gauges survive a clear. */
	EXPECT_EQ(10, holefs_stat(a, "blocks_used"));
	/* Only "1" clears. */
	snprintf(path, sizeof(path), "/sys/fs/holefs/%u:%u/stats_clear",
		 major(sb.st_dev), minor(sb.st_dev));
	fd = open(path, O_WRONLY);
	ASSERT_LE(0, fd);
	errno = 0;
	EXPECT_EQ(-1, write(fd, "0", 1));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
	EXPECT_EQ(3, holefs_stat(b, "writeback_pages"));

	/* Unmounting b leaves a's data alone. */
	close(fb);
	ASSERT_EQ(0, own_umount(self, 1));
	ASSERT_EQ(0, drop_page_cache());
	EXPECT_EQ(-1, check_pat(fa, 10 * PG, 18, 0));
	close(fa);
}

TEST_F_TIMEOUT(own, blocks_freed_after_rm, T_TIMEOUT)
{
	const char *d = self->dir[0];
	char path[PATH_MAX], mark[128], *p;
	int fd, i;

	ASSERT_EQ(0, own_mount(self, 0, "size=4m"));
	/* Files of every kind of allocation: write, mmap, truncate. */
	snprintf(path, sizeof(path), "%s/sub", d);
	ASSERT_EQ(0, mkdir(path, 0755));
	for (i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "%s/sub/f%d", d, i);
		fd = open(path, O_CREAT | O_RDWR, 0644);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, pat_pwrite(fd, (i + 1) * PG + i, 20, i * 3 * PG));
		close(fd);
	}
	fd = open_in(d, "m", O_CREAT | O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 4 * PG));
	p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	memset(p + PG, 0x77, 2 * PG);
	ASSERT_EQ(0, munmap(p, 4 * PG));
	ASSERT_EQ(0, ftruncate(fd, 2 * PG));
	close(fd);
	snprintf(path, sizeof(path), "%s/sub/f2", d);
	ASSERT_EQ(0, truncate(path, PG + 1));
	EXPECT_LT(0, holefs_stat(d, "blocks_used"));

	/* An open, unlinked file keeps its blocks until the last close. */
	fd = open_in(d, "open", O_CREAT | O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pat_pwrite(fd, 3 * PG, 21, 0));
	ASSERT_EQ(0, unlink_in(d, "open"));
	ASSERT_EQ(0, drop_page_cache());
	EXPECT_EQ(-1, check_pat(fd, 3 * PG, 21, 0));

	for (i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "%s/sub/f%d", d, i);
		ASSERT_EQ(0, unlink(path));
	}
	snprintf(path, sizeof(path), "%s/sub", d);
	ASSERT_EQ(0, rmdir(path));
	ASSERT_EQ(0, unlink_in(d, "m"));
	EXPECT_EQ(3, holefs_stat(d, "blocks_used"));
	close(fd);
	EXPECT_EQ(0, holefs_stat(d, "blocks_used"));
	EXPECT_EQ(1024, free_blocks(d));

	/* Unmounting then has nothing to complain about. */
	kmsg_mark(mark, sizeof(mark), "blocks_freed_after_rm");
	ASSERT_EQ(0, own_umount(self, 0));
	ASSERT_TRUE(klog_mark_found(mark));
	EXPECT_FALSE(klog_has(mark, "blocks still accounted", NULL));
}

TEST_F_TIMEOUT(own, umount_with_files_frees_all, T_TIMEOUT)
{
	const char *d = self->dir[0];
	char mark[128], path[PATH_MAX];
	int fd;

	/* Files left in place at unmount: eviction frees their blocks. */
	ASSERT_EQ(0, own_mount(self, 0, "size=1m"));
	fd = open_in(d, "keep", O_CREAT | O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pat_pwrite(fd, 20 * PG, 22, 0));
	ASSERT_EQ(0, fallocate(fd, 0, 40 * PG, 8 * PG));
	close(fd);
	/* A symlink body lives in the store too. */
	snprintf(path, sizeof(path), "%s/link", d);
	ASSERT_EQ(0, symlink("target-of-the-symlink", path));
	EXPECT_EQ(29, holefs_stat(d, "blocks_used"));
	kmsg_mark(mark, sizeof(mark), "umount_with_files");
	ASSERT_EQ(0, own_umount(self, 0));
	ASSERT_TRUE(klog_mark_found(mark));
	EXPECT_FALSE(klog_has(mark, "blocks still accounted", NULL));
	/* No message of the module at all (its prefix is "holefs: "). */
	EXPECT_FALSE(klog_has(mark, "holefs: ", NULL)) {
		char *log = klog_since(mark);

		TH_LOG("kernel log since the mark:\n%s", log ? log : "?");
		free(log);
	}
}

TEST_HARNESS_MAIN
