/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A custom read-write stage, as a product writes one: it pixelates a region
 * of each frame in place (a privacy mask; a face blur with a fixed face).
 * Only the public headers are used.
 */
#pragma once

#include <dmapipe/dmapipe.h>

#include <algorithm>
#include <atomic>
#include <cstring>

class PrivacyMask : public dmapipe::Stage
{
public:
	/* The region, in fractions of the frame; blocks of block x block pixels. */
	PrivacyMask(double x, double y, double w, double h, unsigned block = 16)
		: x_(x), y_(y), w_(w), h_(h), block_(block)
	{
	}

	std::string name() const override { return "privacy-mask"; }
	/* It reads the block's pixels and writes their average back: read-write. */
	dmapipe::Access access() const override { return dmapipe::Access::ReadWrite; }
	bool accepts(const dmapipe::PixelFormat &f) const override
	{
		/* 4 bytes per pixel, any channel order: an average per byte works for all. */
		for (const char *name : { "XRGB8888", "XBGR8888", "ARGB8888", "ABGR8888" })
			if (strcmp(f.name, name) == 0)
				return true;
		return false;
	}
	void process(dmapipe::WritableFrame &frame) override
	{
		uint32_t x0 = uint32_t(x_ * frame.width()), y0 = uint32_t(y_ * frame.height());
		uint32_t x1 = std::min(frame.width(), x0 + uint32_t(w_ * frame.width()));
		uint32_t y1 = std::min(frame.height(), y0 + uint32_t(h_ * frame.height()));
		for (uint32_t by = y0; by < y1; by += block_)
			for (uint32_t bx = x0; bx < x1; bx += block_)
				pixelate(frame, bx, by, std::min(x1, bx + block_),
					 std::min(y1, by + block_));
		frames_++;
	}

	uint64_t frames() const { return frames_; }

private:
	static void pixelate(dmapipe::WritableFrame &frame, uint32_t x0, uint32_t y0, uint32_t x1,
			     uint32_t y1)
	{
		uint32_t sum[4] = {}, n = (x1 - x0) * (y1 - y0);
		for (uint32_t y = y0; y < y1; y++)
			for (uint32_t x = x0; x < x1; x++)
				for (int c = 0; c < 4; c++)
					sum[c] += frame.line(0, y)[x * 4 + c];
		for (uint32_t y = y0; y < y1; y++)
			for (uint32_t x = x0; x < x1; x++)
				for (int c = 0; c < 4; c++)
					frame.line(0, y)[x * 4 + c] = uint8_t(sum[c] / n);
	}

	double x_, y_, w_, h_;
	unsigned block_;
	std::atomic<uint64_t> frames_ { 0 };
};
