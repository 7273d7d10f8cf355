/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <dmapipe/buffer.h>
#include <dmapipe/fd.h>
#include <dmapipe/source.h>
#include <dmapipe/v4l2_capture.h>

namespace libcamera {
class Camera;
class CameraConfiguration;
class CameraManager;
class FrameBuffer;
class FrameBufferAllocator;
class Request;
class Stream;
} /* namespace libcamera */

namespace dmapipe {

/*
 * A libcamera camera as a Source (built only with libcamera, which defines
 * DMAPIPE_HAVE_LIBCAMERA for the library). One stream (Viewfinder role).
 *
 * Formats: libcamera's PixelFormats are DRM fourccs; they are reported and
 * taken as V4L2 fourccs through the library's table, so libcamera's RGB888
 * (bytes B,G,R) is V4L2 BGR24 and its BGR888 (bytes R,G,B) is V4L2 RGB24.
 *
 * Buffers: importBuffers() wraps the framework's dma-bufs as
 * libcamera::FrameBuffers (plane fd, offset, length); exportBuffers() takes
 * the pipeline handler's own through a FrameBufferAllocator and hands out
 * dup'ed dma-buf fds. Either way the frames land in the same dma-bufs KMS
 * scans out.
 *
 * Threading: requests complete on libcamera's thread; they are moved to a
 * mutex-protected queue and an eventfd (fd()) turns readable. Everything
 * else (queue, dequeue, start, stop) runs on the caller's thread. The
 * pipeline handler takes at most StreamConfiguration::bufferCount requests
 * at a time (its V4L2 buffer slots): more queued buffers wait here and go
 * in as requests complete.
 */
class LibcameraSource : public Source
{
public:
	/* "ID" (a camera id as `cam -l` lists it) or "N" (index, 0-based); "" = the first camera. */
	explicit LibcameraSource(const std::string &idOrIndex);
	~LibcameraSource() override;
	LibcameraSource(const LibcameraSource &) = delete;
	LibcameraSource &operator=(const LibcameraSource &) = delete;

	/* "libcamera:<camera id>" */
	const std::string &path() const override { return path_; }
	/* The pipeline handler's driver, e.g. "vimc" (from the camera id), or "libcamera". */
	const std::string &driver() const override { return driver_; }
	int fd() const override { return eventFd_.get(); }
	const std::string &cameraId() const { return id_; }

	/* V4L2 fourccs; the camera's default format first, then the rest it offers. */
	std::vector<uint32_t> formats() const override;
	/*
	 * The sizes libcamera takes unchanged in this format among the camera's
	 * own list (for a range: common sizes within it, its ends) and its
	 * default size.
	 */
	std::vector<FrameSize> frameSizes(uint32_t v4l2Fourcc) const override;
	/* The last setFormat's result, or the camera's default configuration. */
	CaptureFormat currentFormat() const override { return format_; }
	/* From the FrameDurationLimits control when the camera has one; empty otherwise. */
	std::vector<double> frameRates(uint32_t v4l2Fourcc, uint32_t width,
				       uint32_t height) const override;
	/*
	 * Validates and configures the stream. Size 0 keeps the camera's default.
	 * The returned format has the size, stride and frameSize libcamera settled
	 * on; strides are ignored (libcamera has no way to ask for one).
	 */
	CaptureFormat setFormat(uint32_t v4l2Fourcc, uint32_t width, uint32_t height,
				const std::vector<uint32_t> &strides = {}) override;
	/* FrameDurationLimits at start() when the camera has that control; otherwise 0. */
	double setFrameRate(double fps) override;

	bool supportsDmabufImport() const override { return true; }
	void importBuffers(const std::vector<const DmaBuffer *> &buffers) override;
	std::vector<std::unique_ptr<DmaBuffer>> exportBuffers(unsigned count) override;
	void releaseBuffers() override;

	void queue(unsigned index) override;
	bool dequeue(FrameInfo &info, bool *error = nullptr) override;
	void start() override;
	void stop() override;
	bool streaming() const override { return streaming_; }
	unsigned queuedCount() const override { return queued_; }
	uint64_t sequenceGaps() const override { return gaps_; }

	/* Requests the pipeline handler takes at once (bufferCount). */
	unsigned inflightLimit() const { return limit_; }
	/* Requests libcamera completed as cancelled (at stop) or failed to queue. */
	uint64_t cancelledRequests() const { return cancelled_; }

private:
	void onRequestCompleted(libcamera::Request *request);
	void onDisconnected();
	void makeRequests();
	void submitPending();

	std::shared_ptr<libcamera::CameraManager> manager_;
	std::shared_ptr<libcamera::Camera> camera_;
	std::unique_ptr<libcamera::CameraConfiguration> config_;
	libcamera::Stream *stream_ = nullptr;
	std::unique_ptr<libcamera::FrameBufferAllocator> allocator_;
	std::vector<std::unique_ptr<libcamera::FrameBuffer>> imported_;
	std::vector<libcamera::FrameBuffer *> frameBuffers_; /* by index */
	std::vector<std::unique_ptr<libcamera::Request>> requests_; /* by index */

	std::string id_, path_, driver_;
	UniqueFd eventFd_;
	CaptureFormat format_;
	bool configured_ = false;
	bool acquired_ = false;
	bool streaming_ = false;
	double fps_ = 0;
	int64_t frameDurationUs_ = 0;

	/* Caller's thread only. */
	std::deque<unsigned> pending_; /* queued here, not yet given to libcamera */
	std::vector<bool> owned_; /* by index: queued and not yet dequeued */
	unsigned queued_ = 0; /* queue() minus dequeue() */
	unsigned limit_ = 4;
	bool haveLastSeq_ = false;
	uint32_t lastSeq_ = 0;
	uint64_t gaps_ = 0;

	/* Shared with libcamera's thread. */
	std::mutex lock_;
	std::deque<libcamera::Request *> completed_;
	unsigned inflight_ = 0;
	bool disconnected_ = false;
	std::atomic<uint64_t> cancelled_ { 0 };
};

} /* namespace dmapipe */
