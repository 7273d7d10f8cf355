/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a dmapipe::Stage needs of a GstBuffer, for the stage elements
 * (dmapipeconvert, dmapipeoverlay): a DmaBuffer describing its planes and a
 * CPU mapping of each of its dma-bufs with the stage's access, both made
 * once per GstMemory and kept on it (qdata, freed with the memory), so only
 * the DMA_BUF_IOCTL_SYNC bracket is per frame - as the framework's Pipeline
 * does it (docs/stages.md). Safe behind a tee: elements sharing a memory
 * share its entries, and hold what they use by reference.
 */
#pragma once

#include <gst/gst.h>
#include <gst/video/video.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <dmapipe/buffer.h>
#include <dmapipe/cpu_access.h>
#include <dmapipe/internal.h>

namespace dmapipe::gst {

/* A GstBuffer of dma-buf memories as a stage sees it (cached on its first GstMemory). */
struct StageBuffer {
	std::unique_ptr<DmaBuffer> buffer;
	Access access = Access::Read;
	/* One mapping per distinct dma-buf, and which one each plane lives in. */
	std::vector<DmaBufMapping> maps;
	std::vector<int> mapFds; /* a plane fd of each mapped dma-buf (owned by buffer) */
	std::vector<unsigned> planeMap;

	/* What it was made for, to notice a buffer whose layout changed. */
	GstVideoFormat format = GST_VIDEO_FORMAT_UNKNOWN;
	guint width = 0, height = 0, nplanes = 0, nmemories = 0;
	gsize offsets[GST_VIDEO_MAX_PLANES] = {};
	gint strides[GST_VIDEO_MAX_PLANES] = {};
	GstMemory *memories[GST_VIDEO_MAX_PLANES] = {};

	/* Plane p's first byte in the mappings. */
	std::vector<uint8_t *> planes() const;
};

/*
 * The StageBuffer of buf for an access; nullptr when a memory of buf is not
 * GstDmaBufMemory (the caller maps it as system memory). The layout comes
 * from buf's GstVideoMeta, else from info. Throws dmapipe::Error when the
 * layout cannot be described or mapped.
 */
std::shared_ptr<const StageBuffer> stageBuffer(GstBuffer *buf, const GstVideoInfo &info,
					       Access access);

/*
 * One CPU access bracket per frame over every dma-buf of a StageBuffer:
 * DMA_BUF_IOCTL_SYNC START now, END at scope exit (also when the stage
 * throws). Buffers in one dma-buf (the usual case) get exactly one.
 */
class StageAccess
{
public:
	explicit StageAccess(const StageBuffer &buffer);

private:
	std::deque<CpuAccess> brackets_;
};

/*
 * A system-memory frame (mapped with gst_video_frame_map) described as a
 * DmaBuffer for a stage: the planes' strides and offsets of the frame, a
 * placeholder memfd as its fd (never mapped or synced: system memory needs
 * no bracket). Kept while the layout stays the same.
 */
class SysmemFrame
{
public:
	const DmaBuffer &describe(const GstVideoFrame &frame);
	static std::vector<uint8_t *> planes(const GstVideoFrame &frame);

private:
	std::unique_ptr<DmaBuffer> buffer_;
	GstVideoFormat format_ = GST_VIDEO_FORMAT_UNKNOWN;
	guint width_ = 0, height_ = 0;
	gint strides_[GST_VIDEO_MAX_PLANES] = {};
};

/* The FrameInfo of a GstBuffer: sequence = GST_BUFFER_OFFSET (else counter), time = PTS. */
FrameInfo frameInfo(GstBuffer *buf, uint64_t counter);

/* "YUY2" for caps with one format; the formats downstream of pad takes, "BGRx, RGB" ("none" when
 * none). */
std::string capsFormat(GstCaps *caps);
std::string peerFormats(GstPad *pad);

/* The video/x-raw(memory:DMABuf) and video/x-raw caps of these DRM formats. */
GstCaps *stageCaps(const std::vector<uint32_t> &drmFormats);

/* The stage's view of a buffer's mapped planes (strides from the buffer). */
inline WritableFrame stageFrame(const DmaBuffer &buffer, const FrameInfo &info,
				const std::vector<uint8_t *> &planes)
{
	uint32_t strides[Frame::kMaxPlanes] = {};
	uint8_t *data[Frame::kMaxPlanes] = {};
	for (size_t p = 0; p < planes.size() && p < Frame::kMaxPlanes; p++) {
		data[p] = planes[p];
		strides[p] = buffer.planes()[p].stride;
	}
	return WritableFrame(buffer.format(), buffer.width(), buffer.height(), data, strides, info,
			     buffer.id());
}

} /* namespace dmapipe::gst */
