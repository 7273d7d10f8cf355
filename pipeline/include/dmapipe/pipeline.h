/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <dmapipe/allocator.h>
#include <dmapipe/buffer.h>
#include <dmapipe/cpu_access.h>
#include <dmapipe/error.h>
#include <dmapipe/fd.h>
#include <dmapipe/frame_scheduler.h>
#include <dmapipe/kms_display.h>
#include <dmapipe/source.h>
#include <dmapipe/stats.h>
#include <dmapipe/v4l2_capture.h>

namespace dmapipe {

/* Who exports the buffers both devices share. */
enum class AllocStrategy {
	Auto, /* capbuf if loaded, else display dumb buffers, else the camera's own */
	Capbuf, /* /dev/dma_heap/capbuf */
	Heap, /* another dma-heap, PipelineConfig::heap */
	Udmabuf, /* memfd + /dev/udmabuf */
	V4l2, /* MMAP + VIDIOC_EXPBUF: the camera exports */
	Dumb, /* DRM dumb buffers + PRIME: the display exports */
};
const char *allocStrategyName(AllocStrategy s);
std::optional<AllocStrategy> allocStrategyFromString(const std::string &s);

/* A frame as a CPU stage sees it: mapped planes inside one access bracket. */
struct FrameView {
	const DmaBuffer &buffer;
	const FrameInfo &info;
	std::vector<uint8_t *> planes; /* plane p's first byte */
};

/*
 * Software processing on frames between capture and display. A stage
 * declares how it touches its buffer; the pipeline maps the buffer with the
 * matching protection (once per buffer, kept) and brackets each call with
 * DMA_BUF_IOCTL_SYNC START/END for that direction, once per stage per frame.
 *
 * In-place stages implement process(). Converting stages (produces() != 0)
 * implement convert(): they read the captured frame (Read bracket) and write
 * a frame of another format into a buffer of the display's pool (Write
 * bracket), so a converted frame is still displayed without a copy.
 */
class Stage
{
public:
	virtual ~Stage() = default;
	virtual std::string name() const = 0;
	/* What the stage does to its (input) buffer. */
	virtual Access access() const = 0;
	/* Whether it can work on frames of this format. */
	virtual bool accepts(const PixelFormat &format) const = 0;
	/* A converting stage's output format (DRM fourcc) for an input format; 0 = in place. */
	virtual uint32_t produces(const PixelFormat &) const { return 0; }
	/* Called once the camera's format is settled (colorimetry for conversions). */
	virtual void configure(const CaptureFormat &) { }
	virtual void process(FrameView &) { }
	virtual void convert(const FrameView &, FrameView &) { }
};

struct PipelineConfig {
	/* V4L2 path or driver/card name, or "libcamera:ID" / "libcamera:N"; "" = first capture device */
	std::string camera;
	std::string display; /* path or driver name; "" = first connected display */
	uint32_t width = 0, height = 0; /* 0 = the camera's current size */
	std::string format; /* DRM or V4L2 name; "" = first both take */
	AllocStrategy alloc = AllocStrategy::Auto;
	std::string heap = "system"; /* for AllocStrategy::Heap */
	/* Capture rate; 0 = the highest the camera offers up to 30 fps (a display's pace). */
	double fps = 0;
	unsigned buffers = 6;
	/* Stages in order; at most one converting stage. More in-place ones: addStage(). */
	std::vector<std::shared_ptr<Stage>> stages;
	uint64_t frames = 0; /* stop after this many displayed frames; 0 = until stop() */
};

/*
 * Camera -> stages -> display on one poll loop (V4L2 fd, DRM fd, an eventfd
 * to stop). Capture never waits for the display: when a flip is pending,
 * only the newest frame is kept and older ones go back (counted as drops).
 */
class Pipeline
{
public:
	explicit Pipeline(const PipelineConfig &config);
	~Pipeline();
	Pipeline(const Pipeline &) = delete;
	Pipeline &operator=(const Pipeline &) = delete;

	/* Appends an in-place stage working on the displayed format. */
	void addStage(std::shared_ptr<Stage> stage);

	/* Streams until config.frames are displayed or stop(); throws on device errors. */
	void run();
	/* From any thread or a signal handler. */
	void stop();

	const Stats &stats() const { return stats_; }
	/* "zero-copy: capbuf -> vivid -> cirrus" */
	std::string pathDescription() const;
	/* Why this allocation strategy. */
	const std::string &allocReason() const { return allocReason_; }
	AllocStrategy allocStrategy() const { return strategy_; }
	const CaptureFormat &captureFormat() const { return format_; }
	/* Frames per second the camera was set to, 0 if it has no rate control. */
	double frameRate() const { return frameRate_; }
	const DisplayLayout &layout() const { return display_->layout(); }

	Source &capture() { return *capture_; }
	KmsDisplay &display() { return *display_; }
	/* The camera's buffers. */
	const std::vector<std::unique_ptr<DmaBuffer>> &buffers() const { return buffers_; }
	/* The buffers the display scans out: the camera's, or the conversion's pool. */
	const std::vector<std::unique_ptr<DmaBuffer>> &displayBuffers() const
	{
		return outBuffers_.empty() ? buffers_ : outBuffers_;
	}
	/* Format the display shows. */
	const PixelFormat &displayFormat() const { return displayFormat_; }

	/* Called on the loop for each frame that reached the screen. */
	std::function<void(const DmaBuffer &, const FrameInfo &)> onDisplayed;
	/* Called on the loop every statsInterval ns while running (0 = never). */
	std::function<void(const Stats &)> onStats;
	uint64_t statsIntervalNs = 0;

private:
	void chooseStrategy(const PipelineConfig &config);
	void allocate(const PipelineConfig &config);
	void allocateAndImport(const BufferLayout &layout, unsigned count);
	void fallBackToContiguous(const BufferLayout &layout, const PipelineConfig &config,
				  const Error &refusal);
	void onCapture();
	void onFlip(uint64_t timestampNs);
	void apply(const FrameScheduler::Actions &actions);
	bool runStage(Stage &stage, const DmaBuffer &in, const DmaBuffer *out, const FrameInfo &info);
	const DmaBufMapping &mapping(const DmaBuffer &buffer, Access access);
	void allocateDisplayPool();

	std::unique_ptr<Source> capture_;
	std::unique_ptr<KmsDisplay> display_;
	std::unique_ptr<Allocator> allocator_;
	std::vector<std::unique_ptr<DmaBuffer>> buffers_;
	std::vector<FrameInfo> frames_;
	std::vector<std::shared_ptr<Stage>> stages_;
	int converter_ = -1; /* index in stages_ */
	std::unique_ptr<Allocator> outAllocator_;
	std::vector<std::unique_ptr<DmaBuffer>> outBuffers_;
	std::vector<unsigned> outFree_;
	PixelFormat displayFormat_ {};
	std::map<std::pair<const DmaBuffer *, int>, DmaBufMapping> mappings_;
	FrameScheduler scheduler_;
	Stats stats_;
	CaptureFormat format_;
	double frameRate_ = 0;
	AllocStrategy strategy_ = AllocStrategy::Auto;
	std::string allocReason_;
	UniqueFd stopFd_;
	uint64_t framesWanted_ = 0;
	bool stageErrorLogged_ = false;
	/* Since when commits are refused for lack of kernel memory (0: they are not). */
	uint64_t noMemorySinceNs_ = 0;
};

} /* namespace dmapipe */
