// SPDX-License-Identifier: LGPL-2.1-or-later
/* The helpers of vm-test.h. */
#define VM_TEST_FILE "vm-test.c"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <linux/videodev2.h>
#include <xf86drm.h>
#include <drm_fourcc.h>

#include "vm-test.h"

/* ---- failures ------------------------------------------------------- */

atomic_int failures;

void fail_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (file)
		fprintf(stderr, "FAIL (%s line %d): ", file, line);
	else
		fprintf(stderr, "FAIL (line %d): ", line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	failures++;
}

double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int run(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* ---- procfs, sysfs, debugfs ----------------------------------------- */

char *read_file_into(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, got = 0;

	if (fd < 0)
		return NULL;
	while ((n = read(fd, buf + got, size - 1 - got)) > 0)
		got += n;
	close(fd);
	buf[got] = '\0';
	return buf;
}

char *read_file(const char *path)
{
	static char buf[1 << 17];

	return read_file_into(path, buf, sizeof(buf));
}

void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	REQUIRE(fd >= 0, "open %s: %s", path, strerror(errno));
	REQUIRE(write(fd, text, strlen(text)) == (ssize_t)strlen(text), "write '%s' to %s: %s",
		text, path, strerror(errno));
	close(fd);
}

int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	REQUIRE(d, "opendir /proc/self/fd");
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

char *fdinfo(int fd, const char *key)
{
	static char val[128];
	char path[64], pat[32];
	char *s, *p;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	snprintf(pat, sizeof(pat), "\n%s:\t", key);
	s = read_file(path);
	if (!s || !(p = strstr(s, pat)))
		return NULL;
	p += strlen(pat);
	snprintf(val, sizeof(val), "%.*s", (int)strcspn(p, "\n"), p);
	return val;
}

long meminfo_kb(const char *key)
{
	const char *m = read_file("/proc/meminfo"), *p = m ? strstr(m, key) : NULL;

	return p ? atol(p + strlen(key) + 1) : -1;
}

long capbuf_stat(const char *key)
{
	char *s = read_file(CAPBUF_DEBUGFS "/stats");
	size_t len = strlen(key);

	REQUIRE(s, "read " CAPBUF_DEBUGFS "/stats: %s", strerror(errno));
	for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n"))
		if (strncmp(line, key, len) == 0 && line[len] == ' ')
			return strtol(line + len + 1, NULL, 10);
	REQUIRE(0, "stats has no %s", key);
	return -1;
}

void capbuf_param_set(const char *name, const char *value)
{
	char path[128];

	snprintf(path, sizeof(path), CAPBUF_PARAMS "/%s", name);
	write_file(path, value);
}

/* ---- dma-heap and dma-buf ------------------------------------------- */

int heap_open(const char *heap)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/dev/dma_heap/%s", heap);
	fd = open(path, O_RDWR | O_CLOEXEC);
	REQUIRE(fd >= 0, "open %s: %s", path, strerror(errno));
	return fd;
}

int heap_alloc_flags(int hfd, uint64_t len, uint32_t fd_flags, uint64_t heap_flags)
{
	struct dma_heap_allocation_data d = {
		.len = len, .fd_flags = fd_flags, .heap_flags = heap_flags,
	};

	if (ioctl(hfd, DMA_HEAP_IOCTL_ALLOC, &d))
		return -errno;
	return d.fd;
}

int heap_alloc(int hfd, uint64_t len)
{
	return heap_alloc_flags(hfd, len, O_RDWR | O_CLOEXEC, 0);
}

void *map_buf(int fd, size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	REQUIRE(p != MAP_FAILED, "mmap %zu: %s", size, strerror(errno));
	return p;
}

int sync_raw(int fd, uint64_t flags)
{
	struct dma_buf_sync s = { .flags = flags };

	return ioctl(fd, DMA_BUF_IOCTL_SYNC, &s) ? -errno : 0;
}

void sync_buf(int fd, uint64_t flags)
{
	int ret = sync_raw(fd, flags);

	REQUIRE(ret == 0, "DMA_BUF_IOCTL_SYNC %#" PRIx64 ": %s", flags, strerror(-ret));
}

bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static sigjmp_buf sigbus_jmp;

static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(sigbus_jmp, 1);
}

bool touch_sigbus(volatile uint8_t *p, bool write)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	bool bus = false;

	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(sigbus_jmp, 1))
		bus = true;
	else if (write)
		*p = 0x5a;
	else
		(void)*p;
	sigaction(SIGBUS, &old, NULL);
	return bus;
}

/* ---- vivid ---------------------------------------------------------- */

int open_vivid(void)
{
	for (int i = 0; i < 64; i++) {
		char path[64], *name;

		snprintf(path, sizeof(path), "/sys/class/video4linux/video%d/name", i);
		name = read_file(path);
		if (name && strncmp(name, "vivid-000-vid-cap", 17) == 0) {
			snprintf(path, sizeof(path), "/dev/video%d", i);
			int fd = open(path, O_RDWR | O_CLOEXEC);

			REQUIRE(fd >= 0, "open %s: %s", path, strerror(errno));
			return fd;
		}
	}
	REQUIRE(0, "no vivid capture node");
	return -1;
}

size_t vivid_setup(int vfd, unsigned int count)
{
	struct v4l2_format fmt = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
	struct v4l2_streamparm parm = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
	struct v4l2_requestbuffers req = {
		.count = count, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = V4L2_MEMORY_DMABUF,
	};

	REQUIRE(ioctl(vfd, VIDIOC_G_FMT, &fmt) == 0, "G_FMT: %s", strerror(errno));
	/* vivid's webcam input defaults to 5 fps: 120 frames would take 24 s. */
	parm.parm.capture.timeperframe = (struct v4l2_fract){ 1, 30 };
	ioctl(vfd, VIDIOC_S_PARM, &parm);
	printf("vivid: %ux%u %.4s sizeimage %u, %u/%u s per frame\n", fmt.fmt.pix.width,
	       fmt.fmt.pix.height, (char *)&fmt.fmt.pix.pixelformat, fmt.fmt.pix.sizeimage,
	       parm.parm.capture.timeperframe.numerator, parm.parm.capture.timeperframe.denominator);
	REQUIRE(ioctl(vfd, VIDIOC_REQBUFS, &req) == 0 && req.count == count,
		"REQBUFS DMABUF: %s (count %u)", strerror(errno), req.count);
	return fmt.fmt.pix.sizeimage;
}

bool vivid_frame(int fd, uint8_t *p, size_t size, int frame)
{
	bool picture;

	sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
	/* Buffers go back zeroed: a picture can only be this frame's. */
	picture = !all_zero(p, size);
	/* A YUYV frame has no zero luma in vivid's default colour bars. */
	CHECK(p[size - 2] != 0, "frame %d: last pixel has zero luma", frame);
	memset(p, 0, size);
	sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
	return picture;
}

/* ---- DRM ------------------------------------------------------------ */

int find_drm(const char *driver)
{
	for (int i = 0; i < 16; i++) {
		char path[32];
		int fd;

		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		drmVersionPtr v = drmGetVersion(fd);
		int match = v && strcmp(v->name, driver) == 0;

		drmFreeVersion(v);
		if (match)
			return fd;
		close(fd);
	}
	return -1;
}

int open_drm(const char *driver)
{
	int fd = find_drm(driver);

	REQUIRE(fd >= 0, "no DRM device with driver %s", driver);
	return fd;
}

uint32_t prop_id(int fd, uint32_t obj, uint32_t type, const char *name)
{
	drmModeObjectProperties *props = drmModeObjectGetProperties(fd, obj, type);
	uint32_t id = 0;

	for (uint32_t i = 0; props && i < props->count_props && !id; i++) {
		drmModePropertyRes *p = drmModeGetProperty(fd, props->props[i]);

		if (p && strcmp(p->name, name) == 0)
			id = p->prop_id;
		drmModeFreeProperty(p);
	}
	drmModeFreeObjectProperties(props);
	REQUIRE(id, "object %u has no property %s", obj, name);
	return id;
}

uint64_t prop_value(int fd, uint32_t obj, uint32_t type, const char *name)
{
	drmModeObjectProperties *props = drmModeObjectGetProperties(fd, obj, type);
	uint64_t v = 0;

	for (uint32_t i = 0; props && i < props->count_props; i++) {
		drmModePropertyRes *p = drmModeGetProperty(fd, props->props[i]);

		if (p && strcmp(p->name, name) == 0)
			v = props->prop_values[i];
		drmModeFreeProperty(p);
	}
	drmModeFreeObjectProperties(props);
	return v;
}

void add_prop(drmModeAtomicReq *req, int fd, uint32_t obj, uint32_t type,
	      const char *name, uint64_t value)
{
	REQUIRE(drmModeAtomicAddProperty(req, obj, prop_id(fd, obj, type, name), value) >= 0,
		"atomic add %s", name);
}

void gem_close(int fd, uint32_t handle)
{
	struct drm_gem_close c = { .handle = handle };

	CHECK(drmIoctl(fd, DRM_IOCTL_GEM_CLOSE, &c) == 0, "GEM_CLOSE: %s", strerror(errno));
}

/* ---- the test picture ----------------------------------------------- */

uint32_t pattern_pixel(unsigned int x, unsigned int y)
{
	static const uint32_t bars[] = { 0xffffff, 0xffff00, 0x00ffff, 0x00ff00,
					 0xff00ff, 0xff0000, 0x0000ff, 0x000000 };
	if (y < 256)
		return bars[x * 8 / 1024];
	if (y < 512)
		return (x & 0xff) << 16 | (y & 0xff) << 8 | ((x + y) & 0xff);
	return ((x / 16 + y / 16) & 1) ? 0x808080 : 0x102030;
}

void draw_pattern(int fd, uint32_t *px)
{
	sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
	for (unsigned int y = 0; y < PATTERN_H; y++)
		for (unsigned int x = 0; x < PATTERN_W; x++)
			px[y * PATTERN_W + x] = pattern_pixel(x, y);
	sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
}

/* Pixels that differ from the pattern; the first five are printed. */
static unsigned long pattern_diff(const uint32_t *px, const char *seen)
{
	unsigned long bad = 0;

	for (unsigned int y = 0; y < PATTERN_H; y++)
		for (unsigned int x = 0; x < PATTERN_W; x++) {
			uint32_t got = px[y * PATTERN_W + x] & 0xffffff;

			if (got != pattern_pixel(x, y) && bad++ < 5)
				fprintf(stderr, "pixel %u,%u: %s %06x, drawn %06x\n", x, y, seen,
					got, pattern_pixel(x, y));
		}
	return bad;
}

unsigned long writeback_diff(int fd, const uint32_t *px)
{
	unsigned long bad;

	sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
	bad = pattern_diff(px, "written back");
	sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
	return bad;
}

unsigned long screendump_diff(const char *name)
{
	const char *helper = getenv("DMAPIPE_VM_SCREENDUMP");
	const char *share = getenv("DMAPIPE_VM_SHARE");
	char cmd[512], path[512];
	unsigned int w, h, maxval;
	static uint8_t rgb[PATTERN_W * PATTERN_H * 3];
	static uint32_t px[PATTERN_W * PATTERN_H];
	FILE *f;

	REQUIRE(helper && share, "not in the test VM (no DMAPIPE_VM_SCREENDUMP)");
	snprintf(cmd, sizeof(cmd), "%s %s", helper, name);
	REQUIRE(run(cmd) == 0, "screendump helper failed");
	snprintf(path, sizeof(path), "%s/%s", share, name);
	f = fopen(path, "rb");
	REQUIRE(f && fscanf(f, "P6 %u %u %u", &w, &h, &maxval) == 3 && fgetc(f) != EOF,
		"cannot read %s", path);
	REQUIRE(w == PATTERN_W && h == PATTERN_H && maxval == 255, "screendump is %ux%u max %u",
		w, h, maxval);
	REQUIRE(fread(rgb, 1, sizeof(rgb), f) == sizeof(rgb), "cannot read %s", path);
	fclose(f);
	for (size_t i = 0; i < PATTERN_W * PATTERN_H; i++)
		px[i] = (uint32_t)rgb[3 * i] << 16 | (uint32_t)rgb[3 * i + 1] << 8 | rgb[3 * i + 2];
	return pattern_diff(px, "screen");
}

/* ---- atomic modeset ------------------------------------------------- */

void kms_init(struct kms *k, int fd, const char *driver)
{
	*k = (struct kms){ .fd = fd, .driver = driver, .vkms = strcmp(driver, "vkms") == 0 };
	REQUIRE(drmSetClientCap(fd, DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1) == 0 &&
		drmSetClientCap(fd, DRM_CLIENT_CAP_ATOMIC, 1) == 0, "atomic client cap refused");
	if (k->vkms)
		REQUIRE(drmSetClientCap(fd, DRM_CLIENT_CAP_WRITEBACK_CONNECTORS, 1) == 0,
			"writeback client cap refused");

	k->res = drmModeGetResources(fd);
	REQUIRE(k->res && k->res->count_crtcs, "no CRTC");
	k->crtc = k->res->crtcs[0];
	for (int i = 0; i < k->res->count_connectors; i++) {
		drmModeConnector *c = drmModeGetConnector(fd, k->res->connectors[i]);

		if (c->connector_type == DRM_MODE_CONNECTOR_WRITEBACK) {
			k->wb_conn = c->connector_id;
			drmModeFreeConnector(c);
		} else if (!k->conn && c->connection == DRM_MODE_CONNECTED && c->count_modes) {
			k->conn = c;
		} else {
			drmModeFreeConnector(c);
		}
	}
	REQUIRE(k->conn, "%s: no connected connector", driver);
	REQUIRE(!k->vkms || k->wb_conn, "vkms: no writeback connector (enable_writeback=1?)");
	for (int i = 0; i < k->conn->count_modes; i++)
		if (k->conn->modes[i].hdisplay == PATTERN_W && k->conn->modes[i].vdisplay == PATTERN_H)
			k->mode = &k->conn->modes[i];
	REQUIRE(k->mode, "%s offers no %ux%u mode", driver, PATTERN_W, PATTERN_H);

	drmModePlaneRes *pres = drmModeGetPlaneResources(fd);
	for (uint32_t i = 0; pres && i < pres->count_planes && !k->plane; i++) {
		drmModePlane *p = drmModeGetPlane(fd, pres->planes[i]);

		if ((p->possible_crtcs & 1) &&
		    prop_value(fd, p->plane_id, DRM_MODE_OBJECT_PLANE, "type") == DRM_PLANE_TYPE_PRIMARY)
			k->plane = p->plane_id;
		drmModeFreePlane(p);
	}
	drmModeFreePlaneResources(pres);
	REQUIRE(k->plane, "%s: no primary plane", driver);
}

uint32_t kms_add_fb(struct kms *k, int bfd, const char *what, uint32_t *handle)
{
	uint32_t handles[4] = { 0 }, pitches[4] = { PATTERN_W * 4 }, offsets[4] = { 0 };
	uint32_t fb;

	REQUIRE(drmPrimeFDToHandle(k->fd, bfd, &handles[0]) == 0, "%s: PrimeFDToHandle %s: %s",
		k->driver, what, strerror(errno));
	REQUIRE(drmModeAddFB2(k->fd, PATTERN_W, PATTERN_H, DRM_FORMAT_XRGB8888, handles, pitches,
			      offsets, &fb, 0) == 0, "%s: AddFB2 %s: %s", k->driver, what,
		strerror(errno));
	*handle = handles[0];
	return fb;
}

void kms_remove_fb(struct kms *k, uint32_t fb, const char *what, uint32_t handle)
{
	CHECK(drmModeRmFB(k->fd, fb) == 0, "%s: RmFB %s: %s", k->driver, what, strerror(errno));
	gem_close(k->fd, handle);
}

int kms_enable(struct kms *k, uint32_t fb, uint32_t wb_fb)
{
	int fd = k->fd;
	drmModeAtomicReq *req;
	int32_t out_fence = -1;

	REQUIRE(drmModeCreatePropertyBlob(fd, k->mode, sizeof(*k->mode), &k->mode_blob) == 0,
		"mode blob");
	req = drmModeAtomicAlloc();
	add_prop(req, fd, k->conn->connector_id, DRM_MODE_OBJECT_CONNECTOR, "CRTC_ID",
		 k->vkms ? 0 : k->crtc);
	add_prop(req, fd, k->crtc, DRM_MODE_OBJECT_CRTC, "MODE_ID", k->mode_blob);
	add_prop(req, fd, k->crtc, DRM_MODE_OBJECT_CRTC, "ACTIVE", 1);
	add_prop(req, fd, k->plane, DRM_MODE_OBJECT_PLANE, "FB_ID", fb);
	add_prop(req, fd, k->plane, DRM_MODE_OBJECT_PLANE, "CRTC_ID", k->crtc);
	add_prop(req, fd, k->plane, DRM_MODE_OBJECT_PLANE, "SRC_X", 0);
	add_prop(req, fd, k->plane, DRM_MODE_OBJECT_PLANE, "SRC_Y", 0);
	add_prop(req, fd, k->plane, DRM_MODE_OBJECT_PLANE, "SRC_W", (uint64_t)PATTERN_W << 16);
	add_prop(req, fd, k->plane, DRM_MODE_OBJECT_PLANE, "SRC_H", (uint64_t)PATTERN_H << 16);
	add_prop(req, fd, k->plane, DRM_MODE_OBJECT_PLANE, "CRTC_X", 0);
	add_prop(req, fd, k->plane, DRM_MODE_OBJECT_PLANE, "CRTC_Y", 0);
	add_prop(req, fd, k->plane, DRM_MODE_OBJECT_PLANE, "CRTC_W", PATTERN_W);
	add_prop(req, fd, k->plane, DRM_MODE_OBJECT_PLANE, "CRTC_H", PATTERN_H);
	if (k->vkms) {
		add_prop(req, fd, k->wb_conn, DRM_MODE_OBJECT_CONNECTOR, "CRTC_ID", k->crtc);
		add_prop(req, fd, k->wb_conn, DRM_MODE_OBJECT_CONNECTOR, "WRITEBACK_FB_ID", wb_fb);
		add_prop(req, fd, k->wb_conn, DRM_MODE_OBJECT_CONNECTOR, "WRITEBACK_OUT_FENCE_PTR",
			 (uint64_t)(uintptr_t)&out_fence);
	}
	REQUIRE(drmModeAtomicCommit(fd, req, DRM_MODE_ATOMIC_ALLOW_MODESET, NULL) == 0,
		"atomic commit: %s", strerror(errno));
	drmModeAtomicFree(req);
	return out_fence;
}

void wait_fence(int fence, int timeout_ms)
{
	struct pollfd pfd = { .fd = fence, .events = POLLIN };

	REQUIRE(fence >= 0, "no writeback out-fence");
	REQUIRE(poll(&pfd, 1, timeout_ms) == 1, "writeback fence did not signal in %d ms",
		timeout_ms);
	close(fence);
}

/* Switches everything off again. */
void kms_disable(struct kms *k)
{
	drmModeAtomicReq *req = drmModeAtomicAlloc();
	int fd = k->fd;

	add_prop(req, fd, k->plane, DRM_MODE_OBJECT_PLANE, "FB_ID", 0);
	add_prop(req, fd, k->plane, DRM_MODE_OBJECT_PLANE, "CRTC_ID", 0);
	add_prop(req, fd, k->conn->connector_id, DRM_MODE_OBJECT_CONNECTOR, "CRTC_ID", 0);
	if (k->vkms)
		add_prop(req, fd, k->wb_conn, DRM_MODE_OBJECT_CONNECTOR, "CRTC_ID", 0);
	add_prop(req, fd, k->crtc, DRM_MODE_OBJECT_CRTC, "MODE_ID", 0);
	add_prop(req, fd, k->crtc, DRM_MODE_OBJECT_CRTC, "ACTIVE", 0);
	CHECK(drmModeAtomicCommit(fd, req, DRM_MODE_ATOMIC_ALLOW_MODESET, NULL) == 0,
	      "disabling commit: %s", strerror(errno));
	drmModeAtomicFree(req);
	drmModeDestroyPropertyBlob(fd, k->mode_blob);
}

/* Frees what kms_init() got; the caller closes the device. */
void kms_fini(struct kms *k)
{
	drmModeFreeConnector(k->conn);
	drmModeFreeResources(k->res);
}
