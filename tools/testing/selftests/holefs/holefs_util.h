/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the holefs kselftest programs (holefs_fs.c,
 * holefs_falloc.c, holefs_policy.c, bad_input.c, fault_inject.c).
 * Header-only: every *.c next to it is built as its own static binary by
 * scripts/build-tools.
 *
 * Counters: /sys/fs/holefs/<major>:<minor>/stats of the mount holding a
 * path (Documentation/interfaces.rst).  Mounts: mount(2) of new holefs
 * instances in directories under /tmp, so a test sees the exact errno.
 * Kernel log: a mark written to /dev/kmsg and klogctl(2) to read what came
 * after it.
 */
#ifndef HOLEFS_UTIL_H
#define HOLEFS_UTIL_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define HOLEFS_MAGIC	0x686f6c65
#define PG		4096L

/* The directory tests work in: the runner's fixture mount. */
static inline const char *holefs_dir(void)
{
	const char *d = getenv("HOLEFS_MNT");

	return d && *d ? d : ".";
}

/* Counter @name of the holefs mount holding @path; -1 if unreadable. */
static inline long long holefs_stat(const char *path, const char *name)
{
	char file[PATH_MAX], key[64];
	unsigned long long v;
	struct stat st;
	long long ret = -1;
	FILE *f;

	if (stat(path, &st))
		return -1;
	snprintf(file, sizeof(file), "/sys/fs/holefs/%u:%u/stats",
		 major(st.st_dev), minor(st.st_dev));
	f = fopen(file, "r");
	if (!f)
		return -1;
	while (fscanf(f, "%63s %llu", key, &v) == 2) {
		if (!strcmp(key, name)) {
			ret = (long long)v;
			break;
		}
	}
	fclose(f);
	return ret;
}

/* Zero the event counters of the mount holding @path; 0 on success. */
static inline int holefs_stats_clear(const char *path)
{
	char file[PATH_MAX];
	struct stat st;
	int fd, ok;

	if (stat(path, &st))
		return -1;
	snprintf(file, sizeof(file), "/sys/fs/holefs/%u:%u/stats_clear",
		 major(st.st_dev), minor(st.st_dev));
	fd = open(file, O_WRONLY);
	if (fd < 0)
		return -1;
	ok = write(fd, "1", 1) == 1;
	close(fd);
	return ok ? 0 : -1;
}

/* sync; echo 3 > /proc/sys/vm/drop_caches.  0 on success. */
static inline int drop_page_cache(void)
{
	int fd, ok;

	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd < 0)
		return -1;
	ok = write(fd, "3", 1) == 1;
	close(fd);
	return ok ? 0 : -1;
}

/* Length of the directory names make_tmpdir() makes. */
#define TMPDIR_LEN	128

/* A new empty directory under /tmp in @buf (TMPDIR_LEN); NULL on error. */
static inline char *make_tmpdir(char *buf, const char *tag)
{
	snprintf(buf, TMPDIR_LEN, "/tmp/holefs-%.32s.XXXXXX", tag);
	return mkdtemp(buf);
}

/*
 * mount -t holefs -o @opts holefs @dir, with $HOLEFS_EXTRA_OPTS appended
 * (lib.sh: folios=large runs a suite over large folios); returns 0 or
 * -errno.
 */
static inline int holefs_mount_at(const char *dir, const char *opts)
{
	const char *extra = getenv("HOLEFS_EXTRA_OPTS");
	char all[1024];

	if (!opts)
		opts = "";
	if (!extra)
		extra = "";
	if (snprintf(all, sizeof(all), "%s%s%s", opts,
		     *opts && *extra ? "," : "", extra) >= (int)sizeof(all))
		return -E2BIG;
	if (mount("holefs", dir, "holefs", 0, *all ? all : NULL))
		return -errno;
	return 0;
}

/* The options /proc/mounts shows for the mount at @dir, in @buf. */
static inline char *mount_options(const char *dir, char *buf, size_t len)
{
	char src[256], mp[PATH_MAX], type[64], opts[1024], real[PATH_MAX];
	char *ret = NULL;
	FILE *f;

	if (!realpath(dir, real))
		return NULL;
	f = fopen("/proc/mounts", "r");
	if (!f)
		return NULL;
	while (fscanf(f, "%255s %4095s %63s %1023s %*d %*d", src, mp, type,
		      opts) == 4) {
		if (!strcmp(mp, real) && !strcmp(type, "holefs")) {
			snprintf(buf, len, "%s", opts);
			ret = buf;	/* the last one: the top mount */
		}
	}
	fclose(f);
	return ret;
}

/* Does the comma-separated option list @opts contain exactly @opt? */
static inline bool has_option(const char *opts, const char *opt)
{
	size_t n = strlen(opt);
	const char *p = opts;

	while (p && *p) {
		if (!strncmp(p, opt, n) && (p[n] == ',' || p[n] == '\0'))
			return true;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return false;
}

/*
 * Whether the holefs mount at @dir caches in large folios: dirtying,
 * reservation and writeback then go by whole folios, not pages.
 */
static inline bool large_folios(const char *dir)
{
	char opts[1024];

	return has_option(mount_options(dir, opts, sizeof(opts)),
			  "folios=large");
}

/* --- kernel log ------------------------------------------------------- */

/*
 * Write a unique mark line to the kernel log; it goes into @mark (at least
 * 128 bytes).  @mark is empty if the write failed.
 */
static inline void kmsg_mark(char *mark, size_t len, const char *tag)
{
	static int seq;
	char line[256];
	int fd, n;

	snprintf(mark, len, "holefs-test: mark %d-%d-%.64s", getpid(), ++seq,
		 tag);
	/*
	 * One write, with the newline: a record without one stays open for
	 * a continuation, and readers see it only once the next one comes.
	 */
	n = snprintf(line, sizeof(line), "%s\n", mark);
	fd = open("/dev/kmsg", O_WRONLY);
	if (fd < 0 || write(fd, line, n) != n)
		mark[0] = '\0';
	if (fd >= 0)
		close(fd);
}

/*
 * The kernel log after the line holding @mark (malloc'd, caller frees);
 * NULL on error or if the mark is not in the log.
 */
static inline char *klog_since(const char *mark)
{
	int size = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	char *buf, *p, *q;
	int n;

	if (!*mark)
		return NULL;
	/*
	 * The formatted text ("<6>[    1.234567] ...") is longer than the
	 * records in the ring buffer, and a buffer too small for all of it
	 * loses the newest lines: room for four times the ring buffer.
	 */
	if (size <= 0)
		size = 1 << 20;
	size = size * 4 + (64 << 10);
	buf = calloc(1, size + 1);
	if (!buf)
		return NULL;
	n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, size);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	p = strstr(buf, mark);
	if (!p) {
		free(buf);
		return NULL;
	}
	while ((q = strstr(p + 1, mark)))
		p = q;
	/* Not the mark's own line. */
	q = strchr(p, '\n');
	p = q ? q + 1 : p + strlen(p);
	memmove(buf, p, strlen(p) + 1);
	return buf;
}

/* Is @mark in the kernel log (so that klog_has() means something)? */
static inline bool klog_mark_found(const char *mark)
{
	char *log = klog_since(mark);

	free(log);
	return log != NULL;
}

/* Does the kernel log after @mark have a line containing all of @a, @b? */
static inline bool klog_has(const char *mark, const char *a, const char *b)
{
	char *log = klog_since(mark), *line, *save = NULL;
	bool found = false;

	if (!log)
		return false;
	for (line = strtok_r(log, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strstr(line, a) && (!b || strstr(line, b))) {
			found = true;
			break;
		}
	}
	free(log);
	return found;
}

/* --- data ------------------------------------------------------------- */

/* The byte pattern of file offset @off for stream @seed: never zero. */
static inline unsigned char pat(unsigned int seed, off_t off)
{
	unsigned char c = (unsigned char)((off * 131 + (off >> 12) * 7 +
					    seed * 29) & 0xff);

	return c ? c : 0x5a;
}

static inline void pat_fill(void *buf, size_t len, unsigned int seed,
			    off_t off)
{
	unsigned char *b = buf;
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = pat(seed, off + i);
}

/*
 * First byte of @buf (file offset @off) that is not the pattern, or -1.
 */
static inline long pat_mismatch(const void *buf, size_t len,
				unsigned int seed, off_t off)
{
	const unsigned char *b = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != pat(seed, off + i))
			return (long)i;
	return -1;
}

/* First non-zero byte of @buf, or -1. */
static inline long nonzero_at(const void *buf, size_t len)
{
	const unsigned char *b = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i])
			return (long)i;
	return -1;
}

/* Write @len bytes of pattern @seed at @off; 0 on success. */
static inline int pat_pwrite(int fd, size_t len, unsigned int seed, off_t off)
{
	char *buf = malloc(len ? len : 1);
	ssize_t n;

	if (!buf)
		return -1;
	pat_fill(buf, len, seed, off);
	n = pwrite(fd, buf, len, off);
	free(buf);
	return n == (ssize_t)len ? 0 : -1;
}

/*
 * Read @len bytes at @off with pread into a new buffer (caller frees);
 * NULL unless all @len bytes came back.
 */
static inline char *read_at(int fd, size_t len, off_t off)
{
	char *buf = malloc(len ? len : 1);
	size_t done = 0;

	if (!buf)
		return NULL;
	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, off + done);

		if (n <= 0) {
			free(buf);
			return NULL;
		}
		done += n;
	}
	return buf;
}

/*
 * Check @len bytes at @off read as pattern @seed: -2 read error, -1 ok,
 * else the first bad offset relative to @off.
 */
static inline long check_pat(int fd, size_t len, unsigned int seed, off_t off)
{
	char *buf = read_at(fd, len, off);
	long bad;

	if (!buf)
		return -2;
	bad = pat_mismatch(buf, len, seed, off);
	free(buf);
	return bad;
}

/* Same for zeros. */
static inline long check_zero(int fd, size_t len, off_t off)
{
	char *buf = read_at(fd, len, off);
	long bad;

	if (!buf)
		return -2;
	bad = nonzero_at(buf, len);
	free(buf);
	return bad;
}

static inline long long file_blocks(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? -1 : (long long)st.st_blocks;
}

static inline long long file_size(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? -1 : (long long)st.st_size;
}

/* --- SIGBUS probes ---------------------------------------------------- */

static sigjmp_buf probe_env;
static sig_atomic_t probe_armed;	/* __atomic_* accesses only */

static void probe_handler(int sig)
{
	if (__atomic_exchange_n(&probe_armed, 0, __ATOMIC_SEQ_CST))
		siglongjmp(probe_env, sig);
	signal(sig, SIG_DFL);
	raise(sig);
}

static inline void probe_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = probe_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
}

/*
 * Load one byte from @p into the byte at @out: 0, or the signal that it
 * raised (SIGBUS, SIGSEGV).  The atomic access makes the compiler emit it.
 * void pointers: callers use char or unsigned char buffers alike.
 */
static inline int probe_load(const void *p, void *out)
{
	int sig;

	probe_install();
	sig = sigsetjmp(probe_env, 1);
	if (sig)
		return sig;
	__atomic_store_n(&probe_armed, 1, __ATOMIC_SEQ_CST);
	*(unsigned char *)out = __atomic_load_n((const unsigned char *)p,
						__ATOMIC_RELAXED);
	__atomic_store_n(&probe_armed, 0, __ATOMIC_SEQ_CST);
	return 0;
}

/* Store the byte @v at @p: 0, or the signal it raised. */
static inline int probe_store(void *p, unsigned char v)
{
	int sig;

	probe_install();
	sig = sigsetjmp(probe_env, 1);
	if (sig)
		return sig;
	__atomic_store_n(&probe_armed, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n((unsigned char *)p, v, __ATOMIC_RELAXED);
	__atomic_store_n(&probe_armed, 0, __ATOMIC_SEQ_CST);
	return 0;
}

#endif /* HOLEFS_UTIL_H */
