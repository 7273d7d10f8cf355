/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Tests for the Y'CbCr -> XRGB8888 kernels (pipeline/src/convert.cpp):
 *  - exhaustive: all 2^24 (Y', Cb, Cr) triples, every encoding/range and
 *    source layout, against an independent double-precision evaluation of
 *    the BT.601/BT.709 equations; must match exactly;
 *  - GStreamer: same random frames through videoconvert (if gst-launch-1.0
 *    is installed), bounded deviation, see GstVideoconvert below;
 *  - strides, padding, odd widths and row-range splits;
 *  - V4L2 colorimetry mapping.
 */

#include "dmapipe/convert.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <drm_fourcc.h>
#include <linux/videodev2.h>
#include <unistd.h>

#include <gtest/gtest.h>

using namespace dmapipe;

namespace {

struct Combo {
	YuvEncoding enc;
	YuvRange range;
	const char *name;
};

const Combo kCombos[] = {
	{ YuvEncoding::BT601, YuvRange::Limited, "BT601_Limited" },
	{ YuvEncoding::BT601, YuvRange::Full, "BT601_Full" },
	{ YuvEncoding::BT709, YuvRange::Limited, "BT709_Limited" },
	{ YuvEncoding::BT709, YuvRange::Full, "BT709_Full" },
};

/*
 * Reference, written from the equations rather than from the kernel:
 *   Y' = (Y - 16) / 219, Pb = (Cb - 128) / 224, Pr = (Cr - 128) / 224 (limited)
 *   Y' = Y / 255,        Pb = (Cb - 128) / 255, Pr = (Cr - 128) / 255 (full)
 *   R = Y' + 2 (1 - Kr) Pr, B = Y' + 2 (1 - Kb) Pb, G = (Y' - Kr R - Kb B) / Kg
 * out = clamp(round(255 * value)), ties rounded up. With decimal Kr/Kb some
 * values are exact ties (full-range BT.601, e.g. B at Cb = 3 / 253: 221.5);
 * double evaluation puts those within 1e-13 of .5 while every non-tie is at
 * least 1e-7 away, so "+ 1e-9" before floor() implements round-half-up
 * without being fooled by double rounding.
 */
struct Bgr {
	uint8_t b, g, r;
};

Bgr reference(YuvEncoding enc, YuvRange range, int Y, int U, int V)
{
	const double kr = enc == YuvEncoding::BT709 ? 0.2126 : 0.299;
	const double kb = enc == YuvEncoding::BT709 ? 0.0722 : 0.114;
	const double kg = 1.0 - kr - kb;
	const bool full = range == YuvRange::Full;
	const double y = full ? Y / 255.0 : (Y - 16) / 219.0;
	const double pb = (U - 128) / (full ? 255.0 : 224.0);
	const double pr = (V - 128) / (full ? 255.0 : 224.0);
	const double r = y + 2.0 * (1.0 - kr) * pr;
	const double b = y + 2.0 * (1.0 - kb) * pb;
	const double g = (y - kr * r - kb * b) / kg;
	auto q = [](double v) {
		const double n = std::floor(v * 255.0 + 0.5 + 1e-9);
		return uint8_t(std::min(255.0, std::max(0.0, n)));
	};
	return { q(b), q(g), q(r) };
}

/* Source frame in one of the supported layouts, built from per-pixel Y and per-pair Cb/Cr. */
struct Frame {
	uint32_t fourcc;
	uint32_t width, height;
	std::vector<uint8_t> p0, p1;
	uint32_t stride0 = 0, stride1 = 0;

	std::array<ConstPlane, 2> planes() const
	{
		return { ConstPlane { p0.data(), stride0 }, ConstPlane { p1.data(), stride1 } };
	}
	unsigned numPlanes() const { return fourcc == DRM_FORMAT_NV12 ? 2 : 1; }
};

/*
 * yAt(x, row), uvAt(pair, row) -> {U, V}. For NV12, uvAt is only queried for
 * even rows (chroma row = row / 2). pad0/pad1 add bytes to the minimum
 * strides, filled with garbage.
 */
template<typename YF, typename UVF>
Frame makeFrame(uint32_t fourcc, uint32_t width, uint32_t height, YF yAt, UVF uvAt,
		uint32_t pad0 = 0, uint32_t pad1 = 0)
{
	Frame f;
	f.fourcc = fourcc;
	f.width = width;
	f.height = height;
	const uint32_t pairs = (width + 1) / 2;
	if (fourcc == DRM_FORMAT_NV12) {
		f.stride0 = width + pad0;
		f.stride1 = pairs * 2 + pad1;
		f.p0.assign(size_t(f.stride0) * height, 0xee);
		f.p1.assign(size_t(f.stride1) * ((height + 1) / 2), 0xee);
		for (uint32_t row = 0; row < height; row++)
			for (uint32_t x = 0; x < width; x++)
				f.p0[size_t(row) * f.stride0 + x] = yAt(x, row);
		for (uint32_t crow = 0; crow < (height + 1) / 2; crow++)
			for (uint32_t i = 0; i < pairs; i++) {
				auto uv = uvAt(i, crow * 2);
				f.p1[size_t(crow) * f.stride1 + 2 * i] = uv.first;
				f.p1[size_t(crow) * f.stride1 + 2 * i + 1] = uv.second;
			}
	} else {
		const bool yuyv = fourcc == DRM_FORMAT_YUYV;
		f.stride0 = pairs * 4 + pad0;
		f.p0.assign(size_t(f.stride0) * height, 0xee);
		for (uint32_t row = 0; row < height; row++) {
			uint8_t *l = &f.p0[size_t(row) * f.stride0];
			for (uint32_t i = 0; i < pairs; i++) {
				auto uv = uvAt(i, row);
				const uint8_t y0 = yAt(2 * i, row);
				/* Odd width: the unused Y of the last pair is garbage. */
				const uint8_t y1 = 2 * i + 1 < width ? yAt(2 * i + 1, row) : 0x5a;
				if (yuyv) {
					l[4 * i] = y0, l[4 * i + 1] = uv.first;
					l[4 * i + 2] = y1, l[4 * i + 3] = uv.second;
				} else {
					l[4 * i] = uv.first, l[4 * i + 1] = y0;
					l[4 * i + 2] = uv.second, l[4 * i + 3] = y1;
				}
			}
		}
	}
	return f;
}

const char *fourccName(uint32_t f)
{
	switch (f) {
	case DRM_FORMAT_YUYV:
		return "YUYV";
	case DRM_FORMAT_UYVY:
		return "UYVY";
	case DRM_FORMAT_NV12:
		return "NV12";
	case DRM_FORMAT_RGB888:
		return "RGB888";
	case DRM_FORMAT_BGR888:
		return "BGR888";
	default:
		return "?";
	}
}

const uint32_t kFormats[] = { DRM_FORMAT_YUYV, DRM_FORMAT_UYVY, DRM_FORMAT_NV12 };

} /* namespace */

/* ------------------------------------------------------------------------- */

class Exhaustive : public ::testing::TestWithParam<Combo>
{
};

/*
 * Every (Y, Cb, Cr): frames of width 256 (128 pairs, Y = 0..255 along the
 * row) with one (Cb, Cr) per row, 65536 rows; NV12 repeats each chroma row
 * twice in Y. Converted in chunks of rows (which also exercises row ranges).
 */
TEST_P(Exhaustive, AllTriplesMatchReference)
{
	const Combo c = GetParam();

	std::vector<Bgr> ref(size_t(1) << 24); /* index (U << 16) | (V << 8) | Y */
	for (int U = 0; U < 256; U++)
		for (int V = 0; V < 256; V++)
			for (int Y = 0; Y < 256; Y++)
				ref[(size_t(U) << 16) | (V << 8) | Y] =
					reference(c.enc, c.range, Y, U, V);

	for (uint32_t fourcc : kFormats) {
		const bool nv12 = fourcc == DRM_FORMAT_NV12;
		const uint32_t W = 256, H = nv12 ? 131072 : 65536;
		/* Row r holds uv index r (r / 2 for NV12). */
		auto uvIndex = [nv12](uint32_t row) { return nv12 ? row / 2 : row; };
		Frame f = makeFrame(
			fourcc, W, H, [](uint32_t x, uint32_t) { return uint8_t(x); },
			[&](uint32_t, uint32_t row) {
				const uint32_t i = uvIndex(row);
				return std::make_pair(uint8_t(i >> 8), uint8_t(i));
			});
		auto planes = f.planes();

		const uint32_t chunk = 1024;
		std::vector<uint8_t> dst(size_t(W) * 4 * chunk);
		uint64_t mismatches = 0;
		int maxDev = 0;
		for (uint32_t r0 = 0; r0 < H; r0 += chunk) {
			/* dst points "before" the chunk so that row r lands in the buffer. */
			uint8_t *base = dst.data() - size_t(r0) * W * 4;
			convertToXrgb8888(fourcc, planes.data(), f.numPlanes(), base, W * 4, W, H,
					  c.enc, c.range, r0, r0 + chunk);
			for (uint32_t r = r0; r < r0 + chunk; r++) {
				const uint32_t uv = uvIndex(r);
				const uint8_t *px = &dst[size_t(r - r0) * W * 4];
				for (uint32_t x = 0; x < W; x++, px += 4) {
					const Bgr &e = ref[(size_t(uv) << 8) | x];
					const int dev = std::max({ std::abs(px[0] - e.b),
								   std::abs(px[1] - e.g),
								   std::abs(px[2] - e.r) });
					if (dev || px[3] != 0xff) {
						if (mismatches < 5)
							ADD_FAILURE()
								<< fourccName(fourcc) << " Y=" << x
								<< " Cb=" << (uv >> 8)
								<< " Cr=" << (uv & 255) << " got "
								<< int(px[2]) << "," << int(px[1])
								<< "," << int(px[0]) << ","
								<< int(px[3]) << " want "
								<< int(e.r) << "," << int(e.g)
								<< "," << int(e.b);
						mismatches++;
						maxDev = std::max(maxDev, dev);
					}
				}
			}
		}
		EXPECT_EQ(mismatches, 0u) << fourccName(fourcc) << " max deviation " << maxDev;
	}
}

INSTANTIATE_TEST_SUITE_P(Convert, Exhaustive, ::testing::ValuesIn(kCombos),
			 [](const ::testing::TestParamInfo<Combo> &i) {
				 return std::string(i.param.name);
			 });

/* ------------------------------------------------------------------------- */

namespace {

/* Random frame data; returns per-pixel expected output via the reference. */
Frame randomFrame(uint32_t fourcc, uint32_t width, uint32_t height, uint32_t seed,
		  uint32_t pad0 = 0, uint32_t pad1 = 0)
{
	std::mt19937 rng(seed);
	std::vector<uint8_t> ys(size_t(width) * height), us(size_t((width + 1) / 2) * height),
		vs(us.size());
	for (auto *v : { &ys, &us, &vs })
		for (auto &b : *v)
			b = uint8_t(rng());
	const uint32_t pairs = (width + 1) / 2;
	return makeFrame(
		fourcc, width, height,
		[&](uint32_t x, uint32_t row) { return ys[size_t(row) * width + x]; },
		[&](uint32_t i, uint32_t row) {
			return std::make_pair(us[size_t(row) * pairs + i],
					      vs[size_t(row) * pairs + i]);
		},
		pad0, pad1);
}

/* Reads Y/Cb/Cr of pixel (x, row) back out of a frame. */
void sample(const Frame &f, uint32_t x, uint32_t row, int *Y, int *U, int *V)
{
	const uint32_t i = x / 2;
	if (f.fourcc == DRM_FORMAT_NV12) {
		*Y = f.p0[size_t(row) * f.stride0 + x];
		*U = f.p1[size_t(row / 2) * f.stride1 + 2 * i];
		*V = f.p1[size_t(row / 2) * f.stride1 + 2 * i + 1];
	} else {
		const uint8_t *m = &f.p0[size_t(row) * f.stride0 + 4 * i];
		if (f.fourcc == DRM_FORMAT_YUYV)
			*Y = m[(x & 1) * 2], *U = m[1], *V = m[3];
		else
			*Y = m[(x & 1) * 2 + 1], *U = m[0], *V = m[2];
	}
}

} /* namespace */

TEST(Convert, Supported)
{
	EXPECT_TRUE(convertSupported(DRM_FORMAT_YUYV));
	EXPECT_TRUE(convertSupported(DRM_FORMAT_UYVY));
	EXPECT_TRUE(convertSupported(DRM_FORMAT_NV12));
	EXPECT_FALSE(convertSupported(DRM_FORMAT_XRGB8888));
	EXPECT_FALSE(convertSupported(DRM_FORMAT_NV21));
	EXPECT_FALSE(convertSupported(DRM_FORMAT_YVYU));
	EXPECT_FALSE(convertSupported(0));
}

/*
 * Source and destination strides with padding (odd source padding too), odd
 * and even widths around the vector width, odd heights for NV12: every pixel
 * matches the reference with its pair's chroma, X is 0xff, and no byte past
 * width * 4 in any row (nor past the last row) is written.
 */
TEST(Convert, StridesPaddingOddWidths)
{
	const uint8_t canary = 0xab;
	for (uint32_t fourcc : kFormats)
		for (uint32_t width : { 1u, 2u, 3u, 7u, 15u, 16u, 17u, 31u, 33u, 64u, 65u, 101u })
			for (uint32_t height : { 1u, 2u, 5u })
				for (uint32_t dpad : { 0u, 4u, 7u }) {
					const Combo &c = kCombos[(width + height + dpad) % 4];
					Frame f = randomFrame(fourcc, width, height,
							      width * 131 + height, 13, 5);
					auto planes = f.planes();
					const uint32_t dstStride = width * 4 + dpad;
					const size_t slack = 64;
					std::vector<uint8_t> dst(size_t(dstStride) * height + slack,
								 canary);
					convertToXrgb8888(fourcc, planes.data(), f.numPlanes(),
							  dst.data(), dstStride, width, height,
							  c.enc, c.range, 0, height);
					SCOPED_TRACE(std::string(fourccName(fourcc)) + " " +
						     std::to_string(width) + "x" +
						     std::to_string(height) + " dpad " +
						     std::to_string(dpad));
					for (uint32_t row = 0; row < height; row++) {
						const uint8_t *l = &dst[size_t(row) * dstStride];
						for (uint32_t x = 0; x < width; x++) {
							int Y, U, V;
							sample(f, x, row, &Y, &U, &V);
							const Bgr e =
								reference(c.enc, c.range, Y, U, V);
							ASSERT_EQ(l[4 * x + 0], e.b)
								<< x << "," << row;
							ASSERT_EQ(l[4 * x + 1], e.g)
								<< x << "," << row;
							ASSERT_EQ(l[4 * x + 2], e.r)
								<< x << "," << row;
							ASSERT_EQ(l[4 * x + 3], 0xff)
								<< x << "," << row;
						}
						for (uint32_t b = width * 4; b < dstStride; b++)
							ASSERT_EQ(l[b], canary)
								<< "padding written, row " << row;
					}
					for (size_t b = size_t(dstStride) * height; b < dst.size();
					     b++)
						ASSERT_EQ(dst[b], canary)
							<< "wrote past the last row";
				}
}

/* Splitting rows (halves, uneven and odd splits, rowEnd > height) == converting at once. */
TEST(Convert, RowRangesCompose)
{
	const uint32_t W = 97, H = 37;
	for (uint32_t fourcc : kFormats)
		for (const Combo &c : kCombos) {
			Frame f = randomFrame(fourcc, W, H, 7, 3, 2);
			auto planes = f.planes();
			const uint32_t stride = W * 4 + 12;
			std::vector<uint8_t> whole(size_t(stride) * H, 0), parts(whole.size(), 0),
				three(whole.size(), 0);
			convertToXrgb8888(fourcc, planes.data(), f.numPlanes(), whole.data(),
					  stride, W, H, c.enc, c.range, 0, H);
			convertToXrgb8888(fourcc, planes.data(), f.numPlanes(), parts.data(),
					  stride, W, H, c.enc, c.range, 0, 18);
			convertToXrgb8888(fourcc, planes.data(), f.numPlanes(), parts.data(),
					  stride, W, H, c.enc, c.range, 18, H);
			EXPECT_EQ(whole, parts) << fourccName(fourcc) << " " << c.name;

			/* Odd boundaries are fine too (each row only reads its own chroma row). */
			convertToXrgb8888(fourcc, planes.data(), f.numPlanes(), three.data(),
					  stride, W, H, c.enc, c.range, 0, 5);
			convertToXrgb8888(fourcc, planes.data(), f.numPlanes(), three.data(),
					  stride, W, H, c.enc, c.range, 5, 20);
			convertToXrgb8888(fourcc, planes.data(), f.numPlanes(), three.data(),
					  stride, W, H, c.enc, c.range, 20, H + 100);
			EXPECT_EQ(whole, three) << fourccName(fourcc) << " " << c.name;

			/* Empty / inverted ranges write nothing. */
			std::vector<uint8_t> none(whole.size(), 0x11);
			convertToXrgb8888(fourcc, planes.data(), f.numPlanes(), none.data(), stride,
					  W, H, c.enc, c.range, 10, 10);
			convertToXrgb8888(fourcc, planes.data(), f.numPlanes(), none.data(), stride,
					  W, H, c.enc, c.range, 20, 10);
			convertToXrgb8888(fourcc, planes.data(), f.numPlanes(), none.data(), stride,
					  W, H, c.enc, c.range, H, H + 4);
			EXPECT_TRUE(std::all_of(none.begin(), none.end(),
						[](uint8_t b) { return b == 0x11; }));
		}
}

TEST(Convert, RejectsBadArguments)
{
	uint8_t src[64] = {}, dst[64];
	std::memset(dst, 0x11, sizeof(dst));
	ConstPlane p[2] = { { src, 8 }, { src, 8 } };
	/* Unsupported format, too few planes for NV12: nothing written. */
	convertToXrgb8888(DRM_FORMAT_XRGB8888, p, 1, dst, 16, 4, 2, YuvEncoding::BT601,
			  YuvRange::Limited, 0, 2);
	convertToXrgb8888(DRM_FORMAT_NV12, p, 1, dst, 16, 4, 2, YuvEncoding::BT601,
			  YuvRange::Limited, 0, 2);
	EXPECT_TRUE(std::all_of(std::begin(dst), std::end(dst), [](uint8_t b) { return b == 0x11; }));
}

/*
 * Packed RGB24: DRM RGB888 is bytes B,G,R in memory (V4L2 BGR24), BGR888 is
 * R,G,B (V4L2 RGB24); XRGB8888 out is B,G,R,0xff. Distinct channel values so
 * a swapped channel shows; encoding and range must not matter.
 */
TEST(Convert, Rgb24KnownBytes)
{
	EXPECT_TRUE(convertSupported(DRM_FORMAT_RGB888));
	EXPECT_TRUE(convertSupported(DRM_FORMAT_BGR888));
	const uint8_t R = 0x11, G = 0x80, B = 0xf3;
	const uint8_t rgb888[6] = { B, G, R, 0x01, 0x02, 0x03 };
	const uint8_t bgr888[6] = { R, G, B, 0x01, 0x02, 0x03 };
	for (const Combo &c : kCombos) {
		uint8_t out[8];
		ConstPlane p { rgb888, 6 };
		convertToXrgb8888(DRM_FORMAT_RGB888, &p, 1, out, 8, 2, 1, c.enc, c.range, 0, 1);
		const uint8_t want[8] = { B, G, R, 0xff, 0x01, 0x02, 0x03, 0xff };
		EXPECT_EQ(0, std::memcmp(out, want, 8)) << "RGB888 " << c.name;
		p = { bgr888, 6 };
		convertToXrgb8888(DRM_FORMAT_BGR888, &p, 1, out, 8, 2, 1, c.enc, c.range, 0, 1);
		const uint8_t want2[8] = { B, G, R, 0xff, 0x03, 0x02, 0x01, 0xff };
		EXPECT_EQ(0, std::memcmp(out, want2, 8)) << "BGR888 " << c.name;
	}
}

/*
 * Odd widths around the vector width, padded source and destination strides,
 * a split into two row ranges: every pixel is its source bytes reordered, X
 * is 0xff, padding and memory past the last row stay untouched. With spad 0
 * the source ends at the last pixel, so an over-read shows under ASan.
 */
TEST(Convert, Rgb24StridesOddWidths)
{
	const uint8_t canary = 0xab;
	std::mt19937 rng(42);
	for (uint32_t fourcc : { DRM_FORMAT_RGB888, DRM_FORMAT_BGR888 })
		for (uint32_t width :
		     { 1u, 2u, 3u, 5u, 7u, 15u, 16u, 17u, 31u, 33u, 63u, 64u, 65u, 101u })
			for (uint32_t height : { 1u, 3u, 6u })
				for (uint32_t spad : { 0u, 1u, 5u })
					for (uint32_t dpad : { 0u, 4u, 7u }) {
						const uint32_t srcStride = width * 3 + spad;
						const uint32_t dstStride = width * 4 + dpad;
						std::vector<uint8_t> src(size_t(srcStride) * height);
						for (auto &b : src)
							b = uint8_t(rng());
						ConstPlane p { src.data(), srcStride };
						std::vector<uint8_t> dst(
							size_t(dstStride) * height + 64, canary);
						/* Two ranges, split on an odd row where there is one. */
						const uint32_t mid =
							height / 2 + (height > 2 ? 1 : 0);
						convertToXrgb8888(fourcc, &p, 1, dst.data(),
								  dstStride, width, height,
								  YuvEncoding::BT709,
								  YuvRange::Full, 0, mid);
						convertToXrgb8888(fourcc, &p, 1, dst.data(),
								  dstStride, width, height,
								  YuvEncoding::BT601,
								  YuvRange::Limited, mid, height);
						SCOPED_TRACE(std::string(fourccName(fourcc)) + " " +
							     std::to_string(width) + "x" +
							     std::to_string(height) + " spad " +
							     std::to_string(spad) + " dpad " +
							     std::to_string(dpad));
						const bool bgrBytes = fourcc == DRM_FORMAT_RGB888;
						for (uint32_t row = 0; row < height; row++) {
							const uint8_t *s =
								&src[size_t(row) * srcStride];
							const uint8_t *d =
								&dst[size_t(row) * dstStride];
							for (uint32_t x = 0; x < width; x++) {
								const uint8_t *px = s + 3 * x;
								const uint8_t r =
									bgrBytes ? px[2] : px[0];
								const uint8_t b =
									bgrBytes ? px[0] : px[2];
								ASSERT_EQ(d[4 * x + 0], b)
									<< x << "," << row;
								ASSERT_EQ(d[4 * x + 1], px[1])
									<< x << "," << row;
								ASSERT_EQ(d[4 * x + 2], r)
									<< x << "," << row;
								ASSERT_EQ(d[4 * x + 3], 0xff)
									<< x << "," << row;
							}
							for (uint32_t b = width * 4; b < dstStride;
							     b++)
								ASSERT_EQ(d[b], canary)
									<< "padding written, row "
									<< row;
						}
						for (size_t b = size_t(dstStride) * height;
						     b < dst.size(); b++)
							ASSERT_EQ(dst[b], canary)
								<< "wrote past the last row";
					}
}

/* Known values: limited-range black/white/grey and the 75% colour bars. */
TEST(Convert, KnownValues)
{
	struct Case {
		YuvEncoding enc;
		YuvRange range;
		uint8_t y, u, v;
		uint8_t r, g, b;
	} cases[] = {
		{ YuvEncoding::BT601, YuvRange::Limited, 16, 128, 128, 0, 0, 0 },
		{ YuvEncoding::BT601, YuvRange::Limited, 235, 128, 128, 255, 255, 255 },
		{ YuvEncoding::BT601, YuvRange::Limited, 126, 128, 128, 128, 128, 128 },
		{ YuvEncoding::BT709, YuvRange::Limited, 235, 128, 128, 255, 255, 255 },
		{ YuvEncoding::BT601, YuvRange::Full, 0, 128, 128, 0, 0, 0 },
		{ YuvEncoding::BT601, YuvRange::Full, 255, 128, 128, 255, 255, 255 },
		/* Full-range exact tie: B = 128 + 1.772 * 125 = 349.5 -> clamp; B = 0 + 221.5 -> 222. */
		{ YuvEncoding::BT601, YuvRange::Full, 0, 253, 128, 0, 0, 222 },
		/* 75% bars, BT.601 limited (yellow, cyan, green, magenta, red, blue). */
		{ YuvEncoding::BT601, YuvRange::Limited, 162, 44, 142, 191, 191, 0 },
		{ YuvEncoding::BT601, YuvRange::Limited, 131, 156, 44, 0, 191, 191 },
		{ YuvEncoding::BT601, YuvRange::Limited, 112, 72, 58, 0, 191, 0 },
		{ YuvEncoding::BT601, YuvRange::Limited, 84, 184, 198, 191, 0, 191 },
		{ YuvEncoding::BT601, YuvRange::Limited, 65, 100, 212, 191, 0, 0 },
		{ YuvEncoding::BT601, YuvRange::Limited, 35, 212, 114, 0, 0, 191 },
	};
	for (const Case &c : cases) {
		const uint8_t src[4] = { c.y, c.u, c.y, c.v };
		uint8_t dst[8] = {};
		ConstPlane p = { src, 4 };
		convertToXrgb8888(DRM_FORMAT_YUYV, &p, 1, dst, 8, 2, 1, c.enc, c.range, 0, 1);
		const Bgr ref = reference(c.enc, c.range, c.y, c.u, c.v);
		/* Bars are rounded values; allow 1 against the nominal, 0 against the reference. */
		EXPECT_NEAR(dst[2], c.r, 1) << int(c.y) << "," << int(c.u) << "," << int(c.v);
		EXPECT_NEAR(dst[1], c.g, 1) << int(c.y) << "," << int(c.u) << "," << int(c.v);
		EXPECT_NEAR(dst[0], c.b, 1) << int(c.y) << "," << int(c.u) << "," << int(c.v);
		EXPECT_EQ(dst[0], ref.b);
		EXPECT_EQ(dst[1], ref.g);
		EXPECT_EQ(dst[2], ref.r);
		EXPECT_EQ(dst[3], 0xff);
		EXPECT_EQ(std::memcmp(dst, dst + 4, 4), 0);
	}
}

/* ------------------------------------------------------------------------- */

TEST(Convert, YuvParamsFromV4l2)
{
	struct Case {
		uint32_t cs, enc, quant;
		bool rgb;
		YuvEncoding e;
		YuvRange r;
	} cases[] = {
		/* Defaults per V4L2_MAP_YCBCR_ENC_DEFAULT / V4L2_MAP_QUANTIZATION_DEFAULT. */
		{ V4L2_COLORSPACE_DEFAULT, 0, 0, false, YuvEncoding::BT601, YuvRange::Limited },
		{ V4L2_COLORSPACE_SMPTE170M, 0, 0, false, YuvEncoding::BT601, YuvRange::Limited },
		{ V4L2_COLORSPACE_470_SYSTEM_M, 0, 0, false, YuvEncoding::BT601, YuvRange::Limited },
		{ V4L2_COLORSPACE_470_SYSTEM_BG, 0, 0, false, YuvEncoding::BT601, YuvRange::Limited },
		{ V4L2_COLORSPACE_REC709, 0, 0, false, YuvEncoding::BT709, YuvRange::Limited },
		{ V4L2_COLORSPACE_DCI_P3, 0, 0, false, YuvEncoding::BT709, YuvRange::Limited },
		{ V4L2_COLORSPACE_SRGB, 0, 0, false, YuvEncoding::BT601, YuvRange::Limited },
		{ V4L2_COLORSPACE_OPRGB, 0, 0, false, YuvEncoding::BT601, YuvRange::Limited },
		{ V4L2_COLORSPACE_JPEG, 0, 0, false, YuvEncoding::BT601, YuvRange::Full },
		{ V4L2_COLORSPACE_RAW, 0, 0, false, YuvEncoding::BT601, YuvRange::Limited },
		/* No BT.2020 / SMPTE 240M matrix: nearest is 709. */
		{ V4L2_COLORSPACE_BT2020, 0, 0, false, YuvEncoding::BT709, YuvRange::Limited },
		{ V4L2_COLORSPACE_SMPTE240M, 0, 0, false, YuvEncoding::BT709, YuvRange::Limited },
		/* RGB: quantization default is full. */
		{ V4L2_COLORSPACE_SRGB, 0, 0, true, YuvEncoding::BT601, YuvRange::Full },
		{ V4L2_COLORSPACE_REC709, 0, 0, true, YuvEncoding::BT601, YuvRange::Full },
		/* Explicit values override the colorspace. */
		{ V4L2_COLORSPACE_SRGB, V4L2_YCBCR_ENC_709, V4L2_QUANTIZATION_FULL_RANGE, false,
		  YuvEncoding::BT709, YuvRange::Full },
		{ V4L2_COLORSPACE_REC709, V4L2_YCBCR_ENC_601, 0, false, YuvEncoding::BT601,
		  YuvRange::Limited },
		{ V4L2_COLORSPACE_JPEG, V4L2_YCBCR_ENC_601, V4L2_QUANTIZATION_LIM_RANGE, false,
		  YuvEncoding::BT601, YuvRange::Limited },
		{ V4L2_COLORSPACE_REC709, V4L2_YCBCR_ENC_XV709, 0, false, YuvEncoding::BT709,
		  YuvRange::Limited },
		{ V4L2_COLORSPACE_SMPTE170M, V4L2_YCBCR_ENC_XV601, 0, false, YuvEncoding::BT601,
		  YuvRange::Limited },
		{ V4L2_COLORSPACE_SRGB, V4L2_YCBCR_ENC_SYCC, 0, false, YuvEncoding::BT601,
		  YuvRange::Limited },
		{ V4L2_COLORSPACE_SRGB, V4L2_YCBCR_ENC_BT2020, 0, false, YuvEncoding::BT709,
		  YuvRange::Limited },
		{ V4L2_COLORSPACE_SRGB, V4L2_YCBCR_ENC_SMPTE240M, 0, false, YuvEncoding::BT709,
		  YuvRange::Limited },
		{ V4L2_COLORSPACE_REC709, 0, V4L2_QUANTIZATION_FULL_RANGE, true, YuvEncoding::BT601,
		  YuvRange::Full },
		{ V4L2_COLORSPACE_SRGB, 0, V4L2_QUANTIZATION_LIM_RANGE, true, YuvEncoding::BT601,
		  YuvRange::Limited },
		/* Unknown values act as DEFAULT. */
		{ V4L2_COLORSPACE_REC709, 99, 77, false, YuvEncoding::BT709, YuvRange::Limited },
		{ V4L2_COLORSPACE_JPEG, 99, 77, false, YuvEncoding::BT601, YuvRange::Full },
	};
	for (const Case &c : cases) {
		YuvEncoding e = YuvEncoding::BT709;
		YuvRange r = YuvRange::Full;
		yuvParamsFromV4l2(c.cs, c.enc, c.quant, c.rgb, &e, &r);
		EXPECT_EQ(int(e), int(c.e)) << "cs " << c.cs << " enc " << c.enc << " q " << c.quant
					    << " rgb " << c.rgb;
		EXPECT_EQ(int(r), int(c.r)) << "cs " << c.cs << " enc " << c.enc << " q " << c.quant
					    << " rgb " << c.rgb;
	}
	/* Null outputs are allowed. */
	yuvParamsFromV4l2(0, 0, 0, false, nullptr, nullptr);
}

/* ------------------------------------------------------------------------- */

namespace {

/*
 * Bit-exact model of GStreamer 1.22 videoconvert's path for these formats
 * with matrix-mode=full, chroma-mode=none (GST_DEBUG=video-converter:7 shows
 * "no fastpath found", "use fast AYUV -> RGB matrix"): unpack to AYUV by
 * sample replication, then video_orc_convert_AYUV_ARGB, which
 *  - takes every component as a signed byte x - 128 (Y included),
 *  - widens it with splatbw (x * 257 as a 16-bit pattern),
 *  - multiplies with mulhsw ((a * b) >> 16) by 5 coefficients
 *    rint(256 * k): Y scale, Cr->R, Cb->B, Cb->G, Cr->G,
 *  - adds in 16 bits, saturates to a signed byte and adds 128 back.
 * The offset column of the matrix is never passed to the orc function, so
 * the implied offset is 128 - Yscale * 128 + ...: right for full range
 * (Yscale = 1), but for limited range it drops Yscale * 112 - 128 = 2.41, i.e.
 * GStreamer's limited-range output is ~2.4 levels darker than BT.601/709
 * say (Y' 235 -> 252/253 instead of 255, Y' 126 -> 125/126 instead of 128).
 * On top of that: 8-bit coefficients (298/256 for 255/219), the *257/65536
 * gain and three truncating multiplies.
 */
Bgr gstModel(YuvEncoding enc, YuvRange range, int Y, int U, int V)
{
	const double kr = enc == YuvEncoding::BT709 ? 0.2126 : 0.299;
	const double kb = enc == YuvEncoding::BT709 ? 0.0722 : 0.114;
	const double kg = 1.0 - kr - kb;
	const bool full = range == YuvRange::Full;
	const double ys = full ? 1.0 : 255.0 / 219.0, cs = full ? 1.0 : 255.0 / 224.0;
	const int p1 = int(std::rint(256 * ys));
	const int p2 = int(std::rint(256 * 2 * (1 - kr) * cs));
	const int p3 = int(std::rint(256 * 2 * (1 - kb) * cs));
	const int p4 = int(std::rint(-256 * kb * 2 * (1 - kb) / kg * cs));
	const int p5 = int(std::rint(-256 * kr * 2 * (1 - kr) / kg * cs));
	auto splat = [](int x) { return int(int16_t(uint16_t((x - 128) & 0xff) * 257)); };
	auto mulhsw = [](int a, int b) { return int(int16_t((a * b) >> 16)); };
	auto out = [](int w) {
		return uint8_t(std::min(127, std::max(-128, int(int16_t(w)))) + 128);
	};
	const int wy = mulhsw(splat(Y), p1), wu = splat(U), wv = splat(V);
	return { out(wy + mulhsw(wu, p3)), out(wy + mulhsw(wu, p4) + mulhsw(wv, p5)),
		 out(wy + mulhsw(wv, p2)) };
}

/*
 * Largest |gstModel - reference| over all 2^24 inputs (test GstModelBound
 * below computes and checks them): limited range is dominated by the
 * missing 2.41 offset plus truncation, full range by truncation and the
 * 8-bit coefficients.
 */
constexpr int kGstMaxDevLimited = 6;
constexpr int kGstMaxDevFull = 3;
/* Mean |d| on the random frames below, measured on Debian bookworm (GStreamer 1.22.0). */
constexpr double kGstMaxMeanLimited = 1.75;
constexpr double kGstMaxMeanFull = 0.65;

} /* namespace */

TEST(Convert, GstModelBound)
{
	for (const Combo &c : kCombos) {
		int maxDev = 0;
		uint64_t hist[256] = {};
		for (int U = 0; U < 256; U++)
			for (int V = 0; V < 256; V++)
				for (int Y = 0; Y < 256; Y++) {
					const Bgr m = gstModel(c.enc, c.range, Y, U, V);
					const Bgr r = reference(c.enc, c.range, Y, U, V);
					const int d =
						std::max({ std::abs(m.b - r.b), std::abs(m.g - r.g),
							   std::abs(m.r - r.r) });
					hist[d]++;
					maxDev = std::max(maxDev, d);
				}
		std::printf(
			"[ gstmodel ] %-13s max |d| over all 2^24 inputs %d (pixels with max channel |d| 0:%.1f%% 1:%.1f%% 2:%.1f%% 3:%.1f%% >3:%.2f%%)\n",
			c.name, maxDev, 100.0 * hist[0] / (1 << 24), 100.0 * hist[1] / (1 << 24),
			100.0 * hist[2] / (1 << 24), 100.0 * hist[3] / (1 << 24),
			100.0 * (double((1 << 24) - hist[0] - hist[1] - hist[2] - hist[3])) /
				(1 << 24));
		EXPECT_EQ(maxDev, c.range == YuvRange::Full ? kGstMaxDevFull : kGstMaxDevLimited)
			<< c.name;
	}
}

namespace {

bool haveGstLaunch()
{
	return std::system("gst-launch-1.0 --version >/dev/null 2>&1") == 0;
}

std::vector<uint8_t> readFile(const std::string &path)
{
	std::ifstream in(path, std::ios::binary);
	return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

} /* namespace */

/*
 * Same random frames (every byte random, so out-of-gamut and out-of-range
 * inputs are included) through
 *   rawvideoparse colorimetry=R:M:0:0 ! videoconvert dither=none
 *   chroma-mode=none matrix-mode=full ! BGRx
 * Checks: (1) GStreamer's output equals gstModel() bit for bit, i.e. it
 * samples chroma exactly like we do (pair / row-pair replication) and uses
 * the same matrix and range; its differences from us are all explained by
 * its 8-bit arithmetic and the dropped limited-range offset (see gstModel);
 * (2) the deviation from our (exact) output stays within the bound over all
 * inputs: 6 for limited range (mean ~1.6, GStreamer darker), 3 for full.
 */
TEST(Convert, GstVideoconvert)
{
	if (!haveGstLaunch())
		GTEST_SKIP() << "gst-launch-1.0 not found";

	char dirTemplate[] = "/tmp/dmapipe-convert-XXXXXX";
	ASSERT_NE(mkdtemp(dirTemplate), nullptr);
	const std::string dir = dirTemplate;

	const uint32_t W = 320, H = 240;
	for (uint32_t fourcc : kFormats)
		for (const Combo &c : kCombos) {
			Frame f = randomFrame(fourcc, W, H, 1234 + fourcc % 1000);
			const std::string in = dir + "/in.yuv", out = dir + "/out.bgrx";
			{
				std::ofstream o(in, std::ios::binary);
				o.write(reinterpret_cast<const char *>(f.p0.data()), f.p0.size());
				o.write(reinterpret_cast<const char *>(f.p1.data()), f.p1.size());
			}
			const char *gstFormat = fourcc == DRM_FORMAT_YUYV ? "yuy2"
				: fourcc == DRM_FORMAT_UYVY               ? "uyvy"
									  : "nv12";
			/* range:matrix:transfer:primaries; range 1 = 0-255, 2 = 16-235; matrix 3 = BT709, 4 = BT601. */
			const std::string colorimetry =
				std::string(c.range == YuvRange::Full ? "1" : "2") + ":" +
				(c.enc == YuvEncoding::BT709 ? "3" : "4") + ":0:0";
			const std::string cmd = "gst-launch-1.0 -q filesrc location=" + in +
				" ! rawvideoparse format=" + gstFormat +
				" width=" + std::to_string(W) + " height=" + std::to_string(H) +
				" colorimetry=" + colorimetry +
				" ! videoconvert dither=none chroma-mode=none matrix-mode=full n-threads=1"
				" ! video/x-raw,format=BGRx ! filesink location=" +
				out + " >/dev/null 2>&1";
			ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
			std::vector<uint8_t> gst = readFile(out);
			ASSERT_EQ(gst.size(), size_t(W) * H * 4) << cmd;

			std::vector<uint8_t> ours(gst.size());
			auto planes = f.planes();
			convertToXrgb8888(fourcc, planes.data(), f.numPlanes(), ours.data(), W * 4,
					  W, H, c.enc, c.range, 0, H);

			int hist[256] = {};
			int maxDev = 0;
			double sum = 0, signedSum = 0;
			size_t n = 0, modelMismatch = 0;
			for (uint32_t row = 0; row < H; row++)
				for (uint32_t x = 0; x < W; x++) {
					int Y, U, V;
					sample(f, x, row, &Y, &U, &V);
					const Bgr m = gstModel(c.enc, c.range, Y, U, V);
					const size_t o = (size_t(row) * W + x) * 4;
					if (gst[o] != m.b || gst[o + 1] != m.g || gst[o + 2] != m.r)
						modelMismatch++;
					for (int ch = 0; ch < 3; ch++) {
						const int d = int(gst[o + ch]) - int(ours[o + ch]);
						hist[std::abs(d)]++;
						maxDev = std::max(maxDev, std::abs(d));
						sum += std::abs(d);
						signedSum += d;
						n++;
					}
				}
			std::printf(
				"[ gst      ] %s %-13s max %d mean |d| %.4f mean d %+.4f exact %.2f%% |d|=1 %.2f%% |d|=2 %.2f%% |d|>2 %.3f%%, model mismatches %zu\n",
				fourccName(fourcc), c.name, maxDev, sum / n, signedSum / n,
				100.0 * hist[0] / n, 100.0 * hist[1] / n, 100.0 * hist[2] / n,
				100.0 * (n - hist[0] - hist[1] - hist[2]) / n, modelMismatch);
			const bool full = c.range == YuvRange::Full;
			EXPECT_LE(maxDev, full ? kGstMaxDevFull : kGstMaxDevLimited)
				<< fourccName(fourcc) << " " << c.name;
			EXPECT_LE(sum / n, full ? kGstMaxMeanFull : kGstMaxMeanLimited)
				<< fourccName(fourcc) << " " << c.name;
			/* Both sides agree on siting/order: the deviation is the model's. */
			EXPECT_EQ(modelMismatch, 0u) << fourccName(fourcc) << " " << c.name;
			std::remove(in.c_str());
			std::remove(out.c_str());
		}
	rmdir(dir.c_str());
}
