/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The pipeline's implementation, behind the public Pipeline. In-tree users
 * (dmapipe-cam, the GStreamer plugin, the tests) may use it directly for
 * what the public API does not show: the devices, the buffers, the layout.
 */
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <dmapipe/allocator.h>
#include <dmapipe/buffer.h>
#include <dmapipe/cpu_access.h>
#include <dmapipe/error.h>
#include <dmapipe/fd.h>
#include <dmapipe/frame_scheduler.h>
#include <dmapipe/kms_display.h>
#include <dmapipe/negotiation.h>
#include <dmapipe/pipeline.h>
#include <dmapipe/source.h>
#include <dmapipe/stats.h>

namespace dmapipe {

class PipelinePrivate
{
public:
	explicit PipelinePrivate(const PipelineConfig &config);
	~PipelinePrivate();
	PipelinePrivate(const PipelinePrivate &) = delete;
	PipelinePrivate &operator=(const PipelinePrivate &) = delete;

	void addStage(std::shared_ptr<Stage> stage);

	void run();
	void start();
	bool dispatch();
	int fd() const { return epollFd_.get(); }
	bool streaming() const { return streaming_; }
	void stop();

	/* A consistent copy, from any thread. */
	Stats stats() const;
	std::string pathDescription() const;
	const std::string &allocReason() const { return allocReason_; }
	/* What the negotiation chose (route, plane), and what it adjusted or passed over. */
	const Negotiated &negotiated() const { return negotiated_; }
	AllocStrategy allocStrategy() const { return strategy_; }
	const CaptureFormat &captureFormat() const { return format_; }
	double frameRate() const { return frameRate_; }
	const DisplayLayout &layout() const { return display_->layout(); }

	Source &capture() { return *capture_; }
	KmsDisplay &display() { return *display_; }
	const std::vector<std::unique_ptr<DmaBuffer>> &buffers() const { return buffers_; }
	const std::vector<std::unique_ptr<DmaBuffer>> &displayBuffers() const
	{
		return outBuffers_.empty() ? buffers_ : outBuffers_;
	}
	const PixelFormat &displayFormat() const { return displayFormat_; }

	/* Called on the loop for each frame that reached the screen. */
	std::function<void(const DmaBuffer &, const FrameInfo &)> onDisplayed;
	/* Called on the loop every statsIntervalNs while running (0 = never). */
	std::function<void(const Stats &)> onStats;
	uint64_t statsIntervalNs = 0;

private:
	/* What woke the loop. */
	struct Ready {
		short capture = 0; /* revents of the camera's fd */
		bool flip = false;
		bool stop = false;
		bool workerDone = false; /* the stage worker finished a frame */
		bool idle = false; /* nothing for a second: check the camera */
	};

	/* One round of dispatch(), waiting up to timeoutMs (-1: until an event) for one. */
	bool dispatchWait(int timeoutMs);
	void chooseStrategy(const PipelineConfig &config);
	void negotiate(const PipelineConfig &config, const std::vector<uint32_t> &camFormats,
		       const std::optional<PixelFormat> &wanted);
	bool validateRoute(const PipelineConfig &config, const std::vector<uint32_t> &camFormats,
			   const Route &route, std::vector<std::string> &adjusted, std::string &why);
	bool displayTakes(const PixelFormat &f, uint32_t width, uint32_t height, std::string &why);
	void allocate(const PipelineConfig &config);
	void allocateAndImport(const BufferLayout &layout, unsigned count);
	void fallBackToContiguous(const BufferLayout &layout, const PipelineConfig &config,
				  const Error &refusal);
	void onCapture();
	void onFlip(uint64_t timestampNs);
	void apply(const FrameScheduler::Actions &actions);
	bool runStage(Stage &stage, const DmaBuffer &in, const DmaBuffer *out, const FrameInfo &info);
	const DmaBufMapping &mapping(const DmaBuffer &buffer, unsigned plane, Access access);
	void allocateDisplayPool();

	/* The buffer a frame is shown from: its own, or a free one of the conversion's pool. */
	unsigned takeOutput(const FrameInfo &info);
	/* Runs the stages on a frame; on the loop, or on the stage worker. */
	bool processFrame(const FrameInfo &info, unsigned shown);
	/* On the loop: buffers back to the camera or pool, the frame to the scheduler. */
	void completeFrame(const FrameInfo &info, unsigned shown, bool ok);
	void submit(const FrameInfo &info);
	void workerMain();
	void onWorkerDone();
	void waitForWorker();

	void stopCaptureQuietly();
	bool capturing() const;
	bool wantFlip() const;
	bool finished() const;
	/* One turn of the loop: false when the pipeline has finished. */
	bool handle(const Ready &ready);
	/* Stops streaming; after the last flip landed when @p graceful. */
	void finish(bool graceful);
	/* For fd() users: the epoll set follows the poll set of run(). */
	void updateEpoll();
	template<typename F>
	void updateStats(F &&f)
	{
		std::lock_guard<std::mutex> lock(statsLock_);
		f(stats_);
	}

	std::unique_ptr<Source> capture_;
	std::unique_ptr<KmsDisplay> display_;
	std::unique_ptr<Allocator> allocator_;
	std::vector<std::unique_ptr<DmaBuffer>> buffers_;
	std::vector<FrameInfo> frames_;
	std::vector<std::shared_ptr<Stage>> stages_;
	int converter_ = -1; /* index in stages_ */
	Negotiated negotiated_;
	std::unique_ptr<Allocator> outAllocator_;
	std::vector<std::unique_ptr<DmaBuffer>> outBuffers_;
	std::vector<unsigned> outFree_;
	PixelFormat displayFormat_ {};
	/* One mapping per dma-buf (plane fd) and access, made on first use and kept. */
	std::map<std::tuple<const DmaBuffer *, unsigned, int>, DmaBufMapping> mappings_;
	FrameScheduler scheduler_;
	mutable std::mutex statsLock_;
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

	bool streaming_ = false;
	unsigned pollErrors_ = 0;
	uint64_t nextStatsNs_ = 0;
	uint64_t lastWakeNs_ = 0;
	/* fd()'s epoll set: the camera and DRM fds while run() would poll them, the stop eventfd, a timer. */
	UniqueFd epollFd_;
	UniqueFd timerFd_;
	bool epollCapture_ = false, epollFlip_ = false;
	uint64_t timerArmedNs_ = 0; /* absolute deadline the timer is set to, 0: off */

	/*
	 * PipelineConfig::stageThread: the stages run on worker_, one frame at a
	 * time, while the loop keeps handling flips; the loop hands a frame over
	 * in job_ and hears back through doneFd_. Only the worker touches
	 * mappings_ then.
	 */
	struct Job {
		FrameInfo info;
		unsigned shown = 0;
		bool ok = false;
	};
	bool stageThread_ = false;
	std::thread worker_;
	std::mutex workLock_;
	std::condition_variable workCv_;
	std::optional<Job> job_;
	bool jobDone_ = false, quit_ = false;
	bool workerBusy_ = false; /* the loop's view: a job is out */
	std::optional<FrameInfo> waiting_; /* the newest frame waiting for the worker */
	UniqueFd doneFd_;
};

/* The implementation behind a public Pipeline. */
inline PipelinePrivate &internals(Pipeline &pipeline)
{
	return *pipeline.d_;
}

} /* namespace dmapipe */
