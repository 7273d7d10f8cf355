/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <dmapipe/buffer.h>

namespace dmapipe {

struct CaptureFormat;

struct FrameSize {
	uint32_t width, height;
};

/*
 * Where frames come from: a V4L2 device (V4l2Capture) or a libcamera camera.
 * Formats are V4L2 fourccs (the library's table maps them to DRM); frames
 * are filled into dma-bufs, imported or the source's own, and signalled by
 * fd() becoming readable.
 */
class Source
{
public:
	virtual ~Source() = default;

	/* "/dev/video0", "libcamera:platform/vimc.0 Sensor B" */
	virtual const std::string &path() const = 0;
	/* "vivid", "vimc", ... */
	virtual const std::string &driver() const = 0;
	/* Readable when dequeue() has a frame. */
	virtual int fd() const = 0;

	virtual std::vector<uint32_t> formats() const = 0;
	/* Sizes the source captures in this format (for caps); see each source for ranges. */
	virtual std::vector<FrameSize> frameSizes(uint32_t v4l2Fourcc) const = 0;
	virtual std::vector<double> frameRates(uint32_t v4l2Fourcc, uint32_t width,
					       uint32_t height) const = 0;
	virtual CaptureFormat setFormat(uint32_t v4l2Fourcc, uint32_t width, uint32_t height,
					const std::vector<uint32_t> &strides = {}) = 0;
	/* What setFormat last settled on, or the source's default before that. */
	virtual CaptureFormat currentFormat() const = 0;
	virtual double setFrameRate(double fps) = 0;

	virtual bool supportsDmabufImport() const = 0;
	virtual void importBuffers(const std::vector<const DmaBuffer *> &buffers) = 0;
	virtual std::vector<std::unique_ptr<DmaBuffer>> exportBuffers(unsigned count) = 0;
	/* Drops all buffers (imported or exported); streaming must be off. */
	virtual void releaseBuffers() = 0;

	virtual void queue(unsigned index) = 0;
	virtual bool dequeue(FrameInfo &info, bool *error = nullptr) = 0;
	virtual void start() = 0;
	virtual void stop() = 0;
	virtual bool streaming() const = 0;
	virtual unsigned queuedCount() const = 0;
	virtual uint64_t sequenceGaps() const = 0;
	/* Throws when the device is gone; called when frames stop coming. */
	virtual void checkAlive() const { }
};

/*
 * A source by name: "libcamera:ID" or "libcamera:N" (when built with
 * libcamera), otherwise a V4L2 path or driver/card name.
 */
std::unique_ptr<Source> openSource(const std::string &name);

/* What openSource() makes of a name, before any device is looked at. */
struct SourceSpec {
	bool libcamera = false;
	/* The V4L2 path or name, or the libcamera id (or index) after "libcamera:". */
	std::string name;
	/* "libcamera:N": the camera index N. */
	std::optional<size_t> index;
};

/* Throws Error for an index that does not fit size_t. */
SourceSpec parseSourceSpec(const std::string &name);

} /* namespace dmapipe */
