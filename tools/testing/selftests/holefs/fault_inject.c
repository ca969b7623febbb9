// SPDX-License-Identifier: GPL-2.0
/*
 * fault_inject - holefs under memory allocation failures (debug kernel:
 * CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC, CONFIG_FAULT_INJECTION_DEBUG_FS;
 * every test skips elsewhere).
 *
 * Two ways of injecting, both aimed at this test's own task only:
 *
 * fail-nth (Documentation/fault-injection/fault-injection.rst): writing N
 * to /proc/thread-self/fail-nth fails the N-th allocation the task makes
 * from then on (slab or page, any GFP); reading back 0 says it fired.
 * For each operation the test tries N = 1, 2, ... until the operation
 * gets through without the injection firing, so every allocation it makes
 * fails once: a systematic sweep of the error paths (the operations:
 * buffered writes, fallocate modes, truncate, stores through a shared
 * mapping, cold reads and faults, namespace operations, and mount).
 *
 * Random: failslab and fail_page_alloc with task-filter=Y and this task's
 * /proc/self/make-it-fail set fail a percentage of its allocations while it
 * runs a random mix of those operations for a while (HOLEFS_FI_SECONDS,
 * default 10), keeping a byte-level model of the file.
 *
 * What must hold: an operation either succeeds or fails with ENOMEM (or
 * ENOSPC, EIO; a store through a mapping may get SIGBUS); a refused
 * operation changes nothing (a failed write(2) copies nothing, a failed
 * fallocate or truncate leaves size and contents as they were); nothing
 * acknowledged is lost: bytes written and then fsync'ed (or msync'ed) with
 * success read back the same after the injection is off and the page
 * cache is dropped; the store's counters agree with the files' st_blocks.
 * The kernel log must stay clean (run_tests.sh / the runners check it).
 *
 * Reported: injections that fired, calls that failed (per errno), calls
 * that absorbed the failure and succeeded, SIGBUS.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
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
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "holefs_util.h"
#include "holefs_ksft.h"

/* Standalone (kselftest) runs: skip without holefs, see holefs_ksft.h. */
static void __attribute__((constructor)) standalone_require(void)
{
	holefs_ksft_require();
}

#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 900

#define PAGE		4096L
#define MAXPAGES	16
#define MAXSZ		(MAXPAGES * PAGE)
#define MAX_NTH		400	/* per operation: a runaway sweep is a bug */

#define DBG		"/sys/kernel/debug"

/* Result codes besides errno values: a short read or write, wrong data. */
#define SHORT(n)	(-100000 - (int)(n))
#define WRONG_DATA	(-2000)

/* --- debugfs knobs -------------------------------------------------------- */

static const char *const fi_dirs[] = { DBG "/failslab", DBG "/fail_page_alloc" };

struct knob {
	const char *dir, *name, *value;
	char saved[64];
	bool have;
};

static struct knob knobs[] = {
	{ DBG "/failslab", "ignore-gfp-wait", "N" },
	{ DBG "/failslab", "verbose", "0" },
	{ DBG "/failslab", "task-filter", "Y" },
	{ DBG "/failslab", "interval", "1" },
	{ DBG "/failslab", "space", "0" },
	{ DBG "/failslab", "probability", "0" },
	{ DBG "/failslab", "times", "-1" },
	{ DBG "/fail_page_alloc", "ignore-gfp-wait", "N" },
	{ DBG "/fail_page_alloc", "ignore-gfp-highmem", "N" },
	{ DBG "/fail_page_alloc", "min-order", "0" },
	{ DBG "/fail_page_alloc", "verbose", "0" },
	{ DBG "/fail_page_alloc", "task-filter", "Y" },
	{ DBG "/fail_page_alloc", "interval", "1" },
	{ DBG "/fail_page_alloc", "space", "0" },
	{ DBG "/fail_page_alloc", "probability", "0" },
	{ DBG "/fail_page_alloc", "times", "-1" },
};

static int put_str(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, v, strlen(v));
	close(fd);
	return n == (ssize_t)strlen(v) ? 0 : -1;
}

static int get_str(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int knob_set(const char *dir, const char *name, const char *v)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return put_str(path, v);
}

static long knob_get(const char *dir, const char *name)
{
	char path[PATH_MAX], buf[64];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (get_str(path, buf, sizeof(buf)))
		return LONG_MIN;
	return strtol(buf, NULL, 0);
}

/* Why fault injection cannot run here, or NULL. */
static const char *fi_unavailable(void)
{
	struct stat st;
	size_t i;

	if (access("/proc/thread-self/fail-nth", W_OK))
		return "no /proc/thread-self/fail-nth (CONFIG_FAULT_INJECTION)";
	if (stat(DBG "/failslab", &st))
		mount("debugfs", DBG, "debugfs", 0, NULL);
	for (i = 0; i < ARRAY_SIZE(fi_dirs); i++)
		if (stat(fi_dirs[i], &st))
			return "no failslab/fail_page_alloc in debugfs (CONFIG_FAULT_INJECTION_DEBUG_FS)";
	return NULL;
}

static int fi_configure(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(knobs); i++) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/%s", knobs[i].dir, knobs[i].name);
		knobs[i].have = !get_str(path, knobs[i].saved, sizeof(knobs[i].saved));
		if (knob_set(knobs[i].dir, knobs[i].name, knobs[i].value))
			return -1;
	}
	return 0;
}

static void fi_restore(void)
{
	size_t i;

	/* Probability first, so nothing fires while the rest is restored. */
	knob_set(DBG "/failslab", "probability", "0");
	knob_set(DBG "/fail_page_alloc", "probability", "0");
	for (i = ARRAY_SIZE(knobs); i-- > 0;)
		if (knobs[i].have)
			knob_set(knobs[i].dir, knobs[i].name, knobs[i].saved);
}

/* --- fail-nth ----------------------------------------------------------- */

static int nth_fd = -1;

static void nth_arm(int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%d", n);

	if (pwrite(nth_fd, buf, len, 0) != len)
		abort();
}

/* True if the armed failure fired (the counter reached 0); disarms. */
static bool nth_fired(void)
{
	char buf[16] = "";
	ssize_t n = pread(nth_fd, buf, sizeof(buf) - 1, 0);
	bool fired = n > 0 && atoi(buf) == 0;

	if (!fired)
		nth_arm(0);
	return fired;
}

/* --- SIGBUS-safe memory access ------------------------------------------ */

static sigjmp_buf bus_jmp;
static sig_atomic_t bus_sig;	/* __atomic_* accesses only: set in the handler */

static void bus_handler(int sig)
{
	__atomic_store_n(&bus_sig, sig, __ATOMIC_SEQ_CST);
	siglongjmp(bus_jmp, 1);
}

static void bus_install(void)
{
	struct sigaction sa = { .sa_handler = bus_handler };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
}

/*
 * memcpy that stops at SIGBUS; returns 0 or SIGBUS.  Byte-wise atomic
 * accesses: the compiler can neither merge nor drop them, and the flag is
 * reread after the longjmp.
 */
static int safe_copy(unsigned char *dst, const unsigned char *src, size_t len)
{
	size_t i;

	__atomic_store_n(&bus_sig, 0, __ATOMIC_SEQ_CST);
	if (sigsetjmp(bus_jmp, 1) == 0)
		for (i = 0; i < len; i++)
			__atomic_store_n(&dst[i],
					 __atomic_load_n(&src[i], __ATOMIC_RELAXED),
					 __ATOMIC_RELAXED);
	return __atomic_load_n(&bus_sig, __ATOMIC_SEQ_CST);
}

/* --- the mount ----------------------------------------------------------- */

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


/* --- the file model --------------------------------------------------------- */

/* The file as it must be: MAXSZ bytes at most. */
struct image {
	off_t size;
	unsigned char b[MAXSZ];
};

static void image_read(int fd, struct image *im, ssize_t *got)
{
	struct stat st;
	ssize_t n = 0, r;

	memset(im, 0, sizeof(*im));
	if (fstat(fd, &st))
		im->size = -1;
	else
		im->size = st.st_size;
	while (n < MAXSZ && n < im->size) {
		r = pread(fd, im->b + n, MAXSZ - n, n);
		if (r <= 0)
			break;
		n += r;
	}
	*got = n;
}

/* Each byte of ACT equals OLD's or NEW's; the size is between theirs. */
static bool image_between(const struct image *act, const struct image *old,
			  const struct image *new, off_t *bad)
{
	off_t lo = old->size < new->size ? old->size : new->size;
	off_t hi = old->size < new->size ? new->size : old->size;
	off_t i;

	*bad = -1;
	if (act->size < lo || act->size > hi)
		return false;
	for (i = 0; i < act->size && i < MAXSZ; i++) {
		unsigned char o = i < old->size ? old->b[i] : 0;
		unsigned char n = i < new->size ? new->b[i] : 0;

		if (act->b[i] != o && act->b[i] != n) {
			*bad = i;
			return false;
		}
	}
	return true;
}

static bool image_equal(const struct image *a, const struct image *b, off_t *bad)
{
	off_t i;

	*bad = -1;
	if (a->size != b->size)
		return false;
	for (i = 0; i < a->size && i < MAXSZ; i++)
		if (a->b[i] != b->b[i]) {
			*bad = i;
			return false;
		}
	return true;
}

static void fill(unsigned char *buf, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++) {
		seed = seed * 1103515245 + 12345;
		buf[i] = (unsigned char)(seed >> 16) | 1;
	}
}

/* --- operations for the sweep ----------------------------------------- */

struct sweep {
	char dir[64], file[PATH_MAX], other[PATH_MAX];
	int fd;
	unsigned char data[MAXSZ];	/* source of writes */
	struct image base;		/* the file before each attempt */
	/* totals */
	long fired, failed, absorbed, sigbus, attempts;
	long by_errno[160];
};

/*
 * An operation: DO runs it (the injection armed) and returns 0 or an
 * errno (or -SIGBUS); MODEL applies its success to an image.  NS marks
 * namespace operations, which CHECK verifies instead of the image.
 */
struct op {
	const char *name;
	int (*run)(struct sweep *s);
	void (*model)(struct sweep *s, struct image *im);
	bool cold;	/* drop the page cache before the attempt */
	bool (*check)(struct sweep *s, int err, char *why, size_t len);
};

static void model_write(struct image *im, const unsigned char *src, off_t off, size_t len)
{
	if (off > im->size)
		memset(im->b + im->size, 0, off - im->size);
	memcpy(im->b + off, src, len);
	if (off + (off_t)len > im->size)
		im->size = off + len;
}

static void model_zero(struct image *im, off_t off, off_t len, bool keep)
{
	off_t end = off + len;

	if (keep && end > im->size)
		end = im->size;
	if (end > off)
		memset(im->b + off, 0, end - off);
	if (!keep && off + len > im->size)
		im->size = off + len;
}

static void model_truncate(struct image *im, off_t size)
{
	if (size < im->size)
		memset(im->b + size, 0, im->size - size);
	else
		memset(im->b + im->size, 0, size - im->size);
	im->size = size;
}

static int ret_errno(long r)
{
	return r < 0 ? errno : 0;
}

/* Buffered writes. */
static int run_write_mid(struct sweep *s)
{
	ssize_t n = pwrite(s->fd, s->data, 3 * PAGE - 200, PAGE + 100);

	if (n < 0)
		return errno;
	return n == 3 * PAGE - 200 ? 0 : SHORT(n);	/* short */
}

static void model_write_mid(struct sweep *s, struct image *im)
{
	model_write(im, s->data, PAGE + 100, 3 * PAGE - 200);
}

static int run_write_extend(struct sweep *s)
{
	ssize_t n = pwrite(s->fd, s->data + 7, 2 * PAGE, 5 * PAGE + 500);

	if (n < 0)
		return errno;
	return n == 2 * PAGE ? 0 : SHORT(n);
}

static void model_write_extend(struct sweep *s, struct image *im)
{
	model_write(im, s->data + 7, 5 * PAGE + 500, 2 * PAGE);
}

static int run_write_hole(struct sweep *s)
{
	ssize_t n = pwrite(s->fd, s->data + 11, 100, 4 * PAGE + 10);

	if (n < 0)
		return errno;
	return n == 100 ? 0 : SHORT(n);
}

static void model_write_hole(struct sweep *s, struct image *im)
{
	model_write(im, s->data + 11, 4 * PAGE + 10, 100);
}

/* A write, then fsync with the injection armed. */
static int run_fsync(struct sweep *s)
{
	return ret_errno(fsync(s->fd));
}

static void model_none(struct sweep *s, struct image *im)
{
}

/* fallocate modes. */
static int run_punch(struct sweep *s)
{
	return ret_errno(fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				   PAGE + 100, 2 * PAGE));
}

static void model_punch(struct sweep *s, struct image *im)
{
	model_zero(im, PAGE + 100, 2 * PAGE, true);
}

static int run_zero(struct sweep *s)
{
	return ret_errno(fallocate(s->fd, FALLOC_FL_ZERO_RANGE, 3000, 3 * PAGE));
}

static void model_zero_mid(struct sweep *s, struct image *im)
{
	model_zero(im, 3000, 3 * PAGE, false);
}

static int run_zero_hole(struct sweep *s)
{
	return ret_errno(fallocate(s->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
				   4 * PAGE - 100, PAGE + 200));
}

static void model_zero_hole(struct sweep *s, struct image *im)
{
	model_zero(im, 4 * PAGE - 100, PAGE + 200, true);
}

static int run_zero_extend(struct sweep *s)
{
	return ret_errno(fallocate(s->fd, FALLOC_FL_ZERO_RANGE, 5 * PAGE, 3 * PAGE));
}

static void model_zero_extend(struct sweep *s, struct image *im)
{
	model_zero(im, 5 * PAGE, 3 * PAGE, false);
}

static int run_alloc_extend(struct sweep *s)
{
	return ret_errno(fallocate(s->fd, 0, 4 * PAGE, 4 * PAGE));
}

static void model_alloc_extend(struct sweep *s, struct image *im)
{
	if (8 * PAGE > im->size)
		model_truncate(im, 8 * PAGE);
}

static int run_alloc_keep(struct sweep *s)
{
	return ret_errno(fallocate(s->fd, FALLOC_FL_KEEP_SIZE, 6 * PAGE, 2 * PAGE));
}

static int run_trunc_down(struct sweep *s)
{
	return ret_errno(ftruncate(s->fd, 2 * PAGE + 50));
}

static void model_trunc_down(struct sweep *s, struct image *im)
{
	model_truncate(im, 2 * PAGE + 50);
}

static int run_trunc_up(struct sweep *s)
{
	return ret_errno(ftruncate(s->fd, 9 * PAGE));
}

static void model_trunc_up(struct sweep *s, struct image *im)
{
	model_truncate(im, 9 * PAGE);
}

/* Stores through a shared mapping: one into the hole, one into data. */
static int run_mmap_store(struct sweep *s)
{
	unsigned char *p;
	int sig, err = 0;

	p = mmap(NULL, 6 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
	if (p == MAP_FAILED)
		return errno;
	sig = safe_copy(p + 4 * PAGE + 1, s->data + 3, 50);
	if (!sig)
		sig = safe_copy(p + PAGE + 5, s->data + 5, 50);
	if (!sig && msync(p, 6 * PAGE, MS_SYNC))
		err = errno;
	munmap(p, 6 * PAGE);
	return sig ? -sig : err;
}

static void model_mmap_store(struct sweep *s, struct image *im)
{
	memcpy(im->b + 4 * PAGE + 1, s->data + 3, 50);
	memcpy(im->b + PAGE + 5, s->data + 5, 50);
}

/* Cold reads: read(2) and faults on a dropped page cache; checked here. */
static unsigned char readbuf[MAXSZ];

static int run_read_cold(struct sweep *s)
{
	ssize_t n = pread(s->fd, readbuf, MAXSZ, 0);

	if (n < 0)
		return errno;
	if (memcmp(readbuf, s->base.b, n))
		return WRONG_DATA;
	return n == s->base.size ? 0 : SHORT(n);
}

static int run_fault_cold(struct sweep *s)
{
	unsigned char *p;
	int sig;

	p = mmap(NULL, s->base.size, PROT_READ, MAP_SHARED, s->fd, 0);
	if (p == MAP_FAILED)
		return errno;
	sig = safe_copy(readbuf, p, s->base.size);
	munmap(p, s->base.size);
	if (sig)
		return -sig;
	return memcmp(readbuf, s->base.b, s->base.size) ? WRONG_DATA : 0;
}

/* Namespace: create + write + close a new file; symlink; mkdir; rename. */
static int run_create(struct sweep *s)
{
	int fd = open(s->other, O_RDWR | O_CREAT | O_EXCL, 0644);
	ssize_t n;

	if (fd < 0)
		return errno;
	n = pwrite(fd, s->data, 2 * PAGE, 0);
	close(fd);
	if (n < 0)
		return errno;
	return n == 2 * PAGE ? 0 : SHORT(n);
}

/* The new file is absent, or holds a prefix of what was written. */
static bool check_create(struct sweep *s, int err, char *why, size_t len)
{
	struct stat st;
	ssize_t n;
	int fd;

	if (stat(s->other, &st)) {
		if (!err) {
			snprintf(why, len, "created but missing");
			return false;
		}
		return true;
	}
	if (st.st_size > 2 * PAGE) {
		snprintf(why, len, "size %lld", (long long)st.st_size);
		return false;
	}
	fd = open(s->other, O_RDONLY);
	n = fd < 0 ? -1 : pread(fd, readbuf, st.st_size, 0);
	if (fd >= 0)
		close(fd);
	if (n != st.st_size || memcmp(readbuf, s->data, n)) {
		snprintf(why, len, "contents");
		return false;
	}
	if (!err && st.st_size != 2 * PAGE) {
		snprintf(why, len, "short file %lld", (long long)st.st_size);
		return false;
	}
	return !unlink(s->other);
}

static const char link_target[] = "a-symlink-target-that-lives-in-a-page";

static int run_symlink(struct sweep *s)
{
	return ret_errno(symlink(link_target, s->other));
}

static bool check_symlink(struct sweep *s, int err, char *why, size_t len)
{
	char buf[128];
	ssize_t n = readlink(s->other, buf, sizeof(buf));

	if (n < 0) {
		if (!err) {
			snprintf(why, len, "created but readlink: %s", strerror(errno));
			return false;
		}
		return errno == ENOENT;
	}
	if (n != (ssize_t)strlen(link_target) || memcmp(buf, link_target, n)) {
		snprintf(why, len, "symlink body wrong (%zd bytes)", n);
		return false;
	}
	drop_page_cache();	/* the body is in the page cache: read it from the store */
	n = readlink(s->other, buf, sizeof(buf));
	if (n != (ssize_t)strlen(link_target) || memcmp(buf, link_target, n)) {
		snprintf(why, len, "symlink body wrong after drop_caches");
		return false;
	}
	return !unlink(s->other);
}

static int run_mkdir(struct sweep *s)
{
	return ret_errno(mkdir(s->other, 0755));
}

static bool check_mkdir(struct sweep *s, int err, char *why, size_t len)
{
	struct stat st;

	if (stat(s->other, &st))
		return err != 0;
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, len, "not a directory");
		return false;
	}
	return !rmdir(s->other);
}

static int run_rename(struct sweep *s)
{
	return ret_errno(rename(s->file, s->other));
}

static bool check_rename(struct sweep *s, int err, char *why, size_t len)
{
	bool old = !access(s->file, F_OK), new = !access(s->other, F_OK);

	if (old == new || (!err && old)) {
		snprintf(why, len, "old %s, new %s", old ? "exists" : "gone",
			 new ? "exists" : "gone");
		return false;
	}
	return new ? !rename(s->other, s->file) : true;
}

static const struct op ops[] = {
	{ "pwrite 3 pages", run_write_mid, model_write_mid },
	{ "pwrite 3 pages, cold cache", run_write_mid, model_write_mid, true },
	{ "pwrite extending", run_write_extend, model_write_extend },
	{ "pwrite into a hole", run_write_hole, model_write_hole },
	{ "pwrite into a hole, cold cache", run_write_hole, model_write_hole, true },
	{ "fsync of dirty pages", run_fsync, model_none },
	{ "punch hole", run_punch, model_punch },
	{ "zero range", run_zero, model_zero_mid },
	{ "zero range over a hole", run_zero_hole, model_zero_hole },
	{ "zero range extending", run_zero_extend, model_zero_extend },
	{ "allocate extending", run_alloc_extend, model_alloc_extend },
	{ "allocate KEEP_SIZE", run_alloc_keep, model_none },
	{ "truncate down", run_trunc_down, model_trunc_down },
	{ "truncate up", run_trunc_up, model_trunc_up },
	{ "stores through a shared mapping + msync", run_mmap_store, model_mmap_store },
	{ "stores through a shared mapping, cold", run_mmap_store, model_mmap_store, true },
	{ "cold read(2)", run_read_cold, model_none, true },
	{ "cold read faults", run_fault_cold, model_none, true },
	{ "create and write a file", run_create, NULL, false, check_create },
	{ "symlink", run_symlink, NULL, false, check_symlink },
	{ "mkdir", run_mkdir, NULL, false, check_mkdir },
	{ "rename", run_rename, NULL, false, check_rename },
};

/*
 * The file before each attempt: pages 0-3 and 5 of data (size 5 pages +
 * 1000 bytes), page 4 a hole, written back; for "fsync", 2 more dirty pages.
 */
static int sweep_reset(struct sweep *s, const struct op *op)
{
	if (ftruncate(s->fd, 0) ||
	    pwrite(s->fd, s->data + 100, 5 * PAGE + 1000, 0) != 5 * PAGE + 1000 ||
	    fallocate(s->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4 * PAGE, PAGE) ||
	    fsync(s->fd))
		return -1;
	memset(&s->base, 0, sizeof(s->base));
	model_write(&s->base, s->data + 100, 0, 5 * PAGE + 1000);
	model_zero(&s->base, 4 * PAGE, PAGE, true);
	if (op->run == run_fsync) {
		if (pwrite(s->fd, s->data + 50, 2 * PAGE, PAGE) != 2 * PAGE)
			return -1;
		model_write(&s->base, s->data + 50, PAGE, 2 * PAGE);
	}
	if (op->cold) {
		if (posix_fadvise(s->fd, 0, 0, POSIX_FADV_DONTNEED))
			return -1;
		drop_page_cache();
	}
	return 0;
}

/* A short read or write (the code run_* and the soak use). */
static bool is_short(int e)
{
	return e <= SHORT(0);
}

/* Errors an allocation failure may surface as. */
static bool allowed_errno(int e)
{
	return e == ENOMEM || e == ENOSPC || e == EIO || e == -SIGBUS || is_short(e);
}

static const char *err_name(int e)
{
	static char buf[32];

	switch (e) {
	case 0: return "ok";
	case ENOMEM: return "ENOMEM";
	case ENOSPC: return "ENOSPC";
	case EIO: return "EIO";
	case EFAULT: return "EFAULT";
	case EINVAL: return "EINVAL";
	case -SIGBUS: return "SIGBUS";
	case WRONG_DATA: return "WRONG DATA";
	}
	if (is_short(e)) {
		snprintf(buf, sizeof(buf), "short (%d bytes)", SHORT(0) - e);
		return buf;
	}
	snprintf(buf, sizeof(buf), "errno %d (%s)", e, e > 0 ? strerror(e) : "?");
	return buf;
}

/*
 * After an attempt (injection off): the file is the old image or the new
 * one byte by byte (only the new one if the call succeeded); it reads the
 * same from the store as from the page cache; the counters agree.
 */
static bool sweep_verify(struct __test_metadata *_metadata, struct sweep *s,
			 const struct op *op, int err, int n)
{
	static struct image want, cached, stored;
	char why[160] = "";
	struct stat st;
	ssize_t got;
	off_t bad;
	bool ok = true;

	if (op->check) {
		ok = op->check(s, err, why, sizeof(why));
	} else {
		want = s->base;
		op->model(s, &want);
		if (fsync(s->fd)) {
			snprintf(why, sizeof(why), "fsync after the attempt: %s", strerror(errno));
			ok = false;
		}
		image_read(s->fd, &cached, &got);
		if (ok && got != cached.size) {
			snprintf(why, sizeof(why), "read %zd of %lld bytes", got, (long long)cached.size);
			ok = false;
		}
		if (ok && !err && !image_equal(&cached, &want, &bad)) {
			snprintf(why, sizeof(why), "succeeded, but size %lld (want %lld), first bad byte %lld",
				 (long long)cached.size, (long long)want.size, (long long)bad);
			ok = false;
		}
		/* Cut short: stores through a mapping or a short write. */
		if (ok && err && (op->run == run_mmap_store || is_short(err)) &&
		    !image_between(&cached, &s->base, &want, &bad)) {
			snprintf(why, sizeof(why), "failed, and neither old nor new at byte %lld, size %lld",
				 (long long)bad, (long long)cached.size);
			ok = false;
		}
		if (ok && err && op->run != run_mmap_store && op->run != run_fsync &&
		    !is_short(err) &&
		    !image_equal(&cached, &s->base, &bad)) {
			snprintf(why, sizeof(why), "refused, but changed: size %lld (was %lld), first changed byte %lld",
				 (long long)cached.size, (long long)s->base.size, (long long)bad);
			ok = false;
		}
		/* Acknowledged data must be in the store. */
		drop_page_cache();
		image_read(s->fd, &stored, &got);
		if (ok && !image_equal(&stored, &cached, &bad)) {
			snprintf(why, sizeof(why), "the store differs from the page cache at byte %lld (size %lld vs %lld)",
				 (long long)bad, (long long)stored.size, (long long)cached.size);
			ok = false;
		}
	}
	if (ok && !fstat(s->fd, &st) &&
	    holefs_stat(s->file, "blocks_used") != st.st_blocks / (PAGE / 512)) {
		snprintf(why, sizeof(why), "blocks_used %lld but st_blocks %lld",
			 holefs_stat(s->file, "blocks_used"), (long long)st.st_blocks);
		ok = false;
	}
	if (!ok)
		TH_LOG("%s, failing allocation %d (%s): %s", op->name, n, err_name(err), why);
	return ok;
}

FIXTURE(fi) {
	char dir[64];
	bool mounted, configured;
};

FIXTURE_SETUP(fi)
{
	const char *why = fi_unavailable();

	self->mounted = self->configured = false;
	if (why)
		SKIP(return, "%s", why);
	snprintf(self->dir, sizeof(self->dir), "/tmp/holefs-fi.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	ASSERT_EQ(0, mount("holefs", self->dir, "holefs", 0, "size=4m")) {
		TH_LOG("mount: %s", strerror(errno));
	}
	self->mounted = true;
	ASSERT_EQ(0, fi_configure()) {
		TH_LOG("cannot configure fault injection in debugfs");
	}
	self->configured = true;
	nth_fd = open("/proc/thread-self/fail-nth", O_RDWR);
	ASSERT_LE(0, nth_fd);
	bus_install();
}

FIXTURE_TEARDOWN(fi)
{
	if (nth_fd >= 0) {
		nth_arm(0);
		close(nth_fd);
		nth_fd = -1;
	}
	if (self->configured)
		fi_restore();
	if (self->mounted && umount(self->dir))
		TH_LOG("umount: %s", strerror(errno));
	rmdir(self->dir);
}

static void print_totals(const char *what, struct sweep *s)
{
	char line[512];
	int len, e;

	len = snprintf(line, sizeof(line),
		       "%s: attempts=%ld injected=%ld failed=%ld absorbed=%ld sigbus=%ld errors:",
		       what, s->attempts, s->fired, s->failed, s->absorbed, s->sigbus);
	for (e = 0; e < 160; e++)
		if (s->by_errno[e])
			len += snprintf(line + len, sizeof(line) - len, " %s=%ld",
					e == 0 ? "SIGBUS" : err_name(e), s->by_errno[e]);
	ksft_print_msg("holefs-fi: %s\n", line);
}

static void count_err(struct sweep *s, int err)
{
	if (err == -SIGBUS)
		s->sigbus++, s->by_errno[0]++;
	else if (err > 0 && err < 160)
		s->by_errno[err]++;
}

/* Every allocation of every operation fails once. */
TEST_F(fi, sweep)
{
	static struct sweep s;
	size_t i;
	int failures = 0;

	memset(&s, 0, sizeof(s));
	snprintf(s.file, sizeof(s.file), "%s/f", self->dir);
	snprintf(s.other, sizeof(s.other), "%s/g", self->dir);
	fill(s.data, sizeof(s.data), 42);
	s.fd = open(s.file, O_RDWR | O_CREAT, 0644);
	ASSERT_LE(0, s.fd);
	/* Fault in and lock what the operations touch in userspace. */
	memset(readbuf, 0, sizeof(readbuf));
	mlockall(MCL_CURRENT);

	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		const struct op *op = &ops[i];
		long fired = 0, failed = 0;
		int n, err;
		bool fired_now = true;

		for (n = 1; fired_now && n <= MAX_NTH; n++) {
			ASSERT_EQ(0, sweep_reset(&s, op)) {
				TH_LOG("%s: cannot set up the file: %s", op->name, strerror(errno));
			}
			nth_arm(n);
			err = op->run(&s);
			fired_now = nth_fired();
			s.attempts++;
			if (fired_now) {
				fired++;
				s.fired++;
				if (err) {
					failed++;
					s.failed++;
					count_err(&s, err);
				} else {
					s.absorbed++;
				}
				if (err && !allowed_errno(err)) {
					TH_LOG("%s, failing allocation %d: %s", op->name, n, err_name(err));
					failures++;
				}
			} else if (err) {
				TH_LOG("%s failed without an injected failure: %s", op->name, err_name(err));
				failures++;
			}
			if (!sweep_verify(_metadata, &s, op, err, n))
				failures++;
			if (failures > 20)
				break;
		}
		ksft_print_msg("holefs-fi: sweep %-40s allocations=%d failed=%ld absorbed=%ld%s\n",
			       op->name, n - 2, failed, fired - failed,
			       fired_now ? "  (sweep cut short)" : "");
		if (fired_now && n > MAX_NTH) {
			TH_LOG("%s: still allocating after %d injected failures", op->name, MAX_NTH);
			failures++;
		}
	}
	munlockall();
	close(s.fd);
	unlink(s.file);
	print_totals("sweep", &s);
	EXPECT_EQ(0, failures);
	EXPECT_EQ(0, holefs_stat(self->dir, "blocks_used"));
}

/* mount(2) with each of its allocations failing once. */
TEST_F(fi, mount)
{
	char dir[64], opts[] = "size=1m,map_pages=trylock";
	static struct sweep s;
	int n, err, dirs = stats_dirs();
	bool fired_now = true;
	int failures = 0;

	memset(&s, 0, sizeof(s));
	snprintf(dir, sizeof(dir), "/tmp/holefs-fi-mnt.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(dir));
	for (n = 1; fired_now && n <= MAX_NTH; n++) {
		nth_arm(n);
		err = mount("holefs", dir, "holefs", 0, opts) ? errno : 0;
		fired_now = nth_fired();
		s.attempts++;
		if (fired_now) {
			s.fired++;
			if (err) {
				s.failed++;
				count_err(&s, err);
			} else {
				s.absorbed++;
			}
		}
		if (err && (!fired_now || err != ENOMEM)) {
			TH_LOG("mount, failing allocation %d: %s", n, err_name(err));
			failures++;
		}
		if (!err) {
			/* A working file system. */
			char f[PATH_MAX];
			int fd;

			snprintf(f, sizeof(f), "%s/x", dir);
			fd = open(f, O_RDWR | O_CREAT, 0644);
			if (fd < 0 || pwrite(fd, "abc", 3, 0) != 3 || fsync(fd)) {
				TH_LOG("mount succeeded at %d but the file system does not work", n);
				failures++;
			}
			if (fd >= 0)
				close(fd);
			if (umount(dir)) {
				TH_LOG("umount after mount at %d: %s", n, strerror(errno));
				failures++;
			}
		}
		if (stats_dirs() != dirs) {
			TH_LOG("mount, failing allocation %d: %d stats directories, want %d",
			       n, stats_dirs(), dirs);
			failures++;
			break;
		}
	}
	rmdir(dir);
	ksft_print_msg("holefs-fi: mount allocations=%d\n", n - 2);
	print_totals("mount", &s);
	EXPECT_EQ(0, failures);
}

/* --- random soak ------------------------------------------------------- */

enum { CLEAN, DIRTY, UNKNOWN };

struct soak {
	/* model */
	unsigned char exp[MAXSZ], state[MAXSZ];
	off_t size;
	bool size_known;
	/* results, shared with the parent */
	long ops, fired, failed, absorbed_ops, sigbus, reads_checked, bytes_verified;
	long unknown_bytes, short_writes, by_errno[160];
	long bad;
	char why[256];
};

static unsigned int rnd_state;

static unsigned int rnd(unsigned int n)
{
	rnd_state = rnd_state * 1103515245 + 12345;
	return (rnd_state >> 8) % n;
}

static void soak_set(struct soak *k, off_t off, off_t len, const unsigned char *src, int st)
{
	off_t i;

	for (i = 0; i < len && off + i < MAXSZ; i++) {
		k->exp[off + i] = src ? src[i] : 0;
		k->state[off + i] = st;
	}
}

/*
 * A sync of the dirty bytes ended: they are durable (CLEAN), or, if it
 * failed, may or may not have reached the store (UNKNOWN).
 */
static void soak_settle(struct soak *k, int st)
{
	off_t i;

	for (i = 0; i < MAXSZ; i++)
		if (k->state[i] == DIRTY)
			k->state[i] = st;
}

static void soak_resize(struct soak *k, off_t size)
{
	if (size < k->size)
		soak_set(k, size, k->size - size, NULL, CLEAN);
	else if (size > k->size)
		soak_set(k, k->size, size - k->size, NULL, CLEAN);
	k->size = size;
}

static void soak_fail(struct soak *k, int err, const char *op)
{
	k->failed++;
	if (err == -SIGBUS)
		k->sigbus++, k->by_errno[0]++;
	else if (err > 0 && err < 160)
		k->by_errno[err]++;
	if (!allowed_errno(err) && !k->bad) {
		k->bad = 1;
		snprintf(k->why, sizeof(k->why), "%s: %s", op, err_name(err));
	}
}

static void soak_child(struct soak *k, const char *file, int seconds, unsigned int seed)
{
	static unsigned char data[MAXSZ], buf[MAXSZ];
	struct timespec t0, t;
	int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
	int mif = open("/proc/self/make-it-fail", O_WRONLY);
	off_t off, len, i;
	ssize_t n;
	int err;

	if (fd < 0 || mif < 0)
		_exit(3);
	rnd_state = seed;
	memset(k->state, CLEAN, sizeof(k->state));
	k->size = 0;
	k->size_known = true;
	memset(buf, 0, sizeof(buf));
	mlockall(MCL_CURRENT);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (write(mif, "1", 1) != 1)
		_exit(3);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= seconds)
			break;
		k->ops++;
		off = rnd(MAXSZ - 1);
		len = 1 + rnd(MAXSZ - off < 3 * PAGE ? MAXSZ - off : 3 * PAGE);
		fill(data, len, rnd(1 << 30));
		switch (rnd(10)) {
		case 0: case 1: case 2:	/* pwrite */
			n = pwrite(fd, data, len, off);
			if (n < 0) {
				soak_fail(k, errno, "pwrite");	/* nothing copied */
			} else {
				if (off > k->size)
					soak_set(k, k->size, off - k->size, NULL, k->size_known ? CLEAN : UNKNOWN);
				soak_set(k, off, n, data, DIRTY);
				if (n < len)
					k->failed++, k->short_writes++;
				if (off + n > k->size)
					k->size = off + n;
			}
			break;
		case 3: {		/* stores through a shared mapping */
			unsigned char *p;

			if (k->size == 0 || !k->size_known)
				break;
			off = rnd(k->size);
			if (len > k->size - off)
				len = k->size - off;
			p = mmap(NULL, k->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			if (p == MAP_FAILED) {
				soak_fail(k, errno, "mmap");
				break;
			}
			err = safe_copy(p + off, data, len);
			if (err) {
				soak_fail(k, -err, "store");
				soak_set(k, off, len, data, UNKNOWN);
			} else {
				soak_set(k, off, len, data, DIRTY);
				if (rnd(2)) {
					if (msync(p, k->size, MS_SYNC)) {
						soak_fail(k, errno, "msync");
						soak_settle(k, UNKNOWN);
					} else {
						soak_settle(k, CLEAN);
					}
				}
			}
			munmap(p, k->size);
			break;
		}
		case 4:			/* fsync */
			if (fsync(fd)) {
				soak_fail(k, errno, "fsync");
				soak_settle(k, UNKNOWN);
			} else {
				soak_settle(k, CLEAN);
			}
			break;
		case 5:			/* punch */
			if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len))
				soak_fail(k, errno, "punch");
			else if (off < k->size)
				soak_set(k, off, (off + len > k->size ? k->size : off + len) - off, NULL, CLEAN);
			break;
		case 6: {		/* zero range, or allocate */
			int keep = rnd(2) ? FALLOC_FL_KEEP_SIZE : 0;
			int zr = rnd(2) ? FALLOC_FL_ZERO_RANGE : 0;

			if (fallocate(fd, zr | keep, off, len)) {
				soak_fail(k, errno, zr ? "zero range" : "allocate");
				break;
			}
			if (zr && off < k->size)
				soak_set(k, off, (off + len > k->size ? k->size : off + len) - off, NULL, CLEAN);
			if (!keep && off + len > k->size)
				soak_resize(k, off + len);
			break;
		}
		case 7:			/* truncate */
			len = rnd(MAXSZ + 1);
			if (ftruncate(fd, len))
				soak_fail(k, errno, "ftruncate");
			else
				soak_resize(k, len);
			break;
		case 8:			/* drop the clean part of the cache */
			posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
			break;
		case 9:			/* read back what is known */
			n = pread(fd, buf, MAXSZ, 0);
			if (n < 0) {
				soak_fail(k, errno, "pread");
				break;
			}
			k->reads_checked++;
			for (i = 0; i < n; i++)
				if (k->state[i] != UNKNOWN && buf[i] != k->exp[i] && !k->bad) {
					k->bad = 1;
					snprintf(k->why, sizeof(k->why),
						 "pread during the soak: byte %lld is 0x%02x, want 0x%02x (%s)",
						 (long long)i, buf[i], k->exp[i],
						 k->state[i] == DIRTY ? "written" : "acknowledged");
				}
			break;
		}
	}
	/* Injection off; make everything dirty durable; verify from the store. */
	if (write(mif, "0", 1) != 1)
		_exit(3);
	if (fsync(fd))
		soak_settle(k, UNKNOWN);
	drop_page_cache();
	{
		struct stat st;

		if (!fstat(fd, &st) && k->size_known && st.st_size != k->size && !k->bad) {
			k->bad = 1;
			snprintf(k->why, sizeof(k->why), "size %lld, want %lld",
				 (long long)st.st_size, (long long)k->size);
		}
	}
	n = pread(fd, buf, MAXSZ, 0);
	for (i = 0; i < k->size && i < MAXSZ; i++) {
		if (k->state[i] == UNKNOWN) {
			k->unknown_bytes++;
			continue;
		}
		k->bytes_verified++;
		if ((i >= n || buf[i] != k->exp[i]) && !k->bad) {
			k->bad = 1;
			snprintf(k->why, sizeof(k->why),
				 "after the soak, from the store: byte %lld is 0x%02x, want 0x%02x",
				 (long long)i, i < n ? buf[i] : 0, k->exp[i]);
		}
	}
	close(fd);
	_exit(0);
}

TEST_F(fi, random)
{
	const char *env = getenv("HOLEFS_FI_SECONDS");
	int seconds = env ? atoi(env) : 10;
	long times0 = 1000000, left_slab, left_page;
	static const int pct[] = { 1, 5 };
	struct soak *k;
	char file[PATH_MAX];
	size_t r;
	int status;
	pid_t pid;
	struct stat st;

	k = mmap(NULL, sizeof(*k), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, k);
	snprintf(file, sizeof(file), "%s/r", self->dir);
	for (r = 0; r < ARRAY_SIZE(pct); r++) {
		char p[8];

		memset(k, 0, sizeof(*k));
		snprintf(p, sizeof(p), "%d", pct[r]);
		ASSERT_EQ(0, knob_set(DBG "/failslab", "times", "1000000"));
		ASSERT_EQ(0, knob_set(DBG "/fail_page_alloc", "times", "1000000"));
		ASSERT_EQ(0, knob_set(DBG "/failslab", "probability", p));
		ASSERT_EQ(0, knob_set(DBG "/fail_page_alloc", "probability", p));
		fflush(NULL);
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0)
			soak_child(k, file, seconds / 2 ? seconds / 2 : 1, 1234 + r);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		knob_set(DBG "/failslab", "probability", "0");
		knob_set(DBG "/fail_page_alloc", "probability", "0");
		left_slab = knob_get(DBG "/failslab", "times");
		left_page = knob_get(DBG "/fail_page_alloc", "times");
		k->fired = (times0 - left_slab) + (times0 - left_page);
		ksft_print_msg("holefs-fi: random %d%%: %lds ops=%ld injected=%ld (slab %ld, page %ld) failed=%ld (short writes %ld, ENOMEM %ld, ENOSPC %ld, EIO %ld, SIGBUS %ld) reads_checked=%ld bytes_verified=%ld unknown=%ld\n",
			       pct[r], seconds / 2 ? seconds / 2 : 1L, k->ops, k->fired,
			       times0 - left_slab, times0 - left_page, k->failed,
			       k->short_writes, k->by_errno[ENOMEM], k->by_errno[ENOSPC],
			       k->by_errno[EIO], k->sigbus, k->reads_checked,
			       k->bytes_verified, k->unknown_bytes);
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			TH_LOG("the soak process ended with status 0x%x", status);
		}
		EXPECT_EQ(0, k->bad) {
			TH_LOG("%s", k->why);
		}
		EXPECT_LT(0, k->fired);
		ASSERT_EQ(0, stat(file, &st));
		EXPECT_EQ(st.st_blocks / (PAGE / 512), holefs_stat(file, "blocks_used"));
		unlink(file);
	}
	EXPECT_EQ(0, holefs_stat(self->dir, "blocks_used"));
	munmap(k, sizeof(*k));
}

TEST_HARNESS_MAIN
