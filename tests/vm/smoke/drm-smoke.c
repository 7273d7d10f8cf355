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

#include "../common/vm-test.h"

static int connectors(const char *driver, char **types, int ntypes)
{
	int fd = open_drm(driver);
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

static int pattern(void)
{
	int fd = open_drm("cirrus");
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

	unsigned long bad = screendump_diff("pattern.ppm");

	printf("screendump 1024x768: %lu of %u pixels differ\n", bad, 1024 * 768);
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
