/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared helpers of the dmapipe GStreamer elements. */
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <dmapipe/allocator.h>
#include <dmapipe/buffer.h>
#include <dmapipe/format.h>
#include <dmapipe/kms_display.h>

namespace dmapipe::gst {

/* GStreamer's name of a DRM fourcc (DRM XRGB8888 = GStreamer BGRx), or UNKNOWN. */
GstVideoFormat videoFormatFromDrm(uint32_t drm);
/* The DRM fourcc of a GStreamer format, or 0. */
uint32_t drmFromVideoFormat(GstVideoFormat format);
/* The framework's format for a GStreamer format, when it has one. */
std::optional<PixelFormat> pixelFormatFromVideo(GstVideoFormat format);

/* "video/x-raw(memory:DMABuf)" and "video/x-raw" for every format the table knows. */
GstCaps *templateCaps();

/* True when /dev/dma_heap/capbuf exists. */
bool haveCapbufHeap();

/* Dumb buffers without DRM master: dmapipe::makeDumbAllocator() (kms_display.h). */

/*
 * The dma-buf layout of one buffer with N fds (one per distinct dma-buf),
 * for a GstVideoMeta: offsets are from the start of the GstBuffer, i.e. the
 * planes of memory k are shifted by the sizes of memories 0..k-1.
 */
struct GstLayout {
	guint nMemories = 0;
	int memoryFd[GST_VIDEO_MAX_PLANES] = {}; /* a plane fd of each memory (not owned) */
	gsize memorySize[GST_VIDEO_MAX_PLANES] = {};
	gsize offsets[GST_VIDEO_MAX_PLANES] = {};
	gint strides[GST_VIDEO_MAX_PLANES] = {};
};
GstLayout gstLayout(const DmaBuffer &buffer);

/*
 * A GstBuffer of GstDmaBufAllocator memories wrapping dup'ed fds of buffer,
 * with a GstVideoMeta of its strides and offsets.
 */
GstBuffer *wrapDmaBuffer(GstAllocator *dmabufAllocator, const DmaBuffer &buffer);
/* Adds the GstVideoMeta of buffer's layout to gbuf. */
void addVideoMeta(GstBuffer *gbuf, const DmaBuffer &buffer);

/*
 * The planes of buf, a GstBuffer of dma-buf memories, as the framework's
 * planes: each plane's fd dup'ed from the memory its offset falls in, offsets
 * made relative to that dma-buf. who names the caller in errors.
 */
std::vector<Plane> dmaPlanesOf(GstBuffer *buf, const PixelFormat &format, guint height, guint nplanes,
			       const gsize *offsets, const gint *strides, const char *who);

} /* namespace dmapipe::gst */
