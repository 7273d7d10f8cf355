// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * capbuf module tests, run as root inside the test VM.
 *
 *   capbuf-test CASE...   runs the cases in order in one process
 *
 * Cases: abi threads vivid vgem kms-cirrus kms-vkms checker bench[:FRAMES]
 *        lifecycle faults syncs gup memcg contig (the last with
 *        vivid allocators=1)
 *
 * Only the uapi headers (<linux/dma-heap.h>, <linux/dma-buf.h>,
 * <linux/videodev2.h>) and libdrm are used: a program written for the
 * kernel's dma-heaps must work against capbuf unchanged.  The module's own
 * state is observed only through debugfs, sysfs and /proc.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/videodev2.h>
#include <xf86drm.h>

#include "../common/vm-test.h"

static long page_size;

/* ---- sysfs, debugfs, procfs ---------------------------------------- */

static unsigned long param_get(const char *name)
{
	char path[128];
	char *s;

	snprintf(path, sizeof(path), CAPBUF_PARAMS "/%s", name);
	s = read_file(path);
	REQUIRE(s, "read %s: %s", path, strerror(errno));
	return strtoul(s, NULL, 0);
}

static unsigned long ino_of(int fd)
{
	struct stat st;

	REQUIRE(fstat(fd, &st) == 0, "fstat: %s", strerror(errno));
	return st.st_ino;
}

/* The debugfs line of the buffer behind @fd, or NULL when it is not listed. */
static const char *buffer_line(int fd)
{
	static char line[1024];
	char key[40];
	char *s = read_file(CAPBUF_DEBUGFS "/buffers");

	REQUIRE(s, "read " CAPBUF_DEBUGFS "/buffers: %s", strerror(errno));
	snprintf(key, sizeof(key), "ino=%lu ", ino_of(fd));
	for (char *l = strtok(s, "\n"); l; l = strtok(NULL, "\n"))
		if (strncmp(l, key, strlen(key)) == 0) {
			snprintf(line, sizeof(line), "%s", l);
			return line;
		}
	return NULL;
}

/* Value of " key=" in a debugfs line, up to the next space. */
static const char *field(const char *line, const char *key)
{
	static char val[512];
	char pat[40];
	const char *p;

	if (!line)
		return "";
	snprintf(pat, sizeof(pat), " %s=", key);
	p = strstr(line, pat);
	if (!p)
		return "";
	p += strlen(pat);
	snprintf(val, sizeof(val), "%.*s", (int)strcspn(p, " "), p);
	return val;
}

static unsigned long field_ul(const char *line, const char *key)
{
	return strtoul(field(line, key), NULL, 10);
}

static unsigned long buf_ul(int fd, const char *key)
{
	const char *l = buffer_line(fd);

	REQUIRE(l, "buffer ino %lu is not in debugfs", ino_of(fd));
	return field_ul(l, key);
}

static const char *buf_str(int fd, const char *key)
{
	const char *l = buffer_line(fd);

	REQUIRE(l, "buffer ino %lu is not in debugfs", ino_of(fd));
	return field(l, key);
}

static char *fdinfo_name(int fd)
{
	return fdinfo(fd, "name");
}

/* Buffers are released from task work after close(); give it a moment. */
static void expect_no_live_buffers(const char *when)
{
	long live = 0;

	for (int i = 0; i < 200; i++) {
		live = capbuf_stat("live_buffers");
		if (!live)
			break;
		usleep(10000);
	}
	CHECK(live == 0, "%s: live_buffers %ld, expected 0", when, live);
	CHECK(capbuf_stat("live_bytes") == 0 || live, "%s: live_bytes %ld with no buffer",
	      when, capbuf_stat("live_bytes"));
}

/* ---- dma-heap and dma-buf ------------------------------------------ */

/* The allocation ioctl with an explicit struct size: returns 0 or -errno. */
static int heap_ioctl(int hfd, unsigned int size, void *data)
{
	unsigned long cmd = _IOC(_IOC_READ | _IOC_WRITE, DMA_HEAP_IOC_MAGIC, 0, size);

	return ioctl(hfd, cmd, data) ? -errno : 0;
}

static int alloc_on(const char *heap, uint64_t len)
{
	int hfd = heap_open(heap);
	int fd = heap_alloc(hfd, len);

	close(hfd);
	REQUIRE(fd >= 0, "alloc %" PRIu64 " bytes on %s: %s", len, heap, strerror(-fd));
	return fd;
}

/* ---- abi ------------------------------------------------------------ */

static void abi_heap(const char *heap)
{
	int hfd = heap_open(heap);
	size_t size = 4 * page_size;
	int fd = heap_alloc(hfd, 3 * page_size + 123);
	struct stat st;
	uint8_t *p;
	char want[64], comm[32];
	const char *line;

	REQUIRE(fd >= 0, "%s: alloc: %s", heap, strerror(-fd));
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC, "%s: O_CLOEXEC not applied", heap);
	CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR, "%s: fd is not O_RDWR", heap);
	REQUIRE(fstat(fd, &st) == 0, "fstat");
	CHECK((size_t)st.st_size == size, "%s: st_size %jd, expected page-rounded %zu",
	      heap, (intmax_t)st.st_size, size);
	CHECK(lseek(fd, 0, SEEK_END) == (off_t)size, "%s: lseek SEEK_END gives %jd",
	      heap, (intmax_t)lseek(fd, 0, SEEK_END));
	lseek(fd, 0, SEEK_SET);

	line = buffer_line(fd);
	REQUIRE(line, "%s: buffer not listed in debugfs", heap);
	CHECK(fdinfo(fd, "ino") && strtoul(fdinfo(fd, "ino"), NULL, 10) == st.st_ino,
	      "%s: fdinfo ino %s, fstat %lu", heap, fdinfo(fd, "ino"), (unsigned long)st.st_ino);
	CHECK(fdinfo(fd, "exp_name") && strcmp(fdinfo(fd, "exp_name"), heap) == 0,
	      "%s: fdinfo exp_name %s", heap, fdinfo(fd, "exp_name"));
	CHECK(strcmp(field(line, "heap"), heap) == 0, "%s: debugfs heap=%s", heap, field(line, "heap"));
	CHECK(field_ul(line, "size") == size, "%s: debugfs size=%s", heap, field(line, "size"));
	CHECK(strcmp(field(line, "owner"), "cpu") == 0, "%s: a new buffer is owner=%s",
	      heap, field(line, "owner"));
	CHECK(strcmp(field(line, "attachments"), "-") == 0, "%s: attachments=%s", heap,
	      field(line, "attachments"));

	/* Default name: heap and allocating task, for dma-buf accounting tools. */
	snprintf(comm, sizeof(comm), "%s", read_file("/proc/self/comm"));
	snprintf(want, sizeof(want), "%s:%.*s", heap, (int)strcspn(comm, "\n"), comm);
	CHECK(fdinfo_name(fd) && strcmp(fdinfo_name(fd), want) == 0,
	      "%s: fdinfo name %s, expected %s", heap, fdinfo_name(fd), want);
	CHECK(ioctl(fd, DMA_BUF_SET_NAME, "abi-test") == 0, "DMA_BUF_SET_NAME: %s", strerror(errno));
	CHECK(fdinfo_name(fd) && strcmp(fdinfo_name(fd), "abi-test") == 0,
	      "%s: fdinfo name %s after SET_NAME", heap, fdinfo_name(fd));
	CHECK(strcmp(buf_str(fd, "name"), "abi-test") == 0, "%s: debugfs name=%s", heap,
	      buf_str(fd, "name"));

	p = map_buf(fd, size);
	CHECK(buf_ul(fd, "faults") == 0, "%s: faults before any touch: pages must fault lazily", heap);
	sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	CHECK(all_zero(p, size), "%s: a new buffer is not zeroed", heap);
	sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	/* One fault mapped all 4 pages, and nothing shot them down since. */
	CHECK(buf_ul(fd, "faults") == 1, "%s: faults=%lu after touching 4 pages", heap,
	      buf_ul(fd, "faults"));
	sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
	for (size_t i = 0; i < size; i++)
		p[i] = (uint8_t)(i * 7 + 1);
	sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
	sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	for (size_t i = 0; i < size; i++)
		if (p[i] != (uint8_t)(i * 7 + 1)) {
			CHECK(0, "%s: byte %zu reads %u", heap, i, p[i]);
			break;
		}
	sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);

	line = buffer_line(fd);
	CHECK(strcmp(field(line, "begin"), "r:2,w:0,rw:1") == 0, "%s: begin=%s", heap,
	      field(line, "begin"));
	CHECK(strcmp(field(line, "end"), "r:2,w:0,rw:1") == 0, "%s: end=%s", heap,
	      field(line, "end"));
	CHECK(strcmp(field(line, "owner"), "device") == 0,
	      "%s: owner=%s after the last SYNC_END", heap, field(line, "owner"));
	CHECK(field_ul(line, "faults") == 1 && field_ul(line, "shootdowns") == 0,
	      "%s: check=off must not shoot down at SYNC_END: faults=%lu shootdowns=%lu", heap,
	      field_ul(line, "faults"), field_ul(line, "shootdowns"));

	CHECK(sync_raw(fd, 0x8) == -EINVAL, "SYNC with unknown flags accepted");

	/* Mapping limits: shared only, never past the end, never grown. */
	errno = 0;
	CHECK(mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED && errno == EINVAL,
	      "%s: MAP_PRIVATE: %s, expected EINVAL", heap, strerror(errno));
	errno = 0;
	CHECK(mmap(NULL, size + page_size, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED &&
	      errno == EINVAL, "%s: mmap past the end: %s, expected EINVAL", heap, strerror(errno));
	errno = 0;
	CHECK(mmap(NULL, page_size, PROT_READ, MAP_SHARED, fd, size) == MAP_FAILED &&
	      errno == EINVAL, "%s: mmap at offset size: %s", heap, strerror(errno));
	errno = 0;
	CHECK(mremap(p, size, size + page_size, 0) == MAP_FAILED && errno == EFAULT,
	      "%s: mremap growing the mapping: %s, expected EFAULT", heap, strerror(errno));
	/* An offset mapping sees the same pages. */
	uint8_t *q = mmap(NULL, page_size, PROT_READ, MAP_SHARED, fd, 3 * page_size);
	CHECK(q != MAP_FAILED && q[5] == (uint8_t)((3 * page_size + 5) * 7 + 1),
	      "%s: mapping at page offset 3 reads wrong data", heap);
	if (q != MAP_FAILED)
		munmap(q, page_size);
	/* The last page of the page-rounded size belongs to the buffer. */
	CHECK(!touch_sigbus(p + size - 1, false), "%s: last page of the rounded size faults", heap);

	munmap(p, size);
	close(fd);
	close(hfd);
}

static void abi_errors(void)
{
	int hfd = heap_open("capbuf");
	unsigned long max_buf = param_get("max_buffer_size");
	unsigned long max_total = param_get("max_total_size");
	long allocated = capbuf_stat("allocated_total");
	int fd, fds[3];

	CHECK(heap_alloc(hfd, 0) == -EINVAL, "len 0: %s", strerror(-heap_alloc(hfd, 0)));
	CHECK(heap_alloc(hfd, UINT64_MAX) == -EINVAL, "len ~0 accepted");
	CHECK(heap_alloc(hfd, UINT64_MAX - 4095) == -EINVAL, "len 2^64-4096 accepted");
	CHECK(heap_alloc(hfd, UINT64_MAX - 4096 + 2) == -EINVAL, "len that rounds past 2^64 accepted");
	CHECK(heap_alloc(hfd, (uint64_t)max_buf + 1) == -EINVAL, "len max_buffer_size+1 accepted");
	CHECK(heap_alloc_flags(hfd, 4096, O_RDWR | O_NONBLOCK, 0) == -EINVAL,
	      "fd_flags O_NONBLOCK accepted");
	CHECK(heap_alloc_flags(hfd, 4096, O_RDWR, 1) == -EINVAL, "heap_flags 1 accepted");
	{
		struct dma_heap_allocation_data d = { .len = 4096, .fd = 5, .fd_flags = O_RDWR };

		CHECK(heap_ioctl(hfd, sizeof(d), &d) == -EINVAL, "fd 5 in the request accepted");
	}
	CHECK(ioctl(hfd, _IOWR('X', 0, struct dma_heap_allocation_data), &(struct dma_heap_allocation_data){ .len = 4096 }) == -1 &&
	      errno == ENOTTY, "wrong ioctl magic: %s, expected ENOTTY", strerror(errno));
	CHECK(ioctl(hfd, _IOWR(DMA_HEAP_IOC_MAGIC, 1, struct dma_heap_allocation_data), &(struct dma_heap_allocation_data){ .len = 4096 }) == -1 &&
	      errno == ENOTTY, "unknown ioctl number: %s, expected ENOTTY", strerror(errno));
	CHECK(capbuf_stat("allocated_total") == allocated, "a refused request counted as allocated");

	/* Read-only buffer: the access mode limits mmap(). */
	fd = heap_alloc_flags(hfd, 4096, O_RDONLY, 0);
	REQUIRE(fd >= 0, "O_RDONLY alloc: %s", strerror(-fd));
	CHECK(!(fcntl(fd, F_GETFD) & FD_CLOEXEC), "FD_CLOEXEC set without O_CLOEXEC");
	errno = 0;
	CHECK(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED &&
	      errno == EACCES, "writable mmap of an O_RDONLY buffer: %s", strerror(errno));
	void *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED, "read-only mmap of an O_RDONLY buffer: %s", strerror(errno));
	if (p != MAP_FAILED)
		munmap(p, 4096);
	close(fd);

	/* Struct sizes: an older, smaller struct (no heap_flags) zero-fills... */
	{
		struct { uint64_t len; uint32_t fd, fd_flags; } old = {
			.len = 8192, .fd_flags = O_RDWR | O_CLOEXEC };
		int ret = heap_ioctl(hfd, sizeof(old), &old);

		CHECK(ret == 0 && old.fd > 0, "16-byte request: %s", strerror(-ret));
		if (ret == 0) {
			CHECK(lseek(old.fd, 0, SEEK_END) == 8192, "16-byte request: wrong size");
			close(old.fd);
		}
	}
	/* ...and a newer, larger one is accepted with the extra ignored. */
	{
		struct { struct dma_heap_allocation_data d; uint64_t extra; } big = {
			.d = { .len = 4096, .fd_flags = O_RDWR | O_CLOEXEC },
			.extra = 0xdeadbeefcafef00dULL };
		int ret = heap_ioctl(hfd, sizeof(big), &big);

		CHECK(ret == 0 && big.d.fd > 0, "32-byte request: %s", strerror(-ret));
		CHECK(big.extra == 0xdeadbeefcafef00dULL, "32-byte request: extra bytes written");
		if (ret == 0)
			close(big.d.fd);
	}

	/* Limits are writable at runtime. */
	capbuf_param_set("max_buffer_size", "1048576");
	fd = heap_alloc(hfd, 1048576);
	CHECK(fd >= 0, "len == max_buffer_size refused: %s", strerror(-fd));
	if (fd >= 0)
		close(fd);
	CHECK(heap_alloc(hfd, 1048577) == -EINVAL, "len max_buffer_size+1 accepted");
	capbuf_param_set("max_buffer_size", "268435456");
	CHECK(param_get("max_buffer_size") == 268435456, "max_buffer_size did not stick");

	expect_no_live_buffers("before the total-size limit");
	capbuf_param_set("max_total_size", "1048576");
	fds[0] = heap_alloc(hfd, 512 * 1024);
	fds[1] = heap_alloc(hfd, 512 * 1024 - 100);	/* rounds up to exactly the limit */
	CHECK(fds[0] >= 0 && fds[1] >= 0, "allocations up to max_total_size refused");
	CHECK(capbuf_stat("live_bytes") == 1048576, "live_bytes %ld, expected 1048576",
	      capbuf_stat("live_bytes"));
	fds[2] = heap_alloc(hfd, 1);
	CHECK(fds[2] == -ENOMEM, "allocation past max_total_size: %s, expected ENOMEM",
	      fds[2] < 0 ? strerror(-fds[2]) : "success");
	CHECK(capbuf_stat("live_bytes") == 1048576, "a refused allocation changed live_bytes");
	if (fds[2] >= 0)
		close(fds[2]);
	close(fds[0]);
	fds[2] = -1;
	for (int i = 0; i < 100 && fds[2] < 0; i++) {
		fds[2] = heap_alloc(hfd, 4096);	/* the release runs as task work */
		if (fds[2] < 0)
			usleep(10000);
	}
	CHECK(fds[2] >= 0, "freed space not reusable: %s", strerror(-fds[2]));
	close(fds[1]);
	if (fds[2] >= 0)
		close(fds[2]);
	{
		char v[32];

		snprintf(v, sizeof(v), "%lu", max_total);
		capbuf_param_set("max_total_size", v);
	}
	close(hfd);
}

/*
 * capbuf-contig beyond the page allocator's largest block (4 MiB on x86):
 * only a CMA area has it. Without one, a clean ENOMEM and nothing left.
 */
static void abi_contig_limits(void)
{
	size_t size = 16 << 20;
	long cma_kb = meminfo_kb("CmaTotal:");
	int hfd = heap_open("capbuf-contig"), fds = count_fds();
	int fd = heap_alloc(hfd, size);

	printf("abi: capbuf-contig %zu MiB with CmaTotal %ld kB: %s\n", size >> 20, cma_kb,
	       fd >= 0 ? "allocated" : strerror(-fd));
	if (cma_kb >= (long)(size >> 10)) {
		CHECK(fd >= 0, "capbuf-contig %zu bytes with a CMA area: %s", size, strerror(-fd));
		if (fd >= 0) {
			CHECK(buf_ul(fd, "runs") == 1, "capbuf-contig in %lu runs", buf_ul(fd, "runs"));
			close(fd);
		}
	} else {
		CHECK(fd == -ENOMEM, "capbuf-contig %zu bytes without CMA: %s, expected ENOMEM", size,
		      fd >= 0 ? "allocated" : strerror(-fd));
		if (fd >= 0)
			close(fd);
	}
	CHECK(count_fds() == fds, "fd leak in capbuf-contig limits");
	CHECK(capbuf_stat("live_buffers") == 0 && capbuf_stat("live_bytes") == 0,
	      "a failed capbuf-contig allocation left state behind");
	close(hfd);
}

static void case_abi(void)
{
	int fds = count_fds();

	REQUIRE(access("/dev/dma_heap/capbuf", F_OK) == 0 &&
		access("/dev/dma_heap/capbuf-wc", F_OK) == 0 &&
		access("/dev/dma_heap/capbuf-contig", F_OK) == 0, "heap nodes missing");
	abi_heap("capbuf");
	abi_heap("capbuf-wc");
	abi_heap("capbuf-contig");
	abi_contig_limits();
	abi_errors();
	CHECK(count_fds() == fds, "fd leak: %d fds before, %d after", fds, count_fds());
	expect_no_live_buffers("abi");
	CHECK(capbuf_stat("violations_total") == 0, "violations with the checker off");
}

/* ---- threads --------------------------------------------------------- */

#define THREADS 4
#define THREAD_ITERS 250

static volatile int threads_done;

static void *alloc_worker(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;
	int hfds[2] = { heap_open("capbuf"), heap_open("capbuf-wc") };
	long bad = 0;

	for (int i = 0; i < THREAD_ITERS; i++) {
		size_t size = (1 + rand_r(&seed) % 32) * page_size;
		int fd = heap_alloc(hfds[i & 1], size);
		uint32_t tag = seed ^ i;

		if (fd < 0) {
			bad++;
			continue;
		}
		uint32_t *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			bad++;
			close(fd);
			continue;
		}
		sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
		for (size_t w = 0; w < size / 4; w += 64)
			p[w] = tag + w;
		sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
		sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
		for (size_t w = 0; w < size / 4; w += 64)
			bad += p[w] != tag + w;
		sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
		munmap(p, size);
		close(fd);
	}
	close(hfds[0]);
	close(hfds[1]);
	return (void *)bad;
}

/* Reads debugfs while buffers come and go: listing must not race release. */
static void *debugfs_reader(void *arg)
{
	long reads = 0;

	(void)arg;
	while (!threads_done) {
		int fd = open(CAPBUF_DEBUGFS "/buffers", O_RDONLY | O_CLOEXEC);
		char buf[4096];

		if (fd >= 0) {
			while (read(fd, buf, sizeof(buf)) > 0)
				;
			close(fd);
		}
		reads++;
	}
	return (void *)reads;
}

static void case_threads(void)
{
	pthread_t t[THREADS], reader;
	long violations = capbuf_stat("violations_total");
	double t0 = now();
	void *ret;

	/* The checker on: SYNC_END then shoots PTEs down under the others' faults. */
	capbuf_param_set("check", "warn");
	pthread_create(&reader, NULL, debugfs_reader, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, alloc_worker, (void *)(uintptr_t)(i + 1));
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], &ret);
		CHECK(ret == NULL, "thread %d: %ld failed allocations or bad words", i, (long)ret);
	}
	threads_done = 1;
	pthread_join(reader, &ret);
	capbuf_param_set("check", "off");
	printf("threads: %d x %d alloc/mmap/sync/munmap/close in %.2f s, %ld debugfs reads\n",
	       THREADS, THREAD_ITERS, now() - t0, (long)ret);
	CHECK(capbuf_stat("violations_total") == violations, "bracketed writes counted as violations");
	expect_no_live_buffers("threads");
}

/* ---- vivid ------------------------------------------------------------- */

#define VIVID_BUFS 4
#define VIVID_FRAMES 120

static void case_vivid(void)
{
	int vfd = open_vivid(), fds = count_fds();
	struct v4l2_requestbuffers req = {
		.count = 0, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_DMABUF,
	};
	int bfd[VIVID_BUFS];
	uint8_t *map[VIVID_BUFS];
	size_t size;
	unsigned long max_vmap = 0, nonzero = 0;
	char seen_attach[256] = "-";
	double t0;

	size = vivid_setup(vfd, VIVID_BUFS);
	for (int i = 0; i < VIVID_BUFS; i++) {
		bfd[i] = alloc_on(i & 1 ? "capbuf-wc" : "capbuf", size);
		map[i] = map_buf(bfd[i], size);
		struct v4l2_buffer b = {
			.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_DMABUF,
			.index = i, .m.fd = bfd[i], .length = size,
		};
		REQUIRE(ioctl(vfd, VIDIOC_QBUF, &b) == 0, "QBUF %d: %s", i, strerror(errno));
	}
	int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	REQUIRE(ioctl(vfd, VIDIOC_STREAMON, &type) == 0, "STREAMON: %s", strerror(errno));
	t0 = now();
	for (int f = 0; f < VIVID_FRAMES; f++) {
		struct v4l2_buffer b = {
			.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_DMABUF,
		};
		REQUIRE(ioctl(vfd, VIDIOC_DQBUF, &b) == 0, "DQBUF frame %d: %s", f, strerror(errno));
		CHECK(b.bytesused == size, "frame %d: bytesused %u", f, b.bytesused);
		/* The other buffers are queued: the driver holds them now. */
		for (int i = 0; i < VIVID_BUFS; i++) {
			const char *l = buffer_line(bfd[i]);
			unsigned long v = field_ul(l, "vmap");

			if (v > max_vmap)
				max_vmap = v;
			if (strcmp(field(l, "attachments"), "-") != 0)
				snprintf(seen_attach, sizeof(seen_attach), "%s", field(l, "attachments"));
		}
		nonzero += vivid_frame(b.m.fd, map[b.index], size, f);
		REQUIRE(ioctl(vfd, VIDIOC_QBUF, &b) == 0, "re-QBUF: %s", strerror(errno));
	}
	double dt = now() - t0;
	REQUIRE(ioctl(vfd, VIDIOC_STREAMOFF, &type) == 0, "STREAMOFF: %s", strerror(errno));
	printf("vivid: %d frames in %.2f s, %lu with picture; debugfs while streaming: "
	       "vmap up to %lu, attachments %s\n", VIVID_FRAMES, dt, nonzero, max_vmap, seen_attach);
	printf("vivid: buffer 0 after streaming: %s\n", buffer_line(bfd[0]));
	CHECK(nonzero == VIVID_FRAMES, "only %lu of %d frames reached capbuf pages",
	      nonzero, VIVID_FRAMES);
	/* vb2-vmalloc imports by vmap, without attaching. */
	CHECK(max_vmap >= 1, "vivid never held a kernel mapping of a capbuf buffer");

	CHECK(ioctl(vfd, VIDIOC_REQBUFS, &req) == 0, "REQBUFS 0: %s", strerror(errno));
	close(vfd);
	for (int i = 0; i < VIVID_BUFS; i++) {
		const char *l = buffer_line(bfd[i]);

		CHECK(field_ul(l, "vmap") == 0 && strcmp(field(l, "attachments"), "-") == 0,
		      "buffer %d still used after vivid let go: %s", i, l);
		munmap(map[i], size);
		close(bfd[i]);
	}
	CHECK(count_fds() == fds - 1, "fd leak in vivid case");
	expect_no_live_buffers("vivid");
}

static void case_kms(const char *driver)
{
	int fd = open_drm(driver), fds = count_fds();
	size_t size = (size_t)PATTERN_W * PATTERN_H * 4;
	uint32_t fb, handle, wb_fb = 0, wb_handle = 0;
	int wb_fd = -1, out_fence;
	uint32_t *wb_px = NULL;
	unsigned long bad;
	struct kms k;

	kms_init(&k, fd, driver);

	/* The scanout buffer: a capbuf buffer the CPU draws into. */
	int bfd = alloc_on("capbuf", size);
	uint32_t *px = map_buf(bfd, size);
	draw_pattern(bfd, px);
	fb = kms_add_fb(&k, bfd, "scanout", &handle);
	const char *att = buf_str(bfd, "attachments");
	printf("%s: scanout buffer imported: %s\n", driver, buffer_line(bfd));
	CHECK(strcmp(att, "-") != 0, "%s: no attachment while the fb lives", driver);

	if (k.vkms) {
		/* The writeback target is a capbuf buffer too: vkms writes, the CPU reads. */
		wb_fd = alloc_on("capbuf-wc", size);
		wb_px = map_buf(wb_fd, size);
		wb_fb = kms_add_fb(&k, wb_fd, "writeback", &wb_handle);
	}

	out_fence = kms_enable(&k, fb, wb_fb);
	printf("%s: scanning out: %s\n", driver, buffer_line(bfd));

	if (k.vkms) {
		wait_fence(out_fence, 5000);
		printf("vkms: writeback buffer: %s\n", buffer_line(wb_fd));
		CHECK(strcmp(buf_str(wb_fd, "attachments"), "-") != 0, "vkms: no writeback attachment");
		bad = writeback_diff(wb_fd, wb_px);
		printf("vkms: writeback %ux%u: %lu of %u pixels differ\n", PATTERN_W, PATTERN_H, bad,
		       PATTERN_W * PATTERN_H);
		CHECK(bad == 0, "vkms: writeback differs from the capbuf scanout buffer");
	} else {
		bad = screendump_diff("capbuf-kms.ppm");
		printf("cirrus: screendump %ux%u: %lu of %u pixels differ\n", PATTERN_W, PATTERN_H,
		       bad, PATTERN_W * PATTERN_H);
		CHECK(bad == 0, "cirrus: screen differs from the capbuf scanout buffer");
	}

	/* Switch off, then drop every reference: the buffers must go. */
	kms_disable(&k);
	kms_remove_fb(&k, fb, "scanout", handle);
	if (k.vkms)
		kms_remove_fb(&k, wb_fb, "writeback", wb_handle);
	/* Releasing the GEM objects detaches the display from the buffers. */
	for (int i = 0; i < 200 && strcmp(buf_str(bfd, "attachments"), "-"); i++)
		usleep(10000);
	CHECK(strcmp(buf_str(bfd, "attachments"), "-") == 0, "%s: still attached after GEM close: %s",
	      driver, buffer_line(bfd));
	CHECK(buf_ul(bfd, "vmap") == 0, "%s: kernel mapping left: %s", driver, buffer_line(bfd));
	munmap(px, size);
	close(bfd);
	if (k.vkms) {
		munmap(wb_px, size);
		close(wb_fd);
	}
	kms_fini(&k);
	CHECK(count_fds() == fds, "fd leak in kms case");
	close(fd);
	expect_no_live_buffers(driver);
}

/* ---- vgem -------------------------------------------------------------- */

static void case_vgem(void)
{
	int gfd = open_drm("vgem"), fds = count_fds();
	size_t size = 16 * page_size;
	int bfd = alloc_on("capbuf", size), bfd2;
	unsigned long ino = ino_of(bfd);
	uint32_t *p = map_buf(bfd, size), h, h2;

	sync_buf(bfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
	for (size_t i = 0; i < size / 4; i++)
		p[i] = 0xc0ffee00 + i;
	sync_buf(bfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);

	REQUIRE(drmPrimeFDToHandle(gfd, bfd, &h) == 0, "vgem PrimeFDToHandle: %s", strerror(errno));
	const char *l = buffer_line(bfd);
	printf("vgem: imported: %s\n", l);
	CHECK(strstr(field(l, "attachments"), "vgem") != NULL, "vgem attachment missing: %s",
	      field(l, "attachments"));
	/* The DRM prime import maps at once: the device owns it, PTEs are gone. */
	CHECK(strstr(field(l, "attachments"), ":bidir") != NULL, "vgem attachment not mapped bidir");
	CHECK(field_ul(l, "shootdowns") == 1 && strcmp(field(l, "owner"), "device") == 0,
	      "device map did not shoot down: %s", l);
	CHECK(drmPrimeFDToHandle(gfd, bfd, &h2) == 0 && h2 == h, "second import gave handle %u, not %u",
	      h2, h);

	REQUIRE(drmPrimeHandleToFD(gfd, h, DRM_CLOEXEC | DRM_RDWR, &bfd2) == 0,
		"vgem PrimeHandleToFD: %s", strerror(errno));
	CHECK(ino_of(bfd2) == ino, "re-export is inode %lu, not %lu: a copy, not the buffer",
	      ino_of(bfd2), ino);
	CHECK(strchr(buf_str(bfd, "attachments"), ',') == NULL,
	      "re-export attached again: %s", buf_str(bfd, "attachments"));

	/* The re-export is the same buffer: its mapping sees the pattern. */
	uint32_t *q = map_buf(bfd2, size);
	sync_buf(bfd2, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	CHECK(q[0] == 0xc0ffee00 && q[size / 4 - 1] == 0xc0ffee00 + size / 4 - 1,
	      "re-export reads %#x", q[0]);
	sync_buf(bfd2, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	munmap(q, size);

	munmap(p, size);
	close(bfd);
	/* The re-exported fd alone keeps the buffer. */
	CHECK(buffer_line(bfd2) != NULL, "buffer gone while the re-export lives");
	gem_close(gfd, h);
	CHECK(strcmp(buf_str(bfd2, "attachments"), "-") == 0, "attachment left after GEM_CLOSE: %s",
	      buf_str(bfd2, "attachments"));
	close(bfd2);
	CHECK(count_fds() == fds, "fd leak in vgem case");
	close(gfd);
	expect_no_live_buffers("vgem");
}

/* ---- checker ------------------------------------------------------------ */

static void case_checker(void)
{
	size_t size = 16 * page_size;
	long total0 = capbuf_stat("violations_total");

	REQUIRE(capbuf_stat("violations_total") >= 0, "stats");
	capbuf_param_set("check", "warn");
	REQUIRE(strstr(read_file(CAPBUF_DEBUGFS "/stats"), "check warn"), "stats does not say check warn");
	REQUIRE(strncmp(read_file(CAPBUF_PARAMS "/check"), "warn", 4) == 0, "check param reads back wrong");

	/* Bracketed access: never a violation. */
	int a = alloc_on("capbuf", size);
	uint8_t *pa = map_buf(a, size);
	pa[0] = 1;	/* a new buffer belongs to the CPU */
	sync_buf(a, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
	memset(pa, 0x11, size);
	sync_buf(a, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
	sync_buf(a, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	CHECK(pa[size - 1] == 0x11, "data lost across a bracket");
	sync_buf(a, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	CHECK(buf_ul(a, "violations") == 0, "bracketed access counted: %s", buffer_line(a));
	CHECK(buf_ul(a, "shootdowns") == 2, "check=warn: each SYNC_END must zap: %s", buffer_line(a));

	/* Unbracketed after END: one violation per page touched. */
	pa[3 * page_size] = 2;
	pa[5 * page_size] = 2;
	pa[5 * page_size + 1] = 2;	/* same page, PTE present: not seen again */
	CHECK(buf_ul(a, "violations") == 2, "violations=%lu after touching 2 pages unbracketed",
	      buf_ul(a, "violations"));
	CHECK(capbuf_stat("violations_total") == total0 + 2, "violations_total %ld, expected %ld",
	      capbuf_stat("violations_total"), total0 + 2);
	CHECK(run("dmesg | grep -q 'capbuf: violation: '") == 0,
	      "no violation notice in the kernel log");

	/* After a device map: the prime import into vgem maps it for DMA. */
	int gfd = open_drm("vgem");
	int b = alloc_on("capbuf-wc", size);
	uint8_t *pb = map_buf(b, size);
	uint32_t h;
	pb[0] = 1;
	CHECK(buf_ul(b, "violations") == 0, "CPU write to a new buffer counted");
	REQUIRE(drmPrimeFDToHandle(gfd, b, &h) == 0, "vgem import: %s", strerror(errno));
	pb[0] = 2;
	CHECK(buf_ul(b, "violations") == 1, "write after a device map not seen: %s", buffer_line(b));
	sync_buf(b, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
	pb[page_size] = 3;
	sync_buf(b, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
	CHECK(buf_ul(b, "violations") == 1, "bracketed write after a device map counted");

	/* strict: the same access is SIGBUS, and still counted. */
	capbuf_param_set("check", "strict");
	CHECK(touch_sigbus(pa + 7 * page_size, false), "strict: unbracketed read did not SIGBUS");
	CHECK(touch_sigbus(pb + 2 * page_size, true), "strict: unbracketed write did not SIGBUS");
	CHECK(buf_ul(a, "violations") == 3 && buf_ul(b, "violations") == 2,
	      "strict violations not counted: a %lu b %lu", buf_ul(a, "violations"),
	      buf_ul(b, "violations"));
	sync_buf(a, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	CHECK(!touch_sigbus(pa + 7 * page_size, false), "strict: bracketed read got SIGBUS");
	sync_buf(a, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	/* A forked child dies of it, as an unprepared program would. */
	pid_t pid = fork();
	if (pid == 0) {
		pb[4 * page_size] = 1;
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS, "strict: child was not killed by SIGBUS");

	/* off: nothing is counted, mappings stay. */
	capbuf_param_set("check", "off");
	long total = capbuf_stat("violations_total");
	pa[9 * page_size] = 4;
	pb[9 * page_size] = 4;
	CHECK(capbuf_stat("violations_total") == total, "check=off counted a violation");
	REQUIRE(strstr(read_file(CAPBUF_DEBUGFS "/stats"), "check off"), "stats does not say check off");

	gem_close(gfd, h);
	close(gfd);
	munmap(pa, size);
	munmap(pb, size);
	close(a);
	close(b);
	expect_no_live_buffers("checker");
}

/* The checker's cost: a zap at each END and one fault at the next touch. */
static double bench_run(int fd, uint8_t *p, size_t size, int iters, bool fill,
			unsigned long *faults)
{
	unsigned long f0 = buf_ul(fd, "faults");
	double t0 = now();

	for (int i = 0; i < iters; i++) {
		sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
		if (fill)
			memset(p, i, size);
		else
			for (size_t o = 0; o < size; o += page_size)
				p[o] = i;
		sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
	}
	double dt = now() - t0;
	*faults = buf_ul(fd, "faults") - f0;
	return dt;
}

static void case_bench(int iters)
{
	size_t size = 640 * 480 * 4;
	const char *modes[] = { "off", "warn" };

	for (int h = 0; h < 2; h++) {
		const char *heap = h ? "capbuf-wc" : "capbuf";
		int fd = alloc_on(heap, size);
		uint8_t *p = map_buf(fd, size);

		for (int fill = 0; fill < 2; fill++)
			for (int m = 0; m < 2; m++) {
				unsigned long faults;

				capbuf_param_set("check", modes[m]);
				bench_run(fd, p, size, 10, fill, &faults);	/* warm up */
				double dt = bench_run(fd, p, size, iters, fill, &faults);
				printf("bench: %-9s check=%-4s %-6s %d x (START, %s %zu pages, END): "
				       "%.1f us/frame, %.2f faults/frame\n", heap, modes[m],
				       fill ? "memset" : "touch", iters,
				       fill ? "memset" : "1 byte in each of", size / page_size,
				       dt * 1e6 / iters, (double)faults / iters);
				CHECK(m ? faults == (unsigned long)iters : faults == 0,
				      "check=%s: %lu faults in %d frames", modes[m], faults, iters);
			}
		munmap(p, size);
		close(fd);
	}
	capbuf_param_set("check", "off");
	expect_no_live_buffers("bench");
}

/* ---- per-frame cost, sync accounting, pins, memory cgroup -------------- */

static void touch_frames(int fd, uint8_t *p, size_t size, int frames)
{
	for (int f = 0; f < frames; f++) {
		sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
		for (size_t o = 0; o < size; o += page_size)
			p[o] = (uint8_t)f;
		sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
	}
}

/*
 * A 1080p XRGB frame is 2,025 pages: a CPU stage must not pay a fault per
 * page, neither in steady state (0 faults) nor after a shootdown (1 fault).
 */
static void case_faults(void)
{
	size_t size = 1920 * 1080 * 4;
	size_t pages = (size + page_size - 1) / page_size;
	int fd = alloc_on("capbuf", size), gfd = open_drm("vgem");
	uint8_t *p = map_buf(fd, size);
	unsigned long runs = buf_ul(fd, "runs");
	uint32_t h;

	REQUIRE(gfd >= 0, "no vgem device");
	capbuf_param_set("check", "off");
	touch_frames(fd, p, size, 100);
	CHECK(buf_ul(fd, "faults") == 1,
	      "check=off: %lu faults in 100 frames of %zu pages, expected 1 (the first touch)",
	      buf_ul(fd, "faults"), pages);
	/* A device map shoots the CPU mapping down: the next frame faults once. */
	REQUIRE(drmPrimeFDToHandle(gfd, fd, &h) == 0, "vgem import: %s", strerror(errno));
	CHECK(buf_ul(fd, "shootdowns") == 1, "the vgem map did not shoot down: %s",
	      buffer_line(fd));
	touch_frames(fd, p, size, 10);
	CHECK(buf_ul(fd, "faults") == 2, "after a device map: %lu faults, expected 2",
	      buf_ul(fd, "faults"));
	/*
	 * The checker zaps at each END: one fault per frame, not one per page
	 * (the first frame still finds the mapping of the last one).
	 */
	capbuf_param_set("check", "warn");
	touch_frames(fd, p, size, 10);
	CHECK(buf_ul(fd, "faults") == 11, "check=warn: %lu faults after 10 more frames, expected 11",
	      buf_ul(fd, "faults"));
	CHECK(buf_ul(fd, "violations") == 0, "bracketed frames counted as violations");
	capbuf_param_set("check", "off");
	/*
	 * The system heap's allocation orders give runs of 1 MiB and 64 KiB;
	 * a freshly booted guest has them, so a 1080p frame is a few dozen
	 * runs, not 2,025 pages.
	 */
	printf("faults: %zu-page buffer in %lu physically contiguous runs\n", pages, runs);
	CHECK(runs >= 1 && runs <= pages / 16, "%lu runs for %zu pages: high orders unused",
	      runs, pages);
	gem_close(gfd, h);
	close(gfd);
	munmap(p, size);
	close(fd);
	expect_no_live_buffers("faults");
}

/*
 * Every SYNC START syncs each mapped attachment for the CPU and every END
 * for the device, whatever came before: a CPU fault on a device-owned buffer
 * must not make the next START skip its invalidate.
 */
static void case_syncs(void)
{
	size_t size = 16 * page_size;
	int fd = alloc_on("capbuf", size), gfd = open_drm("vgem");
	uint8_t *p = map_buf(fd, size);
	const char *modes[] = { "off", "warn" };
	uint32_t h;

	REQUIRE(gfd >= 0, "no vgem device");
	touch_frames(fd, p, size, 2);
	CHECK(buf_ul(fd, "syncs_cpu") == 0 && buf_ul(fd, "syncs_device") == 0,
	      "syncs without any attachment: %s", buffer_line(fd));
	REQUIRE(drmPrimeFDToHandle(gfd, fd, &h) == 0, "vgem import: %s", strerror(errno));
	for (int m = 0; m < 2; m++) {
		unsigned long c0, d0;

		capbuf_param_set("check", modes[m]);
		/* Off: the import shot the mapping down. Warn: the END of a frame does. */
		if (m)
			touch_frames(fd, p, size, 1);
		c0 = buf_ul(fd, "syncs_cpu");
		d0 = buf_ul(fd, "syncs_device");
		/* Unbracketed, while the device owns it: a fault, synced for the CPU. */
		p[0] = 1;
		CHECK(buf_ul(fd, "syncs_cpu") == c0 + 1, "check=%s: a fault did not sync: %s",
		      modes[m], buffer_line(fd));
		sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
		CHECK(buf_ul(fd, "syncs_cpu") == c0 + 2,
		      "check=%s: SYNC START after a fault skipped its sync: %s", modes[m],
		      buffer_line(fd));
		sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
		CHECK(buf_ul(fd, "syncs_device") == d0 + 1, "check=%s: SYNC END did not sync: %s",
		      modes[m], buffer_line(fd));
	}
	capbuf_param_set("check", "off");
	gem_close(gfd, h);
	close(gfd);
	munmap(p, size);
	close(fd);
	expect_no_live_buffers("syncs");
}

/*
 * get_user_pages() must not reach a buffer's pages (its checker and the
 * device's ownership would be bypassed): capbuf maps with VM_PFNMAP, as the
 * system heap and udmabuf do.
 */
static void case_gup(void)
{
	int vfd = open_vivid();
	struct v4l2_format fmt = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
	struct v4l2_requestbuffers req = {
		.count = 1, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_USERPTR,
	};
	uint8_t local[64];
	size_t size;

	REQUIRE(ioctl(vfd, VIDIOC_G_FMT, &fmt) == 0, "G_FMT: %s", strerror(errno));
	size = (fmt.fmt.pix.sizeimage + page_size - 1) / page_size * page_size;
	int fd = alloc_on("capbuf", size);
	uint8_t *p = map_buf(fd, size);
	uint8_t *anon = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct iovec l = { local, sizeof(local) }, r = { p, sizeof(local) };

	REQUIRE(anon != MAP_FAILED, "anonymous mmap");
	touch_frames(fd, p, size, 1);
	errno = 0;
	if (process_vm_readv(getpid(), &l, 1, &r, 1, 0) < 0 && errno == ENOSYS) {
		/* tinyconfig (the debug kernel) has no CROSS_MEMORY_ATTACH. */
		printf("gup: no process_vm_readv in this kernel; vivid's pin below still runs\n");
	} else {
		CHECK(errno == EFAULT, "process_vm_readv pinned a capbuf page (%s)",
		      strerror(errno));
		r.iov_base = anon;
		CHECK(process_vm_readv(getpid(), &l, 1, &r, 1, 0) == (ssize_t)sizeof(local),
		      "process_vm_readv of anonymous memory: %s", strerror(errno));
	}

	/* A V4L2 USERPTR buffer is pinned: vivid refuses a capbuf mapping. */
	REQUIRE(ioctl(vfd, VIDIOC_REQBUFS, &req) == 0, "REQBUFS USERPTR: %s", strerror(errno));
	struct v4l2_buffer b = {
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_USERPTR,
		.index = 0, .m.userptr = (unsigned long)p, .length = fmt.fmt.pix.sizeimage,
	};
	errno = 0;
	CHECK(ioctl(vfd, VIDIOC_QBUF, &b) < 0, "vivid took a capbuf mapping as USERPTR");
	printf("gup: vivid USERPTR QBUF of a capbuf mapping: %s\n", strerror(errno));
	b.m.userptr = (unsigned long)anon;
	CHECK(ioctl(vfd, VIDIOC_QBUF, &b) == 0, "vivid USERPTR QBUF of anonymous memory: %s",
	      strerror(errno));
	req.count = 0;
	CHECK(ioctl(vfd, VIDIOC_REQBUFS, &req) == 0, "REQBUFS 0: %s", strerror(errno));
	close(vfd);
	munmap(anon, size);
	munmap(p, size);
	close(fd);
	expect_no_live_buffers("gup");
}

static long memcg_current(const char *cg)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/memory.current", cg);
	return atol(read_file(path));
}

/* Buffers are charged to the allocating task's memory cgroup (__GFP_ACCOUNT). */
static void case_memcg(void)
{
	const char *root = "/sys/fs/cgroup", *cg = "/sys/fs/cgroup/capbuf-test";
	size_t size = 8 << 20;
	char text[64], path[128];

	if (access("/sys/fs/cgroup/cgroup.controllers", F_OK) != 0)
		run("mount -t cgroup2 none /sys/fs/cgroup");
	REQUIRE(strstr(read_file("/sys/fs/cgroup/cgroup.controllers") ?: "", "memory"),
		"no memory controller in cgroup2");
	write_file("/sys/fs/cgroup/cgroup.subtree_control", "+memory");
	REQUIRE(mkdir(cg, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", cg, strerror(errno));
	snprintf(text, sizeof(text), "%d", getpid());
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	write_file(path, text);

	int hfd = heap_open("capbuf");
	long before = memcg_current(cg);
	int fd = heap_alloc(hfd, size);
	long charged = memcg_current(cg) - before;

	REQUIRE(fd >= 0, "alloc: %s", strerror(-fd));
	printf("memcg: an %zu-byte buffer charged %ld bytes\n", size, charged);
	CHECK(charged >= (long)size, "an %zu-byte buffer charged only %ld bytes", size, charged);
	close(fd);
	CHECK(memcg_current(cg) - before < (long)size / 8, "release did not uncharge: %ld bytes left",
	      memcg_current(cg) - before);

	/* Below the limit: a clean ENOMEM, nothing left behind, nobody OOM-killed. */
	snprintf(text, sizeof(text), "%ld", memcg_current(cg) + (4 << 20));
	snprintf(path, sizeof(path), "%s/memory.max", cg);
	write_file(path, text);
	fd = heap_alloc(hfd, size);
	CHECK(fd == -ENOMEM, "allocation over memory.max: %s, expected ENOMEM",
	      fd >= 0 ? "succeeded" : strerror(-fd));
	if (fd >= 0)
		close(fd);
	write_file(path, "max");
	close(hfd);

	snprintf(path, sizeof(path), "%s/cgroup.procs", root);
	snprintf(text, sizeof(text), "%d", getpid());
	write_file(path, text);
	CHECK(rmdir(cg) == 0, "rmdir %s: %s", cg, strerror(errno));
	expect_no_live_buffers("memcg");
}

/*
 * capbuf-contig for devices without an IOMMU: vivid with allocators=1 uses
 * vb2-dma-contig, which needs one contiguous DMA range. Run with
 * --modparam vivid=allocators=1.
 */
static void case_contig(void)
{
	int vfd = open_vivid(), fds = count_fds();
	struct v4l2_format fmt = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
	struct v4l2_requestbuffers req = {
		.count = 3, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_DMABUF,
	};
	int bfd[3], queued = 0, type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	uint8_t *map[3];
	size_t size;

	REQUIRE(strcmp(read_file("/sys/module/vivid/parameters/allocators") ?: "", "1\n") == 0 ||
		strncmp(read_file("/sys/module/vivid/parameters/allocators") ?: "", "1,", 2) == 0,
		"vivid is not loaded with allocators=1");
	REQUIRE(ioctl(vfd, VIDIOC_G_FMT, &fmt) == 0, "G_FMT: %s", strerror(errno));
	size = fmt.fmt.pix.sizeimage;
	REQUIRE(ioctl(vfd, VIDIOC_REQBUFS, &req) == 0 && req.count == 3, "REQBUFS: %s",
		strerror(errno));
	for (int i = 0; i < 3; i++) {
		bfd[i] = alloc_on(i < 2 ? "capbuf-contig" : "capbuf", size);
		map[i] = map_buf(bfd[i], size);
	}
	for (int i = 0; i < 2; i++) {
		struct v4l2_buffer b = {
			.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_DMABUF,
			.index = i, .m.fd = bfd[i], .length = size,
		};

		CHECK(buf_ul(bfd[i], "runs") == 1, "capbuf-contig buffer in %lu runs",
		      buf_ul(bfd[i], "runs"));
		REQUIRE(ioctl(vfd, VIDIOC_QBUF, &b) == 0, "QBUF capbuf-contig: %s", strerror(errno));
		queued++;
	}
	/* Scattered pages: vb2-dma-contig must refuse them, saying why. */
	unsigned long runs = buf_ul(bfd[2], "runs");
	struct v4l2_buffer b = {
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_DMABUF,
		.index = 2, .m.fd = bfd[2], .length = size,
	};
	errno = 0;
	int r = ioctl(vfd, VIDIOC_QBUF, &b);
	printf("contig: plain capbuf buffer in %lu runs: QBUF %s\n", runs,
	       r == 0 ? "accepted" : strerror(errno));
	if (runs > 1) {
		CHECK(r < 0, "vb2-dma-contig took %lu scattered runs", runs);
		CHECK(run("dmesg | grep -q 'contiguous chunk is too small'") == 0,
		      "the kernel log does not say why the buffer was refused");
	} else {
		CHECK(r == 0, "a single-run capbuf buffer was refused: %s", strerror(errno));
		queued += r == 0;
	}
	REQUIRE(ioctl(vfd, VIDIOC_STREAMON, &type) == 0, "STREAMON: %s", strerror(errno));
	for (int f = 0; f < 20; f++) {
		struct v4l2_buffer d = {
			.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_DMABUF,
		};

		REQUIRE(ioctl(vfd, VIDIOC_DQBUF, &d) == 0, "DQBUF frame %d: %s", f, strerror(errno));
		sync_buf(d.m.fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
		CHECK(!all_zero(map[d.index], size), "frame %d: no picture in buffer %u", f, d.index);
		sync_buf(d.m.fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
		REQUIRE(ioctl(vfd, VIDIOC_QBUF, &d) == 0, "re-QBUF: %s", strerror(errno));
	}
	printf("contig: 20 frames through capbuf-contig (%d buffers queued): %s\n", queued,
	       buffer_line(bfd[0]));
	CHECK(strstr(field(buffer_line(bfd[0]), "attachments"), "from_device") != NULL,
	      "vb2-dma-contig did not map capbuf-contig for the device");
	REQUIRE(ioctl(vfd, VIDIOC_STREAMOFF, &type) == 0, "STREAMOFF: %s", strerror(errno));
	req.count = 0;
	CHECK(ioctl(vfd, VIDIOC_REQBUFS, &req) == 0, "REQBUFS 0: %s", strerror(errno));
	close(vfd);
	for (int i = 0; i < 3; i++) {
		munmap(map[i], size);
		close(bfd[i]);
	}
	CHECK(count_fds() == fds - 1, "fd leak in contig case");
	expect_no_live_buffers("contig");
}

/* ---- lifecycle ---------------------------------------------------------- */

static bool module_loaded(void)
{
	return access("/sys/module/capbuf", F_OK) == 0;
}

static int rmmod(void)
{
	return run("rmmod capbuf");
}

static void case_lifecycle(void)
{
	const char *ko = getenv("DMAPIPE_CAPBUF_KO");
	char cmd[600];

	REQUIRE(ko, "DMAPIPE_CAPBUF_KO is not set");
	REQUIRE(module_loaded(), "capbuf is not loaded");

	int hfd = heap_open("capbuf");
	CHECK(rmmod() != 0 && module_loaded(), "rmmod succeeded with a heap node open");
	int fd = heap_alloc(hfd, 8 * page_size);
	REQUIRE(fd >= 0, "alloc");
	close(hfd);
	CHECK(rmmod() != 0 && module_loaded(), "rmmod succeeded while a buffer fd lives");

	uint8_t *p = map_buf(fd, 8 * page_size);
	close(fd);
	CHECK(capbuf_stat("live_buffers") == 1, "a mapped buffer was released at close");
	CHECK(rmmod() != 0 && module_loaded(), "rmmod succeeded while only an mmap lives");
	p[0] = 1;	/* the mapping still works, and the fault handler is there */
	munmap(p, 8 * page_size);

	CHECK(rmmod() == 0 && !module_loaded(), "rmmod failed with no buffer left");
	CHECK(access("/dev/dma_heap/capbuf", F_OK) != 0, "heap node survived rmmod");

	snprintf(cmd, sizeof(cmd), "insmod '%s'", ko);
	REQUIRE(run(cmd) == 0, "re-insmod %s failed", ko);
	for (int i = 0; i < 100 && access("/dev/dma_heap/capbuf-wc", F_OK); i++)
		usleep(10000);
	REQUIRE(access("/dev/dma_heap/capbuf-wc", F_OK) == 0, "heap nodes not back after insmod");
	CHECK(capbuf_stat("allocated_total") == 0 && capbuf_stat("live_buffers") == 0,
	      "a fresh module has state");
	fd = alloc_on("capbuf", page_size);
	close(fd);
	expect_no_live_buffers("lifecycle");
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} cases[] = {
		{ "abi", case_abi }, { "threads", case_threads }, { "vivid", case_vivid },
		{ "vgem", case_vgem }, { "checker", case_checker },
		{ "lifecycle", case_lifecycle }, { "faults", case_faults },
		{ "syncs", case_syncs }, { "gup", case_gup }, { "memcg", case_memcg },
		{ "contig", case_contig },
	};

	page_size = sysconf(_SC_PAGESIZE);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		fprintf(stderr, "usage: %s CASE...  (abi threads vivid vgem kms-cirrus kms-vkms "
			"checker bench[:FRAMES] lifecycle faults syncs gup memcg contig)\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		int before = failures;
		double t0 = now();
		bool found = false;

		if (strncmp(argv[i], "kms-", 4) == 0) {
			case_kms(argv[i] + 4);
			found = true;
		} else if (strncmp(argv[i], "bench", 5) == 0) {
			/* bench[:FRAMES]: the docs' numbers come from bench:1000. */
			case_bench(argv[i][5] == ':' ? atoi(argv[i] + 6) : 1000);
			found = true;
		}
		for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]) && !found; c++)
			if (strcmp(argv[i], cases[c].name) == 0) {
				cases[c].fn();
				found = true;
			}
		if (!found) {
			fprintf(stderr, "unknown case %s\n", argv[i]);
			return 2;
		}
		printf("%s %s (%.2f s)\n", failures == before ? "PASS" : "FAIL", argv[i], now() - t0);
	}
	return failures ? 1 : 0;
}
