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
#include <iomanip>
#include <iostream>
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
	{ YuvEncoding::BT2020, YuvRange::Limited, "BT2020_Limited" },
	{ YuvEncoding::BT2020, YuvRange::Full, "BT2020_Full" },
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

/* BT.601, BT.709 and BT.2020 (non-constant luminance) Kr and Kb. */
double lumaKr(YuvEncoding enc)
{
	return enc == YuvEncoding::BT709 ? 0.2126 : enc == YuvEncoding::BT2020 ? 0.2627 : 0.299;
}

double lumaKb(YuvEncoding enc)
{
	return enc == YuvEncoding::BT709 ? 0.0722 : enc == YuvEncoding::BT2020 ? 0.0593 : 0.114;
}

Bgr reference(YuvEncoding enc, YuvRange range, int Y, int U, int V)
{
	const double kr = lumaKr(enc), kb = lumaKb(enc);
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

/*
 * Where each source layout keeps its samples, written from the DRM fourcc
 * definitions (drm_fourcc.h) independently of the kernel's own table.
 */
struct TestLayout {
	uint32_t fourcc;
	const char *name;
	enum { Packed, Semi, Planar, Grey } kind;
	int y0, u, y1, v; /* Packed: byte offsets in the macropixel */
	bool crFirst; /* Semi/Planar: Cr before Cb (NV21, NV61, YVU420) */
	uint32_t vsub; /* chroma rows per luma row */
	const char *gst; /* GStreamer's name */
};

const TestLayout kLayouts[] = {
	{ DRM_FORMAT_YUYV, "YUYV", TestLayout::Packed, 0, 1, 2, 3, false, 1, "YUY2" },
	{ DRM_FORMAT_YVYU, "YVYU", TestLayout::Packed, 0, 3, 2, 1, false, 1, "YVYU" },
	{ DRM_FORMAT_UYVY, "UYVY", TestLayout::Packed, 1, 0, 3, 2, false, 1, "UYVY" },
	{ DRM_FORMAT_VYUY, "VYUY", TestLayout::Packed, 1, 2, 3, 0, false, 1, "VYUY" },
	{ DRM_FORMAT_NV12, "NV12", TestLayout::Semi, 0, 0, 0, 0, false, 2, "NV12" },
	{ DRM_FORMAT_NV21, "NV21", TestLayout::Semi, 0, 0, 0, 0, true, 2, "NV21" },
	{ DRM_FORMAT_NV16, "NV16", TestLayout::Semi, 0, 0, 0, 0, false, 1, "NV16" },
	{ DRM_FORMAT_NV61, "NV61", TestLayout::Semi, 0, 0, 0, 0, true, 1, "NV61" },
	{ DRM_FORMAT_YUV420, "YUV420", TestLayout::Planar, 0, 0, 0, 0, false, 2, "I420" },
	{ DRM_FORMAT_YVU420, "YVU420", TestLayout::Planar, 0, 0, 0, 0, true, 2, "YV12" },
	{ DRM_FORMAT_YUV422, "YUV422", TestLayout::Planar, 0, 0, 0, 0, false, 1, "Y42B" },
	{ DRM_FORMAT_R8, "GREY", TestLayout::Grey, 0, 0, 0, 0, false, 1, "GRAY8" },
};

const TestLayout &layoutOf(uint32_t fourcc)
{
	for (const TestLayout &l : kLayouts)
		if (l.fourcc == fourcc)
			return l;
	std::abort();
}

/* Source frame in one of the supported layouts, built from per-pixel Y and per-pair Cb/Cr. */
struct Frame {
	uint32_t fourcc;
	uint32_t width, height;
	std::vector<uint8_t> p[3];
	uint32_t stride[3] = {};
	unsigned planes = 1;

	std::array<ConstPlane, 3> constPlanes() const
	{
		return { ConstPlane { p[0].data(), stride[0] }, ConstPlane { p[1].data(), stride[1] },
			 ConstPlane { p[2].data(), stride[2] } };
	}
	unsigned numPlanes() const { return planes; }
};

/*
 * yAt(x, row), uvAt(pair, row) -> {U, V}. For 4:2:0, uvAt is only queried for
 * even rows (chroma row = row / 2). pad0/pad1 add bytes to the minimum
 * strides of the luma / chroma planes, filled with garbage.
 */
template<typename YF, typename UVF>
Frame makeFrame(uint32_t fourcc, uint32_t width, uint32_t height, YF yAt, UVF uvAt,
		uint32_t pad0 = 0, uint32_t pad1 = 0)
{
	const TestLayout &l = layoutOf(fourcc);
	Frame f;
	f.fourcc = fourcc;
	f.width = width;
	f.height = height;
	const uint32_t pairs = (width + 1) / 2;
	const uint32_t crows = (height + l.vsub - 1) / l.vsub;
	if (l.kind == TestLayout::Packed) {
		f.stride[0] = pairs * 4 + pad0;
		f.p[0].assign(size_t(f.stride[0]) * height, 0xee);
		for (uint32_t row = 0; row < height; row++) {
			uint8_t *m = &f.p[0][size_t(row) * f.stride[0]];
			for (uint32_t i = 0; i < pairs; i++, m += 4) {
				auto uv = uvAt(i, row);
				m[l.y0] = yAt(2 * i, row);
				/* Odd width: the unused Y of the last pair is garbage. */
				m[l.y1] = 2 * i + 1 < width ? yAt(2 * i + 1, row) : 0x5a;
				m[l.u] = uv.first;
				m[l.v] = uv.second;
			}
		}
		return f;
	}
	f.stride[0] = width + pad0;
	f.p[0].assign(size_t(f.stride[0]) * height, 0xee);
	for (uint32_t row = 0; row < height; row++)
		for (uint32_t x = 0; x < width; x++)
			f.p[0][size_t(row) * f.stride[0] + x] = yAt(x, row);
	if (l.kind == TestLayout::Semi) {
		f.planes = 2;
		f.stride[1] = pairs * 2 + pad1;
		f.p[1].assign(size_t(f.stride[1]) * crows, 0xee);
		for (uint32_t crow = 0; crow < crows; crow++)
			for (uint32_t i = 0; i < pairs; i++) {
				auto uv = uvAt(i, crow * l.vsub);
				uint8_t *c = &f.p[1][size_t(crow) * f.stride[1] + 2 * i];
				c[l.crFirst ? 1 : 0] = uv.first;
				c[l.crFirst ? 0 : 1] = uv.second;
			}
	} else if (l.kind == TestLayout::Planar) {
		f.planes = 3;
		for (unsigned q = 1; q < 3; q++) {
			f.stride[q] = pairs + pad1;
			f.p[q].assign(size_t(f.stride[q]) * crows, 0xee);
		}
		const unsigned cb = l.crFirst ? 2 : 1, cr = l.crFirst ? 1 : 2;
		for (uint32_t crow = 0; crow < crows; crow++)
			for (uint32_t i = 0; i < pairs; i++) {
				auto uv = uvAt(i, crow * l.vsub);
				f.p[cb][size_t(crow) * f.stride[cb] + i] = uv.first;
				f.p[cr][size_t(crow) * f.stride[cr] + i] = uv.second;
			}
	}
	return f;
}

const char *fourccName(uint32_t f)
{
	for (const TestLayout &l : kLayouts)
		if (l.fourcc == f)
			return l.name;
	switch (f) {
	case DRM_FORMAT_RGB888:
		return "RGB888";
	case DRM_FORMAT_BGR888:
		return "BGR888";
	case DRM_FORMAT_RGB565:
		return "RGB565";
	case DRM_FORMAT_XRGB8888:
		return "XRGB8888";
	default:
		return "?";
	}
}

/* Every Y'CbCr layout; the exhaustive test runs on one of each chroma access pattern. */
std::vector<uint32_t> allYuvFormats()
{
	std::vector<uint32_t> v;
	for (const TestLayout &l : kLayouts)
		v.push_back(l.fourcc);
	return v;
}
const std::vector<uint32_t> kFormats = allYuvFormats();
const uint32_t kExhaustiveFormats[] = { DRM_FORMAT_YUYV, DRM_FORMAT_NV12 };

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

	for (uint32_t fourcc : kExhaustiveFormats) {
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
		auto planes = f.constPlanes();

		/* Converts in chunks of rows; check(x, uv, px, want, deviation) for every pixel. */
		const uint32_t chunk = 1024;
		std::vector<uint8_t> dst(size_t(W) * 4 * chunk);
		auto each = [&](ConvertPrecision precision, auto &&check) {
			for (uint32_t r0 = 0; r0 < H; r0 += chunk) {
				/* dst points "before" the chunk so that row r lands in the buffer. */
				uint8_t *base = dst.data() - size_t(r0) * W * 4;
				convertToXrgb8888(fourcc, planes.data(), f.numPlanes(), base, W * 4,
						  W, H, c.enc, c.range, r0, r0 + chunk, precision);
				for (uint32_t r = r0; r < r0 + chunk; r++) {
					const uint32_t uv = uvIndex(r);
					const uint8_t *px = &dst[size_t(r - r0) * W * 4];
					for (uint32_t x = 0; x < W; x++, px += 4) {
						const Bgr &e = ref[(size_t(uv) << 8) | x];
						check(x, uv, px, e,
						      std::max({ std::abs(px[0] - e.b),
								 std::abs(px[1] - e.g),
								 std::abs(px[2] - e.r) }));
					}
				}
			}
		};
		auto describe = [&](uint32_t x, uint32_t uv, const uint8_t *px, const Bgr &e) {
			return std::string(fourccName(fourcc)) + " Y=" + std::to_string(x) +
				" Cb=" + std::to_string(uv >> 8) +
				" Cr=" + std::to_string(uv & 255) + " got " + std::to_string(px[2]) +
				"," + std::to_string(px[1]) + "," + std::to_string(px[0]) + "," +
				std::to_string(px[3]) + " want " + std::to_string(e.r) + "," +
				std::to_string(e.g) + "," + std::to_string(e.b);
		};

		uint64_t mismatches = 0;
		int maxDev = 0;
		each(ConvertPrecision::Exact,
		     [&](uint32_t x, uint32_t uv, const uint8_t *px, const Bgr &e, int dev) {
			     if (!dev && px[3] == 0xff)
				     return;
			     if (mismatches++ < 5)
				     ADD_FAILURE() << describe(x, uv, px, e);
			     maxDev = std::max(maxDev, dev);
		     });
		EXPECT_EQ(mismatches, 0u) << fourccName(fourcc) << " max deviation " << maxDev;

		/*
		 * ConvertPrecision::Fast on this CPU's ISA: within 1 everywhere;
		 * how many triples differ at all is printed (docs/stages.md).
		 */
		uint64_t off = 0, beyond = 0;
		int fastMax = 0;
		each(ConvertPrecision::Fast,
		     [&](uint32_t x, uint32_t uv, const uint8_t *px, const Bgr &e, int dev) {
			     off += dev != 0;
			     fastMax = std::max(fastMax, dev);
			     if ((dev > 1 || px[3] != 0xff) && beyond++ < 5)
				     ADD_FAILURE() << "fast: " << describe(x, uv, px, e);
		     });
		EXPECT_EQ(beyond, 0u) << fourccName(fourcc) << " fast, off by up to " << fastMax;
		if (fourcc == DRM_FORMAT_YUYV)
			std::cout << "[ fast     ] " << c.name << " ("
				  << convertIsaName(convertIsa()) << "): " << off
				  << " of 2^24 triples off by " << fastMax << " (" << std::fixed
				  << std::setprecision(3) << 100.0 * double(off) / double(1 << 24)
				  << " %)" << std::endl;
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
	const TestLayout &l = layoutOf(f.fourcc);
	const uint32_t i = x / 2, crow = row / l.vsub;
	switch (l.kind) {
	case TestLayout::Packed: {
		const uint8_t *m = &f.p[0][size_t(row) * f.stride[0] + 4 * i];
		*Y = m[x & 1 ? l.y1 : l.y0], *U = m[l.u], *V = m[l.v];
		break;
	}
	case TestLayout::Semi: {
		const uint8_t *c = &f.p[1][size_t(crow) * f.stride[1] + 2 * i];
		*Y = f.p[0][size_t(row) * f.stride[0] + x];
		*U = c[l.crFirst ? 1 : 0], *V = c[l.crFirst ? 0 : 1];
		break;
	}
	case TestLayout::Planar: {
		const unsigned cb = l.crFirst ? 2 : 1, cr = l.crFirst ? 1 : 2;
		*Y = f.p[0][size_t(row) * f.stride[0] + x];
		*U = f.p[cb][size_t(crow) * f.stride[cb] + i];
		*V = f.p[cr][size_t(crow) * f.stride[cr] + i];
		break;
	}
	case TestLayout::Grey:
		*Y = f.p[0][size_t(row) * f.stride[0] + x];
		*U = *V = 128;
		break;
	}
}

} /* namespace */

TEST(Convert, Supported)
{
	EXPECT_TRUE(convertSupported(DRM_FORMAT_YUYV));
	EXPECT_TRUE(convertSupported(DRM_FORMAT_UYVY));
	EXPECT_TRUE(convertSupported(DRM_FORMAT_NV12));
	for (uint32_t f : kFormats) {
		EXPECT_TRUE(convertSupported(f, DRM_FORMAT_XRGB8888)) << fourccName(f);
		EXPECT_TRUE(convertSupported(f, DRM_FORMAT_RGB565)) << fourccName(f);
		EXPECT_EQ(convertPlanes(f),
			  layoutOf(f).kind == TestLayout::Planar         ? 3u
				  : layoutOf(f).kind == TestLayout::Semi ? 2u
									 : 1u)
			<< fourccName(f);
	}
	/* Nothing to convert, or no such output. */
	EXPECT_FALSE(convertSupported(DRM_FORMAT_XRGB8888));
	EXPECT_FALSE(convertSupported(DRM_FORMAT_RGB565, DRM_FORMAT_RGB565));
	EXPECT_TRUE(convertSupported(DRM_FORMAT_XRGB8888, DRM_FORMAT_RGB565));
	EXPECT_TRUE(convertSupported(DRM_FORMAT_RGB565, DRM_FORMAT_XRGB8888));
	EXPECT_FALSE(convertSupported(DRM_FORMAT_YUYV, DRM_FORMAT_NV12));
	EXPECT_FALSE(convertSupported(DRM_FORMAT_NV24));
	EXPECT_FALSE(convertSupported(0));
	EXPECT_EQ(convertPlanes(0), 0u);
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
					const Combo &c =
						kCombos[(width + height + dpad) % std::size(kCombos)];
					Frame f = randomFrame(fourcc, width, height,
							      width * 131 + height, 13, 5);
					auto planes = f.constPlanes();
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
			auto planes = f.constPlanes();
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
 * RGB565 output, every layout: each pixel is the exact XRGB8888 result
 * truncated to 5/6/5 bits (GStreamer's RGB16 pack without dither), odd
 * sizes and padded strides, padding untouched.
 */
TEST(Convert, Rgb565Output)
{
	const uint8_t canary = 0xab;
	for (uint32_t fourcc : kFormats)
		for (uint32_t width : { 1u, 3u, 16u, 33u, 65u })
			for (uint32_t height : { 1u, 3u, 4u }) {
				const Combo &c = kCombos[(width + height) % std::size(kCombos)];
				Frame f =
					randomFrame(fourcc, width, height, width * 7 + height, 3, 1);
				auto planes = f.constPlanes();
				const uint32_t xs = width * 4, ds = width * 2 + 6;
				std::vector<uint8_t> xrgb(size_t(xs) * height);
				std::vector<uint8_t> rgb565(size_t(ds) * height + 16, canary);
				convertFrame(fourcc, planes.data(), f.numPlanes(),
					     DRM_FORMAT_XRGB8888, xrgb.data(), xs, width, height,
					     c.enc, c.range, 0, height);
				convertFrame(fourcc, planes.data(), f.numPlanes(),
					     DRM_FORMAT_RGB565, rgb565.data(), ds, width, height,
					     c.enc, c.range, 0, height);
				for (uint32_t row = 0; row < height; row++) {
					for (uint32_t x = 0; x < width; x++) {
						const uint8_t *px = &xrgb[size_t(row) * xs + 4 * x];
						const uint16_t want =
							uint16_t((px[2] >> 3) << 11 |
								 (px[1] >> 2) << 5 | px[0] >> 3);
						const uint8_t *o = &rgb565[size_t(row) * ds + 2 * x];
						ASSERT_EQ(uint16_t(o[0] | o[1] << 8), want)
							<< fourccName(fourcc) << " " << width << "x"
							<< height << " at " << x << "," << row;
					}
					for (uint32_t b = width * 2; b < ds; b++)
						ASSERT_EQ(rgb565[size_t(row) * ds + b], canary);
				}
				for (size_t b = size_t(ds) * height; b < rgb565.size(); b++)
					ASSERT_EQ(rgb565[b], canary);
			}
}

namespace {

/* Sets the fast path's ISA for a scope. */
struct IsaScope {
	ConvertIsa saved = convertIsa();
	explicit IsaScope(ConvertIsa isa)
	{
		EXPECT_TRUE(setConvertIsa(isa)) << convertIsaName(isa);
	}
	~IsaScope() { setConvertIsa(saved); }
};

/* Frames whose samples are only the values clamps and ranges turn on. */
Frame edgeFrame(uint32_t fourcc, uint32_t width, uint32_t height, uint32_t seed)
{
	static const uint8_t kEdges[] = { 0,   1,   15,  16,  17,  127, 128, 129,
					  234, 235, 236, 239, 240, 241, 254, 255 };
	std::mt19937 rng(seed);
	std::vector<uint8_t> v(size_t(width + 2) * height * 3);
	for (auto &b : v)
		b = kEdges[rng() % std::size(kEdges)];
	return makeFrame(
		fourcc, width, height,
		[&](uint32_t x, uint32_t row) { return v[size_t(row) * (width + 2) + x]; },
		[&](uint32_t i, uint32_t row) {
			const size_t at = size_t(height + row) * (width + 2) + 2 * i;
			return std::make_pair(v[at], v[at + 1]);
		},
		5, 3);
}

} /* namespace */

/*
 * Every SIMD path this build and CPU have (SSE2 and AVX2 on x86-64, NEON on
 * arm64, under qemu-aarch64 in scripts/run-arm64-tests) writes the same
 * bytes as the scalar reference, for every layout, both outputs, every
 * matrix and range, widths around each ISA's block (tails included), random
 * and edge samples; stride padding stays untouched.
 */
TEST(ConvertFast, IsasMatchScalar)
{
	std::vector<ConvertIsa> isas;
	for (ConvertIsa isa : { ConvertIsa::Sse2, ConvertIsa::Avx2, ConvertIsa::Neon })
		if (convertIsaSupported(isa))
			isas.push_back(isa);
	std::cout << "[ isas     ] checked:";
	for (ConvertIsa isa : isas)
		std::cout << " " << convertIsaName(isa);
	std::cout << " (default " << convertIsaName(convertIsa()) << ")" << std::endl;
	if (isas.empty())
		GTEST_SKIP() << "no SIMD path on this CPU";

	const uint8_t canary = 0xab;
	unsigned n = 0;
	for (uint32_t fourcc : kFormats)
		for (uint32_t out : { DRM_FORMAT_XRGB8888, DRM_FORMAT_RGB565 })
			for (uint32_t width : { 1u, 2u, 7u, 8u, 9u, 15u, 16u, 17u, 23u, 31u, 32u,
						33u, 48u, 63u, 100u, 641u })
				for (int edge = 0; edge < 2; edge++) {
					const uint32_t height = 3;
					const Combo &c = kCombos[n++ % std::size(kCombos)];
					Frame f = edge ? edgeFrame(fourcc, width, height, n)
						       : randomFrame(fourcc, width, height, n, 7, 3);
					auto planes = f.constPlanes();
					const uint32_t bpp = out == DRM_FORMAT_RGB565 ? 2 : 4;
					const uint32_t ds = width * bpp + 5;
					std::vector<uint8_t> want(size_t(ds) * height + 32, canary);
					{
						IsaScope scalar(ConvertIsa::Scalar);
						convertFrame(fourcc, planes.data(), f.numPlanes(),
							     out, want.data(), ds, width, height,
							     c.enc, c.range, 0, height,
							     ConvertPrecision::Fast);
					}
					for (ConvertIsa isa : isas) {
						IsaScope scope(isa);
						std::vector<uint8_t> got(want.size(), canary);
						convertFrame(fourcc, planes.data(), f.numPlanes(),
							     out, got.data(), ds, width, height,
							     c.enc, c.range, 0, height,
							     ConvertPrecision::Fast);
						if (got != want) {
							size_t at = 0;
							while (got[at] == want[at])
								at++;
							FAIL() << convertIsaName(isa) << " "
							       << fourccName(fourcc) << " -> "
							       << fourccName(out) << " " << width
							       << (edge ? " edge" : " random")
							       << " " << c.name << ": byte " << at
							       << " (row " << at / ds << ") "
							       << int(got[at]) << ", scalar "
							       << int(want[at]);
						}
					}
					/* The scalar reference itself: RGB565 is XRGB8888 truncated. */
					if (out == DRM_FORMAT_RGB565) {
						std::vector<uint8_t> xrgb(size_t(width) * 4 * height);
						IsaScope scalar(ConvertIsa::Scalar);
						convertFrame(fourcc, planes.data(), f.numPlanes(),
							     DRM_FORMAT_XRGB8888, xrgb.data(),
							     width * 4, width, height, c.enc, c.range,
							     0, height, ConvertPrecision::Fast);
						for (uint32_t row = 0; row < height; row++)
							for (uint32_t x = 0; x < width; x++) {
								const uint8_t *p =
									&xrgb[(size_t(row) * width + x) * 4];
								const uint8_t *o =
									&want[size_t(row) * ds + 2 * x];
								ASSERT_EQ(uint16_t(o[0] | o[1] << 8),
									  uint16_t((p[2] >> 3) << 11 |
										   (p[1] >> 2) << 5 |
										   p[0] >> 3));
							}
					}
					for (uint32_t row = 0; row < height; row++)
						for (uint32_t b = width * bpp; b < ds; b++)
							ASSERT_EQ(want[size_t(row) * ds + b], canary);
				}
}

/* Fast and Exact: the same pixel positions, chroma siting and odd tails; at most 1 apart. */
TEST(ConvertFast, WithinOneOfExactOnEveryLayout)
{
	for (uint32_t fourcc : kFormats)
		for (const Combo &c : kCombos)
			for (uint32_t width : { 1u, 33u, 640u }) {
				const uint32_t height = 5;
				Frame f = randomFrame(fourcc, width, height, width + 3, 1, 2);
				auto planes = f.constPlanes();
				std::vector<uint8_t> exact(size_t(width) * 4 * height),
					fast(exact.size());
				convertToXrgb8888(fourcc, planes.data(), f.numPlanes(),
						  exact.data(), width * 4, width, height, c.enc,
						  c.range, 0, height);
				convertToXrgb8888(fourcc, planes.data(), f.numPlanes(), fast.data(),
						  width * 4, width, height, c.enc, c.range, 0,
						  height, ConvertPrecision::Fast);
				for (size_t i = 0; i < exact.size(); i++)
					ASSERT_LE(std::abs(int(exact[i]) - int(fast[i])), 1)
						<< fourccName(fourcc) << " " << c.name << " byte "
						<< i;
			}
}

TEST(ConvertFast, IsaSelection)
{
	EXPECT_TRUE(convertIsaSupported(ConvertIsa::Scalar));
	EXPECT_TRUE(convertIsaSupported(convertIsa()));
#if defined(__x86_64__)
	EXPECT_TRUE(convertIsaSupported(ConvertIsa::Sse2));
	EXPECT_FALSE(convertIsaSupported(ConvertIsa::Neon));
#elif defined(__aarch64__)
	EXPECT_TRUE(convertIsaSupported(ConvertIsa::Neon));
	EXPECT_FALSE(convertIsaSupported(ConvertIsa::Avx2));
#endif
	const ConvertIsa saved = convertIsa();
	for (ConvertIsa isa : { ConvertIsa::Sse2, ConvertIsa::Avx2, ConvertIsa::Neon })
		if (!convertIsaSupported(isa)) {
			EXPECT_FALSE(setConvertIsa(isa)) << convertIsaName(isa);
			EXPECT_EQ(convertIsa(), saved);
		}
	EXPECT_TRUE(setConvertIsa(ConvertIsa::Scalar));
	EXPECT_EQ(convertIsa(), ConvertIsa::Scalar);
	EXPECT_TRUE(setConvertIsa(saved));
	if (!getenv("DMAPIPE_CONVERT_ISA")) {
		/* The default is the widest the CPU has. */
		if (convertIsaSupported(ConvertIsa::Avx2))
			EXPECT_EQ(saved, ConvertIsa::Avx2);
		else if (convertIsaSupported(ConvertIsa::Neon))
			EXPECT_EQ(saved, ConvertIsa::Neon);
	}
}

/*
 * R'G'B' sources: RGB565 widened by bit replication, XRGB8888 and RGB888 /
 * BGR888 into RGB565 by truncation; every 16-bit value round-trips.
 */
TEST(Convert, RgbSources)
{
	std::vector<uint8_t> all(65536 * 2);
	for (uint32_t v = 0; v < 65536; v++)
		all[2 * v] = uint8_t(v), all[2 * v + 1] = uint8_t(v >> 8);
	std::vector<uint8_t> xrgb(65536 * 4), back(65536 * 2);
	ConstPlane p { all.data(), 65536 * 2 };
	convertFrame(DRM_FORMAT_RGB565, &p, 1, DRM_FORMAT_XRGB8888, xrgb.data(), 65536 * 4, 65536,
		     1, YuvEncoding::BT601, YuvRange::Limited, 0, 1);
	for (uint32_t v = 0; v < 65536; v++) {
		const uint32_t r = v >> 11, g = (v >> 5) & 63, b = v & 31;
		ASSERT_EQ(xrgb[4 * v + 2], (r << 3) | (r >> 2)) << v;
		ASSERT_EQ(xrgb[4 * v + 1], (g << 2) | (g >> 4)) << v;
		ASSERT_EQ(xrgb[4 * v + 0], (b << 3) | (b >> 2)) << v;
		ASSERT_EQ(xrgb[4 * v + 3], 0xff) << v;
	}
	ConstPlane x { xrgb.data(), 65536 * 4 };
	convertFrame(DRM_FORMAT_XRGB8888, &x, 1, DRM_FORMAT_RGB565, back.data(), 65536 * 2, 65536,
		     1, YuvEncoding::BT601, YuvRange::Limited, 0, 1);
	EXPECT_EQ(back, all);

	const uint8_t rgb888[3] = { 0x1f, 0x83, 0xf4 }; /* bytes B, G, R */
	const uint8_t bgr888[3] = { 0xf4, 0x83, 0x1f }; /* bytes R, G, B */
	const uint16_t want = uint16_t((0xf4 >> 3) << 11 | (0x83 >> 2) << 5 | (0x1f >> 3));
	for (auto [fourcc, bytes] : { std::make_pair(DRM_FORMAT_RGB888, rgb888),
				      std::make_pair(DRM_FORMAT_BGR888, bgr888) }) {
		uint8_t out[2];
		ConstPlane q { bytes, 3 };
		convertFrame(fourcc, &q, 1, DRM_FORMAT_RGB565, out, 2, 1, 1, YuvEncoding::BT709,
			     YuvRange::Full, 0, 1);
		EXPECT_EQ(uint16_t(out[0] | out[1] << 8), want) << fourccName(fourcc);
	}
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
		/* BT.2020 has its matrix; SMPTE 240M has none: nearest is 709. */
		{ V4L2_COLORSPACE_BT2020, 0, 0, false, YuvEncoding::BT2020, YuvRange::Limited },
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
		{ V4L2_COLORSPACE_SRGB, V4L2_YCBCR_ENC_BT2020, 0, false, YuvEncoding::BT2020,
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
	const double kr = lumaKr(enc), kb = lumaKb(enc);
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
constexpr double kGstMaxMeanLimitedGrey = 2.0;

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
				for (unsigned q = 0; q < f.numPlanes(); q++)
					o.write(reinterpret_cast<const char *>(f.p[q].data()),
						f.p[q].size());
			}
			std::string gstFormat = layoutOf(fourcc).gst;
			std::transform(gstFormat.begin(), gstFormat.end(), gstFormat.begin(),
				       [](unsigned char ch) { return char(std::tolower(ch)); });
			/*
			 * range:matrix:transfer:primaries; range 1 = 0-255, 2 = 16-235;
			 * matrix 3 = BT709, 4 = BT601, 6 = BT2020 (GstVideoColorMatrix).
			 */
			const char *matrix = c.enc == YuvEncoding::BT709 ? "3"
				: c.enc == YuvEncoding::BT2020           ? "6"
									 : "4";
			const std::string colorimetry =
				std::string(c.range == YuvRange::Full ? "1" : "2") + ":" + matrix +
				":0:0";
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
			auto planes = f.constPlanes();
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
			/* Grey has no chroma to average the dropped offset away: every pixel is darker. */
			const double meanLimited = fourcc == DRM_FORMAT_R8 ? kGstMaxMeanLimitedGrey
									   : kGstMaxMeanLimited;
			EXPECT_LE(maxDev, full ? kGstMaxDevFull : kGstMaxDevLimited)
				<< fourccName(fourcc) << " " << c.name;
			EXPECT_LE(sum / n, full ? kGstMaxMeanFull : meanLimited)
				<< fourccName(fourcc) << " " << c.name;
			/* Both sides agree on siting/order: the deviation is the model's. */
			EXPECT_EQ(modelMismatch, 0u) << fourccName(fourcc) << " " << c.name;

			/*
			 * RGB565 out (first colorimetry only): GStreamer packs its own
			 * 8-bit result by truncation, as we pack ours.
			 */
			if (&c == &kCombos[0]) {
				std::string cmd565 = cmd;
				cmd565.replace(cmd565.find("format=BGRx"), 11, "format=RGB16");
				ASSERT_EQ(std::system(cmd565.c_str()), 0) << cmd565;
				std::vector<uint8_t> gst565 = readFile(out);
				ASSERT_EQ(gst565.size(), size_t(W) * H * 2) << cmd565;
				size_t packMismatch = 0;
				for (size_t i = 0; i < size_t(W) * H; i++) {
					const uint16_t want = uint16_t((gst[4 * i + 2] >> 3) << 11 |
								       (gst[4 * i + 1] >> 2) << 5 |
								       gst[4 * i] >> 3);
					packMismatch +=
						(gst565[2 * i] | gst565[2 * i + 1] << 8) != want;
				}
				EXPECT_EQ(packMismatch, 0u) << fourccName(fourcc) << " RGB16";
			}
			std::remove(in.c_str());
			std::remove(out.c_str());
		}
	rmdir(dir.c_str());
}
