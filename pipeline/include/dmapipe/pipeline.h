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
#include <dmapipe/fd.h>
#include <dmapipe/frame_scheduler.h>
#include <dmapipe/kms_display.h>
#include <dmapipe/stats.h>
#include <dmapipe/v4l2_capture.h>

namespace dmapipe {

/* Who exports the buffers both devices share. */
enum class AllocStrategy {
	Auto,    /* capbuf if loaded, else display dumb buffers, else the camera's own */
	Capbuf,  /* /dev/dma_heap/capbuf */
	Heap,    /* another dma-heap, PipelineConfig::heap */
	Udmabuf, /* memfd + /dev/udmabuf */
	V4l2,    /* MMAP + VIDIOC_EXPBUF: the camera exports */
	Dumb,    /* DRM dumb buffers + PRIME: the display exports */
};
const char *allocStrategyName(AllocStrategy s);
std::optional<AllocStrategy> allocStrategyFromString(const std::string &s);

/* A frame as a CPU stage sees it: mapped planes inside one access bracket. */
struct FrameView {
	const DmaBuffer &buffer;
	const FrameInfo &info;
	std::vector<uint8_t *> planes; /* plane p's first byte */
};

/* Software processing on a frame in place, between capture and display. */
class Stage
{
public:
	virtual ~Stage() = default;
	virtual std::string name() const = 0;
	/* What the stage does to the buffer: the framework maps and brackets accordingly. */
	virtual Access access() const = 0;
	virtual void process(FrameView &frame) = 0;
};

struct PipelineConfig {
	std::string camera;  /* path or driver/card name; "" = first capture device */
	std::string display; /* path or driver name; "" = first connected display */
	uint32_t width = 0, height = 0; /* 0 = the camera's current size */
	std::string format;  /* DRM or V4L2 name; "" = first both take */
	AllocStrategy alloc = AllocStrategy::Auto;
	std::string heap = "system"; /* for AllocStrategy::Heap */
	/* Capture rate; 0 = the highest the camera offers up to 30 fps (a display's pace). */
	double fps = 0;
	unsigned buffers = 6;
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

	void addStage(std::unique_ptr<Stage> stage);

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

	V4l2Capture &capture() { return *capture_; }
	KmsDisplay &display() { return *display_; }
	const std::vector<std::unique_ptr<DmaBuffer>> &buffers() const { return buffers_; }

	/* Called on the loop for each frame that reached the screen. */
	std::function<void(const DmaBuffer &, const FrameInfo &)> onDisplayed;
	/* Called on the loop every statsInterval ns while running (0 = never). */
	std::function<void(const Stats &)> onStats;
	uint64_t statsIntervalNs = 0;

private:
	void chooseStrategy(const PipelineConfig &config);
	void allocate(const PipelineConfig &config);
	void onCapture();
	void onFlip(uint64_t timestampNs);
	void apply(const FrameScheduler::Actions &actions);
	bool runStages(unsigned index);

	std::unique_ptr<V4l2Capture> capture_;
	std::unique_ptr<KmsDisplay> display_;
	std::unique_ptr<Allocator> allocator_;
	std::vector<std::unique_ptr<DmaBuffer>> buffers_;
	std::vector<FrameInfo> frames_;
	std::vector<std::unique_ptr<Stage>> stages_;
	std::map<std::pair<unsigned, int>, DmaBufMapping> mappings_;
	FrameScheduler scheduler_;
	Stats stats_;
	CaptureFormat format_;
	double frameRate_ = 0;
	AllocStrategy strategy_ = AllocStrategy::Auto;
	std::string allocReason_;
	UniqueFd stopFd_;
	uint64_t framesWanted_ = 0;
	bool stageErrorLogged_ = false;
};

} /* namespace dmapipe */
