/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <dmapipe/buffer.h>
#include <dmapipe/fd.h>
#include <dmapipe/format.h>
#include <dmapipe/source.h>

struct v4l2_buffer;
struct v4l2_plane;

namespace dmapipe {

/*
 * A V4L2 video capture device, single- or multi-planar API, streaming into
 * dma-bufs: imported (V4L2_MEMORY_DMABUF) or its own (MMAP + VIDIOC_EXPBUF).
 */
class V4l2Capture : public Source
{
public:
	/* A path ("/dev/video0") or a driver or card name ("vivid"); "" = the first capture device. */
	explicit V4l2Capture(const std::string &pathOrName);
	~V4l2Capture() override;
	V4l2Capture(const V4l2Capture &) = delete;
	V4l2Capture &operator=(const V4l2Capture &) = delete;

	const std::string &path() const override { return path_; }
	const std::string &driver() const override { return driver_; }
	const std::string &card() const { return card_; }
	bool multiplanar() const { return mplane_; }
	int fd() const override { return fd_.get(); }

	/* V4L2 fourccs in the driver's order. */
	std::vector<uint32_t> formats() const override;
	/* Discrete sizes, or for stepwise/continuous ranges the min and the max. */
	std::vector<FrameSize> frameSizes(uint32_t v4l2Fourcc) const override;
	/* Frame rates in frames per second. */
	std::vector<double> frameRates(uint32_t v4l2Fourcc, uint32_t width,
				       uint32_t height) const override;

	/* S_FMT; strides are requests the driver may raise. Size 0 keeps the current. */
	CaptureFormat setFormat(uint32_t v4l2Fourcc, uint32_t width, uint32_t height,
				const std::vector<uint32_t> &strides = {}) override;
	/* G_FMT */
	CaptureFormat currentFormat() const override;

	/* Whether the driver takes V4L2_MEMORY_DMABUF (REQBUFS capabilities). */
	bool supportsDmabufImport() const override;
	/* VIDIOC_S_PARM; returns the rate the driver set (0 when it has no frame-rate control). */
	double setFrameRate(double fps) override;
	/* V4L2_MEMORY_DMABUF with these buffers (index i = buffers[i]). */
	void importBuffers(const std::vector<const DmaBuffer *> &buffers) override;
	/* V4L2_MEMORY_MMAP + VIDIOC_EXPBUF: the capture device is the exporter. */
	std::vector<std::unique_ptr<DmaBuffer>> exportBuffers(unsigned count) override;
	/* Drops all buffers (REQBUFS 0); streaming must be off. */
	void releaseBuffers() override;

	void queue(unsigned index) override;
	/* False when no frame is ready (non-blocking fd). Error-flagged frames are returned with error = true. */
	bool dequeue(FrameInfo &info, bool *error = nullptr) override;
	void start() override;
	void stop() override;
	bool streaming() const override { return streaming_; }
	unsigned queuedCount() const override { return queued_; }

	/* Frames the driver skipped, from gaps in the sequence numbers. */
	uint64_t sequenceGaps() const override { return gaps_; }
	void checkAlive() const override;

private:
	void xioctl(unsigned long request, void *arg, const char *name) const;
	void fillBuffer(v4l2_buffer &b, v4l2_plane *planes, unsigned index) const;
	uint32_t bufType() const;
	bool open(const std::string &path);

	UniqueFd fd_;
	std::string path_, driver_, card_;
	bool mplane_ = false;
	bool streaming_ = false;
	uint32_t memory_ = 0;
	unsigned count_ = 0;
	unsigned queued_ = 0;
	std::vector<const DmaBuffer *> imported_;
	CaptureFormat format_;
	bool haveLastSeq_ = false;
	uint32_t lastSeq_ = 0;
	uint64_t gaps_ = 0;
};

/* Every V4L2 video capture node: path, driver, card. */
struct CaptureDeviceInfo {
	std::string path, driver, card;
};
std::vector<CaptureDeviceInfo> listCaptureDevices();

} /* namespace dmapipe */
