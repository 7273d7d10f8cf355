// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The exporter-neutral part of the capbuf tests, run against capbuf and the
 * kernel's own dma-buf exporters, as root inside the test VM.
 *
 *   exporter-test --exporter EXPORTER[,EXPORTER...] CASE...
 *
 * Exporters: capbuf capbuf-wc capbuf-contig system (dma-heap ABI on
 *            /dev/dma_heap/NAME) and udmabuf (a sealed memfd handed to
 *            /dev/udmabuf).
 * Cases:     alloc mmap sync vivid kms vgem (kms: vkms writeback when vkms
 *            is loaded, else a cirrus screendump)
 *
 * Where the exporters behave differently the test asserts what each one
 * does on the running kernel (struct exporter below; docs/kmod.md has the
 * table with the kernel source behind every row), so a change of behaviour
 * fails the test. Lines starting "RECORD" state an observed difference.
 *
 * Only uapi headers (<linux/dma-heap.h>, <linux/dma-buf.h>, <linux/udmabuf.h>,
 * <linux/videodev2.h>, vgem's two ioctls copied from <drm/vgem_drm.h>) and
 * libdrm are used.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/udmabuf.h>
#include <linux/videodev2.h>
#include <xf86drm.h>

#include "../common/vm-test.h"

/* include/uapi/drm/vgem_drm.h (not in Debian 12's libdrm-dev). */
struct vgem_fence_attach {
	uint32_t handle;
	uint32_t flags;
	uint32_t out_fence;
	uint32_t pad;
};

struct vgem_fence_signal {
	uint32_t fence;
	uint32_t flags;
};

#define VGEM_FENCE_WRITE 0x1
#define VGEM_IOCTL_FENCE_ATTACH DRM_IOWR(DRM_COMMAND_BASE + 0x1, struct vgem_fence_attach)
#define VGEM_IOCTL_FENCE_SIGNAL DRM_IOW(DRM_COMMAND_BASE + 0x2, struct vgem_fence_signal)

#define BUFINFO "/sys/kernel/debug/dma_buf/bufinfo"
#define MIB (1024UL * 1024UL)

static long page_size;

/* ---- what each exporter does --------------------------------------- */

enum kind { HEAP, UDMABUF };

/*
 * Behaviour that differs between exporters, as the kernel sources of 6.1
 * (capbuf only) and 6.12 have it. Kernel features the test reads at run
 * time (CMA, udmabuf's size limit) are not in here.
 */
struct exporter {
	const char *name;
	enum kind kind;
	bool capbuf;		/* capbuf's debugfs stats can be checked */
	bool contig;		/* physically contiguous: limited by CMA or MAX_PAGE_ORDER */
	bool named;		/* a new buffer has a dma-buf name (fdinfo name:) */
	bool private_1page;	/* MAP_PRIVATE of a one-page mapping is accepted (COW) */
	bool eager_ptes;	/* mmap() installs every PTE: no fault on first touch */
	bool one_fault;		/* the first fault maps the whole VMA */
	bool end_needs_start;	/* SYNC END before any START on a buffer: EINVAL */
	bool heap_core;		/* ioctl handled by drivers/dma-buf/dma-heap.c */
};

/*
 * capbuf: kmod/capbuf.c (its own dma-heap ioctl, lazy PFN mappings filled
 * by one fault, shared mappings only, limits as module parameters).
 * system: drivers/dma-buf/heaps/system_heap.c behind the heap core
 * (remap_pfn_range of every page at mmap, no limit of its own).
 * udmabuf: drivers/dma-buf/udmabuf.c (a memfd's pages, one PFN per fault,
 * syncs through a table of its own device made at the first SYNC START).
 */
static const struct exporter exporters[] = {
	{ .name = "capbuf", .kind = HEAP, .capbuf = true, .named = true, .one_fault = true },
	{ .name = "capbuf-wc", .kind = HEAP, .capbuf = true, .named = true, .one_fault = true },
	{ .name = "capbuf-contig", .kind = HEAP, .capbuf = true, .contig = true, .named = true,
	  .one_fault = true },
	{ .name = "system", .kind = HEAP, .private_1page = true, .eager_ptes = true,
	  .heap_core = true },
	{ .name = "udmabuf", .kind = UDMABUF, .end_needs_start = true },
};

static const struct exporter *ex;

/* ---- procfs, sysfs, debugfs ---------------------------------------- */

/* What the exporter calls itself (dma_buf_export_info.exp_name). */
static const char *exp_name(void)
{
	return ex->kind == UDMABUF ? "udmabuf" : ex->name;
}

/*
 * Live dma-bufs of this exporter, from the dma-buf core's own list: one
 * line per buffer, "size flags mode count exp_name ino name".
 */
static int live_buffers(void)
{
	char *s = read_file(BUFINFO);
	int n = 0;

	REQUIRE(s, "read " BUFINFO ": %s", strerror(errno));
	for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) {
		char f[5][64];

		if (sscanf(line, "%63s %63s %63s %63s %63s", f[0], f[1], f[2], f[3], f[4]) == 5 &&
		    f[0][0] >= '0' && f[0][0] <= '9' && strcmp(f[4], exp_name()) == 0)
			n++;
	}
	return n;
}

/*
 * The end of every case: buffers are released from task work after close()
 * and importers drop theirs asynchronously; give them a moment.
 */
static void expect_no_buffers(const char *when)
{
	int live = 0;

	for (int i = 0; i < 300; i++) {
		live = live_buffers();
		if (!live && (!ex->capbuf || capbuf_stat("live_buffers") == 0))
			break;
		usleep(10000);
	}
	CHECK(live == 0, "%s: %d %s buffers still live in " BUFINFO, when, live, exp_name());
	if (ex->capbuf)
		CHECK(capbuf_stat("live_buffers") == 0, "%s: capbuf stats: live_buffers %ld",
		      when, capbuf_stat("live_buffers"));
}

static bool have_cma(void)
{
	return meminfo_kb("CmaTotal:") > 0;
}

#define UDMABUF_LIMIT "/sys/module/udmabuf/parameters/size_limit_mb"

static unsigned long udmabuf_limit_mb(void)
{
	char *s = read_file(UDMABUF_LIMIT);

	REQUIRE(s, "udmabuf has no size_limit_mb parameter");
	return strtoul(s, NULL, 10);
}

static void udmabuf_set_limit_mb(unsigned long mb)
{
	char v[32];

	snprintf(v, sizeof(v), "%lu", mb);
	write_file(UDMABUF_LIMIT, v);
}

/* The largest buffer capbuf-contig can get: a CMA area, or else one
 * allocation of the page allocator's largest order (4 MiB on x86). */
static size_t contig_limit(void)
{
	return have_cma() ? 64 * MIB : 4 * MIB;
}

static size_t round_up_page(size_t n)
{
	return (n + page_size - 1) / page_size * page_size;
}

/* ---- allocation ---------------------------------------------------- */

/* The heap allocation ioctl with any command: 0 or -errno. */
static int heap_ioctl(unsigned long cmd, struct dma_heap_allocation_data *d)
{
	int hfd = heap_open(ex->name);
	int ret = ioctl(hfd, cmd, d) ? -errno : 0;

	close(hfd);
	return ret;
}

/* A new buffer's fd, or -errno. */
static int exp_heap_alloc(uint64_t len, uint32_t fd_flags, uint64_t heap_flags)
{
	struct dma_heap_allocation_data d = {
		.len = len, .fd_flags = fd_flags, .heap_flags = heap_flags,
	};
	int ret = heap_ioctl(DMA_HEAP_IOCTL_ALLOC, &d);

	return ret ? ret : (int)d.fd;
}

/* A memfd of @size bytes with @seals added, filled with @fill if nonzero. */
static int memfd_sized(size_t size, unsigned int seals, int fill)
{
	int fd = memfd_create("exporter-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	REQUIRE(fd >= 0, "memfd_create: %s", strerror(errno));
	REQUIRE(ftruncate(fd, size) == 0, "ftruncate %zu: %s", size, strerror(errno));
	if (fill) {
		uint8_t *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

		REQUIRE(p != MAP_FAILED, "mmap memfd: %s", strerror(errno));
		memset(p, fill, size);
		munmap(p, size);
	}
	if (seals)
		REQUIRE(fcntl(fd, F_ADD_SEALS, seals) == 0, "F_ADD_SEALS %#x: %s", seals,
			strerror(errno));
	return fd;
}

/* UDMABUF_CREATE: the new buffer's fd, or -errno. */
static int udmabuf_create(int memfd, uint64_t offset, uint64_t size, uint32_t flags)
{
	struct udmabuf_create c = {
		.memfd = memfd, .flags = flags, .offset = offset, .size = size,
	};
	int dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	int fd;

	REQUIRE(dev >= 0, "open /dev/udmabuf: %s", strerror(errno));
	fd = ioctl(dev, UDMABUF_CREATE, &c);
	if (fd < 0)
		fd = -errno;
	close(dev);
	return fd;
}

/*
 * A buffer of at least @len bytes, O_RDWR | O_CLOEXEC, as an application
 * gets one: heaps round up themselves, udmabuf takes whole pages only, so
 * the memfd is page-rounded here. Returns the fd or -errno.
 */
static int exp_alloc(uint64_t len)
{
	int memfd, fd;

	if (ex->kind == HEAP)
		return exp_heap_alloc(len, O_RDWR | O_CLOEXEC, 0);
	memfd = memfd_sized(round_up_page(len), F_SEAL_SHRINK, 0);
	fd = udmabuf_create(memfd, 0, round_up_page(len), UDMABUF_FLAGS_CLOEXEC);
	close(memfd);	/* the buffer holds the pages */
	return fd;
}

static int alloc_buf(uint64_t len)
{
	int fd = exp_alloc(len);

	REQUIRE(fd >= 0, "%s: alloc %" PRIu64 " bytes: %s", ex->name, len, strerror(-fd));
	return fd;
}

static const char *err_name(int neg_errno)
{
	static char buf[64];

	if (neg_errno >= 0)
		return "success";
	snprintf(buf, sizeof(buf), "%s", strerror(-neg_errno));
	return buf;
}

/* ---- alloc ---------------------------------------------------------- */

/* One buffer of @len: size, fd flags, exporter name, zeroed. */
static void alloc_one(uint64_t len)
{
	size_t size = round_up_page(len);
	bool too_big = ex->contig && size > contig_limit();
	int fd = exp_alloc(len);
	struct stat st;

	if (too_big) {
		CHECK(fd == -ENOMEM, "%s: %" PRIu64 " bytes without CMA: %s, expected ENOMEM",
		      ex->name, len, err_name(fd));
		printf("RECORD %s: %" PRIu64 " bytes: %s (largest contiguous allocation %zu MiB%s)\n",
		       ex->name, len, err_name(fd), contig_limit() / MIB, have_cma() ? ", CMA" : "");
		if (fd >= 0)
			close(fd);
		return;
	}
	REQUIRE(fd >= 0, "%s: alloc %" PRIu64 " bytes: %s", ex->name, len, strerror(-fd));
	REQUIRE(fstat(fd, &st) == 0, "fstat: %s", strerror(errno));
	CHECK((size_t)st.st_size == size, "%s: %" PRIu64 " bytes: st_size %jd, expected %zu",
	      ex->name, len, (intmax_t)st.st_size, size);
	CHECK(lseek(fd, 0, SEEK_END) == (off_t)size, "%s: lseek SEEK_END %jd, expected %zu",
	      ex->name, (intmax_t)lseek(fd, 0, SEEK_END), size);
	CHECK(lseek(fd, 0, SEEK_SET) == 0, "lseek SEEK_SET: %s", strerror(errno));
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC, "%s: close-on-exec not set", ex->name);
	CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR, "%s: fd is not O_RDWR", ex->name);
	CHECK(fdinfo(fd, "exp_name") && strcmp(fdinfo(fd, "exp_name"), exp_name()) == 0,
	      "%s: fdinfo exp_name %s", ex->name, fdinfo(fd, "exp_name"));
	CHECK(!!fdinfo(fd, "name") == ex->named, "%s: fdinfo name %s, expected %s", ex->name,
	      fdinfo(fd, "name") ?: "(none)", ex->named ? "a name" : "none");

	uint8_t *p = map_buf(fd, size);
	sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	CHECK(all_zero(p, size), "%s: a new %zu-byte buffer is not zeroed", ex->name, size);
	sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	munmap(p, size);
	close(fd);
}

static void alloc_errors_heap(void)
{
	struct dma_heap_allocation_data d;
	int fd, ret;

	CHECK(exp_heap_alloc(0, O_RDWR | O_CLOEXEC, 0) == -EINVAL, "len 0: %s",
	      err_name(exp_heap_alloc(0, O_RDWR | O_CLOEXEC, 0)));
	/* Page rounding of ~0 wraps to 0. */
	CHECK(exp_heap_alloc(UINT64_MAX, O_RDWR, 0) == -EINVAL, "len ~0: %s",
	      err_name(exp_heap_alloc(UINT64_MAX, O_RDWR, 0)));
	CHECK(exp_heap_alloc(page_size, O_RDWR | O_NONBLOCK, 0) == -EINVAL,
	      "fd_flags O_NONBLOCK: %s", err_name(exp_heap_alloc(page_size, O_RDWR | O_NONBLOCK, 0)));
	CHECK(exp_heap_alloc(page_size, O_RDWR, 1) == -EINVAL, "heap_flags 1: %s",
	      err_name(exp_heap_alloc(page_size, O_RDWR, 1)));
	d = (struct dma_heap_allocation_data){ .len = page_size, .fd = 5, .fd_flags = O_RDWR };
	CHECK(heap_ioctl(DMA_HEAP_IOCTL_ALLOC, &d) == -EINVAL, "fd 5 in the request accepted");

	/*
	 * Commands that are not DMA_HEAP_IOCTL_ALLOC. The heap core looks at
	 * the command number only: another ioctl type with number 0 allocates,
	 * number 1 is EINVAL. capbuf checks the type and answers ENOTTY.
	 */
	d = (struct dma_heap_allocation_data){ .len = page_size, .fd_flags = O_RDWR | O_CLOEXEC };
	ret = heap_ioctl(_IOWR('X', 0, struct dma_heap_allocation_data), &d);
	printf("RECORD %s: ioctl _IOWR('X', 0, alloc data): %s\n", ex->name, err_name(ret));
	if (ex->heap_core)
		CHECK(ret == 0 && d.fd > 0, "%s: type 'X' nr 0: %s, expected an allocation",
		      ex->name, err_name(ret));
	else
		CHECK(ret == -ENOTTY, "%s: type 'X' nr 0: %s, expected ENOTTY", ex->name,
		      err_name(ret));
	if (ret == 0)
		close(d.fd);
	d = (struct dma_heap_allocation_data){ .len = page_size, .fd_flags = O_RDWR | O_CLOEXEC };
	ret = heap_ioctl(_IOWR(DMA_HEAP_IOC_MAGIC, 1, struct dma_heap_allocation_data), &d);
	printf("RECORD %s: ioctl _IOWR('H', 1, alloc data): %s\n", ex->name, err_name(ret));
	CHECK(ret == (ex->heap_core ? -EINVAL : -ENOTTY), "%s: ioctl number 1: %s, expected %s",
	      ex->name, err_name(ret), ex->heap_core ? "EINVAL" : "ENOTTY");
	if (ret == 0)
		close(d.fd);

	/* Without O_CLOEXEC, and read-only: the access mode limits mmap(). */
	fd = exp_heap_alloc(page_size, O_RDONLY, 0);
	REQUIRE(fd >= 0, "O_RDONLY alloc: %s", strerror(-fd));
	CHECK(!(fcntl(fd, F_GETFD) & FD_CLOEXEC), "FD_CLOEXEC set without O_CLOEXEC");
	CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY, "O_RDONLY buffer's fd is not read-only");
	errno = 0;
	CHECK(mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED &&
	      errno == EACCES, "writable mmap of an O_RDONLY buffer: %s", strerror(errno));
	void *p = mmap(NULL, page_size, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED, "read-only mmap of an O_RDONLY buffer: %s", strerror(errno));
	if (p != MAP_FAILED)
		munmap(p, page_size);
	close(fd);

	/* Size limits of the exporter itself. */
	if (ex->capbuf) {
		char *v = read_file("/sys/module/capbuf/parameters/max_buffer_size");
		unsigned long max = v ? strtoul(v, NULL, 10) : 0;

		REQUIRE(max, "capbuf has no max_buffer_size parameter");
		ret = exp_heap_alloc(max + page_size, O_RDWR | O_CLOEXEC, 0);
		printf("RECORD %s: max_buffer_size (%lu MiB) + 1 page: %s\n", ex->name, max / MIB,
		       err_name(ret));
		CHECK(ret == -EINVAL, "%s: max_buffer_size + 1 page: %s, expected EINVAL", ex->name,
		      err_name(ret));
		if (ret >= 0)
			close(ret);
	} else {
		/* The system heap has no limit of its own: up to what RAM gives. */
		ret = exp_heap_alloc(256 * MIB + page_size, O_RDWR | O_CLOEXEC, 0);
		printf("RECORD %s: 256 MiB + 1 page: %s (no size limit)\n", ex->name,
		       err_name(ret));
		CHECK(ret >= 0, "%s: 256 MiB + 1 page: %s", ex->name, err_name(ret));
		if (ret >= 0)
			close(ret);
	}
}

static void alloc_errors_udmabuf(void)
{
	size_t size = 4 * page_size;
	unsigned long limit_mb = udmabuf_limit_mb();
	int memfd = memfd_sized(size, F_SEAL_SHRINK, 0), fd, pfd[2];

	CHECK(udmabuf_create(memfd, 0, 0, 0) == -EINVAL, "size 0: %s",
	      err_name(udmabuf_create(memfd, 0, 0, 0)));
	/* udmabuf takes whole pages only: the caller rounds. */
	fd = udmabuf_create(memfd, 0, 3 * page_size + 123, 0);
	printf("RECORD udmabuf: size not a page multiple: %s\n", err_name(fd));
	CHECK(fd == -EINVAL, "size 3 pages + 123: %s, expected EINVAL", err_name(fd));
	CHECK(udmabuf_create(memfd, 123, page_size, 0) == -EINVAL, "offset 123: %s",
	      err_name(udmabuf_create(memfd, 123, page_size, 0)));
	CHECK(udmabuf_create(memfd, 0, size + page_size, 0) == -EINVAL, "past the memfd's end: %s",
	      err_name(udmabuf_create(memfd, 0, size + page_size, 0)));
	CHECK(udmabuf_create(-1, 0, page_size, 0) == -EBADFD, "memfd -1: %s, expected EBADFD",
	      err_name(udmabuf_create(-1, 0, page_size, 0)));
	REQUIRE(pipe(pfd) == 0, "pipe");
	CHECK(udmabuf_create(pfd[0], 0, page_size, 0) == -EBADFD, "a pipe: %s, expected EBADFD",
	      err_name(udmabuf_create(pfd[0], 0, page_size, 0)));
	close(pfd[0]);
	close(pfd[1]);
	/* Unknown flags: udmabuf reads the CLOEXEC bit and ignores the rest. */
	fd = udmabuf_create(memfd, 0, page_size, 0x2 | 0x80000000u);
	printf("RECORD udmabuf: unknown flags 0x80000002: %s\n", err_name(fd));
	CHECK(fd >= 0, "unknown flags refused: %s (udmabuf did not check them)", err_name(fd));
	if (fd >= 0) {
		CHECK(!(fcntl(fd, F_GETFD) & FD_CLOEXEC), "FD_CLOEXEC set without the flag");
		CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR, "udmabuf fd is not O_RDWR");
		close(fd);
	}
	close(memfd);

	/* The seals: F_SEAL_SHRINK required, F_SEAL_WRITE refused. */
	memfd = memfd_sized(size, 0, 0);
	CHECK(udmabuf_create(memfd, 0, size, 0) == -EINVAL, "memfd without F_SEAL_SHRINK: %s",
	      err_name(udmabuf_create(memfd, 0, size, 0)));
	close(memfd);
	memfd = memfd_sized(size, F_SEAL_SHRINK | F_SEAL_WRITE, 0);
	CHECK(udmabuf_create(memfd, 0, size, 0) == -EINVAL, "memfd with F_SEAL_WRITE: %s",
	      err_name(udmabuf_create(memfd, 0, size, 0)));
	close(memfd);

	/*
	 * The size limit, module parameter size_limit_mb (default 64). Its
	 * boundary is tried at 4 MiB: the same check, without pinning 64 MiB
	 * (20 s on the debug kernel).
	 */
	printf("RECORD udmabuf: size_limit_mb %lu\n", limit_mb);
	CHECK(limit_mb == 64, "udmabuf size_limit_mb is %lu, expected the default 64", limit_mb);
	udmabuf_set_limit_mb(4);
	memfd = memfd_sized(4 * MIB + page_size, F_SEAL_SHRINK, 0);
	fd = udmabuf_create(memfd, 0, 4 * MIB, UDMABUF_FLAGS_CLOEXEC);
	CHECK(fd >= 0, "udmabuf of size_limit_mb (4 MiB): %s", err_name(fd));
	if (fd >= 0)
		close(fd);
	fd = udmabuf_create(memfd, 0, 4 * MIB + page_size, UDMABUF_FLAGS_CLOEXEC);
	printf("RECORD udmabuf: size_limit_mb 4: 4 MiB + 1 page: %s\n", err_name(fd));
	CHECK(fd == -EINVAL, "size_limit_mb 4: 4 MiB + 1 page: %s, expected EINVAL", err_name(fd));
	if (fd >= 0)
		close(fd);
	close(memfd);
	udmabuf_set_limit_mb(limit_mb);

	/*
	 * Not zeroed by the exporter: the buffer is the memfd's pages, with
	 * whatever they hold, and the memfd stays a second, unbracketed
	 * way in.
	 */
	memfd = memfd_sized(size, F_SEAL_SHRINK, 0xa5);
	fd = udmabuf_create(memfd, page_size, 2 * page_size, UDMABUF_FLAGS_CLOEXEC);
	REQUIRE(fd >= 0, "udmabuf at offset 1 page: %s", err_name(fd));
	uint8_t *p = map_buf(fd, 2 * page_size);
	sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	CHECK(p[0] == 0xa5 && p[2 * page_size - 1] == 0xa5, "udmabuf does not show the memfd's data");
	sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	uint8_t b = 0x3c;
	REQUIRE(pwrite(memfd, &b, 1, page_size + 7) == 1, "pwrite memfd");
	sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	CHECK(p[7] == 0x3c, "a write to the memfd at offset 1 page + 7 is not in the buffer at 7");
	sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	printf("RECORD udmabuf: the buffer shows the memfd's data (0xa5) and later writes to it\n");
	munmap(p, 2 * page_size);
	close(fd);
	close(memfd);
}

static void case_alloc(void)
{
	/* One page, YUYV 640x480 + 123, NV12 640x480, XRGB 1920x1080. */
	static const uint64_t sizes[] = { 0, 640 * 480 * 2 + 123, 460800, 8294400 };
	int fds = count_fds();

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		alloc_one(sizes[i] ? sizes[i] : (uint64_t)page_size);
	if (ex->kind == HEAP)
		alloc_errors_heap();
	else
		alloc_errors_udmabuf();
	CHECK(count_fds() == fds, "fd leak in alloc: %d fds before, %d after", fds, count_fds());
	expect_no_buffers("alloc");
}

/* ---- mmap ----------------------------------------------------------- */

static long minor_faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/* Reads one byte of every page; returns the minor faults that took. */
static long __attribute__((noinline)) touch_pages(const volatile uint8_t *p, size_t pages)
{
	long f0 = minor_faults();
	unsigned int sum = 0;

	for (size_t i = 0; i < pages; i++)
		sum += p[i * page_size];
	(void)sum;
	return minor_faults() - f0;
}

static void case_mmap(void)
{
	const size_t pages = 16, size = pages * page_size;
	int fds = count_fds();
	int fd = alloc_buf(size);
	uint8_t *p, *q;
	long faults;
	static uint8_t warm[16 * 4096];

	/* Populating PTEs: at mmap(), at the first fault, or page by page. */
	memset(warm, 1, sizeof(warm));
	touch_pages(warm, sizeof(warm) / page_size);	/* the loop's own faults */
	p = map_buf(fd, size);
	faults = touch_pages(p, pages);
	printf("RECORD %s: first read of each of %zu pages after mmap: %ld page faults\n",
	       ex->name, pages, faults);
	if (ex->eager_ptes)
		CHECK(faults == 0, "%s: %ld faults, expected none (PTEs installed at mmap)",
		      ex->name, faults);
	else if (ex->one_fault)
		CHECK(faults == 1, "%s: %ld faults, expected 1 (one fault maps the VMA)",
		      ex->name, faults);
	else
		CHECK(faults == (long)pages, "%s: %ld faults, expected %zu (one per page)",
		      ex->name, faults, pages);

	/* MAP_SHARED round trip through SYNC brackets, and a second mapping. */
	sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
	for (size_t i = 0; i < size; i++)
		p[i] = (uint8_t)(i * 7 + 1);
	sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
	q = mmap(NULL, page_size, PROT_READ, MAP_SHARED, fd, 3 * page_size);
	REQUIRE(q != MAP_FAILED, "mmap at page offset 3: %s", strerror(errno));
	sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	for (size_t i = 0; i < size; i++)
		if (p[i] != (uint8_t)(i * 7 + 1)) {
			CHECK(0, "%s: byte %zu reads %u", ex->name, i, p[i]);
			break;
		}
	CHECK(q[5] == (uint8_t)((3 * page_size + 5) * 7 + 1),
	      "%s: the mapping at page offset 3 reads other data", ex->name);
	sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	munmap(q, page_size);
	CHECK(!touch_sigbus(p + size - 1, false), "%s: the last page faults", ex->name);

	/* MAP_PRIVATE, several pages. */
	errno = 0;
	q = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	printf("RECORD %s: MAP_PRIVATE of %zu pages: %s\n", ex->name, pages,
	       q == MAP_FAILED ? strerror(errno) : "mapped");
	CHECK(q == MAP_FAILED && errno == EINVAL, "%s: MAP_PRIVATE of %zu pages: %s, expected EINVAL",
	      ex->name, pages, q == MAP_FAILED ? strerror(errno) : "mapped");
	if (q != MAP_FAILED)
		munmap(q, size);

	/* MAP_PRIVATE, one page: the system heap maps it, copy-on-write. */
	errno = 0;
	q = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (q == MAP_FAILED) {
		printf("RECORD %s: MAP_PRIVATE of 1 page: %s\n", ex->name, strerror(errno));
		CHECK(!ex->private_1page && errno == EINVAL,
		      "%s: MAP_PRIVATE of 1 page: %s, expected %s", ex->name, strerror(errno),
		      ex->private_1page ? "a mapping" : "EINVAL");
	} else {
		uint8_t before = q[9];

		q[9] = (uint8_t)~before;	/* a private copy of the page now */
		sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
		bool reached = p[9] != (uint8_t)(9 * 7 + 1);
		sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
		printf("RECORD %s: MAP_PRIVATE of 1 page: mapped, read %s, a write %s the buffer\n",
		       ex->name, before == (uint8_t)(9 * 7 + 1) ? "the buffer's data" : "other data",
		       reached ? "reached" : "did not reach");
		CHECK(ex->private_1page, "%s: MAP_PRIVATE of 1 page accepted", ex->name);
		CHECK(before == (uint8_t)(9 * 7 + 1) && !reached,
		      "%s: MAP_PRIVATE page is not copy-on-write of the buffer", ex->name);
		munmap(q, page_size);
	}

	/* Past the end: the dma-buf core refuses, for every exporter. */
	errno = 0;
	CHECK(mmap(NULL, size + page_size, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED &&
	      errno == EINVAL, "%s: mmap past the end: %s, expected EINVAL", ex->name,
	      strerror(errno));
	errno = 0;
	CHECK(mmap(NULL, page_size, PROT_READ, MAP_SHARED, fd, size) == MAP_FAILED &&
	      errno == EINVAL, "%s: mmap at offset == size: %s, expected EINVAL", ex->name,
	      strerror(errno));

	/* mremap: no growing (VM_DONTEXPAND | VM_PFNMAP), shrinking works. */
	errno = 0;
	q = mremap(p, size, size + page_size, MREMAP_MAYMOVE);
	printf("RECORD %s: mremap growing the mapping: %s\n", ex->name,
	       q == MAP_FAILED ? strerror(errno) : "grown");
	CHECK(q == MAP_FAILED && errno == EFAULT, "%s: mremap growing: %s, expected EFAULT",
	      ex->name, q == MAP_FAILED ? strerror(errno) : "grown");
	if (q != MAP_FAILED)
		p = q;
	q = mremap(p, size, size - page_size, 0);
	CHECK(q == p, "%s: mremap shrinking: %s", ex->name, strerror(errno));
	if (q == p) {
		sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
		CHECK(p[page_size + 1] == (uint8_t)((page_size + 1) * 7 + 1),
		      "%s: data changed after shrinking the mapping", ex->name);
		sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
		munmap(p, size - page_size);
	} else {
		munmap(p, size);
	}

	/* A mapping outlives its fd. */
	p = map_buf(fd, size);
	close(fd);
	CHECK(p[3] == (uint8_t)(3 * 7 + 1), "%s: a mapping after close() reads other data",
	      ex->name);
	munmap(p, size);

	CHECK(count_fds() == fds, "fd leak in mmap: %d fds before, %d after", fds, count_fds());
	expect_no_buffers("mmap");
}

/* ---- sync ----------------------------------------------------------- */

static void case_sync(void)
{
	static const uint64_t dirs[] = { DMA_BUF_SYNC_READ, DMA_BUF_SYNC_WRITE, DMA_BUF_SYNC_RW };
	static const char *const dir_names[] = { "READ", "WRITE", "RW" };
	size_t size = 8 * page_size;
	int fds = count_fds();
	int fd = alloc_buf(size), ret;
	uint32_t *p = map_buf(fd, size);

	/* END before any START on a new buffer. */
	ret = sync_raw(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
	printf("RECORD %s: SYNC END before any START: %s\n", ex->name, err_name(ret));
	CHECK(ret == (ex->end_needs_start ? -EINVAL : 0), "%s: END before START: %s, expected %s",
	      ex->name, err_name(ret), ex->end_needs_start ? "EINVAL" : "success");

	/* Each direction, and the data written in one bracket read in the next. */
	for (int d = 0; d < 3; d++) {
		uint32_t tag = 0x5e000000u + ((uint32_t)d << 16);

		ret = sync_raw(fd, DMA_BUF_SYNC_START | dirs[d]);
		CHECK(ret == 0, "SYNC START %s: %s", dir_names[d], err_name(ret));
		if (dirs[d] & DMA_BUF_SYNC_WRITE)
			for (size_t i = 0; i < size / 4; i++)
				p[i] = tag + i;
		ret = sync_raw(fd, DMA_BUF_SYNC_END | dirs[d]);
		CHECK(ret == 0, "SYNC END %s: %s", dir_names[d], err_name(ret));
		if (!(dirs[d] & DMA_BUF_SYNC_WRITE))
			continue;
		sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
		for (size_t i = 0; i < size / 4; i++)
			if (p[i] != tag + i) {
				CHECK(0, "%s: after SYNC %s, word %zu reads %#x", ex->name,
				      dir_names[d], i, p[i]);
				break;
			}
		sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	}
	/* Nested brackets. */
	sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
	p[0] = 0x12345678;
	sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
	sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);

	/* Refused by the dma-buf core: unknown bits, no direction. */
	CHECK(sync_raw(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ | 0x8) == -EINVAL,
	      "SYNC with an unknown flag: %s", err_name(sync_raw(fd, DMA_BUF_SYNC_START | 0x8 | 1)));
	CHECK(sync_raw(fd, 1ULL << 40) == -EINVAL, "SYNC with bit 40: %s",
	      err_name(sync_raw(fd, 1ULL << 40)));
	CHECK(sync_raw(fd, DMA_BUF_SYNC_START) == -EINVAL, "SYNC START without a direction: %s",
	      err_name(sync_raw(fd, DMA_BUF_SYNC_START)));
	CHECK(sync_raw(fd, DMA_BUF_SYNC_END) == -EINVAL, "SYNC END without a direction: %s",
	      err_name(sync_raw(fd, DMA_BUF_SYNC_END)));
	errno = 0;
	CHECK(ioctl(fd, DMA_BUF_IOCTL_SYNC, NULL) == -1 && errno == EFAULT, "SYNC with NULL: %s",
	      strerror(errno));

	munmap(p, size);
	close(fd);
	CHECK(count_fds() == fds, "fd leak in sync: %d fds before, %d after", fds, count_fds());
	expect_no_buffers("sync");
}

/* ---- vivid ------------------------------------------------------------- */

#define VIVID_BUFS 4
#define VIVID_FRAMES 60

/*
 * vivid's default allocator, vb2-vmalloc, imports a dma-buf by
 * dma_buf_vmap() at QBUF: an exporter without vmap is refused there.
 */
static void case_vivid(void)
{
	int fds = count_fds(), vfd = open_vivid();
	struct v4l2_requestbuffers req = {
		.count = 0, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_DMABUF,
	};
	int bfd[VIVID_BUFS], type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	uint8_t *map[VIVID_BUFS];
	unsigned long nonzero = 0;
	size_t size, bsize;
	double t0;

	size = vivid_setup(vfd, VIVID_BUFS);
	bsize = round_up_page(size);
	for (int i = 0; i < VIVID_BUFS; i++) {
		struct v4l2_buffer b = {
			.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_DMABUF,
			.index = i, .length = size,
		};

		bfd[i] = alloc_buf(size);
		map[i] = map_buf(bfd[i], bsize);
		b.m.fd = bfd[i];
		errno = 0;
		int r = ioctl(vfd, VIDIOC_QBUF, &b);
		if (i == 0)
			printf("RECORD %s: vivid (vb2-vmalloc, dma_buf_vmap) QBUF: %s\n", ex->name,
			       r ? strerror(errno) : "imported");
		REQUIRE(r == 0, "%s: vivid QBUF %d: %s (no vmap?)", ex->name, i, strerror(errno));
	}
	REQUIRE(ioctl(vfd, VIDIOC_STREAMON, &type) == 0, "STREAMON: %s", strerror(errno));
	t0 = now();
	for (int f = 0; f < VIVID_FRAMES; f++) {
		struct v4l2_buffer b = {
			.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_DMABUF,
		};

		REQUIRE(ioctl(vfd, VIDIOC_DQBUF, &b) == 0, "DQBUF frame %d: %s", f, strerror(errno));
		CHECK(b.bytesused == size, "frame %d: bytesused %u", f, b.bytesused);
		CHECK(b.index < VIVID_BUFS && b.m.fd == bfd[b.index], "frame %d: index %u fd %d",
		      f, b.index, b.m.fd);
		nonzero += vivid_frame(b.m.fd, map[b.index], size, f);
		REQUIRE(ioctl(vfd, VIDIOC_QBUF, &b) == 0, "re-QBUF: %s", strerror(errno));
	}
	double dt = now() - t0;
	REQUIRE(ioctl(vfd, VIDIOC_STREAMOFF, &type) == 0, "STREAMOFF: %s", strerror(errno));
	printf("vivid: %d frames in %.2f s, %lu with picture\n", VIVID_FRAMES, dt, nonzero);
	CHECK(nonzero == VIVID_FRAMES, "%s: only %lu of %d frames reached the buffers", ex->name,
	      nonzero, VIVID_FRAMES);
	CHECK(ioctl(vfd, VIDIOC_REQBUFS, &req) == 0, "REQBUFS 0: %s", strerror(errno));
	close(vfd);
	for (int i = 0; i < VIVID_BUFS; i++) {
		munmap(map[i], bsize);
		close(bfd[i]);
	}
	CHECK(count_fds() == fds, "fd leak in vivid: %d fds before, %d after", fds, count_fds());
	expect_no_buffers("vivid");
}

/*
 * Scan out a buffer the CPU drew into through the exporter's mmap, and
 * compare what the display read: vkms writes back into a second buffer of
 * the same exporter, cirrus is read by a QMP screendump.
 */
static void case_kms(void)
{
	int fds = count_fds();
	int fd = find_drm("vkms");
	const char *driver = fd >= 0 ? "vkms" : "cirrus";
	size_t size = (size_t)PATTERN_W * PATTERN_H * 4;
	uint32_t fb, handle, wb_fb = 0, wb_handle = 0;
	int wb_fd = -1, out_fence;
	uint32_t *wb_px = NULL;
	unsigned long bad;
	struct kms k;

	if (fd < 0)
		fd = open_drm("cirrus");
	kms_init(&k, fd, driver);

	/* The scanout buffer, drawn by the CPU through the exporter's mmap. */
	int bfd = alloc_buf(size);
	uint32_t *px = map_buf(bfd, size);
	draw_pattern(bfd, px);
	fb = kms_add_fb(&k, bfd, "scanout", &handle);

	if (k.vkms) {
		/* The writeback target comes from the same exporter. */
		wb_fd = alloc_buf(size);
		wb_px = map_buf(wb_fd, size);
		wb_fb = kms_add_fb(&k, wb_fd, "writeback", &wb_handle);
	}

	out_fence = kms_enable(&k, fb, wb_fb);
	if (k.vkms) {
		wait_fence(out_fence, 10000);
		bad = writeback_diff(wb_fd, wb_px);
		printf("vkms: writeback %ux%u into a %s buffer: %lu of %u pixels differ\n", PATTERN_W,
		       PATTERN_H, ex->name, bad, PATTERN_W * PATTERN_H);
	} else {
		bad = screendump_diff("exporter-kms.ppm");
		printf("cirrus: screendump %ux%u: %lu of %u pixels differ\n", PATTERN_W, PATTERN_H,
		       bad, PATTERN_W * PATTERN_H);
	}
	CHECK(bad == 0, "%s: what the display read differs from the %s buffer", driver, ex->name);

	/* Switch off, then drop every reference: the buffers must go. */
	kms_disable(&k);
	kms_remove_fb(&k, fb, "scanout", handle);
	if (k.vkms) {
		kms_remove_fb(&k, wb_fb, "writeback", wb_handle);
		munmap(wb_px, size);
		close(wb_fd);
	}
	munmap(px, size);
	close(bfd);
	kms_fini(&k);
	close(fd);
	CHECK(count_fds() == fds, "fd leak in kms: %d fds before, %d after", fds, count_fds());
	expect_no_buffers("kms");
}

/* ---- vgem -------------------------------------------------------------- */

struct signal_arg {
	int gfd;
	uint32_t fence;
};

static void *signal_later(void *arg)
{
	struct signal_arg *a = arg;
	struct vgem_fence_signal s = { .fence = a->fence };

	usleep(300 * 1000);
	return (void *)(intptr_t)(drmIoctl(a->gfd, VGEM_IOCTL_FENCE_SIGNAL, &s) ? errno : 0);
}

/*
 * PRIME import into vgem (attach + map at import), the bytes read back
 * through the GEM object, and vgem's fences on the buffer's reservation
 * object, which DMA_BUF_IOCTL_SYNC and poll() wait for.
 */
static void case_vgem(void)
{
	int fds = count_fds(), gfd = open_drm("vgem");
	size_t size = 16 * page_size;
	int bfd = alloc_buf(size), bfd2;
	uint32_t *p = map_buf(bfd, size), h, h2;
	struct stat st1, st2;

	sync_buf(bfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
	for (size_t i = 0; i < size / 4; i++)
		p[i] = 0xc0ffee00 + i;
	sync_buf(bfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);

	REQUIRE(drmPrimeFDToHandle(gfd, bfd, &h) == 0, "vgem PrimeFDToHandle: %s", strerror(errno));
	CHECK(drmPrimeFDToHandle(gfd, bfd, &h2) == 0 && h2 == h, "second import gave handle %u, not %u",
	      h2, h);

	/*
	 * vgem's only ioctls are its fences; the generic dumb-buffer mmap
	 * offset refuses imported objects (drm_gem_dumb_map_offset), so the
	 * GEM object's bytes are read through its PRIME export, which for an
	 * imported object is the original dma-buf.
	 */
	struct drm_mode_map_dumb md = { .handle = h };
	errno = 0;
	CHECK(drmIoctl(gfd, DRM_IOCTL_MODE_MAP_DUMB, &md) == -1 && errno == EINVAL,
	      "MAP_DUMB of an imported vgem object: %s, expected EINVAL", strerror(errno));
	REQUIRE(drmPrimeHandleToFD(gfd, h, DRM_CLOEXEC | DRM_RDWR, &bfd2) == 0,
		"vgem PrimeHandleToFD: %s", strerror(errno));
	REQUIRE(fstat(bfd, &st1) == 0 && fstat(bfd2, &st2) == 0, "fstat");
	CHECK(st1.st_ino == st2.st_ino, "vgem re-export is inode %lu, not %lu: a copy",
	      (unsigned long)st2.st_ino, (unsigned long)st1.st_ino);
	CHECK(fdinfo(bfd2, "exp_name") && strcmp(fdinfo(bfd2, "exp_name"), exp_name()) == 0,
	      "re-export's exporter is %s", fdinfo(bfd2, "exp_name"));
	uint32_t *q = map_buf(bfd2, size);
	sync_buf(bfd2, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	for (size_t i = 0; i < size / 4; i++)
		if (q[i] != 0xc0ffee00 + i) {
			CHECK(0, "through vgem: word %zu reads %#x", i, q[i]);
			break;
		}
	sync_buf(bfd2, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);

	/* A vgem write fence: poll() says busy, SYNC START waits for it. */
	struct vgem_fence_attach fa = { .handle = h, .flags = VGEM_FENCE_WRITE };
	REQUIRE(drmIoctl(gfd, VGEM_IOCTL_FENCE_ATTACH, &fa) == 0, "VGEM_FENCE_ATTACH: %s",
		strerror(errno));
	struct pollfd pfd = { .fd = bfd, .events = POLLIN };
	CHECK(poll(&pfd, 1, 0) == 0, "poll(POLLIN) ready with an unsignalled write fence");
	struct signal_arg sa = { .gfd = gfd, .fence = fa.out_fence };
	pthread_t t;
	void *tret;
	REQUIRE(pthread_create(&t, NULL, signal_later, &sa) == 0, "pthread_create");
	double t0 = now();
	sync_buf(bfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	double waited = now() - t0;
	sync_buf(bfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	pthread_join(t, &tret);
	CHECK(tret == NULL, "VGEM_FENCE_SIGNAL: %s", strerror((int)(intptr_t)tret));
	printf("vgem: SYNC START waited %.3f s for vgem's write fence\n", waited);
	CHECK(waited > 0.2, "SYNC START did not wait for the write fence (%.3f s)", waited);
	CHECK(poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN), "poll(POLLIN) not ready after signal");

	munmap(q, size);
	close(bfd2);
	munmap(p, size);
	close(bfd);
	gem_close(gfd, h);
	close(gfd);
	CHECK(count_fds() == fds, "fd leak in vgem: %d fds before, %d after", fds, count_fds());
	expect_no_buffers("vgem");
}

/* ---- main --------------------------------------------------------------- */

static void usage(const char *argv0)
{
	fprintf(stderr, "usage: %s --exporter EXPORTER[,EXPORTER...] CASE...\n"
		"exporters: capbuf capbuf-wc capbuf-contig system udmabuf\n"
		"cases: alloc mmap sync vivid kms vgem\n", argv0);
	exit(2);
}

static const struct {
	const char *name;
	void (*fn)(void);
} cases[] = {
	{ "alloc", case_alloc }, { "mmap", case_mmap }, { "sync", case_sync },
	{ "vivid", case_vivid }, { "kms", case_kms }, { "vgem", case_vgem },
};

#define N_CASES (sizeof(cases) / sizeof(cases[0]))
#define N_EXPORTERS (sizeof(exporters) / sizeof(exporters[0]))

static void run_cases(int ncases, char **names)
{
	char path[64];

	if (ex->kind == HEAP)
		snprintf(path, sizeof(path), "/dev/dma_heap/%s", ex->name);
	else
		snprintf(path, sizeof(path), "/dev/udmabuf");
	REQUIRE(access(path, F_OK) == 0, "%s: no %s on this kernel", ex->name, path);
	printf("exporter %s on %s", ex->name, read_file("/proc/sys/kernel/osrelease") ?: "?\n");
	for (int i = 0; i < ncases; i++) {
		int before = failures;
		double t0 = now();

		for (size_t c = 0; c < N_CASES; c++)
			if (strcmp(names[i], cases[c].name) == 0)
				cases[c].fn();
		printf("%s %s %s (%.2f s)\n", failures == before ? "PASS" : "FAIL", ex->name,
		       names[i], now() - t0);
	}
}

int main(int argc, char **argv)
{
	const struct exporter *list[N_EXPORTERS * 4];
	int n = 0;

	page_size = sysconf(_SC_PAGESIZE);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 4 || strcmp(argv[1], "--exporter") != 0)
		usage(argv[0]);
	/* A comma-separated list runs every case for each, in one boot. */
	for (char *tok = strtok(argv[2], ","); tok; tok = strtok(NULL, ",")) {
		size_t e = 0;

		while (e < N_EXPORTERS && strcmp(tok, exporters[e].name) != 0)
			e++;
		if (e == N_EXPORTERS || n == (int)(sizeof(list) / sizeof(list[0]))) {
			fprintf(stderr, "unknown exporter %s\n", tok);
			usage(argv[0]);
		}
		list[n++] = &exporters[e];
	}
	for (int i = 3; i < argc; i++) {
		bool found = false;

		for (size_t c = 0; c < N_CASES; c++)
			found |= strcmp(argv[i], cases[c].name) == 0;
		if (!found) {
			fprintf(stderr, "unknown case %s\n", argv[i]);
			usage(argv[0]);
		}
	}
	for (int e = 0; e < n; e++) {
		ex = list[e];
		run_cases(argc - 3, argv + 3);
	}
	return failures ? 1 : 0;
}
