// SPDX-License-Identifier: GPL-2.0
/*
 * holefs_race - userspace reproducers for page cache invalidation races.
 *
 * Does ->map_pages (or ->fault, or buffered read) need the mapping's
 * invalidate_lock?  If a fault instantiates a folio from blocks that a
 * concurrent hole punch (or truncate) is about to free, the folio survives
 * the punch and the file shows stale data where it must read zeros.  These
 * tests try to make that happen and check for it.
 *
 * Detection protocol (it must never report a race on a correct filesystem):
 *
 * Every round r runs these phases; barriers separate them:
 *
 *   FILL      the controller (the test thread, "thread 1") pwrites the
 *             range with stamps (writer 1, sequence r, word index), which
 *             are never zero; on every other round it also does fdatasync +
 *             POSIX_FADV_DONTNEED so the data is read back from the store
 *             (map-pages-hot: fdatasync on every round, the folios stay
 *             cached), and on some rounds it pre-faults the range.
 *   RACE      workers fault (or read, or write) over the range in loops
 *             while the controller punches a hole over all of it (or
 *             truncates down and back up).  After the punch returns, the
 *             controller publishes done_gen = r, preads the range and then
 *             publishes stop_round = r.
 *   VERIFY    all threads are idle except for reads: every worker checks
 *             its own mapping (and one of them the mapping shared by all).
 *   next round.
 *
 * No thread writes the range between the end of a punch and the next
 * FILL, so after the punch returns every byte of the range must read as
 * zero through every view.  A non-zero word found by a read that began
 * after the punch returned is a detection.  Reads during the RACE phase
 * sample done_gen (acquire) before each access: a read that started before
 * the punch returned may legitimately see the pattern and is not checked.
 * The truncate scenario does the same with down_gen (truncate-down has
 * returned) for the part of the file beyond the cut.
 *
 * write-race: workers write stamps (writer id, per-writer sequence, word
 * index) with pwrite (whole pages) and with stores through their mappings
 * (the first word of each page only: a write fault that fills its folio
 * from blocks the punch is about to free leaves the rest of the page
 * stale, where a whole-page store would overwrite the evidence) during the
 * punch.  Each writer publishes the sequence of every write it completed
 * (release).  Before calling fallocate the controller snapshots those
 * (lo[w]); after the punch and once the writers stopped it reads the last
 * started sequence (hi[w]).  A surviving word must then be zero or carry a
 * stamp of writer w with lo[w] < seq <= hi[w]: a write that had not
 * completed when the punch started.  A stamp with seq <= lo[w] (including
 * the fill, whose writes all completed) is stale; a stamp at the wrong
 * index or with an unknown writer is garbage.  Writes are 8-byte aligned
 * stamps and x86 stores of 8 aligned bytes are atomic, so no word can be
 * half old, half new.
 *
 * Window hits: the controller bumps op_seq to odd just before the punch
 * (truncate down) system call and back to even when it returned.  A
 * worker access (a page load, a pread, a stamped write) that started or
 * ended while op_seq was odd overlapped the operation: a hit.  Hits are
 * what a run can be budgeted by whatever the speed of the kernel: with
 * HOLEFS_RACE_HITS=N the run ends once the workers have hit the window N
 * times (counted at the end of a round), or at its first detection.
 *
 * Parameters come from the environment (the harness owns argv):
 * HOLEFS_RACE_DIR (default /mnt), HOLEFS_RACE_DURATION_MS,
 * HOLEFS_RACE_ITERATIONS, HOLEFS_RACE_HITS (with only the hit budget the
 * run is capped at 600 s; 3000 ms if none is set), HOLEFS_RACE_SIZE
 * (bytes, k/m/g suffix, default 4m), HOLEFS_RACE_THREADS (workers, default
 * 2), HOLEFS_RACE_SEED (default 1), HOLEFS_RACE_INJECT=1 (self-check:
 * after each punch, write a few stale stamps through a separate fd; the
 * tests must then fail).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "holefs_ksft.h"

/* Standalone (kselftest) runs: a mount of its own, see holefs_ksft.h. */
static void __attribute__((constructor)) standalone_fixture(void)
{
	holefs_ksft_fixture();
}

#define RACE_TIMEOUT		900	/* seconds, per test */
#define RACE_MAX_THREADS	64
#define RACE_DEFAULT_SIZE	(4UL << 20)
#define RACE_DEFAULT_MS		3000
#define RACE_HITS_CAP_MS	600000	/* HOLEFS_RACE_HITS without a duration */
#define RACE_STRIDE		16	/* pages, strided sweeps */
#define RACE_CHUNK_PAGES	16	/* pread and write chunk */
#define RACE_INJECT_WORDS	8

/* Stamp: writer (8 bits) | sequence (24 bits) | word index (32 bits). */
#define STAMP_WRITER_SHIFT	56
#define STAMP_SEQ_SHIFT		32
#define STAMP_SEQ_MASK		0xffffffU
#define STAMP_SEQ_HALF		0x800000U
#define STAMP_IDX_MASK		0xffffffffULL
#define STAMP_FILLER		1	/* the controller's fill pattern */
#define STAMP_WRITER0		2	/* write-race worker i is 2 + i */
#define STAMP_WRITERS		(STAMP_WRITER0 + RACE_MAX_THREADS)

enum stamp_class {
	STAMP_ZERO,
	STAMP_OK,
	STAMP_STALE,
	STAMP_MISPLACED,
	STAMP_GARBAGE,
};

static const char * const stamp_class_name[] = {
	"zero", "ok", "stale", "misplaced", "garbage",
};

static uint64_t stamp_encode(unsigned int writer, uint32_t seq, uint64_t idx)
{
	return (uint64_t)writer << STAMP_WRITER_SHIFT |
	       (uint64_t)(seq & STAMP_SEQ_MASK) << STAMP_SEQ_SHIFT |
	       (idx & STAMP_IDX_MASK);
}

/*
 * Classify the word @v read at word index @idx after a punch returned.
 * For writer w (1 <= w <= @nwriters), @lo[w] is the last sequence whose
 * write completed before the punch started and @hi[w] the last sequence
 * started before the check.  Sequences compare modulo 2^24.
 */
static enum stamp_class stamp_classify(uint64_t v, uint64_t idx,
				       const uint32_t *lo, const uint32_t *hi,
				       unsigned int nwriters)
{
	unsigned int w = v >> STAMP_WRITER_SHIFT;
	uint32_t seq = (v >> STAMP_SEQ_SHIFT) & STAMP_SEQ_MASK;
	uint32_t d, span;

	if (!v)
		return STAMP_ZERO;
	if (!w || w > nwriters)
		return STAMP_GARBAGE;
	if ((v & STAMP_IDX_MASK) != (idx & STAMP_IDX_MASK))
		return STAMP_MISPLACED;
	d = (seq - lo[w]) & STAMP_SEQ_MASK;
	span = (hi[w] - lo[w]) & STAMP_SEQ_MASK;
	if (d >= 1 && d <= span)
		return STAMP_OK;
	if (((lo[w] - seq) & STAMP_SEQ_MASK) < STAMP_SEQ_HALF)
		return STAMP_STALE;
	return STAMP_GARBAGE;
}

enum scenario {
	SC_SEED,
	SC_MAP_PAGES_HOT,
	SC_READ_RACE,
	SC_WRITE_RACE,
	SC_TRUNCATE,
};

static const char * const scenario_name[] = {
	"seed", "map-pages-hot", "read-race", "write-race", "truncate",
};

struct race_cfg {
	char dir[PATH_MAX];
	long duration_ms;
	long iterations;
	long hits;
	size_t size;
	int threads;
	uint64_t seed;
	bool inject;
};

struct detection {
	long round;
	long ms;
	uint64_t offset;
	uint64_t value;
	int thread;
	enum stamp_class cls;
	long bad_words;
	char view[32];
};

struct race;

struct race_worker {
	struct race *r;
	pthread_t tid;
	int id;
	uint64_t rng;
	uint64_t *map;		/* own mapping (NULL when made per sweep) */
	uint64_t *buf;		/* RACE_CHUNK_PAGES pages */
	uint32_t started;	/* write-race: last sequence started */
	uint32_t done;		/* write-race: last sequence completed */
	long live_round;	/* last round with a live detection */
	long op_reads;		/* accesses begun while the punch ran */
	long hits;		/* accesses overlapping the op_seq odd phase */
};

struct race {
	struct race_cfg cfg;
	enum scenario sc;
	int fd;
	int fd_inject;
	size_t page;
	size_t npages;
	size_t nwords;
	size_t wpp;		/* words per page */
	uint64_t *shared;	/* one mapping used by all workers */
	uint64_t *fill;
	uint64_t *buf;		/* controller's pread buffer */
	struct race_worker *w;
	pthread_barrier_t bar;
	pthread_mutex_t lock;
	struct timespec t0;
	uint64_t rng;
	long round;
	long op_gen;		/* round whose punch / truncate has begun */
	long done_gen;		/* round whose punch / truncate-up returned */
	long down_gen;		/* truncate: round whose truncate-down returned */
	unsigned long op_seq;	/* odd while the punch (truncate down) runs */
	long stop_round;	/* workers leave the race phase */
	int racing;		/* workers that entered the race phase */
	bool quit;
	size_t cut;		/* truncate: bytes kept */
	unsigned int nwriters;
	uint32_t lo[STAMP_WRITERS];
	uint32_t hi[STAMP_WRITERS];
	long rounds;
	long op_reads;
	long hits;
	long op_hit;		/* last round with an access during the punch */
	long op_rounds;		/* rounds with such an access */
	long detections;
	long sigbus;
	bool have_first;
	struct detection first;
	int err;
	char errmsg[160];
};

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static long elapsed_ms(const struct race *r)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - r->t0.tv_sec) * 1000 +
	       (now.tv_nsec - r->t0.tv_nsec) / 1000000;
}

static void race_error(struct race *r, const char *what)
{
	int e = errno;

	pthread_mutex_lock(&r->lock);
	if (!r->err) {
		r->err = e ? e : EIO;
		snprintf(r->errmsg, sizeof(r->errmsg), "%s: %s", what,
			 strerror(r->err));
	}
	pthread_mutex_unlock(&r->lock);
}

static void report(struct race *r, long round, const char *view, int thread,
		   size_t word, uint64_t v, long bad_words)
{
	uint32_t lo[STAMP_WRITERS], hi[STAMP_WRITERS];
	enum stamp_class cls;

	pthread_mutex_lock(&r->lock);
	memcpy(lo, r->lo, sizeof(lo));
	memcpy(hi, r->hi, sizeof(hi));
	cls = stamp_classify(v, word, lo, hi, r->nwriters);
	r->detections++;
	if (!r->have_first) {
		r->have_first = true;
		r->first.round = round;
		r->first.ms = elapsed_ms(r);
		r->first.offset = (uint64_t)word * 8;
		r->first.value = v;
		r->first.thread = thread;
		r->first.cls = cls;
		r->first.bad_words = bad_words;
		snprintf(r->first.view, sizeof(r->first.view), "%s", view);
	}
	pthread_mutex_unlock(&r->lock);
}

/*
 * Check words [from, to) of a view that was read after the punch
 * returned; @words[i] holds word index @from + i.  Returns the number of
 * words that are neither zero nor a stamp of a write still in flight
 * when the punch started.
 */
static long check_words(struct race *r, const uint64_t *words, size_t from,
			size_t to, size_t *first_bad, uint64_t *first_val)
{
	long bad = 0;
	size_t i;

	for (i = from; i < to; i++) {
		uint64_t v = __atomic_load_n(&words[i - from], __ATOMIC_RELAXED);
		enum stamp_class c;

		if (!v)
			continue;
		c = stamp_classify(v, i, r->lo, r->hi, r->nwriters);
		if (c == STAMP_OK)
			continue;
		if (!bad++) {
			*first_bad = i;
			*first_val = v;
		}
	}
	return bad;
}

static void verify_map(struct race *r, const uint64_t *map, const char *view,
		       int thread, size_t from)
{
	size_t first_bad = 0;
	uint64_t first_val = 0;
	long bad;

	bad = check_words(r, map + from, from, r->nwords, &first_bad,
			  &first_val);
	if (bad)
		report(r, r->round, view, thread, first_bad, first_val, bad);
}

static void verify_pread(struct race *r, int fd, uint64_t *buf,
			 const char *view, int thread, size_t from)
{
	size_t chunk = RACE_CHUNK_PAGES * r->wpp, first_bad = 0, w;
	uint64_t first_val = 0, fv;
	long bad = 0, b;
	size_t fb;

	for (w = from; w < r->nwords; w += chunk) {
		size_t n = r->nwords - w < chunk ? r->nwords - w : chunk;
		ssize_t got = pread(fd, buf, n * 8, w * 8);

		if (got < 0) {
			race_error(r, "pread");
			return;
		}
		b = check_words(r, buf, w, w + got / 8, &fb, &fv);
		if (b && !bad) {
			first_bad = fb;
			first_val = fv;
		}
		bad += b;
	}
	if (bad)
		report(r, r->round, view, thread, first_bad, first_val, bad);
}

/* SIGBUS past EOF (truncate scenario): jump back out of the access. */
static __thread sigjmp_buf bus_jmp;
static __thread int bus_armed;

static void bus_handler(int sig)
{
	if (!bus_armed) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	bus_armed = 0;
	siglongjmp(bus_jmp, 1);
}

/* Returns false if the access raised SIGBUS. */
static bool load_guarded(const uint64_t *p, uint64_t *out)
{
	if (sigsetjmp(bus_jmp, 0))
		return false;
	bus_armed = 1;
	*out = __atomic_load_n(p, __ATOMIC_RELAXED);
	bus_armed = 0;
	return true;
}

/* The k-th page of a sweep in @order (0 fwd, 1 back, 2 strided); -1: skip */
static long sweep_page(int order, size_t k, size_t n)
{
	size_t rows = (n + RACE_STRIDE - 1) / RACE_STRIDE;
	size_t p;

	switch (order) {
	case 0:
		return k < n ? (long)k : -1;
	case 1:
		return k < n ? (long)(n - 1 - k) : -1;
	default:
		p = (k % rows) * RACE_STRIDE + k / rows;
		return p < n ? (long)p : -1;
	}
}

static size_t sweep_len(size_t n)
{
	return (n + RACE_STRIDE - 1) / RACE_STRIDE * RACE_STRIDE;
}

static bool race_running(struct race *r, long round)
{
	return __atomic_load_n(&r->stop_round, __ATOMIC_ACQUIRE) != round;
}

/*
 * A read of word @word that started after the gen counter @gen showed
 * @round saw @v: anything non-zero there is stale.
 */
static void live_check(struct race_worker *me, long round, long gen,
		       const char *view, size_t word, uint64_t v)
{
	struct race *r = me->r;

	if (!v || gen != round || me->live_round == round)
		return;
	if (r->sc == SC_TRUNCATE && word * 8 < r->cut)
		return;
	me->live_round = round;
	report(r, round, view, me->id + 2, word, v, 1);
}

/*
 * Count an access that begins while the punch (truncate) is in flight;
 * returns op_seq as the access begins, for hit_end().
 */
static unsigned long count_op_read(struct race_worker *me, long round)
{
	struct race *r = me->r;

	if (__atomic_load_n(&r->op_gen, __ATOMIC_ACQUIRE) == round &&
	    __atomic_load_n(&r->done_gen, __ATOMIC_ACQUIRE) != round)
		me->op_reads++;
	return __atomic_load_n(&r->op_seq, __ATOMIC_ACQUIRE);
}

/* The access that began at op_seq @seq ended: a hit if either was odd. */
static void hit_end(struct race_worker *me, unsigned long seq)
{
	if ((seq | __atomic_load_n(&me->r->op_seq, __ATOMIC_ACQUIRE)) & 1)
		me->hits++;
}

static long *live_gen(struct race *r)
{
	return r->sc == SC_TRUNCATE ? &r->down_gen : &r->done_gen;
}

static void *map_file(struct race *r, int prot)
{
	void *p = mmap(NULL, r->cfg.size, prot, MAP_SHARED, r->fd, 0);

	if (p == MAP_FAILED) {
		race_error(r, "mmap");
		return NULL;
	}
	return p;
}

/* One fault sweep over @map; returns false when the race phase ended. */
static bool fault_sweep(struct race_worker *me, long round, uint64_t *map,
			const char *view, int order)
{
	struct race *r = me->r;
	long *gen = live_gen(r);
	size_t k, len = sweep_len(r->npages);

	for (k = 0; k < len; k++) {
		long p = sweep_page(order, k, r->npages);
		unsigned long seq;
		size_t word;
		uint64_t v;
		long g;
		bool ok = true;

		if (p < 0)
			continue;
		if (!(k & 15) && !race_running(r, round))
			return false;
		word = (size_t)p * r->wpp;
		seq = count_op_read(me, round);
		g = __atomic_load_n(gen, __ATOMIC_ACQUIRE);
		if (r->sc == SC_TRUNCATE)
			ok = load_guarded(&map[word], &v);
		else
			v = __atomic_load_n(&map[word], __ATOMIC_RELAXED);
		hit_end(me, seq);
		if (!ok) {
			__atomic_fetch_add(&r->sigbus, 1, __ATOMIC_RELAXED);
			continue;
		}
		live_check(me, round, g, view, word, v);
	}
	return true;
}

static bool pread_sweep(struct race_worker *me, long round, int order)
{
	struct race *r = me->r;
	long *gen = live_gen(r);
	size_t nchunks = (r->npages + RACE_CHUNK_PAGES - 1) / RACE_CHUNK_PAGES;
	size_t k, len = sweep_len(nchunks), i;

	for (k = 0; k < len; k++) {
		long c = sweep_page(order, k, nchunks);
		unsigned long seq;
		size_t word, n;
		ssize_t got;
		long g;

		if (c < 0)
			continue;
		if (!race_running(r, round))
			return false;
		word = (size_t)c * RACE_CHUNK_PAGES * r->wpp;
		n = RACE_CHUNK_PAGES * r->wpp;
		if (n > r->nwords - word)
			n = r->nwords - word;
		seq = count_op_read(me, round);
		g = __atomic_load_n(gen, __ATOMIC_ACQUIRE);
		got = pread(r->fd, me->buf, n * 8, word * 8);
		hit_end(me, seq);
		if (got < 0) {
			race_error(r, "pread");
			return false;
		}
		for (i = 0; i < (size_t)got / 8; i++)
			live_check(me, round, g, "pread-live", word + i,
				   me->buf[i]);
	}
	return true;
}

static void spin_us(long us)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	do {
		clock_gettime(CLOCK_MONOTONIC, &b);
	} while ((b.tv_sec - a.tv_sec) * 1000000 +
		 (b.tv_nsec - a.tv_nsec) / 1000 < us);
}

/*
 * write-race: one stamped write of 1..RACE_CHUNK_PAGES pages, whole pages
 * with pwrite, the first word of each page through a mapping.  Rounds
 * 3, 7, ... write through the mappings only: a pwrite waits for the
 * punch's i_rwsem, so a writer that mixes in pwrites spends the window
 * blocked.  Their writes are paced (0-255 us apart): a write fault during
 * a locked punch waits in ->page_mkwrite until the punch ends, so only a
 * writer's first fault after the punch unmapped the range counts, and
 * unpaced it comes at once, while the cache is still being truncated,
 * instead of anywhere in the window.
 */
static void stamped_write(struct race_worker *me)
{
	struct race *r = me->r;
	uint32_t seq = (me->started + 1) & STAMP_SEQ_MASK;
	size_t np = 1 + rng_next(&me->rng) % RACE_CHUNK_PAGES;
	size_t p0 = rng_next(&me->rng) % r->npages, w0, n, i;
	unsigned int writer = STAMP_WRITER0 + me->id;
	unsigned long op_seq;
	uint64_t *dst;

	if (np > r->npages - p0)
		np = r->npages - p0;
	w0 = p0 * r->wpp;
	n = np * r->wpp;
	__atomic_store_n(&me->started, seq, __ATOMIC_RELAXED);
	op_seq = count_op_read(me, r->round);
	if ((seq & 1) && r->round % 4 != 3) {
		for (i = 0; i < n; i++)
			me->buf[i] = stamp_encode(writer, seq, w0 + i);
		if (pwrite(r->fd, me->buf, n * 8, w0 * 8) != (ssize_t)(n * 8))
			race_error(r, "pwrite");
	} else {
		dst = (seq & 2) ? r->shared : me->map;
		for (i = 0; i < n; i += r->wpp)
			__atomic_store_n(&dst[w0 + i],
					 stamp_encode(writer, seq, w0 + i),
					 __ATOMIC_RELAXED);
	}
	hit_end(me, op_seq);
	__atomic_store_n(&me->done, seq, __ATOMIC_RELEASE);
	if (r->round % 4 == 3)
		spin_us(rng_next(&me->rng) % 256);
}

static void worker_race(struct race_worker *me, long round)
{
	struct race *r = me->r;
	/*
	 * read-race: only odd rounds have the pattern in the store (fill
	 * syncs and drops it), so they alternate between buffered reads only
	 * (rounds 1, 5, ...) and mmap faults only (3, 7, ...): both paths
	 * must read the store while a punch runs, and a pread begun during a
	 * locked punch waits for it (readahead takes invalidate_lock), which
	 * would keep a racer out of the window an unlocked ->fault races in.
	 */
	bool pread_only = r->sc == SC_READ_RACE && round % 4 == 1;
	bool fault_only = r->sc == SC_READ_RACE && round % 4 == 3;
	int prot = r->sc == SC_WRITE_RACE ? PROT_READ | PROT_WRITE : PROT_READ;
	long sweep;

	for (sweep = 0; race_running(r, round); sweep++) {
		int order = (me->id + sweep / 2) % 3;
		bool shared = sweep & 1;
		uint64_t *map = shared ? r->shared : me->map;
		const char *view = shared ? "map-shared-live" : "map-own-live";
		bool more;

		if (r->sc == SC_WRITE_RACE) {
			stamped_write(me);
			continue;
		}
		if (pread_only || (!fault_only && (r->sc == SC_READ_RACE ||
						   r->sc == SC_TRUNCATE) &&
				   (sweep & 2))) {
			if (!pread_sweep(me, round, order))
				break;
			continue;
		}
		if (r->sc == SC_MAP_PAGES_HOT && !shared) {
			/* A fresh mapping: faults go through fault-around. */
			map = map_file(r, prot);
			if (!map)
				break;
		}
		more = fault_sweep(me, round, map, view, order);
		if (r->sc == SC_MAP_PAGES_HOT && !shared)
			munmap(map, r->cfg.size);
		else if (madvise(map, r->cfg.size, MADV_DONTNEED))
			race_error(r, "madvise");
		if (!more)
			break;
	}
}

static void worker_verify(struct race_worker *me, long round)
{
	struct race *r = me->r;
	size_t from = r->sc == SC_TRUNCATE ? r->cut / 8 : 0;
	int thread = me->id + 2;
	uint64_t *map;

	if (me->map) {
		verify_map(r, me->map, "map-own", thread, from);
		if (madvise(me->map, r->cfg.size, MADV_DONTNEED))
			race_error(r, "madvise");
	}
	if (me->id == round % r->cfg.threads)
		verify_map(r, r->shared, "map-shared", thread, from);
	if (r->sc == SC_MAP_PAGES_HOT || r->sc == SC_READ_RACE) {
		map = map_file(r, PROT_READ);
		if (map) {
			verify_map(r, map, "map-fresh", thread, from);
			munmap(map, r->cfg.size);
		}
	}
}

static void *worker_main(void *arg)
{
	struct race_worker *me = arg;
	struct race *r = me->r;
	long round, before;

	for (;;) {
		pthread_barrier_wait(&r->bar);	/* RACE starts */
		if (__atomic_load_n(&r->quit, __ATOMIC_ACQUIRE))
			break;
		round = r->round;
		__atomic_fetch_add(&r->racing, 1, __ATOMIC_RELEASE);
		before = me->op_reads;
		worker_race(me, round);
		if (me->op_reads != before)
			__atomic_store_n(&r->op_hit, round, __ATOMIC_RELAXED);
		/* The last sequence this writer started, for the check. */
		r->hi[STAMP_WRITER0 + me->id] = me->started;
		pthread_barrier_wait(&r->bar);	/* all idle: VERIFY */
		worker_verify(me, round);
		pthread_barrier_wait(&r->bar);	/* VERIFY done */
	}
	return NULL;
}

static void fill_range(struct race *r, long round)
{
	size_t i, off = 0;

	for (i = 0; i < r->nwords; i++)
		r->fill[i] = stamp_encode(STAMP_FILLER, round, i);
	while (off < r->cfg.size) {
		ssize_t n = pwrite(r->fd, (char *)r->fill + off,
				   r->cfg.size - off, off);

		if (n <= 0) {
			race_error(r, "pwrite fill");
			return;
		}
		off += n;
	}
	/*
	 * The store must hold the pattern, or a fault that reads it back
	 * during the punch finds zeros.  map-pages-hot keeps the folios
	 * (clean, uptodate) in the cache; the others drop them on odd
	 * rounds so the data must come back from the store.
	 */
	if (r->sc == SC_MAP_PAGES_HOT || (round & 1)) {
		if (fdatasync(r->fd))
			race_error(r, "fdatasync");
	}
	if (r->sc != SC_MAP_PAGES_HOT && (round & 1)) {
		errno = posix_fadvise(r->fd, 0, r->cfg.size,
				      POSIX_FADV_DONTNEED);
		if (errno)
			race_error(r, "posix_fadvise");
	}
	if ((round >> 1) & 1) {
		/* Pre-fault through the shared mapping. */
		for (i = 0; i < r->nwords; i += r->wpp)
			(void)__atomic_load_n(&r->shared[i], __ATOMIC_RELAXED);
	}
}

static void inject_stale(struct race *r, long round)
{
	size_t from = r->sc == SC_TRUNCATE ? r->cut / 8 : 0;
	size_t i, w;
	uint64_t v;

	for (i = 0; i < RACE_INJECT_WORDS; i++) {
		/* First word of a page, where the live checks look too. */
		w = from + rng_next(&r->rng) % ((r->nwords - from) / r->wpp) *
			   r->wpp;
		v = stamp_encode(STAMP_FILLER, round, w);
		if (pwrite(r->fd_inject, &v, 8, w * 8) != 8)
			race_error(r, "pwrite inject");
	}
}

/* The controller's RACE phase: punch (or truncate down + up). */
static int race_op(struct race *r, long round)
{
	struct timespec a, b;
	int i, ret;

	/* Let the workers get going (up to 20 ms), then a random delay. */
	clock_gettime(CLOCK_MONOTONIC, &a);
	do {
		clock_gettime(CLOCK_MONOTONIC, &b);
	} while (__atomic_load_n(&r->racing, __ATOMIC_ACQUIRE) <
		 r->cfg.threads &&
		 (b.tv_sec - a.tv_sec) * 1000 +
		 (b.tv_nsec - a.tv_nsec) / 1000000 < 20);
	spin_us(rng_next(&r->rng) % 200);
	if (r->sc == SC_WRITE_RACE) {
		for (i = 0; i < r->cfg.threads; i++)
			r->lo[STAMP_WRITER0 + i] =
				__atomic_load_n(&r->w[i].done, __ATOMIC_ACQUIRE);
	}
	__atomic_store_n(&r->op_gen, round, __ATOMIC_RELEASE);
	if (r->sc == SC_TRUNCATE) {
		r->cut = (1 + rng_next(&r->rng) % (r->npages - 1)) * r->page;
		__atomic_fetch_add(&r->op_seq, 1, __ATOMIC_RELEASE);
		ret = ftruncate(r->fd, r->cut);
		__atomic_fetch_add(&r->op_seq, 1, __ATOMIC_RELEASE);
		if (ret)
			return -1;
		__atomic_store_n(&r->down_gen, round, __ATOMIC_RELEASE);
		spin_us(rng_next(&r->rng) % 500);
		return ftruncate(r->fd, r->cfg.size);
	}
	__atomic_fetch_add(&r->op_seq, 1, __ATOMIC_RELEASE);
	ret = fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			0, r->cfg.size);
	__atomic_fetch_add(&r->op_seq, 1, __ATOMIC_RELEASE);
	return ret;
}

static bool race_over(struct race *r, long round)
{
	if (r->err)
		return true;
	if (r->cfg.iterations && round >= r->cfg.iterations)
		return true;
	/* A hit budget: enough hits, or a detection decided the verdict. */
	if (r->cfg.hits && (r->hits >= r->cfg.hits || r->detections))
		return true;
	return r->cfg.duration_ms && elapsed_ms(r) >= r->cfg.duration_ms;
}

static int race_controller(struct race *r)
{
	long round;
	int i;

	for (round = 1;; round++) {
		r->round = round;
		r->lo[STAMP_FILLER] = round;
		r->hi[STAMP_FILLER] = round;
		if (r->sc == SC_TRUNCATE)
			r->cut = r->cfg.size;
		fill_range(r, round);
		r->racing = 0;
		pthread_barrier_wait(&r->bar);	/* RACE starts */
		if (race_op(r, round)) {
			race_error(r, r->sc == SC_TRUNCATE ? "ftruncate" :
				   "fallocate(PUNCH_HOLE)");
			__atomic_store_n(&r->stop_round, round,
					 __ATOMIC_RELEASE);
			pthread_barrier_wait(&r->bar);
			pthread_barrier_wait(&r->bar);
			break;
		}
		if (r->sc == SC_WRITE_RACE)
			__atomic_store_n(&r->stop_round, round,
					 __ATOMIC_RELEASE);
		if (r->cfg.inject)
			inject_stale(r, round);
		__atomic_store_n(&r->done_gen, round, __ATOMIC_RELEASE);
		if (r->sc != SC_WRITE_RACE) {
			verify_pread(r, r->fd, r->buf, "pread", 1,
				     r->sc == SC_TRUNCATE ? r->cut / 8 : 0);
			__atomic_store_n(&r->stop_round, round,
					 __ATOMIC_RELEASE);
		}
		pthread_barrier_wait(&r->bar);	/* all idle: VERIFY */
		if (r->sc == SC_WRITE_RACE)
			verify_pread(r, r->fd, r->buf, "pread", 1, 0);
		pthread_barrier_wait(&r->bar);	/* VERIFY done */
		if (madvise(r->shared, r->cfg.size, MADV_DONTNEED))
			race_error(r, "madvise");
		r->rounds = round;
		r->op_rounds += r->op_hit == round;
		/* The workers are idle between the barriers. */
		r->hits = 0;
		for (i = 0; i < r->cfg.threads; i++)
			r->hits += r->w[i].hits;
		if (race_over(r, round))
			break;
	}
	__atomic_store_n(&r->quit, true, __ATOMIC_RELEASE);
	pthread_barrier_wait(&r->bar);
	return r->err ? -1 : 0;
}

static int race_setup(struct race *r)
{
	int prot = PROT_READ, i;

	if (r->sc == SC_WRITE_RACE)
		prot |= PROT_WRITE;
	r->page = sysconf(_SC_PAGESIZE);
	r->npages = r->cfg.size / r->page;
	r->nwords = r->cfg.size / 8;
	r->wpp = r->page / 8;
	r->rng = r->cfg.seed * 0x9e3779b97f4a7c15ULL + 1;
	r->nwriters = r->sc == SC_WRITE_RACE ?
		      STAMP_WRITER0 + r->cfg.threads - 1 : STAMP_FILLER;
	r->fill = malloc(r->cfg.size);
	r->buf = malloc(RACE_CHUNK_PAGES * r->page);
	r->w = calloc(r->cfg.threads, sizeof(*r->w));
	if (!r->fill || !r->buf || !r->w)
		return -1;
	r->shared = map_file(r, prot);
	if (!r->shared)
		return -1;
	for (i = 0; i < r->cfg.threads; i++) {
		struct race_worker *me = &r->w[i];

		me->r = r;
		me->id = i;
		me->rng = r->rng ^ (uint64_t)(i + 1) * 0xbf58476d1ce4e5b9ULL;
		me->live_round = -1;
		me->buf = malloc(RACE_CHUNK_PAGES * r->page);
		if (!me->buf)
			return -1;
		if (r->sc != SC_MAP_PAGES_HOT) {
			me->map = map_file(r, prot);
			if (!me->map)
				return -1;
		}
	}
	return 0;
}

static void race_teardown(struct race *r)
{
	int i;

	for (i = 0; r->w && i < r->cfg.threads; i++) {
		if (r->w[i].map)
			munmap(r->w[i].map, r->cfg.size);
		free(r->w[i].buf);
	}
	if (r->shared)
		munmap(r->shared, r->cfg.size);
	free(r->w);
	free(r->fill);
	free(r->buf);
}

static int env_u64(const char *name, uint64_t *out, bool suffix)
{
	const char *s = getenv(name);
	char *end;
	uint64_t v, mul = 1;

	if (!s || !*s)
		return 0;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (suffix && *end) {
		switch (*end++) {
		case 'k': case 'K':
			mul = 1ULL << 10;
			break;
		case 'm': case 'M':
			mul = 1ULL << 20;
			break;
		case 'g': case 'G':
			mul = 1ULL << 30;
			break;
		default:
			return -1;
		}
	}
	if (errno || *end || end == s || *s == '-' || v > UINT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 1;
}

static int race_cfg_from_env(struct race_cfg *c, char *err, size_t errlen)
{
	const char *dir = getenv("HOLEFS_RACE_DIR");
	uint64_t v;
	int d, it, h;
	size_t page = sysconf(_SC_PAGESIZE);

	snprintf(c->dir, sizeof(c->dir), "%s", dir && *dir ? dir : "/mnt");
	c->size = RACE_DEFAULT_SIZE;
	c->threads = 2;
	c->seed = 1;
	d = env_u64("HOLEFS_RACE_DURATION_MS", &v, false);
	if (d < 0)
		goto bad;
	c->duration_ms = d ? v : 0;
	it = env_u64("HOLEFS_RACE_ITERATIONS", &v, false);
	if (it < 0)
		goto bad;
	c->iterations = it ? v : 0;
	h = env_u64("HOLEFS_RACE_HITS", &v, false);
	if (h < 0 || (h && v > LONG_MAX))
		goto bad;
	c->hits = h ? v : 0;
	if (!c->duration_ms && !c->iterations)
		c->duration_ms = c->hits ? RACE_HITS_CAP_MS : RACE_DEFAULT_MS;
	if (c->duration_ms >= RACE_TIMEOUT * 1000L - 30000) {
		snprintf(err, errlen, "HOLEFS_RACE_DURATION_MS must stay below %d s",
			 RACE_TIMEOUT - 30);
		return -1;
	}
	d = env_u64("HOLEFS_RACE_SIZE", &v, true);
	if (d < 0 || (d && (v < 2 * page || v > (32ULL << 30))))
		goto bad;
	if (d)
		c->size = (v + page - 1) / page * page;
	d = env_u64("HOLEFS_RACE_THREADS", &v, false);
	if (d < 0 || (d && (v < 1 || v > RACE_MAX_THREADS)))
		goto bad;
	if (d)
		c->threads = v;
	d = env_u64("HOLEFS_RACE_SEED", &v, false);
	if (d < 0)
		goto bad;
	if (d)
		c->seed = v;
	d = env_u64("HOLEFS_RACE_INJECT", &v, false);
	if (d < 0)
		goto bad;
	c->inject = d && v;
	return 0;
bad:
	snprintf(err, errlen,
		 "bad HOLEFS_RACE_* value (size: 2 pages..32g, threads: 1..%d)",
		 RACE_MAX_THREADS);
	return -1;
}

FIXTURE(holefs_race) {
	struct race r;
	char path[PATH_MAX];
};

FIXTURE_SETUP(holefs_race)
{
	struct sigaction sa = { .sa_handler = bus_handler,
				.sa_flags = SA_NODEFER };
	char err[128];

	memset(&self->r, 0, sizeof(self->r));
	self->r.fd = -1;
	self->r.fd_inject = -1;
	ASSERT_EQ(0, race_cfg_from_env(&self->r.cfg, err, sizeof(err))) {
		TH_LOG("%s", err);
	}
	snprintf(self->path, sizeof(self->path), "%s/holefs_race.XXXXXX",
		 self->r.cfg.dir);
	self->r.fd = mkstemp(self->path);
	ASSERT_LE(0, self->r.fd) {
		TH_LOG("cannot create a file in %s: %s", self->r.cfg.dir,
		       strerror(errno));
	}
	self->r.fd_inject = open(self->path, O_WRONLY);
	ASSERT_LE(0, self->r.fd_inject);
	ASSERT_EQ(0, ftruncate(self->r.fd, self->r.cfg.size));
	if (fallocate(self->r.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      0, self->r.cfg.size) && errno == EOPNOTSUPP) {
		close(self->r.fd_inject);
		close(self->r.fd);
		unlink(self->path);
		SKIP(return, "%s does not support FALLOC_FL_PUNCH_HOLE",
		     self->r.cfg.dir);
	}
	ASSERT_EQ(0, pthread_mutex_init(&self->r.lock, NULL));
	ASSERT_EQ(0, sigaction(SIGBUS, &sa, NULL));
}

FIXTURE_TEARDOWN(holefs_race)
{
	if (self->r.fd_inject >= 0)
		close(self->r.fd_inject);
	if (self->r.fd >= 0) {
		close(self->r.fd);
		unlink(self->path);
	}
}

static void print_summary(struct race *r)
{
	struct detection *d = &r->first;
	char first_ms[24] = "-";
	long ms = elapsed_ms(r);

	if (r->have_first)
		snprintf(first_ms, sizeof(first_ms), "%ld", d->ms);
	ksft_print_msg("holefs-race: scenario=%s iterations=%ld hits=%ld detections=%ld first_detection_ms=%s verdict=%s\n",
		       scenario_name[r->sc], r->rounds, r->hits,
		       r->detections, first_ms,
		       r->detections ? "RACE" : "SAFE");
	ksft_print_msg("holefs-race: elapsed_ms=%ld rounds_per_s=%.1f op_rounds=%ld op_reads=%ld hits_budget=%ld size=%zu threads=%d seed=%llu sigbus=%ld inject=%d dir=%s\n",
		       ms, ms ? r->rounds * 1000.0 / ms : 0.0, r->op_rounds,
		       r->op_reads, r->cfg.hits,
		       r->cfg.size, r->cfg.threads,
		       (unsigned long long)r->cfg.seed, r->sigbus,
		       r->cfg.inject, r->cfg.dir);
	if (!r->have_first)
		return;
	ksft_print_msg("holefs-race: first_detection round=%ld view=%s thread=%d offset=%llu value=0x%016llx class=%s stamp_writer=%u stamp_seq=%u stamp_offset=%llu bad_words=%ld ms=%ld\n",
		       d->round, d->view, d->thread,
		       (unsigned long long)d->offset,
		       (unsigned long long)d->value,
		       stamp_class_name[d->cls],
		       (unsigned int)(d->value >> STAMP_WRITER_SHIFT),
		       (unsigned int)((d->value >> STAMP_SEQ_SHIFT) &
				      STAMP_SEQ_MASK),
		       (unsigned long long)(d->value & STAMP_IDX_MASK) * 8,
		       d->bad_words, d->ms);
}

static void run_scenario(struct __test_metadata *_metadata, struct race *r,
			 enum scenario sc)
{
	int i;

	r->sc = sc;
	ASSERT_EQ(0, race_setup(r)) {
		TH_LOG("setup failed: %s", r->err ? r->errmsg : "no memory");
	}
	ASSERT_EQ(0, pthread_barrier_init(&r->bar, NULL, r->cfg.threads + 1));
	clock_gettime(CLOCK_MONOTONIC, &r->t0);
	for (i = 0; i < r->cfg.threads; i++)
		ASSERT_EQ(0, pthread_create(&r->w[i].tid, NULL, worker_main,
					    &r->w[i]));
	race_controller(r);
	for (i = 0; i < r->cfg.threads; i++) {
		pthread_join(r->w[i].tid, NULL);
		r->op_reads += r->w[i].op_reads;
	}
	print_summary(r);
	race_teardown(r);
	ASSERT_EQ(0, r->err) {
		TH_LOG("%s", r->errmsg);
	}
	EXPECT_EQ(0, r->detections) {
		TH_LOG("stale data after %s: see first_detection above",
		       sc == SC_TRUNCATE ? "truncate" : "punch");
	}
}

TEST_F_TIMEOUT(holefs_race, seed, RACE_TIMEOUT)
{
	run_scenario(_metadata, &self->r, SC_SEED);
}

TEST_F_TIMEOUT(holefs_race, map_pages_hot, RACE_TIMEOUT)
{
	run_scenario(_metadata, &self->r, SC_MAP_PAGES_HOT);
}

TEST_F_TIMEOUT(holefs_race, read_race, RACE_TIMEOUT)
{
	run_scenario(_metadata, &self->r, SC_READ_RACE);
}

TEST_F_TIMEOUT(holefs_race, write_race, RACE_TIMEOUT)
{
	run_scenario(_metadata, &self->r, SC_WRITE_RACE);
}

TEST_F_TIMEOUT(holefs_race, truncate, RACE_TIMEOUT)
{
	run_scenario(_metadata, &self->r, SC_TRUNCATE);
}

/* Unit test of the stamp encoding and classification. */
TEST(stamp_logic)
{
	uint32_t lo[STAMP_WRITERS] = { 0 }, hi[STAMP_WRITERS] = { 0 };
	unsigned int n = STAMP_WRITER0 + 1;	/* filler + writers 2, 3 */
	uint64_t v;

	lo[STAMP_FILLER] = 7;
	hi[STAMP_FILLER] = 7;
	lo[2] = 100;
	hi[2] = 103;
	lo[3] = STAMP_SEQ_MASK - 1;	/* wraps: 2^24-2 < seq <= 1 */
	hi[3] = 1;

	EXPECT_EQ(STAMP_ZERO, stamp_classify(0, 5, lo, hi, n));
	v = stamp_encode(STAMP_FILLER, 7, 5);
	ASSERT_NE(0, v);
	ASSERT_EQ(5, v & STAMP_IDX_MASK);
	EXPECT_EQ(STAMP_STALE, stamp_classify(v, 5, lo, hi, n));
	EXPECT_EQ(STAMP_STALE, stamp_classify(stamp_encode(1, 6, 5), 5, lo,
					      hi, n));
	EXPECT_EQ(STAMP_MISPLACED, stamp_classify(v, 6, lo, hi, n));
	EXPECT_EQ(STAMP_GARBAGE, stamp_classify(stamp_encode(1, 8, 5), 5, lo,
						hi, n));
	/* Writer 2: 101..103 were in flight or later, 100 had completed. */
	EXPECT_EQ(STAMP_STALE, stamp_classify(stamp_encode(2, 100, 9), 9, lo,
					      hi, n));
	EXPECT_EQ(STAMP_STALE, stamp_classify(stamp_encode(2, 3, 9), 9, lo,
					      hi, n));
	EXPECT_EQ(STAMP_OK, stamp_classify(stamp_encode(2, 101, 9), 9, lo, hi,
					   n));
	EXPECT_EQ(STAMP_OK, stamp_classify(stamp_encode(2, 103, 9), 9, lo, hi,
					   n));
	EXPECT_EQ(STAMP_GARBAGE, stamp_classify(stamp_encode(2, 104, 9), 9,
						lo, hi, n));
	/* Writer 3 across the 24-bit wrap. */
	EXPECT_EQ(STAMP_OK, stamp_classify(stamp_encode(3, STAMP_SEQ_MASK, 1),
					   1, lo, hi, n));
	EXPECT_EQ(STAMP_OK, stamp_classify(stamp_encode(3, 0, 1), 1, lo, hi,
					   n));
	EXPECT_EQ(STAMP_OK, stamp_classify(stamp_encode(3, 1, 1), 1, lo, hi,
					   n));
	EXPECT_EQ(STAMP_STALE, stamp_classify(stamp_encode(3,
							   STAMP_SEQ_MASK - 1,
							   1), 1, lo, hi, n));
	EXPECT_EQ(STAMP_GARBAGE, stamp_classify(stamp_encode(3, 2, 1), 1, lo,
						hi, n));
	/* Unknown writers, index wrap at 2^32 words. */
	EXPECT_EQ(STAMP_GARBAGE, stamp_classify(stamp_encode(4, 1, 1), 1, lo,
						hi, n));
	EXPECT_EQ(STAMP_GARBAGE, stamp_classify(1, 1, lo, hi, n));
	EXPECT_EQ(STAMP_STALE, stamp_classify(stamp_encode(1, 7, 1ULL << 32),
					      1ULL << 32, lo, hi, n));
	/* Every filler stamp is non-zero, also for index 0, round 0. */
	EXPECT_NE(0, stamp_encode(STAMP_FILLER, 0, 0));
}

/* Sweep orders visit every page exactly once. */
TEST(sweep_orders)
{
	size_t n_pages[] = { 1, 2, 15, 16, 17, 100, 1024 };
	unsigned int t, order;

	for (t = 0; t < ARRAY_SIZE(n_pages); t++) {
		for (order = 0; order < 3; order++) {
			size_t np = n_pages[t], k, seen = 0, sum = 0;
			long p;

			for (k = 0; k < sweep_len(np); k++) {
				p = sweep_page(order, k, np);
				if (p < 0)
					continue;
				ASSERT_LT(p, (long)np);
				seen++;
				sum += p;
			}
			EXPECT_EQ(np, seen);
			EXPECT_EQ(np * (np - 1) / 2, sum);
		}
	}
}

TEST_HARNESS_MAIN
