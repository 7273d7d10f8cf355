/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file pipeline.h
 * @brief Camera to display, zero-copy: the pipeline and its configuration.
 */
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <dmapipe/export.h>
#include <dmapipe/format.h>
#include <dmapipe/frame.h>
#include <dmapipe/stage.h>
#include <dmapipe/stats.h>

namespace dmapipe {

/** @brief Who exports the buffers camera and display share. */
enum class AllocStrategy {
	Auto, /**< capbuf if loaded, else display dumb buffers, else the camera's own */
	Capbuf, /**< /dev/dma_heap/capbuf (the capbuf module) */
	Heap, /**< another dma-heap: PipelineConfig::heap */
	Udmabuf, /**< memfd + /dev/udmabuf */
	V4l2, /**< MMAP + VIDIOC_EXPBUF: the camera exports */
	Dumb, /**< DRM dumb buffers + PRIME: the display exports */
};
/** @brief "auto", "capbuf", "heap", "udmabuf", "v4l2" or "dumb". */
DMAPIPE_EXPORT const char *allocStrategyName(AllocStrategy s);
/** @brief The strategy of a name allocStrategyName() gives, if any. */
DMAPIPE_EXPORT std::optional<AllocStrategy> allocStrategyFromString(const std::string &s);

/** @brief What to connect, and how. Every member has a usable default. */
struct PipelineConfig {
	/** V4L2 path or driver/card name, or "libcamera:ID" / "libcamera:N"; "" = first capture device */
	std::string camera;
	/** DRM path or driver name; "" = first connected display */
	std::string display;
	uint32_t width = 0; /**< 0 = the camera's current width */
	uint32_t height = 0; /**< 0 = the camera's current height */
	/** DRM or V4L2 name ("XRGB8888", "YUYV"); "" = the first that camera, stages and display take */
	std::string format;
	AllocStrategy alloc = AllocStrategy::Auto; /**< who exports the shared buffers */
	std::string heap = "system"; /**< the dma-heap for AllocStrategy::Heap */
	/** Capture rate; 0 = the highest the camera offers up to 30 fps (a display's pace) */
	double fps = 0;
	unsigned buffers = 6; /**< camera buffers, at least 4 */
	/** Stages in order; at most one converting stage. More in-place ones: Pipeline::addStage(). */
	std::vector<std::shared_ptr<Stage>> stages;
	uint64_t frames = 0; /**< stop after this many displayed frames; 0 = until stop() */
	/**
	 * Run the stages on a thread of their own, so a slow stage never delays
	 * flip handling: the loop commits and releases buffers while the stages
	 * work on the next frame (one frame at a time; frames arriving meanwhile
	 * replace each other, counted as late drops).
	 */
	bool stageThread = false;
};

class PipelinePrivate;

/**
 * @brief Camera -> stages -> display, the buffers shared, no frame copied.
 *
 * The constructor opens both devices, settles format and size, allocates and
 * imports the buffers, and throws Error on any refusal; nothing is left open
 * when it throws. Streaming starts with run() or start().
 *
 * **Threads.** A Pipeline is driven by one thread at a time: the one calling
 * run(), or the one calling start() and dispatch() from its own
 * event loop. Callbacks and the display's flip handling run on that thread;
 * so do the stages, in turn, unless PipelineConfig::stageThread puts them on
 * a worker thread of the pipeline's (otherwise a stage that takes 30 ms
 * delays the next flip by up to 30 ms). stop() and stats() are safe from
 * any thread (stop() also from a signal handler). The destructor restores
 * the display's previous mode and releases every buffer, fd and mapping.
 *
 * **Frames.** Capture never waits for the display: while a flip is pending
 * only the newest frame is kept and older ones go back to the camera
 * (counted in Stats::displayDrops and Stats::lateDrops).
 */
class DMAPIPE_EXPORT Pipeline
{
public:
	/** @brief Opens, negotiates and allocates; throws Error. */
	explicit Pipeline(const PipelineConfig &config);
	/** @brief Stops streaming if needed, restores the display, releases everything. */
	~Pipeline();
	Pipeline(const Pipeline &) = delete;
	Pipeline &operator=(const Pipeline &) = delete;

	/** @brief Appends an in-place stage working on the displayed format; before start only. */
	void addStage(std::shared_ptr<Stage> stage);

	/**
	 * @brief Streams until PipelineConfig::frames are displayed or stop().
	 *
	 * Equivalent to start(), then dispatch() whenever fd() is readable until
	 * it returns false. Throws Error on device errors (streaming is stopped
	 * first).
	 */
	void run();

	/**
	 * @brief Starts streaming without blocking, for a caller's own event loop.
	 *
	 * Then watch fd() for readability (POLLIN) and call dispatch() when it
	 * is readable; the fd also wakes for the pipeline's timers (the stats
	 * interval, the device health check).
	 */
	void start();
	/**
	 * @brief A pollable fd: readable when dispatch() has work. Valid from
	 * construction to destruction; owned by the pipeline.
	 */
	int fd() const;
	/**
	 * @brief Runs what is ready (frames, flips, timers) without blocking.
	 * @return false once the pipeline has finished (the frames wanted were
	 * displayed, or stop() was called) and streaming is stopped; true while
	 * it streams.
	 *
	 * Throws Error on device errors, after stopping the stream.
	 */
	bool dispatch();
	/** @brief Whether it streams (between start() and the end of streaming). */
	bool streaming() const;

	/** @brief Ends streaming at the next dispatch; from any thread or a signal handler. */
	void stop();

	/** @brief The counters, a consistent copy; from any thread. */
	Stats stats() const;
	/** @brief The path frames take: "zero-copy: capbuf → vivid → convert (read) → cirrus". */
	std::string pathDescription() const;
	/** @brief Why this allocation strategy was chosen. */
	std::string allocReason() const;
	/** @brief The allocation strategy in use (never Auto). */
	AllocStrategy allocStrategy() const;
	/** @brief The format the camera delivers. */
	CaptureFormat captureFormat() const;
	/** @brief The format the display scans out. */
	PixelFormat displayFormat() const;
	/** @brief Frames per second the camera was set to, 0 if it has no rate control. */
	double frameRate() const;
	/** @brief "/dev/video0 (vivid)" */
	std::string cameraName() const;
	/** @brief "/dev/dri/card0 (cirrus) Virtual-1" */
	std::string displayName() const;

	/**
	 * @brief Called on the pipeline's thread for each frame that reached the
	 * screen, with the dma-buf's inode (Frame::bufferId()). Set before start.
	 */
	void
	setDisplayedCallback(std::function<void(const FrameInfo &info, uint64_t bufferId)> callback);
	/**
	 * @brief Called on the pipeline's thread every @p intervalNs while it
	 * streams, with the counters. Set before start; 0 disables it.
	 */
	void setStatsCallback(std::function<void(const Stats &stats)> callback, uint64_t intervalNs);

private:
	friend PipelinePrivate &internals(Pipeline &pipeline);
	std::unique_ptr<PipelinePrivate> d_;
};

} /* namespace dmapipe */
