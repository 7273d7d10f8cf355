/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file stage.h
 * @brief Software processing between capture and display.
 */
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <dmapipe/export.h>
#include <dmapipe/format.h>
#include <dmapipe/frame.h>

namespace dmapipe {

/**
 * @brief A CPU stage: what it touches, which formats it takes, and its work.
 *
 * A stage declares its access(); the pipeline maps each buffer once with the
 * matching protection (PROT_READ for Access::Read, so a write through a
 * read-only stage's frame does not even compile: it gets a const Frame) and
 * brackets every call with DMA_BUF_IOCTL_SYNC START/END for that direction,
 * once per stage per frame, on every dma-buf of the frame.
 *
 * Which method is called:
 * - an in-place stage with Access::Read: inspect(const Frame &);
 * - an in-place stage with Access::Write or Access::ReadWrite: process(WritableFrame &);
 * - a converting stage (produces() != 0): convert(in, out), reading the
 *   camera's buffer and writing one of the display's (so a converted frame
 *   is still displayed without a copy).
 *
 * The methods run on the thread that drives the pipeline (Pipeline::run() or
 * Pipeline::dispatch()), one frame at a time. An exception thrown by them
 * drops that frame (counted in Stats::errorFrames) and is logged once.
 */
class DMAPIPE_EXPORT Stage
{
public:
	virtual ~Stage();
	/** @brief A short name for logs and the path description ("blur"). */
	virtual std::string name() const = 0;
	/** @brief What the stage does to its (input) buffer. */
	virtual Access access() const = 0;
	/** @brief Whether it can work on frames of @p format. */
	virtual bool accepts(const PixelFormat &format) const = 0;
	/**
	 * @brief A converting stage's output format (DRM fourcc) for an input
	 * format; 0 (the default) for an in-place stage.
	 */
	virtual uint32_t produces(const PixelFormat &format) const;
	/** @brief Called once the camera's format is settled, before the first frame. */
	virtual void configure(const CaptureFormat &format);
	/** @brief The work of a read-only in-place stage. The default throws. */
	virtual void inspect(const Frame &frame);
	/** @brief The work of a writing in-place stage. The default throws. */
	virtual void process(WritableFrame &frame);
	/** @brief The work of a converting stage. The default throws. */
	virtual void convert(const Frame &in, WritableFrame &out);
};

/**
 * @brief One of the library's stages by name: "convert", "convert:threads=2",
 * "convert:exact", "convert:threads=2:exact", "overlay", "overlay:scale=2",
 * "analysis". Throws Error on a bad name or parameter.
 */
DMAPIPE_EXPORT std::shared_ptr<Stage> makeStage(const std::string &spec);
/** @brief makeStage() for each of a comma-separated list of specs. */
DMAPIPE_EXPORT std::vector<std::shared_ptr<Stage>> makeStages(const std::string &specs);

} /* namespace dmapipe */
