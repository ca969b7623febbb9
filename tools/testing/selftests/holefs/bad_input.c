// SPDX-License-Identifier: GPL-2.0
/*
 * bad_input - every invalid input holefs can get, the errno each one gets,
 * and a check that nothing changed that should not have.
 *
 * Table-driven: mount options, remount options, fallocate modes and
 * ranges, size limits (s_maxbytes is LLONG_MAX), mmap access beyond EOF,
 * running out of space in write(2) and in ->page_mkwrite, unmounting a
 * busy file system and removing the module while it is mounted.  After
 * every refused call the test checks that the file's size, st_blocks,
 * contents and the store's counters (/sys/fs/holefs/<dev>/stats) are what
 * they were, and that a refused mount left no mount and no stats
 * directory behind.
 *
 * Each test mounts its own small instances on fresh directories under
 * /tmp; the run_tests.sh fixture mount is only used to show that the
 * module cannot be removed while a file system is mounted.
 *
 * The binary is also a helper for module_busy_test.sh (lazy unmount,
 * module removal after the last close), which needs a process that holds
 * a mapping and the exact errno of umount2() and delete_module():
 *	bad_input --call umount DIR | umount-lazy DIR | rmmod NAME
 *		one call; prints "errno=NAME" (or "errno=0") and exits 0
 *	bad_input --hold-map FILE
 *		maps FILE shared, touches it, closes the fd, prints "held"
 *		and keeps the mapping until stdin reaches EOF
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/mount.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "holefs_util.h"

/* The debug kernel under TCG is slow: more than the default 30 s each. */
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 300

#ifndef FALLOC_FL_UNSHARE_RANGE
#define FALLOC_FL_UNSHARE_RANGE	0x40
#endif

#define PAGE		4096L
#define STORE_BLOCKS	16	/* size=64k */

/* --- small helpers ------------------------------------------------------ */

static const char *errno_name(int e)
{
	switch (e) {
	case 0: return "0";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EIO: return "EIO";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENODEV: return "ENODEV";
	case EISDIR: return "EISDIR";
	case EINVAL: return "EINVAL";
	case EFBIG: return "EFBIG";
	case ENOSPC: return "ENOSPC";
	case ESPIPE: return "ESPIPE";
	case EROFS: return "EROFS";
	case ENOTDIR: return "ENOTDIR";
	case ENXIO: return "ENXIO";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ENOTTY: return "ENOTTY";
	}
	return "E?";
}

/* The marker after a line of a table whose check failed. */
static const char *wrong_mark(bool ok)
{
	if (ok)
		return "";
	return "  <-- WRONG";
}

/* A fresh, empty directory under /tmp (the fixture mount is not used). */
static void make_dir(char *buf, size_t len, const char *tag)
{
	snprintf(buf, len, "/tmp/holefs-bad-%s.XXXXXX", tag);
	if (!mkdtemp(buf))
		buf[0] = '\0';
}

/* mount(2) holefs on DIR with OPTS; 0 or the errno. */
static int mount_holefs(const char *dir, const char *opts)
{
	return mount("holefs", dir, "holefs", 0, opts) ? errno : 0;
}

/* Is DIR the root of a mount (its device differs from its parent's)? */
static bool is_mountpoint(const char *dir)
{
	char parent[PATH_MAX];
	struct stat a, b;

	snprintf(parent, sizeof(parent), "%s/..", dir);
	if (stat(dir, &a) || stat(parent, &b))
		return false;
	return a.st_dev != b.st_dev;
}

/* DIR's line of /proc/self/mounts into BUF ("" if none). */
static void mount_line(const char *dir, char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/mounts", "r");
	char line[512];

	buf[0] = '\0';
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, dir))
			snprintf(buf, len, "%s", line);
	if (f)
		fclose(f);
}

/* Number of entries in /sys/fs/holefs (one per live superblock). */
static int stats_dirs(void)
{
	DIR *d = opendir("/sys/fs/holefs");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static bool unsafe_policies_allowed(void)
{
	char c = 'N';
	FILE *f = fopen("/sys/module/holefs/parameters/unsafe_policies", "r");

	if (f) {
		if (fscanf(f, " %c", &c) != 1)
			c = 'N';
		fclose(f);
	}
	return c == 'Y' || c == '1';
}

/* Fill BUF with a pattern that depends on the file offset. */
static void pattern(unsigned char *buf, size_t len, off_t off, int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)((off + i) * 7 + seed + 1) | 1;
}

/* --- a small mounted store ---------------------------------------------- */

/*
 * A holefs instance of STORE_BLOCKS blocks with one file "f" of FILE_LEN
 * bytes of pattern, written back.
 */
#define FILE_LEN	(2 * PAGE + 100)

FIXTURE(store) {
	char dir[64];
	char file[PATH_MAX];
	int fd;
	bool mounted;
};

FIXTURE_SETUP(store)
{
	unsigned char buf[FILE_LEN];

	self->fd = -1;
	self->mounted = false;
	make_dir(self->dir, sizeof(self->dir), "store");
	ASSERT_NE('\0', self->dir[0]);
	ASSERT_EQ(0, mount_holefs(self->dir, "size=64k")) {
		TH_LOG("mount size=64k: %s (is holefs loaded?)", strerror(errno));
	}
	self->mounted = true;
	snprintf(self->file, sizeof(self->file), "%s/f", self->dir);
	self->fd = open(self->file, O_RDWR | O_CREAT, 0644);
	ASSERT_LE(0, self->fd);
	pattern(buf, sizeof(buf), 0, 0);
	ASSERT_EQ((ssize_t)sizeof(buf), pwrite(self->fd, buf, sizeof(buf), 0));
	ASSERT_EQ(0, fsync(self->fd));
	probe_install();
}

FIXTURE_TEARDOWN(store)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->mounted && umount(self->dir))
		TH_LOG("umount %s: %s", self->dir, strerror(errno));
	rmdir(self->dir);
}

/* What must not change when a call is refused. */
struct snapshot {
	off_t size;
	blkcnt_t blocks;
	long long used;
	unsigned long sum;
};

static unsigned long content_sum(int fd, off_t size)
{
	unsigned char buf[4096];
	unsigned long sum = 0;
	off_t off;
	ssize_t n, i;

	for (off = 0; off < size; off += n) {
		n = pread(fd, buf, sizeof(buf), off);
		if (n <= 0)
			return (unsigned long)-1;
		for (i = 0; i < n; i++)
			sum = sum * 31 + buf[i] + (unsigned long)(off + i);
	}
	return sum;
}

static void snap(int fd, const char *path, struct snapshot *s)
{
	struct stat st;

	memset(s, 0, sizeof(*s));
	if (fstat(fd, &st))
		return;
	s->size = st.st_size;
	s->blocks = st.st_blocks;
	s->used = holefs_stat(path, "blocks_used");
	s->sum = content_sum(fd, st.st_size);
}

/* The same file: size, st_blocks, contents. */
static bool same_file(const struct snapshot *a, const struct snapshot *b)
{
	return a->size == b->size && a->blocks == b->blocks && a->sum == b->sum;
}

/* The same file, and the same store usage. */
static bool same(const struct snapshot *a, const struct snapshot *b)
{
	return same_file(a, b) && a->used == b->used;
}

/* --- mount options ------------------------------------------------------ */

struct mount_case {
	const char *opts;
	int err;		/* expected errno, 0 = mounts */
	bool is_unsafe;		/* EPERM unless unsafe_policies=1 */
	long long blocks;	/* statfs f_blocks when it mounts, or -1 */
};

static const struct mount_case mount_cases[] = {
	{ "bogus=1", EINVAL },
	{ "bogus", EINVAL },
	{ "size", EINVAL },
	{ "size=", EINVAL },
	{ "size=abc", EINVAL },
	{ "size=12x", EINVAL },
	{ "size=1kk", EINVAL },
	{ "size=k", EINVAL },
	{ "size=-1", EINVAL },
	{ "size=+4096", EINVAL },
	{ "size= 4096", EINVAL },
	{ "size=0x1000", EINVAL },
	{ "size=0", EINVAL },
	{ "size=0k", EINVAL },
	{ "size=1", EINVAL },
	{ "size=4095", EINVAL },
	{ "size=18446744073709551616", EINVAL },	/* 2^64 */
	{ "size=9223372036854775808", EINVAL },		/* 2^63 > i64 max */
	{ "size=8589934592g", EINVAL },			/* 2^63 */
	{ "size=17179869184g", EINVAL },		/* 2^64: u64 overflow */
	{ "size=99999999999999999999999999k", EINVAL },
	{ "size=64k,size=abc", EINVAL },
	{ "map_pages=", EINVAL },
	{ "map_pages=bogus", EINVAL },
	{ "map_pages=FILEMAP", EINVAL },
	{ "map_pages=filemap ", EINVAL },
	{ "fault=locked", EINVAL },
	{ "fault=", EINVAL },
	{ "punch=filemap", EINVAL },
	{ "punch=", EINVAL },
	{ "punch_delay_us=", EINVAL },
	{ "punch_delay_us=-1", EINVAL },
	{ "punch_delay_us=1.5", EINVAL },
	{ "punch_delay_us=10000001", EINVAL },
	{ "punch_delay_us=99999999999999999999", EINVAL },
	{ "truncate_delay_us=", EINVAL },
	{ "truncate_delay_us=-1", EINVAL },
	{ "truncate_delay_us=10000001", EINVAL },
	{ "map_pages=locked", EPERM, true },
	{ "fault=unlocked", EPERM, true },
	{ "punch=unlocked", EPERM, true },
	{ "size=64k,punch=unlocked", EPERM, true },
	/* The boundaries, accepted. */
	{ "size=4096", 0, false, 1 },
	{ "size=4k", 0, false, 1 },
	{ "size=8191", 0, false, 1 },
	{ "size=1M", 0, false, 256 },
	{ "size=9223372036854775807", 0, false, 2251799813685247 },
	{ "size=8589934591g", 0, false, 2251799813423104 },
	{ "punch_delay_us=0", 0, false, -1 },
	{ "punch_delay_us=10000000", 0, false, -1 },
	{ "truncate_delay_us=0", 0, false, -1 },
	{ "truncate_delay_us=10000000", 0, false, -1 },
	{ "map_pages=trylock,map_pages=off,fault=filemap,punch=locked", 0, false, -1 },
	{ "", 0, false, -1 },
};

TEST(bad_mount_options)
{
	bool unsafe_ok = unsafe_policies_allowed();
	char dir[64];
	size_t i;
	int failures = 0;

	make_dir(dir, sizeof(dir), "opts");
	ASSERT_NE('\0', dir[0]);
	for (i = 0; i < ARRAY_SIZE(mount_cases); i++) {
		const struct mount_case *c = &mount_cases[i];
		int want = c->is_unsafe && unsafe_ok ? 0 : c->err;
		int before = stats_dirs();
		int got = mount_holefs(dir, c->opts);
		bool mounted = is_mountpoint(dir);
		bool ok = got == want && mounted == (got == 0);

		if (got == 0 && c->blocks >= 0) {
			struct statfs sf;

			ok &= !statfs(dir, &sf) && (long long)sf.f_blocks == c->blocks;
		}
		if (got == 0) {
			ok &= stats_dirs() == before + 1;
			ok &= !umount(dir);
		}
		ok &= stats_dirs() == before;
		ksft_print_msg("mount -o '%s': %s (want %s)%s\n", c->opts,
			       errno_name(got), errno_name(want),
			       ok ? "" : "  <-- WRONG");
		failures += !ok;
		while (is_mountpoint(dir) && !umount(dir))
			;
	}
	rmdir(dir);
	EXPECT_EQ(0, failures);
}

/*
 * Remount: bad options are refused, and so is any option that would change
 * what the file system was mounted with (the options are fixed for its
 * life); repeating them, as /proc/mounts shows them, is accepted.  Nothing
 * changes either way.
 */
TEST(bad_remount_options)
{
	static const struct { const char *opts; int err; } cases[] = {
		{ "bogus=1", EINVAL },
		{ "size=0", EINVAL },
		{ "size=abc", EINVAL },
		{ "map_pages=bogus", EINVAL },
		{ "punch_delay_us=10000001", EINVAL },
		{ "size=1m", EINVAL },		/* a change: refused */
		{ "map_pages=off", EINVAL },
		{ "map_pages=trylock", EINVAL },
		{ "fault=filemap,map_pages=off", EINVAL },
		{ "punch_delay_us=1", EINVAL },
		{ "size=64k", 0 },		/* the same value: accepted */
		{ "map_pages=filemap", 0 },
		{ "size=65536,map_pages=filemap,fault=filemap,punch=locked,punch_delay_us=0", 0 },
		{ "", 0 },
	};
	char dir[64], mounts_before[512] = "", mounts_after[512] = "";
	struct statfs sf;
	size_t i;
	int failures = 0;

	make_dir(dir, sizeof(dir), "remount");
	ASSERT_NE('\0', dir[0]);
	ASSERT_EQ(0, mount_holefs(dir, "size=64k"));
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int got;
		bool ok;

		mount_line(dir, mounts_before, sizeof(mounts_before));
		got = 0;
		if (mount("holefs", dir, "holefs", MS_REMOUNT, cases[i].opts))
			got = errno;
		mount_line(dir, mounts_after, sizeof(mounts_after));
		ok = got == cases[i].err && !strcmp(mounts_before, mounts_after) &&
		     !statfs(dir, &sf) && sf.f_blocks == STORE_BLOCKS;
		ksft_print_msg("mount -o remount,'%s': %s (want %s)%s\n",
			       cases[i].opts, errno_name(got),
			       errno_name(cases[i].err), wrong_mark(ok));
		if (!ok)
			ksft_print_msg("  before: %s  after: %s", mounts_before,
				       mounts_after);
		failures += !ok;
	}
	EXPECT_EQ(0, umount(dir));
	rmdir(dir);
	EXPECT_EQ(0, failures);
}

/*
 * A refused remount says why in the fs_context log, which the new mount API
 * hands to the caller: read(2) on the fspick() descriptor.
 */
TEST(remount_change_message)
{
	char dir[64], msg[512] = "", line[512];
	ssize_t n;
	int fd;

	make_dir(dir, sizeof(dir), "remount-msg");
	ASSERT_NE('\0', dir[0]);
	ASSERT_EQ(0, mount_holefs(dir, "size=64k,map_pages=off"));
	fd = syscall(__NR_fspick, AT_FDCWD, dir, FSPICK_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, syscall(__NR_fsconfig, fd, FSCONFIG_SET_STRING, "size",
			     "64k", 0));
	errno = 0;
	EXPECT_EQ(-1, syscall(__NR_fsconfig, fd, FSCONFIG_SET_STRING,
			      "map_pages", "filemap", 0));
	EXPECT_EQ(EINVAL, errno);
	n = read(fd, msg, sizeof(msg) - 1);
	msg[n > 0 ? n : 0] = '\0';
	ksft_print_msg("fs_context log: %s\n", msg);
	EXPECT_NE(NULL, strstr(msg, "map_pages"));
	EXPECT_NE(NULL, strstr(msg, "remount cannot change"));
	close(fd);
	mount_line(dir, line, sizeof(line));
	EXPECT_NE(NULL, strstr(line, "map_pages=off"));
	EXPECT_EQ(0, umount(dir));
	rmdir(dir);
}

/* --- fallocate ---------------------------------------------------------- */

enum fd_kind { FD_RW, FD_RDONLY, FD_WRONLY, FD_APPEND, FD_PATH, FD_DIR };

static const char *const fd_kind_name[] = {
	"O_RDWR", "O_RDONLY", "O_WRONLY", "O_APPEND", "O_PATH", "directory",
};

struct falloc_case {
	const char *what;
	int mode;
	long long off, len;
	enum fd_kind fd;
	int err;
};

#define PH	(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)
#define ZR	FALLOC_FL_ZERO_RANGE
#define KS	FALLOC_FL_KEEP_SIZE

static const struct falloc_case falloc_cases[] = {
	{ "negative offset", 0, -1, PAGE, FD_RW, EINVAL },
	{ "negative offset, punch", PH, -PAGE, PAGE, FD_RW, EINVAL },
	{ "zero length", 0, 0, 0, FD_RW, EINVAL },
	{ "zero length, punch", PH, 0, 0, FD_RW, EINVAL },
	{ "negative length", 0, 0, -PAGE, FD_RW, EINVAL },
	{ "negative length, zero range", ZR, PAGE, -1, FD_RW, EINVAL },
	{ "offset + len overflows", 0, LLONG_MAX, 2, FD_RW, EFBIG },
	{ "offset + len overflows, punch", PH, LLONG_MAX - 10, 100, FD_RW, EFBIG },
	{ "offset + len overflows, zero range", ZR, LLONG_MAX / 2 + 1, LLONG_MAX / 2 + 1, FD_RW, EFBIG },
	{ "punch without KEEP_SIZE", FALLOC_FL_PUNCH_HOLE, 0, PAGE, FD_RW, EOPNOTSUPP },
	{ "punch | zero range", PH | ZR, 0, PAGE, FD_RW, EOPNOTSUPP },
	{ "COLLAPSE_RANGE", FALLOC_FL_COLLAPSE_RANGE, 0, PAGE, FD_RW, EOPNOTSUPP },
	{ "COLLAPSE_RANGE | KEEP_SIZE", FALLOC_FL_COLLAPSE_RANGE | KS, 0, PAGE, FD_RW, EOPNOTSUPP },
	{ "INSERT_RANGE", FALLOC_FL_INSERT_RANGE, 0, PAGE, FD_RW, EOPNOTSUPP },
	{ "UNSHARE_RANGE", FALLOC_FL_UNSHARE_RANGE, 0, PAGE, FD_RW, EOPNOTSUPP },
	{ "NO_HIDE_STALE", FALLOC_FL_NO_HIDE_STALE, 0, PAGE, FD_RW, EOPNOTSUPP },
	{ "unknown mode bit 0x80", 0x80, 0, PAGE, FD_RW, EOPNOTSUPP },
	{ "all mode bits", -1, 0, PAGE, FD_RW, EOPNOTSUPP },
	{ "read-only fd", 0, 0, PAGE, FD_RDONLY, EBADF },
	{ "read-only fd, punch", PH, 0, PAGE, FD_RDONLY, EBADF },
	{ "read-only fd, zero range", ZR, 0, PAGE, FD_RDONLY, EBADF },
	{ "O_PATH fd", 0, 0, PAGE, FD_PATH, EBADF },
	/* A directory cannot be opened for writing: EBADF comes first. */
	{ "directory", 0, 0, PAGE, FD_DIR, EBADF },
	{ "directory, punch", PH, 0, PAGE, FD_DIR, EBADF },
	/* The store has 16 blocks, 3 of them used by the file. */
	{ "allocate beyond capacity", 0, 0, 1 << 20, FD_RW, ENOSPC },
	{ "allocate beyond capacity, KEEP_SIZE", KS, 3 * PAGE, 1 << 20, FD_RW, ENOSPC },
	{ "allocate one block too many", 0, 3 * PAGE, 14 * PAGE, FD_RW, ENOSPC },
	{ "zero range beyond capacity", ZR, 0, 1 << 20, FD_RW, ENOSPC },
	{ "zero range beyond capacity, KEEP_SIZE", ZR | KS, PAGE, 1 << 20, FD_RW, ENOSPC },
	{ "allocate beyond capacity, O_WRONLY", 0, 0, 1 << 20, FD_WRONLY, ENOSPC },
	/* Accepted, and change nothing. */
	{ "punch beyond EOF", PH, 1 << 20, PAGE, FD_RW, 0 },
	{ "punch ending at s_maxbytes", PH, LLONG_MAX - PAGE, PAGE, FD_RW, 0 },
	{ "allocate over allocated blocks, KEEP_SIZE", KS, 0, FILE_LEN, FD_RW, 0 },
	{ "allocate within the file", 0, 100, PAGE, FD_RW, 0 },
	{ "allocate, O_APPEND", 0, 0, PAGE, FD_APPEND, 0 },
};

static int open_kind(const char *dir, const char *file, enum fd_kind k)
{
	switch (k) {
	case FD_RW: return open(file, O_RDWR);
	case FD_RDONLY: return open(file, O_RDONLY);
	case FD_WRONLY: return open(file, O_WRONLY);
	case FD_APPEND: return open(file, O_WRONLY | O_APPEND);
	case FD_PATH: return open(file, O_PATH);
	case FD_DIR: return open(dir, O_RDONLY | O_DIRECTORY);
	}
	return -1;
}

TEST_F(store, fallocate)
{
	struct snapshot before, after;
	size_t i;
	int failures = 0;

	snap(self->fd, self->file, &before);
	ASSERT_EQ(FILE_LEN, before.size);
	ASSERT_EQ(3, before.used);
	for (i = 0; i < ARRAY_SIZE(falloc_cases); i++) {
		const struct falloc_case *c = &falloc_cases[i];
		int fd = open_kind(self->dir, self->file, c->fd);
		int got;
		bool ok;

		ASSERT_LE(0, fd) {
			TH_LOG("open %s: %s", fd_kind_name[c->fd], strerror(errno));
		}
		got = fallocate(fd, c->mode, c->off, c->len) ? errno : 0;
		close(fd);
		snap(self->fd, self->file, &after);
		ok = got == c->err && same(&before, &after);
		ksft_print_msg("fallocate %s (mode 0x%x, %lld, %lld, %s): %s (want %s)%s\n",
			       c->what, c->mode, c->off, c->len,
			       fd_kind_name[c->fd], errno_name(got),
			       errno_name(c->err), ok ? "" : "  <-- WRONG");
		if (!same(&before, &after))
			ksft_print_msg("  changed: size %lld -> %lld, st_blocks %lld -> %lld, blocks_used %lld -> %lld, contents %s\n",
				       (long long)before.size, (long long)after.size,
				       (long long)before.blocks, (long long)after.blocks,
				       before.used, after.used,
				       before.sum == after.sum ? "same" : "CHANGED");
		failures += !ok;
		before = after;	/* report each change once */
	}
	EXPECT_EQ(0, failures);
	EXPECT_EQ(3, holefs_stat(self->file, "blocks_used"));
}

/*
 * The largest offsets: s_maxbytes is LLONG_MAX.  A block at the very end,
 * a size of LLONG_MAX, writes that cross it.
 */
TEST_F(store, maxbytes)
{
	unsigned char buf[2] = { 0x5a, 0x5a }, c = 0;
	struct snapshot before, after;
	struct stat st;
	off_t last = LLONG_MAX - PAGE + 1;	/* the last page */
	int ro;

	snap(self->fd, self->file, &before);
	/*
	 * A block in the very last page, KEEP_SIZE: size unchanged.  The
	 * range can reach LLONG_MAX but not cover the page's last byte, so
	 * only truncate can free that block (punch frees whole pages).
	 */
	EXPECT_EQ(-1, fallocate(self->fd, KS, last, PAGE));
	EXPECT_EQ(EFBIG, errno);
	ASSERT_EQ(0, fallocate(self->fd, KS, last, PAGE - 1));
	ASSERT_EQ(0, fstat(self->fd, &st));
	EXPECT_EQ(FILE_LEN, st.st_size);
	EXPECT_EQ(before.blocks + 8, st.st_blocks);
	EXPECT_EQ(4, holefs_stat(self->file, "blocks_used"));
	/* SEEK_DATA beyond EOF: ENXIO even though a block is there. */
	EXPECT_EQ(-1, lseek(self->fd, 3 * PAGE, SEEK_DATA));
	EXPECT_EQ(ENXIO, errno);
	EXPECT_EQ(-1, lseek(self->fd, -1, SEEK_DATA));
	EXPECT_EQ(ENXIO, errno);
	EXPECT_EQ(-1, lseek(self->fd, -1, SEEK_HOLE));
	EXPECT_EQ(ENXIO, errno);
	/* Punching what can be punched there frees nothing. */
	EXPECT_EQ(0, fallocate(self->fd, PH, last, PAGE - 1));
	EXPECT_EQ(4, holefs_stat(self->file, "blocks_used"));

	/* Size LLONG_MAX by ftruncate; a negative size is EINVAL. */
	EXPECT_EQ(-1, ftruncate(self->fd, -1));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, ftruncate(self->fd, LLONG_MAX));
	ASSERT_EQ(0, fstat(self->fd, &st));
	EXPECT_EQ(LLONG_MAX, st.st_size);
	EXPECT_EQ(4, holefs_stat(self->file, "blocks_used"));
	EXPECT_EQ(last, lseek(self->fd, 3 * PAGE, SEEK_DATA));
	EXPECT_EQ(3 * PAGE, lseek(self->fd, 3 * PAGE, SEEK_HOLE));
	EXPECT_EQ(LLONG_MAX, lseek(self->fd, last, SEEK_HOLE));
	/*
	 * The last byte can be written; an I/O whose end overflows loff_t is
	 * EINVAL (rw_verify_area), before holefs sees it.
	 */
	EXPECT_EQ(-1, pwrite(self->fd, buf, 2, LLONG_MAX - 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, pwrite(self->fd, buf, 1, LLONG_MAX));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(1, pwrite(self->fd, buf, 1, LLONG_MAX - 1));
	EXPECT_EQ(1, pread(self->fd, &c, 1, LLONG_MAX - 1));
	EXPECT_EQ(0x5a, c);
	EXPECT_EQ(-1, pread(self->fd, &c, 1, LLONG_MAX));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(4, holefs_stat(self->file, "blocks_used"));
	/* Back to the original size: the far block goes, the data stays. */
	ASSERT_EQ(0, ftruncate(self->fd, FILE_LEN));
	snap(self->fd, self->file, &after);
	EXPECT_TRUE(same(&before, &after)) {
		TH_LOG("size %lld, st_blocks %lld, blocks_used %lld, contents %s",
		       (long long)after.size, (long long)after.blocks,
		       after.used, before.sum == after.sum ? "same" : "CHANGED");
	}
	/* ftruncate on a read-only fd: EINVAL (do_ftruncate). */
	ro = open(self->file, O_RDONLY);
	ASSERT_LE(0, ro);
	EXPECT_EQ(-1, ftruncate(ro, 0));
	EXPECT_EQ(EINVAL, errno);
	close(ro);
	snap(self->fd, self->file, &after);
	EXPECT_TRUE(same(&before, &after));
}

/* --- mmap beyond EOF ---------------------------------------------------- */

TEST_F(store, mmap_beyond_eof)
{
	struct snapshot before, after;
	unsigned char *p, *q, c = 0xff;
	unsigned char expect[FILE_LEN];
	long eof_page = FILE_LEN / PAGE;	/* page 2 holds EOF */
	int i;

	pattern(expect, sizeof(expect), 0, 0);
	snap(self->fd, self->file, &before);
	/* Mapping beyond EOF is allowed; touching whole pages past it is not. */
	p = mmap(NULL, 6 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, probe_load(p + FILE_LEN - 1, &c));
	EXPECT_EQ(expect[FILE_LEN - 1], c);
	/* The rest of the EOF page reads zeros. */
	EXPECT_EQ(0, probe_load(p + (eof_page + 1) * PAGE - 1, &c));
	EXPECT_EQ(0, c);
	for (i = eof_page + 1; i < 6; i++) {
		EXPECT_EQ(SIGBUS, probe_load(p + i * PAGE, &c)) {
			TH_LOG("load from page %d beyond EOF", i);
		}
		EXPECT_EQ(SIGBUS, probe_store(p + i * PAGE + 10, 0x77)) {
			TH_LOG("store to page %d beyond EOF", i);
		}
	}
	/* A mapping that starts beyond EOF. */
	q = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, self->fd, 8 * PAGE);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_EQ(SIGBUS, probe_load(q, &c));
	munmap(q, PAGE);
	/* MAP_PRIVATE: the same, and a store beyond EOF too. */
	q = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, self->fd, 0);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_EQ(SIGBUS, probe_load(q + 3 * PAGE, &c));
	EXPECT_EQ(SIGBUS, probe_store(q + 3 * PAGE, 1));
	munmap(q, 4 * PAGE);
	/* Nothing changed: no size, no block, no data. */
	snap(self->fd, self->file, &after);
	EXPECT_TRUE(same(&before, &after));

	/*
	 * A store within the EOF page but past EOF is allowed, and must not
	 * become file data: after writeback it is not in the file, and when
	 * the file grows (truncate, write, fallocate) the gap reads zeros.
	 */
	EXPECT_EQ(0, probe_store(p + FILE_LEN + 10, 0xee));
	EXPECT_EQ(0, msync(p, 6 * PAGE, MS_SYNC));
	snap(self->fd, self->file, &after);
	EXPECT_TRUE(same(&before, &after));
	munmap(p, 6 * PAGE);
}

/*
 * Junk stored through a mapping past EOF must read as zeros once the
 * file grows over it, whichever way it grows.
 */
static const char *const grow_name[] = { "ftruncate", "pwrite", "fallocate" };

static void grow_over_junk(struct __test_metadata *_metadata, int fd, int how)
{
	unsigned char *p, c = 0;
	off_t junk = FILE_LEN + 10;
	int sig;

	p = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	sig = probe_store(p + junk, 0xee);
	ASSERT_EQ(0, sig);
	ASSERT_EQ(0, msync(p, 3 * PAGE, MS_SYNC));
	switch (how) {
	case 0:
		ASSERT_EQ(0, ftruncate(fd, 3 * PAGE));
		break;
	case 1:
		c = 0x11;
		ASSERT_EQ(1, pwrite(fd, &c, 1, 3 * PAGE - 1));
		break;
	case 2:
		ASSERT_EQ(0, fallocate(fd, 0, FILE_LEN, PAGE));
		break;
	}
	c = 0xff;
	ASSERT_EQ(1, pread(fd, &c, 1, junk));
	EXPECT_EQ(0, c) {
		TH_LOG("after growing by %s, the byte stored past the old EOF through a mapping reads 0x%02x (pread)",
		       grow_name[how], c);
	}
	EXPECT_EQ(0, p[junk]) {
		TH_LOG("after growing by %s, the byte stored past the old EOF reads 0x%02x (mapping)",
		       grow_name[how], p[junk]);
	}
	munmap(p, 3 * PAGE);
	/* And from the store. */
	ASSERT_EQ(0, fsync(fd));
	ASSERT_EQ(0, posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED));
	c = 0xff;
	ASSERT_EQ(1, pread(fd, &c, 1, junk));
	EXPECT_EQ(0, c) {
		TH_LOG("after growing by %s and writeback, the byte stored past the old EOF reads 0x%02x from the store",
		       grow_name[how], c);
	}
}

TEST_F(store, eof_junk_then_ftruncate)
{
	grow_over_junk(_metadata, self->fd, 0);
}

TEST_F(store, eof_junk_then_pwrite)
{
	grow_over_junk(_metadata, self->fd, 1);
}

TEST_F(store, eof_junk_then_fallocate)
{
	grow_over_junk(_metadata, self->fd, 2);
}

/* --- running out of space ------------------------------------------------ */

/* write(2): a short write up to the last free block, then ENOSPC. */
TEST_F(store, enospc_write)
{
	static unsigned char buf[20 * PAGE], back[20 * PAGE];
	char path[PATH_MAX];
	struct snapshot f_before, f_after;
	struct statfs sf;
	struct stat st;
	ssize_t n;
	int fd;

	snap(self->fd, self->file, &f_before);
	snprintf(path, sizeof(path), "%s/g", self->dir);
	fd = open(path, O_RDWR | O_CREAT, 0644);
	ASSERT_LE(0, fd);
	/* 13 blocks are free; start mid-page so the short count is odd. */
	pattern(buf, sizeof(buf), 1000, 3);
	n = write(fd, buf, 0);
	EXPECT_EQ(0, n);
	ASSERT_EQ(1000, lseek(fd, 1000, SEEK_SET));
	n = write(fd, buf, sizeof(buf));
	EXPECT_EQ(13 * PAGE - 1000, n);
	n = write(fd, buf, sizeof(buf));
	EXPECT_EQ(-1, n);
	EXPECT_EQ(ENOSPC, errno);
	/* pwrite into a hole beyond: ENOSPC too; nothing changes. */
	EXPECT_EQ(-1, pwrite(fd, buf, 1, 40 * PAGE));
	EXPECT_EQ(ENOSPC, errno);
	ASSERT_EQ(0, fstat(fd, &st));
	EXPECT_EQ(13 * PAGE, st.st_size);
	EXPECT_EQ(13 * 8, st.st_blocks);
	EXPECT_EQ(STORE_BLOCKS, holefs_stat(path, "blocks_used"));
	EXPECT_EQ(0, holefs_stat(path, "blocks_free"));
	/* Overwriting allocated blocks still works when the store is full. */
	EXPECT_EQ(PAGE, pwrite(fd, buf, PAGE, 1000));
	/* The data that was acknowledged is there, from the store too. */
	ASSERT_EQ(0, fsync(fd));
	ASSERT_EQ(0, posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED));
	memset(back, 0xff, sizeof(back));
	ASSERT_EQ(13 * PAGE - 1000, pread(fd, back, sizeof(back), 1000));
	EXPECT_EQ(0, memcmp(back, buf, PAGE));
	EXPECT_EQ(0, memcmp(back + PAGE, buf + PAGE, 13 * PAGE - 1000 - PAGE));
	/* The other file is untouched. */
	snap(self->fd, self->file, &f_after);
	EXPECT_EQ(f_before.sum, f_after.sum);
	EXPECT_EQ(f_before.size, f_after.size);
	/* statfs agrees. */
	ASSERT_EQ(0, fstatfs(fd, &sf));
	EXPECT_EQ(0, (long)sf.f_bfree);
	close(fd);
	ASSERT_EQ(0, unlink(path));
	EXPECT_EQ(3, holefs_stat(self->file, "blocks_used"));
}

/* A store through a shared mapping into a hole of a full store: SIGBUS. */
TEST_F(store, enospc_page_mkwrite)
{
	char path[PATH_MAX], fill[PATH_MAX];
	static unsigned char buf[13 * PAGE];
	struct snapshot g_before, g_after, f_before, f_after;
	unsigned char *p, *q, c = 0xff;
	int fd, ffd;

	snap(self->fd, self->file, &f_before);
	/* Use up the store. */
	snprintf(fill, sizeof(fill), "%s/fill", self->dir);
	ffd = open(fill, O_RDWR | O_CREAT, 0644);
	ASSERT_LE(0, ffd);
	ASSERT_EQ((ssize_t)sizeof(buf), pwrite(ffd, buf, sizeof(buf), 0));
	ASSERT_EQ(0, holefs_stat(fill, "blocks_free"));
	/* A sparse file. */
	snprintf(path, sizeof(path), "%s/sparse", self->dir);
	fd = open(path, O_RDWR | O_CREAT, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 2 * PAGE));
	snap(fd, path, &g_before);
	p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	/* Reading a hole needs no block. */
	EXPECT_EQ(0, probe_load(p, &c));
	EXPECT_EQ(0, c);
	EXPECT_EQ(SIGBUS, probe_store(p, 0x42));
	EXPECT_EQ(SIGBUS, probe_store(p + PAGE + 7, 0x42));
	EXPECT_EQ(0, probe_load(p, &c));
	EXPECT_EQ(0, c);
	snap(fd, path, &g_after);
	EXPECT_TRUE(same(&g_before, &g_after)) {
		TH_LOG("sparse file changed: st_blocks %lld -> %lld, blocks_used %lld -> %lld",
		       (long long)g_before.blocks, (long long)g_after.blocks,
		       g_before.used, g_after.used);
	}
	EXPECT_EQ(0, msync(p, 2 * PAGE, MS_SYNC));
	ASSERT_EQ(0, posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED));
	snap(fd, path, &g_after);
	EXPECT_TRUE(same(&g_before, &g_after));
	/* A private mapping copies on write: no block needed, no SIGBUS. */
	q = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_EQ(0, probe_store(q, 0x42));
	munmap(q, PAGE);
	/* Free one block: the store then succeeds and reaches the store. */
	ASSERT_EQ(0, fallocate(ffd, PH, 0, PAGE));
	EXPECT_EQ(1, holefs_stat(fill, "blocks_free"));
	EXPECT_EQ(0, probe_store(p + 5, 0x42));
	EXPECT_EQ(0, msync(p, 2 * PAGE, MS_SYNC));
	EXPECT_EQ(0, holefs_stat(fill, "blocks_free"));
	/* The second page still has no block. */
	EXPECT_EQ(SIGBUS, probe_store(p + PAGE, 0x43));
	munmap(p, 2 * PAGE);
	ASSERT_EQ(0, posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED));
	c = 0;
	ASSERT_EQ(1, pread(fd, &c, 1, 5));
	EXPECT_EQ(0x42, c);
	close(fd);
	close(ffd);
	snap(self->fd, self->file, &f_after);
	EXPECT_TRUE(same_file(&f_before, &f_after)) {
		TH_LOG("the first file changed");
	}
	unlink(path);
	unlink(fill);
	EXPECT_EQ(3, holefs_stat(self->file, "blocks_used"));
}

/* --- busy file systems and module --------------------------------------- */

/* umount with an open file, a mapping, a cwd inside: EBUSY; lazy works. */
TEST(umount_busy)
{
	char dir[64], file[PATH_MAX], cwd[PATH_MAX];
	unsigned char *p, c = 0;
	int fd, dirs;

	make_dir(dir, sizeof(dir), "busy");
	ASSERT_NE('\0', dir[0]);
	ASSERT_NE(NULL, getcwd(cwd, sizeof(cwd)));
	dirs = stats_dirs();
	ASSERT_EQ(0, mount_holefs(dir, "size=64k"));
	snprintf(file, sizeof(file), "%s/f", dir);
	fd = open(file, O_RDWR | O_CREAT, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(16, pwrite(fd, "abcdefghijklmnop", 16, 0));

	/* An open file. */
	EXPECT_EQ(-1, umount(dir));
	EXPECT_EQ(EBUSY, errno);
	/* A mapping, the fd closed. */
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	close(fd);
	EXPECT_EQ(-1, umount(dir));
	EXPECT_EQ(EBUSY, errno);
	/* The mapping is live and still writable. */
	p[1] = 'B';
	EXPECT_EQ(0, msync(p, PAGE, MS_SYNC));
	munmap(p, PAGE);
	/* A working directory inside. */
	ASSERT_EQ(0, chdir(dir));
	EXPECT_EQ(-1, umount(dir));
	EXPECT_EQ(EBUSY, errno);
	ASSERT_EQ(0, chdir(cwd));
	/* A umount that is not a mount point; a bad flag. */
	EXPECT_EQ(-1, umount2(dir, 0x80000000));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_TRUE(is_mountpoint(dir));

	/* Lazy: detached at once, alive until the last user goes. */
	fd = open(file, O_RDWR);
	ASSERT_LE(0, fd);
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, umount2(dir, MNT_DETACH));
	EXPECT_FALSE(is_mountpoint(dir));
	EXPECT_EQ(-1, umount(dir));
	EXPECT_EQ(EINVAL, errno);
	/* Still usable through the fd and the mapping. */
	c = 0;
	EXPECT_EQ(1, pread(fd, &c, 1, 1));
	EXPECT_EQ('B', c);
	p[2] = 'C';
	EXPECT_EQ(0, msync(p, PAGE, MS_SYNC));
	EXPECT_EQ(1, pwrite(fd, "D", 1, 3));
	EXPECT_EQ(dirs + 1, stats_dirs());
	close(fd);
	EXPECT_EQ(dirs + 1, stats_dirs());
	EXPECT_EQ('C', p[2]);
	EXPECT_EQ('D', p[3]);
	munmap(p, PAGE);
	/* The last user gone: the superblock and its stats directory go. */
	EXPECT_EQ(dirs, stats_dirs());
	rmdir(dir);
}

/*
 * The module cannot go while a file system is mounted: delete_module()
 * fails with EWOULDBLOCK (EAGAIN; rmmod uses O_NONBLOCK) -- not EBUSY,
 * which is what it returns for a module in use by another module.
 * run_tests.sh mounted one for this test binary.
 */
TEST(rmmod_while_mounted)
{
	char dir[64];

	make_dir(dir, sizeof(dir), "rmmod");
	ASSERT_NE('\0', dir[0]);
	ASSERT_EQ(0, mount_holefs(dir, "size=64k"));
	EXPECT_EQ(-1, syscall(SYS_delete_module, "holefs", O_NONBLOCK));
	EXPECT_EQ(EWOULDBLOCK, errno);
	/* Without O_NONBLOCK too: no waiting for the refcount in 6.12. */
	EXPECT_EQ(-1, syscall(SYS_delete_module, "holefs", 0));
	EXPECT_EQ(EWOULDBLOCK, errno);
	EXPECT_EQ(0, access("/sys/module/holefs", F_OK));
	EXPECT_EQ(0, umount(dir));
	rmdir(dir);
	EXPECT_EQ(0, access("/sys/module/holefs", F_OK));
}

/* --- helper modes for module_busy_test.sh ------------------------------- */

static int helper(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "--call")) {
		int r = -1;

		if (!strcmp(argv[2], "umount"))
			r = umount(argv[3]);
		else if (!strcmp(argv[2], "umount-lazy"))
			r = umount2(argv[3], MNT_DETACH);
		else if (!strcmp(argv[2], "rmmod"))
			r = syscall(SYS_delete_module, argv[3], O_NONBLOCK);
		else
			return 2;
		printf("errno=%s\n", errno_name(r ? errno : 0));
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "--hold-map")) {
		unsigned char *p;
		char c;
		int fd = open(argv[2], O_RDWR);

		if (fd < 0)
			return 1;
		p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			return 1;
		close(fd);
		/* Fault the page in writable: the mapping is live. */
		__atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED),
				 __ATOMIC_RELAXED);
		printf("held\n");
		fflush(stdout);
		while (read(0, &c, 1) > 0)
			;
		munmap((void *)p, PAGE);
		return 0;
	}
	return 2;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strncmp(argv[1], "--", 2))
		return helper(argc, argv);
	return test_harness_run(argc, argv);
}
