// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * alloc-bench: allocation, first CPU touch and release of one dma-buf, per
 * exporter, through nothing but the uapi (dma-heap, dma-buf, udmabuf).
 * Guest side of `scripts/run-bench --exporters`; one JSON line per row.
 *
 * usage: alloc-bench [--reps N] EXPORTER[:BYTES]...
 *   EXPORTER: a dma-heap name (capbuf, capbuf-wc, capbuf-contig, system)
 *             or udmabuf (memfd_create + ftruncate + F_SEAL_SHRINK +
 *             UDMABUF_CREATE, all four inside the allocation time; the
 *             memfd is closed right after, untimed: the udmabuf holds its
 *             pages)
 *   BYTES:    default 1920*1080*4 (a 1080p XRGB8888 frame)
 *
 * Each repetition of a row runs two series on fresh buffers:
 *   A: allocate | first touch: mmap, SYNC START(RW), one byte written in
 *      each page, SYNC END(RW) | again: the same bracket and writes on the
 *      mapping A already has (what a CPU stage pays per frame) | release:
 *      munmap + close;
 *   B: allocate | first touch by memset of the whole buffer inside the
 *      bracket (mmap included) | release.
 * Rows run round-robin, one repetition of each in turn (every other turn in
 * reverse order), after one unmeasured warm-up repetition each (TCG
 * translates the paths once). Times are CLOCK_MONOTONIC around the system
 * calls; faults are the process's minor faults (getrusage) across the first
 * touch, which counts every exporter's fault handler alike. A row whose
 * allocation fails prints its errno. Each row prints median, min and max of
 * every figure and, under "raw", every repetition's figures in order with
 * its wall-clock start and end.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/udmabuf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_BYTES (1920UL * 1080 * 4)
#define MAX_ROWS 16
#define MAX_REPS 1000

enum metric { ALLOC, TOUCH, AGAIN, RELEASE, MEMSET, FAULTS, START, END, NMETRICS };
/* START and END: wall clock (s) of each repetition, to line up with the host's load. */
static const char *const metric_names[NMETRICS] = {
	"alloc_us", "touch_us", "again_us", "release_us", "memset_us", "touch_faults", "start", "end",
};
#define NSTATS START	/* the metrics summarised as median, min, max */

struct row {
	char exporter[64];
	size_t bytes;
	int dev;		/* the heap node or /dev/udmabuf */
	int err;		/* errno of the first failed allocation */
	const char *err_what;
	int n;
	double v[NMETRICS][MAX_REPS];
};

static long page_size;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

static int is_udmabuf(const struct row *r)
{
	return strcmp(r->exporter, "udmabuf") == 0;
}

/*
 * The buffer's fd, or -1 with r->err set; *us (if not NULL) gets the time
 * of the allocation. udmabuf's memfd is closed after the clock stopped.
 */
static int allocate(struct row *r, double *us)
{
	double t0 = now_us();
	int fd, memfd = -1;

	if (is_udmabuf(r)) {
		struct udmabuf_create create = { 0 };

		memfd = memfd_create("alloc-bench", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (memfd < 0) {
			r->err_what = "memfd_create";
			goto fail;
		}
		if (ftruncate(memfd, r->bytes) < 0 ||
		    fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK) < 0) {
			r->err_what = "ftruncate/F_ADD_SEALS";
			goto fail;
		}
		create.memfd = memfd;
		create.flags = UDMABUF_FLAGS_CLOEXEC;
		create.size = r->bytes;
		fd = ioctl(r->dev, UDMABUF_CREATE, &create);
		if (fd < 0) {
			r->err_what = "UDMABUF_CREATE";
			goto fail;
		}
	} else {
		struct dma_heap_allocation_data data = {
			.len = r->bytes,
			.fd_flags = O_RDWR | O_CLOEXEC,
		};

		if (ioctl(r->dev, DMA_HEAP_IOCTL_ALLOC, &data) < 0) {
			r->err_what = "DMA_HEAP_IOCTL_ALLOC";
			goto fail;
		}
		fd = data.fd;
	}
	if (us)
		*us = now_us() - t0;
	if (memfd >= 0)
		close(memfd);
	return fd;
fail:
	if (!r->err)
		r->err = errno;
	if (memfd >= 0)
		close(memfd);
	return -1;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static volatile uint8_t *map(int fd, size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

static int sync_buf(int fd, uint64_t flags)
{
	struct dma_buf_sync s = { .flags = flags | DMA_BUF_SYNC_RW };

	while (ioctl(fd, DMA_BUF_IOCTL_SYNC, &s) < 0) {
		if (errno != EINTR && errno != EAGAIN)
			return -1;
	}
	return 0;
}

/*
 * Inside a SYNC START/END(RW) bracket: one byte written in each page
 * (value + the offset's low byte), or with value 0 all of the buffer.
 */
static void write_pages(int fd, volatile uint8_t *p, size_t bytes, int value)
{
	size_t off;

	if (sync_buf(fd, DMA_BUF_SYNC_START))
		die("SYNC START");
	if (!value)
		memset((void *)p, 0x5a, bytes);
	for (off = 0; value && off < bytes; off += page_size)
		p[off] = (uint8_t)(off + value);
	if (sync_buf(fd, DMA_BUF_SYNC_END))
		die("SYNC END");
}

/*
 * One repetition of both series; measured unless warm-up. Returns -1 when an
 * allocation failed (r->err says why; the row reports it).
 */
static int repetition(struct row *r, int measured)
{
	double alloc_us, t0, t1, t2, t3, start = wall_s();
	volatile uint8_t *p;
	long f0, f1;
	int fd;

	/* Series A. */
	fd = allocate(r, &alloc_us);
	if (fd < 0)
		return -1;
	f0 = minflt();
	t0 = now_us();
	p = map(fd, r->bytes);
	write_pages(fd, p, r->bytes, 1);
	t1 = now_us();
	f1 = minflt();
	write_pages(fd, p, r->bytes, 2);
	t2 = now_us();
	munmap((void *)p, r->bytes);
	close(fd);
	t3 = now_us();
	if (measured) {
		r->v[ALLOC][r->n] = alloc_us;
		r->v[TOUCH][r->n] = t1 - t0;
		r->v[FAULTS][r->n] = f1 - f0;
		r->v[AGAIN][r->n] = t2 - t1;
		r->v[RELEASE][r->n] = t3 - t2;
	}

	/* Series B. */
	fd = allocate(r, NULL);
	if (fd < 0)
		return -1;
	t0 = now_us();
	p = map(fd, r->bytes);
	write_pages(fd, p, r->bytes, 0);
	t1 = now_us();
	munmap((void *)p, r->bytes);
	close(fd);
	if (measured) {
		r->v[MEMSET][r->n] = t1 - t0;
		r->v[START][r->n] = start;
		r->v[END][r->n++] = wall_s();
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void report(struct row *r)
{
	int m, i;

	printf("{\"exporter\": \"%s\", \"bytes\": %zu, \"reps\": %d", r->exporter, r->bytes, r->n);
	if (r->err)
		printf(", \"errno\": %d, \"error\": \"%s: %s\"", r->err, r->err_what, strerror(r->err));
	/* Every repetition, in order: readers may pick the quiet ones. */
	printf(", \"raw\": {");
	for (m = 0; m < NMETRICS; m++) {
		printf("%s\"%s\": [", m ? ", " : "", metric_names[m]);
		for (i = 0; i < r->n; i++)
			printf(m >= NSTATS ? "%s%.3f" : "%s%.1f", i ? ", " : "", r->v[m][i]);
		printf("]");
	}
	printf("}");
	for (m = 0; m < NSTATS && r->n; m++) {
		double *v = r->v[m];
		double med;

		qsort(v, r->n, sizeof(*v), cmp_double);
		med = r->n % 2 ? v[r->n / 2] : (v[r->n / 2 - 1] + v[r->n / 2]) / 2;
		printf(", \"%s\": {\"median\": %.1f, \"min\": %.1f, \"max\": %.1f}",
		       metric_names[m], med, v[0], v[r->n - 1]);
	}
	printf("}\n");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static struct row rows[MAX_ROWS];
	int nrows = 0, reps = 30, i, k;

	page_size = sysconf(_SC_PAGESIZE);
	for (i = 1; i < argc; i++) {
		struct row *r;
		char *colon, path[128];

		if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
			reps = atoi(argv[++i]);
			if (reps < 1 || reps >= MAX_REPS) {
				fprintf(stderr, "alloc-bench: --reps 1..%d\n", MAX_REPS - 1);
				return 2;
			}
			continue;
		}
		if (nrows == MAX_ROWS) {
			fprintf(stderr, "alloc-bench: at most %d rows\n", MAX_ROWS);
			return 2;
		}
		r = &rows[nrows++];
		snprintf(r->exporter, sizeof(r->exporter), "%s", argv[i]);
		colon = strchr(r->exporter, ':');
		r->bytes = DEFAULT_BYTES;
		if (colon) {
			*colon = 0;
			r->bytes = strtoul(colon + 1, NULL, 0);
		}
		if (is_udmabuf(r))
			snprintf(path, sizeof(path), "/dev/udmabuf");
		else
			snprintf(path, sizeof(path), "/dev/dma_heap/%s", r->exporter);
		r->dev = open(path, O_RDWR | O_CLOEXEC);
		if (r->dev < 0) {
			r->err = errno;
			r->err_what = "open";
		}
	}
	if (!nrows) {
		fprintf(stderr, "usage: alloc-bench [--reps N] EXPORTER[:BYTES]...\n");
		return 2;
	}
	/*
	 * k = -1: the warm-up. Every other repetition takes the rows in reverse
	 * order, so a drift (the host's load) falls on all of them alike. A row
	 * stops at its first failed allocation.
	 */
	for (k = -1; k < reps; k++)
		for (i = 0; i < nrows; i++) {
			struct row *r = &rows[k % 2 ? nrows - 1 - i : i];

			if (!r->err)
				repetition(r, k >= 0);
		}
	for (i = 0; i < nrows; i++)
		report(&rows[i]);
	return 0;
}
