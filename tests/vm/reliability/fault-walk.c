// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Every kernel allocation of every capbuf operation, failed one at a time.
 *
 *   fault-walk [OPERATION...]     (debug kernel: CONFIG_FAULT_INJECTION)
 *
 * The kernel's systematic fault injection (the way syzkaller drives it):
 * writing N to /proc/thread-self/fail-nth makes the N-th allocation of this
 * thread fail that goes through failslab or fail_page_alloc, whoever makes
 * it: capbuf, the dma-buf core, the VFS, or the importing driver (vgem,
 * vivid's vb2, cirrus's GEM and atomic helpers). Reading it back says
 * whether the failure happened (0) or the operation made fewer than N
 * allocations (the walk is complete). For N = 1, 2, ... each operation runs
 * once with its N-th allocation failed, and then:
 *   - it returned 0 (the failure was absorbed, e.g. a high-order page run
 *     falling back to smaller ones) or ENOMEM: nothing else is a clean error;
 *   - every fd, capbuf buffer and DRM framebuffer it made is gone;
 *   - the operation succeeds again at once with no failure injected.
 * The kernel log (oops, WARN, KASAN, lockdep) and kmemleak are judged by
 * run-in-vm. Each injected failure is named by the first frames of the
 * stack the kernel prints for it (verbose=2; __GFP_NOWARN allocations fail
 * silently and are marked so).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <drm_fourcc.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/videodev2.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "../common/vm-test.h"

#define FAIL_ATTRS "/sys/kernel/debug"

struct ctx {
	int heap[3];		/* capbuf, capbuf-wc, capbuf-contig */
	int buf;		/* a 1 MiB capbuf buffer made before the walk */
	size_t buf_size;
	int vgem;
	int vivid;
	size_t vivid_size;
	struct kms kms;		/* cirrus, showing fb0 */
	int fb0_buf;
	uint32_t fb0, fb0_handle, fb_id_prop;
	int kmsg;
};

/* ---- the kernel's fault injection ---------------------------------- */

static void attr_set(const char *attr, const char *knob, const char *value)
{
	char path[128];

	snprintf(path, sizeof(path), FAIL_ATTRS "/%s/%s", attr, knob);
	write_file(path, value);
}

/*
 * fail-nth counts the allocations that pass each attribute's filters: let
 * every sleeping allocation, order-0 pages and __GFP_HIGHMEM pages (capbuf's
 * and the system heap's GFP_HIGHUSER, vmalloc's) be failed. The test's own
 * pages are faulted in before the walk.
 */
static void setup_injection(void)
{
	static const char *const attrs[] = { "failslab", "fail_page_alloc" };

	for (size_t i = 0; i < 2; i++) {
		attr_set(attrs[i], "probability", "0");
		attr_set(attrs[i], "ignore-gfp-wait", "N");
		attr_set(attrs[i], "verbose", "2");
		attr_set(attrs[i], "verbose_ratelimit_burst", "1000000");
	}
	attr_set("fail_page_alloc", "min-order", "0");
	attr_set("fail_page_alloc", "ignore-gfp-highmem", "N");
}

/*
 * Opened once: an open (or a read through a new seq_file) would itself be
 * an allocation and use up N. Reading and writing fail-nth allocate nothing.
 */
static int fail_nth_fd = -1;

static void fail_nth_set(int n)
{
	char text[16];
	int len = snprintf(text, sizeof(text), "%d", n);

	REQUIRE(pwrite(fail_nth_fd, text, len, 0) == len, "write fail-nth: %s", strerror(errno));
}

static int fail_nth_get(void)
{
	char text[16] = "";

	REQUIRE(pread(fail_nth_fd, text, sizeof(text) - 1, 0) > 0, "read fail-nth: %s",
		strerror(errno));
	return atoi(text);
}

/* ---- naming the failed allocation from the kernel's report ---------- */

static bool generic_frame(const char *sym)
{
	static const char *const prefixes[] = {
		"dump_stack", "show_stack", "fail_dump", "should_fail", "__should_fail",
		"prepare_alloc_pages", "__alloc_pages", "alloc_pages", "__alloc_frozen",
		"__folio_alloc", "folio_alloc", "__kmalloc", "kmalloc", "__kmem_cache",
		"kmem_cache_alloc", "slab_pre_alloc_hook", "slab_alloc", "___slab_alloc",
		"__slab_alloc", "new_slab", "allocate_slab", "alloc_slab_page", "__kvmalloc",
		"kvmalloc", "__vmalloc", "vmalloc", "__get_free_pages", "get_zeroed_page",
		"vm_area_alloc_pages", "kzalloc", "kcalloc", "kvcalloc", "kvzalloc",
		"krealloc", "__alloc_pages_bulk", "alloc_pages_bulk",
	};

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(sym, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

static void kmsg_skip(struct ctx *c)
{
	lseek(c->kmsg, 0, SEEK_END);
}

/*
 * The first three frames below the allocator of the report that followed
 * "FAULT_INJECTION: forcing a failure", as "a < b < c [module]".
 */
static void kmsg_site(struct ctx *c, char *site, size_t size)
{
	char rec[1024];
	bool report = false, trace = false;
	int frames = 0;
	ssize_t n;

	site[0] = '\0';
	while ((n = read(c->kmsg, rec, sizeof(rec) - 1)) > 0 || (n < 0 && errno == EPIPE)) {
		char *msg, *end, sym[128], mod[64];

		if (n < 0)
			continue;
		rec[n] = '\0';
		msg = strchr(rec, ';');
		if (!msg)
			continue;
		msg++;
		end = strchr(msg, '\n');
		if (end)
			*end = '\0';
		if (strstr(msg, "FAULT_INJECTION: forcing a failure")) {
			report = true;
			continue;
		}
		if (!report || frames >= 3)
			continue;
		if (strstr(msg, "Call Trace:")) {
			trace = true;
			continue;
		}
		if (!trace)
			continue;
		while (*msg == ' ')
			msg++;
		if (msg[0] == '?' || msg[0] == '<')
			continue;
		mod[0] = '\0';
		if (sscanf(msg, "%127[^+ ]+%*s %63s", sym, mod) < 1 || generic_frame(sym))
			continue;
		snprintf(site + strlen(site), size - strlen(site), "%s%s%s%s", frames ? " < " : "",
			 sym, mod[0] ? " " : "", mod);
		frames++;
	}
	if (!report)
		snprintf(site, size, "(silent: a __GFP_NOWARN allocation)");
}

/* ---- the operations -------------------------------------------------- */

/* Each returns 0 or -errno and leaves nothing behind either way. */
typedef int (*op_fn)(struct ctx *c, int arg);

static int alloc_on(struct ctx *c, int heap, uint64_t len)
{
	int fd = heap_alloc(c->heap[heap], len);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

static int op_alloc(struct ctx *c, int arg)
{
	return alloc_on(c, 0, (uint64_t)arg);
}

static int op_alloc_wc(struct ctx *c, int arg)
{
	return c->heap[1] < 0 ? 0 : alloc_on(c, 1, (uint64_t)arg);
}

static int op_alloc_contig(struct ctx *c, int arg)
{
	return c->heap[2] < 0 ? 0 : alloc_on(c, 2, (uint64_t)arg);
}

/* mmap, the first fault (the whole VMA is mapped), a bracketed write. */
static int op_mmap(struct ctx *c, int arg)
{
	struct dma_buf_sync s = { .flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW };
	uint8_t *p;
	int ret = 0;

	(void)arg;
	p = mmap(NULL, c->buf_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->buf, 0);
	if (p == MAP_FAILED)
		return -errno;
	if (ioctl(c->buf, DMA_BUF_IOCTL_SYNC, &s) < 0) {
		ret = -errno;
	} else {
		p[0] = 1;
		p[c->buf_size - 1] = 2;
		s.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW;
		if (ioctl(c->buf, DMA_BUF_IOCTL_SYNC, &s) < 0)
			ret = -errno;
	}
	munmap(p, c->buf_size);
	return ret;
}

/* vgem's PRIME import: capbuf's attach and map_dma_buf. */
static int op_vgem_import(struct ctx *c, int arg)
{
	uint32_t handle;

	(void)arg;
	if (drmPrimeFDToHandle(c->vgem, c->buf, &handle) < 0)
		return -errno;
	gem_close(c->vgem, handle);
	return 0;
}

/* vivid's DMABUF import (vb2-vmalloc: attach, map, vmap) at QBUF, and release. */
static int op_vivid_qbuf(struct ctx *c, int arg)
{
	struct v4l2_requestbuffers req = {
		.count = 1, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_DMABUF,
	};
	struct v4l2_buffer b = {
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE, .memory = V4L2_MEMORY_DMABUF,
		.index = 0, .m.fd = c->buf, .length = (uint32_t)c->buf_size,
	};
	int ret = 0;

	(void)arg;
	if (ioctl(c->vivid, VIDIOC_REQBUFS, &req) < 0)
		return -errno;
	if (ioctl(c->vivid, VIDIOC_QBUF, &b) < 0)
		ret = -errno;
	req.count = 0;
	/* Freeing the queue must succeed: it is what gives the buffer back. */
	CHECK(ioctl(c->vivid, VIDIOC_REQBUFS, &req) == 0, "vivid REQBUFS(0): %s",
	      strerror(errno));
	return ret;
}

/*
 * cirrus: PRIME import, a framebuffer, a blocking atomic commit that shows
 * it (the GEM helpers vmap it for the shadow-plane copy), back to fb0, and
 * the framebuffer removed.
 */
static int show_fb(struct ctx *c, uint32_t fb)
{
	drmModeAtomicReq *req = drmModeAtomicAlloc();
	int ret;

	if (!req)
		return -ENOMEM;
	ret = drmModeAtomicAddProperty(req, c->kms.plane, c->fb_id_prop, fb) < 0;
	ret = ret ? -EINVAL : drmModeAtomicCommit(c->kms.fd, req, 0, NULL) < 0 ? -errno : 0;
	drmModeAtomicFree(req);
	return ret;
}

static int op_kms(struct ctx *c, int arg)
{
	uint32_t handles[4] = { 0 }, pitches[4] = { PATTERN_W * 4 }, offsets[4] = { 0 };
	uint32_t fb;
	int ret;

	(void)arg;
	if (drmPrimeFDToHandle(c->kms.fd, c->buf, &handles[0]) < 0)
		return -errno;
	if (drmModeAddFB2(c->kms.fd, PATTERN_W, PATTERN_H, DRM_FORMAT_XRGB8888, handles, pitches,
			  offsets, &fb, 0) < 0) {
		ret = -errno;
		gem_close(c->kms.fd, handles[0]);
		return ret;
	}
	ret = show_fb(c, fb);
	/* Going back may fail too; the failure is injected once, so try twice. */
	if (ret == 0 && (ret = show_fb(c, c->fb0)) < 0)
		CHECK(show_fb(c, c->fb0) == 0, "cirrus: fb0 not shown again: %s", strerror(errno));
	drmModeRmFB(c->kms.fd, fb);
	gem_close(c->kms.fd, handles[0]);
	return ret;
}

struct op {
	const char *name;
	op_fn fn;
	int arg;
	const char *what;
	int also;		/* an errno besides ENOMEM that is the importer's own */
};

static const struct op ops[] = {
	{ "alloc-4k", op_alloc, 4096, "capbuf heap, one page", 0 },
	{ "alloc-odd", op_alloc, 460800, "capbuf heap, 460,800 bytes (RGB565 640x360)", 0 },
	{ "alloc-8m", op_alloc, 8 << 20, "capbuf heap, 8 MiB (1 MiB runs)", 0 },
	{ "alloc-wc", op_alloc_wc, 1 << 20, "capbuf-wc heap, 1 MiB", 0 },
	{ "alloc-contig", op_alloc_contig, 1 << 20, "capbuf-contig heap, 1 MiB", 0 },
	{ "mmap", op_mmap, 0, "mmap, first fault, SYNC start/end", 0 },
	{ "vgem-import", op_vgem_import, 0, "vgem PRIME import (attach, map)", 0 },
	/* vb2-vmalloc's map_dmabuf turns any vmap failure into EFAULT. */
	{ "vivid-qbuf", op_vivid_qbuf, 0, "vivid DMABUF QBUF (attach, map, vmap)", EFAULT },
	{ "kms", op_kms, 0, "cirrus import, AddFB2, commit (vmap)", 0 },
};

/* ---- the walk -------------------------------------------------------- */

/* References leaked by the upstream vb2 bug below: they keep c->buf alive. */
static int upstream_leaks;

static long live_buffers(void)
{
	return capbuf_stat("live_buffers");
}

/*
 * @fd's entry in the dma-buf core's bufinfo: the start of its line
 * ("size\tflags\tmode\tcount\texp_name\tino...", then its attachments), or
 * NULL. The text is reread on every call.
 */
static const char *bufinfo_entry(int fd)
{
	static char text[1 << 16];
	struct stat st;
	char key[32], *p;

	REQUIRE(fstat(fd, &st) == 0, "fstat: %s", strerror(errno));
	REQUIRE(read_file_into("/sys/kernel/debug/dma_buf/bufinfo", text, sizeof(text)),
		"bufinfo: %s", strerror(errno));
	snprintf(key, sizeof(key), "\t%08lu\t", (unsigned long)st.st_ino);
	p = strstr(text, key);
	while (p && p > text && p[-1] != '\n')
		p--;
	return p;
}

/* Importers attached to @fd's dma-buf. */
static int attachments(int fd)
{
	const char *p = bufinfo_entry(fd);
	int n = -1;

	if (p && (p = strstr(p, "Total ")))
		sscanf(p, "Total %d devices attached", &n);
	return n;
}

/* References to @fd's dma-buf file (the count column), fds and mappings included. */
static long file_refs(int fd)
{
	const char *p = bufinfo_entry(fd);
	long count = -1;

	if (p)
		sscanf(p, "%*s %*s %*s %ld", &count);
	return count;
}

/* DRM framebuffers alive on every card. */
static int framebuffers(void)
{
	int n = 0;

	for (int i = 0; i < 4; i++) {
		char path[64], *s;

		snprintf(path, sizeof(path), "/sys/kernel/debug/dri/%d/framebuffer", i);
		s = read_file(path);
		for (; s && (s = strstr(s, "framebuffer[")); s++)
			n++;
	}
	return n;
}

static void walk(struct ctx *c, const struct op *op)
{
	int fds, enomem = 0, absorbed = 0, other = 0, n;
	long live = live_buffers();
	char site[256];

	printf("\n== %s: %s\n", op->name, op->what);
	fds = count_fds();
	int attached = attachments(c->buf), fbs = framebuffers();
	long refs = file_refs(c->buf);
	/* A parse that finds nothing would make both checks below pass by -1 == -1. */
	REQUIRE(attached >= 0 && refs > 0, "the test buffer is not in bufinfo");
	REQUIRE(op->fn(c, op->arg) == 0, "%s fails with nothing injected", op->name);
	for (n = 1; n < 5000; n++) {
		int ret, left;

		kmsg_skip(c);
		fail_nth_set(n);
		ret = op->fn(c, op->arg);
		left = fail_nth_get();
		fail_nth_set(0);
		if (left) {
			CHECK(ret == 0, "%s: failed (%s) with no failure injected", op->name,
			      strerror(-ret));
			break;
		}
		kmsg_site(c, site, sizeof(site));
		if (ret == 0)
			absorbed++;
		else if (ret == -ENOMEM || (op->also && ret == -op->also))
			enomem++;
		else
			other++;
		printf("  %3d  %-8s %s\n", n, ret == 0 ? "ok" : ret == -ENOMEM ? "ENOMEM" : strerror(-ret),
		       site);
		CHECK(ret == 0 || ret == -ENOMEM || (op->also && ret == -op->also), "%s: allocation %d failed, and the operation with %s",
		      op->name, n, strerror(-ret));
		CHECK(count_fds() == fds, "%s: allocation %d failed: %d fds open, %d before",
		      op->name, n, count_fds(), fds);
		CHECK(live_buffers() == live, "%s: allocation %d failed: %ld capbuf buffers live, %ld before",
		      op->name, n, live_buffers(), live);
		CHECK(attachments(c->buf) == attached,
		      "%s: allocation %d failed: %d importers attached, %d before", op->name, n,
		      attachments(c->buf), attached);
		CHECK(framebuffers() == fbs, "%s: allocation %d failed: %d framebuffers, %d before",
		      op->name, n, framebuffers(), fbs);
		for (int i = 0; i < 40 && file_refs(c->buf) != refs; i++)
			usleep(50000); /* a reference a worker drops goes by delayed_fput */
		/*
		 * Upstream, not ours: 6.12's videobuf2-core __prepare_dmabuf()
		 * keeps the dma_buf_get() reference of a plane whose
		 * attach_dmabuf fails (err_put_vb2_buf puts only planes already
		 * stored). Counted and reported, the walk goes on from there.
		 */
		if (file_refs(c->buf) == refs + 1 && strstr(site, "vb2_vmalloc_attach_dmabuf")) {
			printf("  known upstream leak: vb2 kept a dma-buf reference after attach_dmabuf failed\n");
			upstream_leaks++;
			refs++;
		}
		CHECK(file_refs(c->buf) == refs, "%s: allocation %d failed: %ld references to the dma-buf, %ld before",
		      op->name, n, file_refs(c->buf), refs);
		CHECK(op->fn(c, op->arg) == 0, "%s: fails again after allocation %d failed",
		      op->name, n);
	}
	REQUIRE(n < 5000, "%s: more than 5000 allocations?", op->name);
	printf("RESULT %-13s %3d allocations: %3d refused cleanly, %3d absorbed, %d other\n",
	       op->name, n - 1, enomem, absorbed, other);
}

static void setup(struct ctx *c)
{
	static const char *const heaps[] = { "capbuf", "capbuf-wc", "capbuf-contig" };
	struct v4l2_format fmt = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };

	for (int i = 0; i < 3; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/dev/dma_heap/%s", heaps[i]);
		c->heap[i] = access(path, F_OK) == 0 ? heap_open(heaps[i]) : -1;
	}
	REQUIRE(c->heap[0] >= 0, "no capbuf heap");

	/* One buffer serves mmap, vgem, vivid and cirrus: the largest of their sizes. */
	c->vivid = open_vivid();
	REQUIRE(ioctl(c->vivid, VIDIOC_G_FMT, &fmt) == 0, "G_FMT: %s", strerror(errno));
	c->vivid_size = fmt.fmt.pix.sizeimage;
	c->buf_size = PATTERN_W * PATTERN_H * 4;
	if (c->vivid_size > c->buf_size)
		c->buf_size = c->vivid_size;
	c->buf = heap_alloc(c->heap[0], c->buf_size);
	REQUIRE(c->buf >= 0, "alloc: %s", strerror(-c->buf));

	c->vgem = open_drm("vgem");
	kms_init(&c->kms, open_drm("cirrus"), "cirrus");
	c->fb0_buf = heap_alloc(c->heap[0], c->buf_size);
	REQUIRE(c->fb0_buf >= 0, "alloc: %s", strerror(-c->fb0_buf));
	c->fb0 = kms_add_fb(&c->kms, c->fb0_buf, "fb0", &c->fb0_handle);
	kms_enable(&c->kms, c->fb0, 0);
	c->fb_id_prop = prop_id(c->kms.fd, c->kms.plane, DRM_MODE_OBJECT_PLANE, "FB_ID");

	c->kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	REQUIRE(c->kmsg >= 0, "/dev/kmsg: %s", strerror(errno));
	setup_injection();
	fail_nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	REQUIRE(fail_nth_fd >= 0, "open fail-nth: %s", strerror(errno));
}

static void teardown(struct ctx *c)
{
	kms_disable(&c->kms);
	kms_remove_fb(&c->kms, c->fb0, "fb0", c->fb0_handle);
	kms_fini(&c->kms);
	close(c->fb0_buf);
	close(c->vgem);
	close(c->vivid);
	close(c->buf);
	for (int i = 0; i < 3; i++)
		if (c->heap[i] >= 0)
			close(c->heap[i]);
	close(c->kmsg);
	close(fail_nth_fd);
}

int main(int argc, char **argv)
{
	struct ctx c;
	int done = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	REQUIRE(access("/proc/thread-self/fail-nth", F_OK) == 0,
		"no /proc/thread-self/fail-nth: this kernel lacks CONFIG_FAULT_INJECTION");
	REQUIRE(access(FAIL_ATTRS "/failslab", F_OK) == 0 &&
			access(FAIL_ATTRS "/fail_page_alloc", F_OK) == 0,
		"no failslab / fail_page_alloc in debugfs");
	setup(&c);
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		bool chosen = argc < 2;

		for (int a = 1; a < argc; a++)
			chosen |= strcmp(argv[a], ops[i].name) == 0;
		if (!chosen)
			continue;
		walk(&c, &ops[i]);
		done++;
	}
	teardown(&c);
	REQUIRE(done, "no such operation");
	/* A dma-buf whose last reference a kernel worker drops is released by delayed_fput. */
	for (int i = 0; i < 40 && live_buffers() > (upstream_leaks ? 1 : 0); i++)
		usleep(50000);
	if (live_buffers() > (upstream_leaks ? 1 : 0)) {
		printf("%s\n", read_file(CAPBUF_DEBUGFS "/buffers") ?: "");
		printf("%s\n", read_file("/sys/kernel/debug/dma_buf/bufinfo") ?: "");
	}
	REQUIRE(live_buffers() == (upstream_leaks ? 1 : 0), "%ld capbuf buffers live 2 s after the end",
		live_buffers());
	if (upstream_leaks)
		printf("upstream vb2 leaked %d references to one buffer: it stays until reboot\n",
		       upstream_leaks);
	if (failures)
		printf("FAIL: %d checks failed\n", failures);
	else
		printf("PASS: %d operations, every allocation failed once, all clean\n", done);
	return failures ? 1 : 0;
}
