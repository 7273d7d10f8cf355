/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the C programs of the VM tests share (capbuf-test, capbuf-fuzz,
 * exporter-test, drm-smoke): failure reporting, readers of procfs, sysfs and
 * debugfs, dma-heap and dma-buf calls, vivid, and DRM helpers. vm-test.c is
 * compiled into each of them; the C++ tests have vm-check.h. Only uapi
 * headers and libdrm.
 */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <xf86drmMode.h>

/* ---- failures ------------------------------------------------------- */

/* Failed checks so far; atomic, for capbuf-fuzz's threads. */
extern atomic_int failures;

void fail_at(const char *file, int line, const char *fmt, ...);

/* A failure in a program names its line; one in vm-test.c names the file too. */
#ifndef VM_TEST_FILE
#define VM_TEST_FILE NULL
#endif

/* CHECK records a failure and goes on; REQUIRE stops the program, for
 * failures after which the rest of a case cannot mean anything. */
#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fail_at(VM_TEST_FILE, __LINE__, __VA_ARGS__);                              \
	} while (0)
#define REQUIRE(cond, ...)                                                                         \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fail_at(VM_TEST_FILE, __LINE__, __VA_ARGS__);                              \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

double now(void);
/* system(@cmd): its exit status, 128 when it did not exit. */
int run(const char *cmd);

/* ---- procfs, sysfs, debugfs ----------------------------------------- */

/* The whole file in a static buffer (the next call reuses it), or NULL. */
char *read_file(const char *path);
/* The same into @buf, for callers on several threads. */
char *read_file_into(const char *path, char *buf, size_t size);
void write_file(const char *path, const char *text);
int count_fds(void);
/* A "key:\tvalue" line of /proc/self/fdinfo/FD, or NULL. */
char *fdinfo(int fd, const char *key);
/* A /proc/meminfo value (@key with its colon), -1 when absent. */
long meminfo_kb(const char *key);

#define CAPBUF_DEBUGFS "/sys/kernel/debug/capbuf"
#define CAPBUF_PARAMS "/sys/module/capbuf/parameters"

/* A line "KEY VALUE" of capbuf's debugfs stats. */
long capbuf_stat(const char *key);
void capbuf_param_set(const char *name, const char *value);

/* ---- dma-heap and dma-buf ------------------------------------------- */

int heap_open(const char *heap);
/* A new buffer's fd, or -errno. */
int heap_alloc_flags(int hfd, uint64_t len, uint32_t fd_flags, uint64_t heap_flags);
int heap_alloc(int hfd, uint64_t len);
void *map_buf(int fd, size_t size);
/* DMA_BUF_IOCTL_SYNC: 0 or -errno. */
int sync_raw(int fd, uint64_t flags);
void sync_buf(int fd, uint64_t flags);
bool all_zero(const uint8_t *p, size_t n);
/* Touch one byte; true when that raised SIGBUS. */
bool touch_sigbus(volatile uint8_t *p, bool write);

/* ---- vivid ---------------------------------------------------------- */

/* vivid's first capture node, opened. */
int open_vivid(void);
/* Its default format at 30 fps and @count DMABUF buffers; returns sizeimage. */
size_t vivid_setup(int vfd, unsigned int count);
/* Reads a dequeued frame and zeroes it for its next round, bracketed;
 * true when vivid wrote a picture into it. */
bool vivid_frame(int fd, uint8_t *p, size_t size, int frame);

/* ---- DRM ------------------------------------------------------------ */

/* The first card of @driver, or -1. */
int find_drm(const char *driver);
int open_drm(const char *driver);
uint32_t prop_id(int fd, uint32_t obj, uint32_t type, const char *name);
uint64_t prop_value(int fd, uint32_t obj, uint32_t type, const char *name);
void add_prop(drmModeAtomicReq *req, int fd, uint32_t obj, uint32_t type, const char *name,
	      uint64_t value);
void gem_close(int fd, uint32_t handle);

/* The test picture: bars, gradient and checker, so an offset or a swapped
 * channel cannot pass. */
#define PATTERN_W 1024
#define PATTERN_H 768

uint32_t pattern_pixel(unsigned int x, unsigned int y);
/* Draws it into a mapped XRGB8888 buffer, bracketed. */
void draw_pattern(int fd, uint32_t *px);
/* Pixels of a mapped XRGB8888 writeback buffer that differ from it, bracketed. */
unsigned long writeback_diff(int fd, const uint32_t *px);
/* Pixels of the emulated display that differ from it: a QMP screendump
 * into $DMAPIPE_VM_SHARE/@name. */
unsigned long screendump_diff(const char *name);

/*
 * One PATTERN_W x PATTERN_H XRGB8888 plane on the first CRTC, by atomic
 * modeset. vkms's encoders cannot be cloned: there its writeback connector
 * drives the CRTC alone and the Virtual one is switched off.
 */
struct kms {
	int fd;
	const char *driver;
	bool vkms;
	drmModeRes *res;
	drmModeConnector *conn;
	drmModeModeInfo *mode;
	uint32_t crtc, plane, wb_conn, mode_blob;
};

void kms_init(struct kms *k, int fd, const char *driver);
/* A framebuffer of the dma-buf @bfd; @what names it in failures. */
uint32_t kms_add_fb(struct kms *k, int bfd, const char *what, uint32_t *handle);
void kms_remove_fb(struct kms *k, uint32_t fb, const char *what, uint32_t handle);
/* Scans @fb out (and on vkms writes back into @wb_fb); returns the
 * writeback out-fence, -1 without one. */
int kms_enable(struct kms *k, uint32_t fb, uint32_t wb_fb);
/* Waits for the writeback out-fence and closes it. */
void wait_fence(int fence, int timeout_ms);
void kms_disable(struct kms *k);
void kms_fini(struct kms *k);
