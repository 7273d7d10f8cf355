/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared helpers of the dmapipe GStreamer elements. */
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
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

/*
 * The plugin's one caps-from-formats function: video/x-raw(memory:DMABuf)
 * and video/x-raw for these DRM formats (those GStreamer and the framework
 * both name), sizes up to maxSize, in the external form (DMA_DRM on 1.24+).
 */
GstCaps *capsForFormats(const std::vector<uint32_t> &drmFormats, int maxSize = G_MAXINT);
/* capsForFormats() of every format the table knows: the pad templates. */
GstCaps *templateCaps();

/*
 * DMA_DRM caps. Since GStreamer 1.24, dma-buf memory is negotiated as
 * video/x-raw(memory:DMABuf), format=DMA_DRM, drm-format=XR24[:0x<modifier>]
 * (kmssink, waylandsink, and v4l2 from 1.26 take nothing else); 1.22 names
 * the format as for system memory (format=BGRx). One build serves both: the
 * elements work on the 1.22 form inside (internal caps) and translate at
 * their pads to the form of the GStreamer they run on (external caps). The
 * translation needs no 1.24 API, so the plugin builds against 1.22 headers.
 */
/* True when the running GStreamer is 1.24 or later (or DMAPIPE_GST_DMA_DRM=0/1 says). */
bool dmaDrmCaps();
/*
 * External -> internal: each DMA_DRM structure becomes format=<the GStreamer
 * formats of its drm-formats>; drm-formats with a modifier other than linear
 * are dropped (the framework maps and scans out linear buffers only), a
 * structure left with none is dropped, and why says so.
 */
GstCaps *capsToInternal(GstCaps *caps, std::string *why = nullptr);
/*
 * Internal -> external: when dmaDrm is true, each DMABuf structure is
 * preceded by its DMA_DRM form (preferred); the 1.22 form stays after it so
 * that launch lines written for 1.22 still negotiate.
 */
GstCaps *capsToExternal(GstCaps *caps, bool dmaDrm = dmaDrmCaps());
/* True when caps (fixed or not) hold a DMA_DRM structure. */
bool isDmaDrmCaps(GstCaps *caps);
/* gst_video_info_from_caps() of capsToInternal(caps): DMA_DRM caps give their real format. */
bool videoInfoFromCaps(GstVideoInfo *info, GstCaps *caps);

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

/*
 * Posts e as the element's error message, as v4l2src and kmssink classify
 * theirs: a missing device or node (ENOENT, ENODEV, ENXIO) is NOT_FOUND,
 * EBUSY is BUSY, EACCES/EPERM OPEN_READ_WRITE, ENOMEM/ENOSPC NO_SPACE_LEFT;
 * anything else, and an error without errno, gets fallback. The message is
 * e.what(); the debug field names the failed call and the errno text.
 * Elements catch std::exception in every vfunc that calls the library: no
 * C++ exception crosses into GStreamer's C code.
 */
void postError(GstElement *element, const std::exception &e, GstResourceError fallback,
	       const char *file, const char *function, int line);
#define DMAPIPE_POST_ERROR(element, e, fallback)                                                   \
	dmapipe::gst::postError(GST_ELEMENT(element), e, fallback, __FILE__, GST_FUNCTION, __LINE__)

} /* namespace dmapipe::gst */
