/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <dmapipe/convert.h>
#include <dmapipe/stage.h>

namespace dmapipe {

/*
 * Every Y'CbCr layout of convert.h (packed and semi-planar 4:2:2, 4:2:0
 * semi-planar and planar, GREY) -> XRGB8888 or RGB565 (Read on the camera's
 * buffer, Write on the display's), BT.601/709/2020 and range from the
 * camera's colorimetry; RGB888, BGR888 and RGB565 by reordering or
 * widening. Rows are split over worker threads when threads > 1.
 */
class ConvertStage : public Stage
{
public:
	/*
	 * output: DRM_FORMAT_XRGB8888 (the default) or DRM_FORMAT_RGB565.
	 * precision: Fast (within 1 of exact, SIMD) or Exact (convert.h).
	 */
	explicit ConvertStage(unsigned threads = 1, uint32_t output = 0,
			      ConvertPrecision precision = ConvertPrecision::Fast);
	~ConvertStage() override;
	std::string name() const override { return "convert"; }
	Access access() const override { return Access::Read; }
	bool accepts(const PixelFormat &f) const override;
	uint32_t produces(const PixelFormat &f) const override;
	void configure(const CaptureFormat &format) override;
	void convert(const Frame &in, WritableFrame &out) override;

	/* What it can make, in order of preference (the pipeline's negotiation asks). */
	static std::vector<uint32_t> outputs();
	/* The output from now on: one of outputs(); before configure(). */
	void setOutput(uint32_t drmFourcc);
	uint32_t output() const { return output_; }

	YuvEncoding encoding() const { return enc_; }
	YuvRange range() const { return range_; }
	ConvertPrecision precision() const { return precision_; }

private:
	struct Workers;
	YuvEncoding enc_ = YuvEncoding::BT601;
	YuvRange range_ = YuvRange::Limited;
	uint32_t output_;
	ConvertPrecision precision_;
	unsigned threads_;
	std::unique_ptr<Workers> workers_;
};

/*
 * Burns the frame's sequence number and capture time into its top-left
 * corner, in place (ReadWrite): white digits on black, readable on a
 * screendump. XRGB8888-family and YUYV/UYVY frames.
 */
class OverlayStage : public Stage
{
public:
	explicit OverlayStage(unsigned scale = 3) : scale_(scale ? scale : 1) { }
	std::string name() const override { return "overlay"; }
	Access access() const override { return Access::ReadWrite; }
	bool accepts(const PixelFormat &f) const override;
	void process(WritableFrame &frame) override;

	/* The text for a frame: "#000123 12.345678" */
	static std::string text(const FrameInfo &info);
	/* Pixel (x, y) of the text box is lit; for tests and readers of screendumps. */
	static bool lit(const std::string &text, unsigned scale, unsigned x, unsigned y);
	static unsigned boxWidth(const std::string &text, unsigned scale);
	static unsigned boxHeight(unsigned scale);

private:
	unsigned scale_;
};

/* What AnalysisStage found in one frame. */
struct FrameAnalysis {
	uint32_t sequence = 0;
	uint64_t checksum = 0; /* FNV-1a over the visible bytes of every line */
	std::array<uint32_t, 256> luma {}; /* histogram of Y (or BT.601 luma of RGB) */
	double meanLuma = 0;
};

/* Read-only: a checksum and a luma histogram per frame. */
class AnalysisStage : public Stage
{
public:
	std::string name() const override { return "analysis"; }
	Access access() const override { return Access::Read; }
	bool accepts(const PixelFormat &f) const override;
	void inspect(const Frame &frame) override;

	/* The latest result (thread-safe copy). */
	FrameAnalysis last() const;
	uint64_t frames() const { return frames_; }
	static FrameAnalysis analyse(const PixelFormat &format, const uint8_t *const *planes,
				     const uint32_t *strides, uint32_t width, uint32_t height);

private:
	mutable std::mutex lock_;
	FrameAnalysis last_;
	std::atomic<uint64_t> frames_ { 0 };
};

} /* namespace dmapipe */
