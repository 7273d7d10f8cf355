/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "common.h"

#include <gst/allocators/allocators.h>

#include <dirent.h>
#include <drm_fourcc.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include <dmapipe/error.h>

namespace dmapipe::gst {

namespace {

struct FormatPair {
	GstVideoFormat gst;
	uint32_t drm;
};

/* Byte order: GStreamer names bytes in memory, DRM names a little-endian word. */
const FormatPair formatPairs[] = {
	{ GST_VIDEO_FORMAT_BGRx, DRM_FORMAT_XRGB8888 },
	{ GST_VIDEO_FORMAT_BGRA, DRM_FORMAT_ARGB8888 },
	{ GST_VIDEO_FORMAT_RGBx, DRM_FORMAT_XBGR8888 },
	{ GST_VIDEO_FORMAT_RGBA, DRM_FORMAT_ABGR8888 },
	{ GST_VIDEO_FORMAT_xRGB, DRM_FORMAT_BGRX8888 },
	{ GST_VIDEO_FORMAT_ARGB, DRM_FORMAT_BGRA8888 },
	{ GST_VIDEO_FORMAT_xBGR, DRM_FORMAT_RGBX8888 },
	{ GST_VIDEO_FORMAT_ABGR, DRM_FORMAT_RGBA8888 },
	{ GST_VIDEO_FORMAT_RGB, DRM_FORMAT_BGR888 },
	{ GST_VIDEO_FORMAT_BGR, DRM_FORMAT_RGB888 },
	{ GST_VIDEO_FORMAT_RGB16, DRM_FORMAT_RGB565 },
	{ GST_VIDEO_FORMAT_BGR16, DRM_FORMAT_BGR565 },
	{ GST_VIDEO_FORMAT_YUY2, DRM_FORMAT_YUYV },
	{ GST_VIDEO_FORMAT_YVYU, DRM_FORMAT_YVYU },
	{ GST_VIDEO_FORMAT_UYVY, DRM_FORMAT_UYVY },
	{ GST_VIDEO_FORMAT_VYUY, DRM_FORMAT_VYUY },
	{ GST_VIDEO_FORMAT_NV12, DRM_FORMAT_NV12 },
	{ GST_VIDEO_FORMAT_NV21, DRM_FORMAT_NV21 },
	{ GST_VIDEO_FORMAT_NV16, DRM_FORMAT_NV16 },
	{ GST_VIDEO_FORMAT_NV61, DRM_FORMAT_NV61 },
	{ GST_VIDEO_FORMAT_NV24, DRM_FORMAT_NV24 },
	{ GST_VIDEO_FORMAT_I420, DRM_FORMAT_YUV420 },
	{ GST_VIDEO_FORMAT_YV12, DRM_FORMAT_YVU420 },
	{ GST_VIDEO_FORMAT_Y42B, DRM_FORMAT_YUV422 },
	{ GST_VIDEO_FORMAT_Y444, DRM_FORMAT_YUV444 },
};

} /* namespace */

GstVideoFormat videoFormatFromDrm(uint32_t drm)
{
	for (const auto &p : formatPairs)
		if (p.drm == drm)
			return p.gst;
	return GST_VIDEO_FORMAT_UNKNOWN;
}

uint32_t drmFromVideoFormat(GstVideoFormat format)
{
	for (const auto &p : formatPairs)
		if (p.gst == format)
			return p.drm;
	return 0;
}

std::optional<PixelFormat> pixelFormatFromVideo(GstVideoFormat format)
{
	uint32_t drm = drmFromVideoFormat(format);
	if (!drm)
		return std::nullopt;
	return formatFromDrm(drm);
}

GstCaps *templateCaps()
{
	GValue list = G_VALUE_INIT;
	g_value_init(&list, GST_TYPE_LIST);
	for (const auto &p : formatPairs) {
		if (!formatFromDrm(p.drm))
			continue;
		GValue v = G_VALUE_INIT;
		g_value_init(&v, G_TYPE_STRING);
		g_value_set_string(&v, gst_video_format_to_string(p.gst));
		gst_value_list_append_and_take_value(&list, &v);
	}
	GstStructure *s = gst_structure_new("video/x-raw", "width", GST_TYPE_INT_RANGE, 1, G_MAXINT,
					    "height", GST_TYPE_INT_RANGE, 1, G_MAXINT, "framerate",
					    GST_TYPE_FRACTION_RANGE, 0, 1, G_MAXINT, 1, nullptr);
	gst_structure_set_value(s, "format", &list);
	g_value_unset(&list);
	GstCaps *caps = gst_caps_new_empty();
	gst_caps_append_structure_full(caps, gst_structure_copy(s),
				       gst_caps_features_new(GST_CAPS_FEATURE_MEMORY_DMABUF, nullptr));
	gst_caps_append_structure(caps, s);
	return caps;
}

bool haveCapbufHeap()
{
	struct stat st;
	return stat("/dev/dma_heap/capbuf", &st) == 0;
}

/* ---- GstBuffer <-> DmaBuffer ---- */

GstLayout gstLayout(const DmaBuffer &buffer)
{
	GstLayout l;
	uint64_t inodes[GST_VIDEO_MAX_PLANES] = {};
	gsize base[GST_VIDEO_MAX_PLANES] = {};
	gsize total = 0;
	const auto &planes = buffer.planes();
	for (unsigned p = 0; p < planes.size() && p < GST_VIDEO_MAX_PLANES; p++) {
		uint64_t ino = dmabufInode(planes[p].fd.get());
		guint m = 0;
		while (m < l.nMemories && inodes[m] != ino)
			m++;
		if (m == l.nMemories) {
			inodes[m] = ino;
			l.memoryFd[m] = planes[p].fd.get();
			l.memorySize[m] = buffer.dmabufSize(p);
			base[m] = total;
			total += l.memorySize[m];
			l.nMemories++;
		}
		l.offsets[p] = base[m] + planes[p].offset;
		l.strides[p] = gint(planes[p].stride);
	}
	return l;
}

void addVideoMeta(GstBuffer *gbuf, const DmaBuffer &buffer)
{
	GstLayout l = gstLayout(buffer);
	GstVideoFormat vf = videoFormatFromDrm(buffer.format().drm);
	gst_buffer_add_video_meta_full(gbuf, GST_VIDEO_FRAME_FLAG_NONE, vf, buffer.width(),
				       buffer.height(), guint(buffer.planes().size()), l.offsets,
				       l.strides);
}

GstBuffer *wrapDmaBuffer(GstAllocator *dmabufAllocator, const DmaBuffer &buffer)
{
	GstLayout l = gstLayout(buffer);
	GstBuffer *gbuf = gst_buffer_new();
	for (guint m = 0; m < l.nMemories; m++) {
		int fd = fcntl(l.memoryFd[m], F_DUPFD_CLOEXEC, 3);
		if (fd < 0) {
			gst_buffer_unref(gbuf);
			throwErrno("dup(dma-buf)", buffer.exporter());
		}
		gst_buffer_append_memory(
			gbuf, gst_dmabuf_allocator_alloc(dmabufAllocator, fd, l.memorySize[m]));
	}
	addVideoMeta(gbuf, buffer);
	return gbuf;
}

std::vector<Plane> dmaPlanesOf(GstBuffer *buf, const PixelFormat &format, guint height, guint nplanes,
			       const gsize *offsets, const gint *strides, const char *who)
{
	std::vector<Plane> planes;
	for (guint i = 0; i < nplanes; i++) {
		guint idx, len;
		gsize skip;
		if (!gst_buffer_find_memory(buf, offsets[i], 1, &idx, &len, &skip))
			throw Error("plane " + std::to_string(i) + " offset " +
				    std::to_string(offsets[i]) + " is outside the buffer");
		GstMemory *mem = gst_buffer_peek_memory(buf, idx);
		Plane pl;
		pl.fd = UniqueFd(fcntl(gst_dmabuf_memory_get_fd(mem), F_DUPFD_CLOEXEC, 3));
		if (!pl.fd)
			throwErrno("dup(dma-buf)", who);
		pl.offset = uint32_t(mem->offset + skip);
		pl.stride = uint32_t(strides[i]);
		pl.length = pl.stride * format.planeHeight(i, height);
		planes.push_back(std::move(pl));
	}
	return planes;
}

} /* namespace dmapipe::gst */
