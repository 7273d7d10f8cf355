// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Test-bed smoke checks against the real DRM drivers in the VM.
 *
 *   drm-smoke connectors DRIVER TYPE...  the driver exposes connectors of
 *                                        these types (writeback included)
 *   drm-smoke pattern                    draws a pattern on cirrus, takes a
 *                                        QMP screendump, compares every pixel
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xf86drm.h>
#include <xf86drmMode.h>
#include <drm_fourcc.h>

static int open_driver(const char *name)
{
	for (int i = 0; i < 8; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		int fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		drmVersionPtr v = drmGetVersion(fd);
		int match = v && strcmp(v->name, name) == 0;
		drmFreeVersion(v);
		if (match)
			return fd;
		close(fd);
	}
	fprintf(stderr, "no DRM device with driver %s\n", name);
	exit(1);
}

static int connectors(const char *driver, char **types, int ntypes)
{
	int fd = open_driver(driver);
	if (drmSetClientCap(fd, DRM_CLIENT_CAP_ATOMIC, 1) ||
	    drmSetClientCap(fd, DRM_CLIENT_CAP_WRITEBACK_CONNECTORS, 1))
		fprintf(stderr, "note: writeback client cap refused: %s\n", strerror(errno));
	drmModeRes *res = drmModeGetResources(fd);
	if (!res) {
		perror("drmModeGetResources");
		return 1;
	}
	int missing = 0;
	for (int t = 0; t < ntypes; t++) {
		int found = 0;
		for (int i = 0; i < res->count_connectors; i++) {
			drmModeConnector *c = drmModeGetConnector(fd, res->connectors[i]);
			const char *name = drmModeGetConnectorTypeName(c->connector_type);
			if (t == 0)
				printf("%s: connector %u %s-%u %s\n", driver, c->connector_id, name,
				       c->connector_type_id,
				       c->connection == DRM_MODE_CONNECTED ? "connected" : "disconnected");
			if (name && strcmp(name, types[t]) == 0)
				found = 1;
			drmModeFreeConnector(c);
		}
		if (!found) {
			fprintf(stderr, "FAIL: %s has no %s connector\n", driver, types[t]);
			missing++;
		}
	}
	drmModeFreeResources(res);
	close(fd);
	return missing ? 1 : 0;
}

static uint32_t pattern_pixel(unsigned int x, unsigned int y)
{
	/* Colour bars with a gradient and a checker so an offset or a swapped
	 * channel cannot pass. */
	static const uint32_t bars[] = { 0xffffff, 0xffff00, 0x00ffff, 0x00ff00,
					 0xff00ff, 0xff0000, 0x0000ff, 0x000000 };
	if (y < 256)
		return bars[x * 8 / 1024];
	if (y < 512)
		return (x & 0xff) << 16 | (y & 0xff) << 8 | ((x + y) & 0xff);
	return ((x / 16 + y / 16) & 1) ? 0x808080 : 0x102030;
}

static int pattern(void)
{
	int fd = open_driver("cirrus");
	drmModeRes *res = drmModeGetResources(fd);
	drmModeConnector *conn = NULL;
	for (int i = 0; i < res->count_connectors && !conn; i++) {
		conn = drmModeGetConnector(fd, res->connectors[i]);
		if (conn->connection != DRM_MODE_CONNECTED || !conn->count_modes) {
			drmModeFreeConnector(conn);
			conn = NULL;
		}
	}
	if (!conn) {
		fprintf(stderr, "FAIL: no connected cirrus connector\n");
		return 1;
	}
	drmModeModeInfo *mode = NULL;
	for (int i = 0; i < conn->count_modes; i++)
		if (conn->modes[i].hdisplay == 1024 && conn->modes[i].vdisplay == 768)
			mode = &conn->modes[i];
	if (!mode) {
		fprintf(stderr, "FAIL: cirrus offers no 1024x768 mode\n");
		return 1;
	}
	struct drm_mode_create_dumb create = { .width = 1024, .height = 768, .bpp = 32 };
	if (drmIoctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &create)) {
		perror("CREATE_DUMB");
		return 1;
	}
	struct drm_mode_map_dumb map = { .handle = create.handle };
	if (drmIoctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &map)) {
		perror("MAP_DUMB");
		return 1;
	}
	uint8_t *px = mmap(NULL, create.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, map.offset);
	if (px == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	for (unsigned int y = 0; y < 768; y++)
		for (unsigned int x = 0; x < 1024; x++)
			*(uint32_t *)(px + y * create.pitch + x * 4) = pattern_pixel(x, y);
	uint32_t fb;
	uint32_t handles[4] = { create.handle }, pitches[4] = { create.pitch }, offsets[4] = { 0 };
	if (drmModeAddFB2(fd, 1024, 768, DRM_FORMAT_XRGB8888, handles, pitches, offsets, &fb, 0)) {
		perror("AddFB2");
		return 1;
	}
	uint32_t crtc = res->crtcs[0];
	if (drmModeSetCrtc(fd, crtc, fb, 0, 0, &conn->connector_id, 1, mode)) {
		perror("SetCrtc");
		return 1;
	}

	const char *helper = getenv("DMAPIPE_VM_SCREENDUMP");
	const char *share = getenv("DMAPIPE_VM_SHARE");
	if (!helper || !share) {
		fprintf(stderr, "FAIL: not in the test VM (no DMAPIPE_VM_SCREENDUMP)\n");
		return 1;
	}
	char cmd[512], path[512];
	snprintf(cmd, sizeof(cmd), "%s pattern.ppm", helper);
	if (system(cmd) != 0) {
		fprintf(stderr, "FAIL: screendump helper failed\n");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/pattern.ppm", share);
	FILE *f = fopen(path, "rb");
	unsigned int w, h, maxval;
	if (!f || fscanf(f, "P6 %u %u %u", &w, &h, &maxval) != 3 || fgetc(f) == EOF) {
		fprintf(stderr, "FAIL: cannot read %s\n", path);
		return 1;
	}
	if (w != 1024 || h != 768 || maxval != 255) {
		fprintf(stderr, "FAIL: screendump is %ux%u max %u, expected 1024x768 max 255\n", w, h,
			maxval);
		return 1;
	}
	unsigned long bad = 0;
	for (unsigned int y = 0; y < h; y++)
		for (unsigned int x = 0; x < w; x++) {
			int r = fgetc(f), g = fgetc(f), b = fgetc(f);
			uint32_t got = (uint32_t)r << 16 | (uint32_t)g << 8 | (uint32_t)b;
			uint32_t want = pattern_pixel(x, y);
			if (got != want && bad++ < 5)
				fprintf(stderr, "pixel %u,%u: screen %06x, drawn %06x\n", x, y, got, want);
		}
	fclose(f);
	printf("screendump 1024x768: %lu of %u pixels differ\n", bad, w * h);
	drmModeRmFB(fd, fb);
	munmap(px, create.size);
	drmModeFreeConnector(conn);
	drmModeFreeResources(res);
	close(fd);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "connectors") == 0)
		return connectors(argv[2], argv + 3, argc - 3);
	if (argc == 2 && strcmp(argv[1], "pattern") == 0)
		return pattern();
	fprintf(stderr, "usage: %s connectors DRIVER TYPE... | pattern\n", argv[0]);
	return 2;
}
