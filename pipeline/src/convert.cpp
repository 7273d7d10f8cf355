/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Y'CbCr 4:2:2 / 4:2:0, grey and R'G'B' -> XRGB8888 / RGB565 kernels. See
 * convert.h for the contract. This file holds the entry points, the layouts
 * and ConvertPrecision::Exact's kernels; Fast's are in convert_fast.cpp.
 *
 * Arithmetic (Exact): each output channel is an affine function of the 8-bit inputs,
 *     out = clamp(floor(cy*Y + cu*Cb + cv*Cr + o), 0, 255)
 * with the real coefficients scaled by 2^32 (o includes the centring of
 * Y'/Cb/Cr, the +1/2 of round-to-nearest and a small bias, below). 32
 * fractional bits are needed: for limited range some G values lie only
 * ~1e-7 from a rounding boundary (e.g. BT.601 limited), so anything that
 * fits a plain 32-bit lane (at most ~22 fractional bits) is off by one for a
 * few thousand of the 2^24 inputs, whatever the coefficient rounding.
 *
 * To keep 32-bit lanes (SSE2/NEON have 32x32->32 multiplies, not 64-bit
 * ones), every constant k is split as k = h * 2^16 + l with 0 <= l < 2^16
 * and the sum is evaluated as two 32-bit sums:
 *     lo = sum(l_i * x_i) + l_o                 (0 <= lo < 2^26)
 *     hi = sum(h_i * x_i) + h_o + (lo >> 16)
 *     out = hi >> 16
 * which is exactly floor(sum(k_i * x_i + o) / 2^32) because
 * floor(floor(a / b) / c) == floor(a / (b * c)).
 *
 * Rounding: the equations' value v is rounded half-up. For full-range
 * BT.601 some v are exact ties (e.g. B = Y + 1.772 * (Cb - 128) at
 * Cb = 3 or 253); the fixed-point error of the rounded coefficients is at
 * most ~190 / 2^32 in magnitude, so a bias of +256 / 2^32 makes every tie
 * round up while staying below the closest non-tie distance to a boundary
 * (~1.03e-7 = 442 / 2^32). The exhaustive unit test proves the chosen
 * constants for all 2^24 inputs and all four encoding/range pairs.
 *
 * The per-pair chroma terms are computed once per pixel pair; all constants
 * are template parameters so the compiler folds them (Y' scale 1 for full
 * range becomes a shift). Inner loops are branch-free and vectorise with
 * GCC at -O2 -ftree-vectorize / -O3 (see the pragma below).
 */

#include "dmapipe/convert.h"

#include <algorithm>

#include "convert_fast.h"
#include "yuv_matrix.h"

#include <drm_fourcc.h>
#include <linux/videodev2.h>

#if defined(__GNUC__) && !defined(__clang__)
/* -O2 in GCC 12 vectorises only "very cheap" loops; ask for more here. */
#pragma GCC optimize("tree-vectorize", "vect-cost-model=dynamic")
#endif

namespace dmapipe {

namespace {

constexpr int64_t roundToInt(double x)
{
	return x >= 0 ? int64_t(x + 0.5) : -int64_t(-x + 0.5);
}

struct Split {
	int32_t h, l;
};

constexpr Split split(int64_t k)
{
	/* Arithmetic shift; l is the non-negative remainder. */
	int64_t h = k >= 0 ? k / 65536 : -((-k + 65535) / 65536);
	return { int32_t(h), int32_t(k - h * 65536) };
}

struct Coeffs {
	Split y; /* Y' scale */
	Split rv, gu, gv, bu; /* R += rv*Cr, G += gu*Cb + gv*Cr (negative), B += bu*Cb */
	Split ro, go, bo; /* constant terms */
};

constexpr int kFracBits = 32;
constexpr int64_t kBias = 256; /* in units of 2^-32, see top of file */

constexpr Coeffs makeCoeffs(YuvEncoding enc, YuvRange range)
{
	const YuvMatrix m = yuvMatrix(enc, range);
	const double ys = m.ys, yo = m.yo, rv = m.rv, gu = m.gu, gv = m.gv, bu = m.bu;

	const double one = double(int64_t(1) << kFracBits);
	const int64_t half = int64_t(1) << (kFracBits - 1);
	const int64_t yk = roundToInt(ys * one);
	const int64_t rvk = roundToInt(rv * one);
	const int64_t buk = roundToInt(bu * one);
	const int64_t guk = roundToInt(gu * one);
	const int64_t gvk = roundToInt(gv * one);
	const int64_t rok = roundToInt((-ys * yo - rv * 128.0) * one) + half + kBias;
	const int64_t gok = roundToInt((-ys * yo - gu * 128.0 - gv * 128.0) * one) + half + kBias;
	const int64_t bok = roundToInt((-ys * yo - bu * 128.0) * one) + half + kBias;

	return { split(yk),  split(rvk), split(guk), split(gvk),
		 split(buk), split(rok), split(gok), split(bok) };
}

/* Everything below the entry points is inlined into each target clone. */
#define DMAPIPE_INLINE inline __attribute__((always_inline))

template<YuvEncoding E, YuvRange R>
struct Params {
	static constexpr Coeffs c = makeCoeffs(E, R);
};

DMAPIPE_INLINE int32_t clamp255(int32_t v)
{
	return std::min(std::max(v, 0), 255);
}

/* Chroma terms of one (Cb, Cr) sample, computed once per pixel pair. */
struct Chroma {
	int32_t rl, rh, gl, gh, bl, bh;
};

template<YuvEncoding E, YuvRange R>
DMAPIPE_INLINE Chroma chroma(int32_t u, int32_t v)
{
	constexpr Coeffs k = Params<E, R>::c;
	return { k.rv.l * v + k.ro.l,
		 k.rv.h * v + k.ro.h,
		 k.gu.l * u + k.gv.l * v + k.go.l,
		 k.gu.h * u + k.gv.h * v + k.go.h,
		 k.bu.l * u + k.bo.l,
		 k.bu.h * u + k.bo.h };
}

/*
 * Output pixel as a little-endian 32-bit word (B in the low byte); rows need
 * not be 4-byte aligned.
 */
typedef uint32_t Px __attribute__((aligned(1), may_alias));
typedef uint16_t Px16 __attribute__((aligned(1), may_alias));

template<YuvEncoding E, YuvRange R>
DMAPIPE_INLINE uint32_t pixel(int32_t y, const Chroma &c)
{
	constexpr Coeffs k = Params<E, R>::c;
	const int32_t yl = k.y.l * y;
	const int32_t yh = k.y.h * y;
	const int32_t r = (yh + c.rh + ((yl + c.rl) >> 16)) >> 16;
	const int32_t g = (yh + c.gh + ((yl + c.gl) >> 16)) >> 16;
	const int32_t b = (yh + c.bh + ((yl + c.bl) >> 16)) >> 16;
	return 0xff000000u | uint32_t(clamp255(r)) << 16 | uint32_t(clamp255(g)) << 8 |
		uint32_t(clamp255(b));
}

/* The display formats written: XRGB8888 as is, RGB565 by truncation (as GStreamer packs it). */
enum class Out { Xrgb8888, Rgb565 };

template<Out O>
DMAPIPE_INLINE void store(uint8_t *d, size_t i, uint32_t xrgb)
{
	if (O == Out::Xrgb8888)
		reinterpret_cast<Px *>(d)[i] = xrgb;
	else
		reinterpret_cast<Px16 *>(d)[i] = uint16_t(
			((xrgb >> 8) & 0xf800) | ((xrgb >> 5) & 0x07e0) | ((xrgb >> 3) & 0x001f));
}

/*
 * One row of any Y'CbCr layout: pixel i's Y' at y[i * YS], pair i's Cb and
 * Cr at u[i * CS] and v[i * CS] (CS 0: one sample for the whole row, as
 * GREY's neutral chroma). Packed 4:2:2 is YS 2, CS 4; semi-planar YS 1,
 * CS 2; planar YS 1, CS 1. Strides are compile-time constants so GCC
 * vectorises each layout's loop.
 */
template<YuvEncoding E, YuvRange R, Out O, int YS, int CS>
DMAPIPE_INLINE void rowYuv(const uint8_t *__restrict y, const uint8_t *__restrict u,
			   const uint8_t *__restrict v, uint8_t *__restrict d, uint32_t width)
{
	const size_t pairs = width / 2;
	for (size_t i = 0; i < pairs; i++) {
		const Chroma c = chroma<E, R>(u[i * CS], v[i * CS]);
		store<O>(d, 2 * i, pixel<E, R>(y[2 * i * YS], c));
		store<O>(d, 2 * i + 1, pixel<E, R>(y[(2 * i + 1) * YS], c));
	}
	if (width & 1)
		store<O>(d, 2 * pairs,
			 pixel<E, R>(y[2 * pairs * YS], chroma<E, R>(u[pairs * CS], v[pairs * CS])));
}

/* Where a Y'CbCr format's samples are: plane, first byte, and chroma's vertical subsampling. */
struct YuvLayout {
	uint8_t yOff; /* within plane 0 */
	uint8_t uPlane, uOff, vPlane, vOff;
	uint8_t vsub; /* chroma row = row / vsub */
	enum Kind : uint8_t { Packed, SemiPlanar, Planar, Grey } kind;
};

bool yuvLayout(uint32_t fourcc, YuvLayout *l)
{
	switch (fourcc) {
	case DRM_FORMAT_YUYV:
		*l = { 0, 0, 1, 0, 3, 1, YuvLayout::Packed };
		return true;
	case DRM_FORMAT_YVYU:
		*l = { 0, 0, 3, 0, 1, 1, YuvLayout::Packed };
		return true;
	case DRM_FORMAT_UYVY:
		*l = { 1, 0, 0, 0, 2, 1, YuvLayout::Packed };
		return true;
	case DRM_FORMAT_VYUY:
		*l = { 1, 0, 2, 0, 0, 1, YuvLayout::Packed };
		return true;
	case DRM_FORMAT_NV12:
		*l = { 0, 1, 0, 1, 1, 2, YuvLayout::SemiPlanar };
		return true;
	case DRM_FORMAT_NV21:
		*l = { 0, 1, 1, 1, 0, 2, YuvLayout::SemiPlanar };
		return true;
	case DRM_FORMAT_NV16:
		*l = { 0, 1, 0, 1, 1, 1, YuvLayout::SemiPlanar };
		return true;
	case DRM_FORMAT_NV61:
		*l = { 0, 1, 1, 1, 0, 1, YuvLayout::SemiPlanar };
		return true;
	case DRM_FORMAT_YUV420:
		*l = { 0, 1, 0, 2, 0, 2, YuvLayout::Planar };
		return true;
	case DRM_FORMAT_YVU420:
		*l = { 0, 2, 0, 1, 0, 2, YuvLayout::Planar };
		return true;
	case DRM_FORMAT_YUV422:
		*l = { 0, 1, 0, 2, 0, 1, YuvLayout::Planar };
		return true;
	case DRM_FORMAT_R8: /* V4L2 GREY: luma only, neutral chroma */
		*l = { 0, 0, 0, 0, 0, 1, YuvLayout::Grey };
		return true;
	default:
		return false;
	}
}

unsigned yuvPlanes(const YuvLayout &l)
{
	return l.kind == YuvLayout::Planar ? 3 : l.kind == YuvLayout::SemiPlanar ? 2 : 1;
}

const uint8_t kNeutralChroma = 128;

template<YuvEncoding E, YuvRange R, Out O>
DMAPIPE_INLINE void yuvRows(const YuvLayout &l, const ConstPlane *src, uint8_t *dst,
			    uint32_t dstStride, uint32_t width, uint32_t rowBegin, uint32_t rowEnd)
{
	for (uint32_t row = rowBegin; row < rowEnd; row++) {
		uint8_t *d = dst + size_t(row) * dstStride;
		const uint32_t crow = row / l.vsub;
		const uint8_t *y = src[0].data + size_t(row) * src[0].stride + l.yOff;
		const uint8_t *u = src[l.uPlane].data + size_t(crow) * src[l.uPlane].stride + l.uOff;
		const uint8_t *v = src[l.vPlane].data + size_t(crow) * src[l.vPlane].stride + l.vOff;
		switch (l.kind) {
		case YuvLayout::Packed:
			rowYuv<E, R, O, 2, 4>(y, u, v, d, width);
			break;
		case YuvLayout::SemiPlanar:
			rowYuv<E, R, O, 1, 2>(y, u, v, d, width);
			break;
		case YuvLayout::Planar:
			rowYuv<E, R, O, 1, 1>(y, u, v, d, width);
			break;
		case YuvLayout::Grey:
			rowYuv<E, R, O, 1, 0>(y, &kNeutralChroma, &kNeutralChroma, d, width);
			break;
		}
	}
}

/*
 * R'G'B' sources need no matrix, only a reorder or a bit-depth change:
 * 24-bit RGB888 (bytes B,G,R) and BGR888 (bytes R,G,B); RGB565 widened by
 * replicating its top bits ((r << 3) | (r >> 2), as GStreamer unpacks it);
 * XRGB8888 (to RGB565 only).
 */
template<Out O>
DMAPIPE_INLINE void rowRgb(uint32_t fourcc, const uint8_t *__restrict s, uint8_t *__restrict d,
			   uint32_t width)
{
	switch (fourcc) {
	case DRM_FORMAT_RGB888:
		for (size_t i = 0; i < width; i++)
			store<O>(d, i,
				 0xff000000u | uint32_t(s[3 * i + 2]) << 16 |
					 uint32_t(s[3 * i + 1]) << 8 | uint32_t(s[3 * i]));
		break;
	case DRM_FORMAT_BGR888:
		for (size_t i = 0; i < width; i++)
			store<O>(d, i,
				 0xff000000u | uint32_t(s[3 * i]) << 16 |
					 uint32_t(s[3 * i + 1]) << 8 | uint32_t(s[3 * i + 2]));
		break;
	case DRM_FORMAT_RGB565:
		for (size_t i = 0; i < width; i++) {
			const uint32_t p = reinterpret_cast<const Px16 *>(s)[i];
			const uint32_t r = (p >> 11) & 0x1f, g = (p >> 5) & 0x3f, b = p & 0x1f;
			store<O>(d, i,
				 0xff000000u | ((r << 3) | (r >> 2)) << 16 |
					 ((g << 2) | (g >> 4)) << 8 | ((b << 3) | (b >> 2)));
		}
		break;
	case DRM_FORMAT_XRGB8888:
		for (size_t i = 0; i < width; i++)
			store<O>(d, i, reinterpret_cast<const Px *>(s)[i]);
		break;
	default:
		break;
	}
}

/*
 * The kernels are limited by 32-bit multiplies and min/max: baseline x86-64
 * (SSE2) has neither pmulld nor pminsd/pmaxsd, so on x86-64 GCC builds also
 * emit SSE4.1 (x86-64-v2) and AVX2 (x86-64-v3) clones, picked at load time
 * via ifunc. Elsewhere (arm64: NEON has both) one build is enough.
 */
#ifdef DMAPIPE_CONVERT_CLONES
/* Overridden on the command line, e.g. -DDMAPIPE_CONVERT_CLONES= to test one ISA level. */
#elif defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__gnu_linux__)
#define DMAPIPE_CONVERT_CLONES                                                                     \
	__attribute__((target_clones("default", "arch=x86-64-v2", "arch=x86-64-v3")))
#else
#define DMAPIPE_CONVERT_CLONES
#endif

typedef void (*YuvEntry)(const YuvLayout &, bool, const ConstPlane *, uint8_t *, uint32_t, uint32_t,
			 uint32_t, uint32_t);

#define DMAPIPE_CONVERT_ENTRY(name, E, R)                                                            \
	DMAPIPE_CONVERT_CLONES void name(const YuvLayout &l, bool rgb565, const ConstPlane *src,     \
					 uint8_t *dst, uint32_t dstStride, uint32_t width,           \
					 uint32_t rowBegin, uint32_t rowEnd)                         \
	{                                                                                            \
		if (rgb565)                                                                          \
			yuvRows<E, R, Out::Rgb565>(l, src, dst, dstStride, width, rowBegin, rowEnd); \
		else                                                                                 \
			yuvRows<E, R, Out::Xrgb8888>(l, src, dst, dstStride, width, rowBegin,        \
						     rowEnd);                                        \
	}

DMAPIPE_CONVERT_ENTRY(convert601Limited, YuvEncoding::BT601, YuvRange::Limited)
DMAPIPE_CONVERT_ENTRY(convert601Full, YuvEncoding::BT601, YuvRange::Full)
DMAPIPE_CONVERT_ENTRY(convert709Limited, YuvEncoding::BT709, YuvRange::Limited)
DMAPIPE_CONVERT_ENTRY(convert709Full, YuvEncoding::BT709, YuvRange::Full)
DMAPIPE_CONVERT_ENTRY(convert2020Limited, YuvEncoding::BT2020, YuvRange::Limited)
DMAPIPE_CONVERT_ENTRY(convert2020Full, YuvEncoding::BT2020, YuvRange::Full)

DMAPIPE_CONVERT_CLONES void convertRgb(uint32_t fourcc, bool rgb565, const ConstPlane *src,
				       uint8_t *dst, uint32_t dstStride, uint32_t width,
				       uint32_t rowBegin, uint32_t rowEnd)
{
	for (uint32_t row = rowBegin; row < rowEnd; row++) {
		const uint8_t *s = src[0].data + size_t(row) * src[0].stride;
		uint8_t *d = dst + size_t(row) * dstStride;
		if (rgb565)
			rowRgb<Out::Rgb565>(fourcc, s, d, width);
		else
			rowRgb<Out::Xrgb8888>(fourcc, s, d, width);
	}
}

/* ConvertPrecision::Fast: the layout's rows through the chosen ISA, the scalar reference for the rest. */
void fastRows(const YuvLayout &l, bool rgb565, const ConstPlane *src, uint8_t *dst,
	      uint32_t dstStride, uint32_t width, uint32_t rowBegin, uint32_t rowEnd,
	      YuvEncoding enc, YuvRange range)
{
	using fastconv::Layout;
	/* Packed and semi-planar pairs are in memory order: Cr first swaps the factors. */
	const bool swap = l.kind != YuvLayout::Planar && l.vOff < l.uOff;
	const fastconv::Coeffs k = fastconv::makeCoeffs(enc, range, swap);
	const fastconv::RowFn simd = fastconv::rowFunction(convertIsa());
	fastconv::Row r;
	r.layout = l.kind == YuvLayout::Packed    ? (l.yOff ? Layout::PackedY1 : Layout::PackedY0)
		: l.kind == YuvLayout::SemiPlanar ? Layout::SemiPlanar
		: l.kind == YuvLayout::Planar     ? Layout::Planar
						  : Layout::Grey;
	r.rgb565 = rgb565;
	r.width = width;
	r.c0 = r.c1 = nullptr;
	for (uint32_t row = rowBegin; row < rowEnd; row++) {
		const uint32_t crow = row / l.vsub;
		r.d = dst + size_t(row) * dstStride;
		/* Packed: the macropixel's first byte, whatever comes first. */
		r.y = src[0].data + size_t(row) * src[0].stride;
		if (l.kind != YuvLayout::Packed && l.kind != YuvLayout::Grey) {
			r.c0 = src[l.uPlane].data + size_t(crow) * src[l.uPlane].stride;
			r.c1 = src[l.vPlane].data + size_t(crow) * src[l.vPlane].stride;
		}
		fastconv::rowScalar(r, k, simd ? simd(r, k) : 0);
	}
}

bool rgbSource(uint32_t src, uint32_t dst)
{
	switch (src) {
	case DRM_FORMAT_RGB888:
	case DRM_FORMAT_BGR888:
		return true;
	case DRM_FORMAT_RGB565:
		return dst == DRM_FORMAT_XRGB8888;
	case DRM_FORMAT_XRGB8888:
		return dst == DRM_FORMAT_RGB565;
	default:
		return false;
	}
}

} /* namespace */

bool convertSupported(uint32_t srcFourcc, uint32_t dstFourcc)
{
	if (dstFourcc != DRM_FORMAT_XRGB8888 && dstFourcc != DRM_FORMAT_RGB565)
		return false;
	YuvLayout l;
	return yuvLayout(srcFourcc, &l) || rgbSource(srcFourcc, dstFourcc);
}

bool convertSupported(uint32_t srcFourcc)
{
	return convertSupported(srcFourcc, DRM_FORMAT_XRGB8888);
}

unsigned convertPlanes(uint32_t srcFourcc)
{
	YuvLayout l;
	if (yuvLayout(srcFourcc, &l))
		return yuvPlanes(l);
	return rgbSource(srcFourcc, DRM_FORMAT_XRGB8888) || rgbSource(srcFourcc, DRM_FORMAT_RGB565)
		? 1
		: 0;
}

void convertFrame(uint32_t srcFourcc, const ConstPlane *src, unsigned numPlanes, uint32_t dstFourcc,
		  uint8_t *dst, uint32_t dstStride, uint32_t width, uint32_t height, YuvEncoding enc,
		  YuvRange range, uint32_t rowBegin, uint32_t rowEnd, ConvertPrecision precision)
{
	if (!convertSupported(srcFourcc, dstFourcc) || numPlanes < convertPlanes(srcFourcc) ||
	    !src || !dst)
		return;
	rowEnd = std::min(rowEnd, height);
	if (rowBegin >= rowEnd || !width)
		return;
	const bool rgb565 = dstFourcc == DRM_FORMAT_RGB565;

	YuvLayout l;
	if (!yuvLayout(srcFourcc, &l)) {
		convertRgb(srcFourcc, rgb565, src, dst, dstStride, width, rowBegin, rowEnd);
		return;
	}
	if (precision == ConvertPrecision::Fast) {
		fastRows(l, rgb565, src, dst, dstStride, width, rowBegin, rowEnd, enc, range);
		return;
	}
	const bool full = range == YuvRange::Full;
	YuvEntry entry;
	switch (enc) {
	case YuvEncoding::BT709:
		entry = full ? convert709Full : convert709Limited;
		break;
	case YuvEncoding::BT2020:
		entry = full ? convert2020Full : convert2020Limited;
		break;
	default:
		entry = full ? convert601Full : convert601Limited;
		break;
	}
	entry(l, rgb565, src, dst, dstStride, width, rowBegin, rowEnd);
}

void convertToXrgb8888(uint32_t srcFourcc, const ConstPlane *src, unsigned numPlanes, uint8_t *dst,
		       uint32_t dstStride, uint32_t width, uint32_t height, YuvEncoding enc,
		       YuvRange range, uint32_t rowBegin, uint32_t rowEnd, ConvertPrecision precision)
{
	convertFrame(srcFourcc, src, numPlanes, DRM_FORMAT_XRGB8888, dst, dstStride, width, height,
		     enc, range, rowBegin, rowEnd, precision);
}

void yuvParamsFromV4l2(uint32_t colorspace, uint32_t ycbcrEnc, uint32_t quantization, bool isRgb,
		       YuvEncoding *enc, YuvRange *range)
{
	/* Unknown values behave like DEFAULT. */
	switch (ycbcrEnc) {
	case V4L2_YCBCR_ENC_601:
	case V4L2_YCBCR_ENC_XV601:
	case V4L2_YCBCR_ENC_SYCC:
	case V4L2_YCBCR_ENC_709:
	case V4L2_YCBCR_ENC_XV709:
	case V4L2_YCBCR_ENC_BT2020:
	case V4L2_YCBCR_ENC_BT2020_CONST_LUM:
	case V4L2_YCBCR_ENC_SMPTE240M:
		break;
	default:
		ycbcrEnc = V4L2_MAP_YCBCR_ENC_DEFAULT(colorspace);
		break;
	}
	if (quantization != V4L2_QUANTIZATION_FULL_RANGE &&
	    quantization != V4L2_QUANTIZATION_LIM_RANGE)
		quantization = V4L2_MAP_QUANTIZATION_DEFAULT(isRgb, colorspace, ycbcrEnc);

	YuvEncoding e;
	switch (ycbcrEnc) {
	case V4L2_YCBCR_ENC_709:
	case V4L2_YCBCR_ENC_XV709:
	case V4L2_YCBCR_ENC_SMPTE240M: /* nearest matrix we have */
		e = YuvEncoding::BT709;
		break;
	case V4L2_YCBCR_ENC_BT2020:
	case V4L2_YCBCR_ENC_BT2020_CONST_LUM: /* nearest matrix we have */
		e = YuvEncoding::BT2020;
		break;
	default: /* 601, XV601, SYCC */
		e = YuvEncoding::BT601;
		break;
	}
	if (isRgb)
		e = YuvEncoding::BT601;

	if (enc)
		*enc = e;
	if (range)
		*range = quantization == V4L2_QUANTIZATION_FULL_RANGE ? YuvRange::Full
								      : YuvRange::Limited;
}

} /* namespace dmapipe */
