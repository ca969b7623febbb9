// SPDX-License-Identifier: GPL-2.0
/*
 * holefs_policy - the page-fault policies seen through holefs's counters
 * (issue 5), one fixture variant per safe map_pages= policy, each on an
 * instance of its own mounted under /tmp:
 *
 *   map_pages=off      a sequential mmap read never calls ->map_pages:
 *                      map_pages_calls stays 0, every page is a ->fault;
 *   map_pages=filemap  fault-around maps most pages: map_pages_pages is
 *                      many times fault_calls;
 *   map_pages=trylock  the same without contention, and under a
 *                      concurrent punch loop (punch_delay_us keeps
 *                      invalidate_lock held) map_pages_trylock_failed
 *                      moves, which it never does under the others.
 *
 * Also: the mount shows its policy in /proc/mounts, and (when holefs was
 * loaded without unsafe_policies=1, as run_tests.sh does) the unsafe
 * policies are refused with EPERM and a kernel message, bad values with
 * EINVAL.  Loading with unsafe_policies=1 is policy_test.sh's part.
 */
#define _GNU_SOURCE
#include <linux/falloc.h>
#include <pthread.h>
#include <time.h>

#include "holefs_util.h"
#include "kselftest_harness.h"
#include "holefs_ksft.h"

/* Standalone (kselftest) runs: skip without holefs, see holefs_ksft.h. */
static void __attribute__((constructor)) standalone_require(void)
{
	holefs_ksft_require();
}

#define T_TIMEOUT	300
#define SEQ_PAGES	512	/* 2 MiB: fault-around windows are 16 pages */
#define LOOP_PAGES	64
#define LOOP_MAX_MS	15000
#define DELAY_US	"2000"

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

FIXTURE(policy) {
	char dir[TMPDIR_LEN];
	char file[TMPDIR_LEN + 16];
	bool mounted;
};

FIXTURE_VARIANT(policy) {
	const char *map_pages;
};

FIXTURE_VARIANT_ADD(policy, filemap) { .map_pages = "filemap" };
FIXTURE_VARIANT_ADD(policy, trylock) { .map_pages = "trylock" };
FIXTURE_VARIANT_ADD(policy, off) { .map_pages = "off" };

FIXTURE_SETUP(policy)
{
	char opts[256];
	int ret;

	self->mounted = false;
	ASSERT_NE(NULL, make_tmpdir(self->dir, variant->map_pages));
	snprintf(opts, sizeof(opts), "size=64m,map_pages=%s,punch_delay_us="
		 DELAY_US, variant->map_pages);
	ret = holefs_mount_at(self->dir, opts);
	ASSERT_EQ(0, ret) TH_LOG("mount -o %s: %s", opts, strerror(-ret));
	self->mounted = true;
	snprintf(self->file, sizeof(self->file), "%s/f", self->dir);
}

FIXTURE_TEARDOWN_PARENT(policy)
{
	if (self->mounted && umount(self->dir))
		TH_LOG("umount %s: %s", self->dir, strerror(errno));
	rmdir(self->dir);
}

TEST_F_TIMEOUT(policy, shows_in_proc_mounts, T_TIMEOUT)
{
	char opts[1024], want[64];

	ASSERT_NE(NULL, mount_options(self->dir, opts, sizeof(opts)));
	snprintf(want, sizeof(want), "map_pages=%s", variant->map_pages);
	EXPECT_TRUE(has_option(opts, want)) TH_LOG("%s", opts);
	EXPECT_TRUE(has_option(opts, "fault=filemap")) TH_LOG("%s", opts);
	EXPECT_TRUE(has_option(opts, "punch=locked")) TH_LOG("%s", opts);
	EXPECT_TRUE(has_option(opts, "punch_delay_us=" DELAY_US))
		TH_LOG("%s", opts);
	EXPECT_TRUE(has_option(opts, "size=67108864")) TH_LOG("%s", opts);
}

TEST_F_TIMEOUT(policy, seq_mmap_read, T_TIMEOUT)
{
	long long faults, calls, pages, failed;
	size_t len = SEQ_PAGES * PG;
	unsigned long sum = 0;
	long i, bad = -1;
	char *p;
	int fd;

	/* Written with write(2): every page is cached and uptodate. */
	fd = open(self->file, O_CREAT | O_RDWR, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pat_pwrite(fd, len, 50, 0));
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, holefs_stats_clear(self->dir));
	for (i = 0; i < SEQ_PAGES; i++) {
		unsigned char c = p[i * PG + (i % 97)];

		sum += c;
		if (bad < 0 && c != pat(50, i * PG + (i % 97)))
			bad = i;
	}
	faults = holefs_stat(self->dir, "fault_calls");
	calls = holefs_stat(self->dir, "map_pages_calls");
	pages = holefs_stat(self->dir, "map_pages_pages");
	failed = holefs_stat(self->dir, "map_pages_trylock_failed");
	TH_LOG("%s: %d pages read: fault_calls=%lld map_pages_calls=%lld map_pages_pages=%lld map_pages_trylock_failed=%lld (sum %lu)",
	       variant->map_pages, SEQ_PAGES, faults, calls, pages, failed,
	       sum);
	EXPECT_EQ(-1, bad) TH_LOG("page %ld has the wrong data", bad);
	munmap(p, len);
	close(fd);

	EXPECT_EQ(0, failed);
	if (large_folios(self->dir)) {
		/*
		 * The 2 MiB write made one PMD-sized folio, which one fault
		 * maps whole (finish_fault() -> do_set_pmd(); 6.12's
		 * filemap_map_pages() maps no PMD for a folio that reaches
		 * EOF): nothing is left to fault around.
		 */
		EXPECT_GE(SEQ_PAGES / 4, faults);
		if (!strcmp(variant->map_pages, "off"))
			EXPECT_EQ(0, calls);
	} else if (!strcmp(variant->map_pages, "off")) {
		EXPECT_EQ(0, calls);
		EXPECT_EQ(0, pages);
		/* Every page took the slow path. */
		EXPECT_LE(SEQ_PAGES, faults);
	} else {
		EXPECT_LT(0, calls);
		/* Most pages were mapped by fault-around... */
		EXPECT_LE(SEQ_PAGES * 3 / 4, pages);
		/* ...many times more than went through ->fault. */
		EXPECT_LE(8 * faults, pages);
		EXPECT_GE(SEQ_PAGES / 4, faults);
	}
}

struct puncher {
	int fd;
	int stop;		/* __atomic_* accesses */
	long rounds;
	int err;
};

static void *punch_loop(void *arg)
{
	struct puncher *pu = arg;

	while (!__atomic_load_n(&pu->stop, __ATOMIC_RELAXED)) {
		if (fallocate(pu->fd, FALLOC_FL_PUNCH_HOLE |
			      FALLOC_FL_KEEP_SIZE, 0, LOOP_PAGES * PG) ||
		    pat_pwrite(pu->fd, LOOP_PAGES * PG, 51, 0)) {
			pu->err = errno;
			break;
		}
		pu->rounds++;
	}
	return NULL;
}

TEST_F_TIMEOUT(policy, punch_loop_trylock, T_TIMEOUT)
{
	long long faults, calls, failed, punches;
	struct puncher pu = { .fd = -1 };
	size_t len = LOOP_PAGES * PG;
	bool trylock = !strcmp(variant->map_pages, "trylock");
	long start, reads = 0, i;
	unsigned long sum = 0;
	pthread_t tid;
	char *p;

	pu.fd = open(self->file, O_CREAT | O_RDWR, 0644);
	ASSERT_LE(0, pu.fd);
	ASSERT_EQ(0, pat_pwrite(pu.fd, len, 51, 0));
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, pu.fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, holefs_stats_clear(self->dir));
	ASSERT_EQ(0, pthread_create(&tid, NULL, punch_loop, &pu));
	start = now_ms();
	/*
	 * Fault the mapping in again and again while the punches run; stop
	 * early once a trylock failed (after a minimum, for the others).
	 */
	while (now_ms() - start < LOOP_MAX_MS) {
		ASSERT_EQ(0, madvise(p, len, MADV_DONTNEED));
		for (i = 0; i < LOOP_PAGES; i++)
			sum += __atomic_load_n(p + i * PG, __ATOMIC_RELAXED);
		reads++;
		if (now_ms() - start < 1000)
			continue;
		if (trylock &&
		    holefs_stat(self->dir, "map_pages_trylock_failed") > 0)
			break;
		if (!trylock && now_ms() - start > 3000)
			break;
	}
	__atomic_store_n(&pu.stop, 1, __ATOMIC_RELAXED);
	pthread_join(tid, NULL);
	faults = holefs_stat(self->dir, "fault_calls");
	calls = holefs_stat(self->dir, "map_pages_calls");
	failed = holefs_stat(self->dir, "map_pages_trylock_failed");
	punches = holefs_stat(self->dir, "punches");
	TH_LOG("%s: %ld ms, %ld sweeps, %ld punch rounds: fault_calls=%lld map_pages_calls=%lld map_pages_trylock_failed=%lld punches=%lld (sum %lu)",
	       variant->map_pages, now_ms() - start, reads, pu.rounds, faults,
	       calls, failed, punches, sum);
	munmap(p, len);
	close(pu.fd);

	EXPECT_EQ(0, pu.err) TH_LOG("punch loop: %s", strerror(pu.err));
	EXPECT_LT(0, punches);
	EXPECT_LT(0, faults);
	if (trylock) {
		EXPECT_LT(0, failed);
		EXPECT_LT(0, calls);
	} else if (!strcmp(variant->map_pages, "off")) {
		EXPECT_EQ(0, calls);
		EXPECT_EQ(0, failed);
	} else {
		EXPECT_LT(0, calls);
		EXPECT_EQ(0, failed);
	}
}

/* --- refused options ------------------------------------------------------ */

static bool unsafe_allowed(void)
{
	char v = 'N';
	int fd = open("/sys/module/holefs/parameters/unsafe_policies",
		      O_RDONLY);

	if (fd >= 0) {
		if (read(fd, &v, 1) != 1)
			v = 'N';
		close(fd);
	}
	return v == 'Y' || v == '1';
}

FIXTURE(opts) {
	char dir[TMPDIR_LEN];
};

FIXTURE_SETUP(opts)
{
	ASSERT_NE(NULL, make_tmpdir(self->dir, "opts"));
}

FIXTURE_TEARDOWN_PARENT(opts)
{
	/* A test that mounted by mistake leaves it to us. */
	while (!umount(self->dir))
		;
	rmdir(self->dir);
}

/* Mount @o: expect -@err and a kernel line with "holefs" and @msg. */
static void expect_refused(struct __test_metadata *_metadata,
			   const char *dir, const char *o, int err,
			   const char *msg)
{
	char mark[128];
	int ret;

	kmsg_mark(mark, sizeof(mark), o);
	ret = holefs_mount_at(dir, o);
	EXPECT_EQ(-err, ret) TH_LOG("mount -o %s: %s", o, strerror(-ret));
	if (!ret) {
		umount(dir);
		return;
	}
	EXPECT_TRUE(klog_has(mark, "holefs", msg))
		TH_LOG("-o %s: no kernel message with \"%s\"", o, msg);
}

TEST_F_TIMEOUT(opts, unsafe_refused_eperm, T_TIMEOUT)
{
	static const char * const unsafe[] = {
		"map_pages=locked", "fault=unlocked", "punch=unlocked",
		"size=1m,map_pages=off,fault=unlocked",
	};
	unsigned int i;

	if (unsafe_allowed())
		SKIP(return, "holefs is loaded with unsafe_policies=1");
	for (i = 0; i < ARRAY_SIZE(unsafe); i++)
		expect_refused(_metadata, self->dir, unsafe[i], EPERM,
			       "unsafe policy refused");
}

TEST_F_TIMEOUT(opts, bad_values_einval, T_TIMEOUT)
{
	static const struct { const char *o, *msg; } bad[] = {
		{ "map_pages=bogus", "map_pages" },
		{ "map_pages=", "map_pages" },
		{ "map_pages=Filemap", "map_pages" },
		{ "fault=locked", "fault" },
		{ "punch=filemap", "punch" },
		{ "punch_delay_us=10000001", "punch_delay_us" },
		{ "punch_delay_us=-1", "punch_delay_us" },
		{ "punch_delay_us=1ms", "punch_delay_us" },
		{ "truncate_delay_us=10000001", "truncate_delay_us" },
		{ "bogus=1", "bogus" },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(bad); i++)
		expect_refused(_metadata, self->dir, bad[i].o, EINVAL,
			       bad[i].msg);
}

TEST_F_TIMEOUT(opts, safe_values_mount, T_TIMEOUT)
{
	static const char * const good[] = {
		"map_pages=filemap", "map_pages=trylock", "map_pages=off",
		"fault=filemap", "punch=locked", "punch_delay_us=0",
		"punch_delay_us=10000000", "truncate_delay_us=10000000",
		"size=2m,map_pages=trylock,fault=filemap,punch=locked,punch_delay_us=5",
	};
	char opts[1024], want[128], *tok, *save;
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		ret = holefs_mount_at(self->dir, good[i]);
		EXPECT_EQ(0, ret) TH_LOG("mount -o %s: %s", good[i],
					 strerror(-ret));
		if (ret)
			continue;
		ASSERT_NE(NULL, mount_options(self->dir, opts, sizeof(opts)));
		/* Every option given is shown as given. */
		snprintf(want, sizeof(want), "%s", good[i]);
		for (tok = strtok_r(want, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save)) {
			if (!strncmp(tok, "size=", 5))
				continue;
			EXPECT_TRUE(has_option(opts, tok))
				TH_LOG("-o %s: /proc/mounts has %s", good[i],
				       opts);
		}
		EXPECT_EQ(0, umount(self->dir));
	}
}

TEST_HARNESS_MAIN
