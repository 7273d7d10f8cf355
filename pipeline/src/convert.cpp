/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Y'CbCr 4:2:2 / 4:2:0 and packed RGB24 -> XRGB8888 kernels. See convert.h
 * for the contract.
 *
 * Arithmetic: each output channel is an affine function of the 8-bit inputs,
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
	const double kr = enc == YuvEncoding::BT709 ? 0.2126 : 0.299;
	const double kb = enc == YuvEncoding::BT709 ? 0.0722 : 0.114;
	const double kg = 1.0 - kr - kb;
	const bool full = range == YuvRange::Full;
	const double ys = full ? 1.0 : 255.0 / 219.0;
	const double cs = full ? 1.0 : 255.0 / 224.0;
	const double yo = full ? 0.0 : 16.0;

	const double rv = 2.0 * (1.0 - kr) * cs;
	const double bu = 2.0 * (1.0 - kb) * cs;
	const double gu = -kb * 2.0 * (1.0 - kb) / kg * cs;
	const double gv = -kr * 2.0 * (1.0 - kr) / kg * cs;

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

/* Packed 4:2:2; Y0, U, Y1, V are byte offsets within the 4-byte macropixel. */
template<YuvEncoding E, YuvRange R, int Y0, int U, int Y1, int V>
DMAPIPE_INLINE void rowPacked(const uint8_t *__restrict s, Px *__restrict d, uint32_t width)
{
	const size_t pairs = width / 2;
	for (size_t i = 0; i < pairs; i++) {
		const Chroma c = chroma<E, R>(s[4 * i + U], s[4 * i + V]);
		d[2 * i] = pixel<E, R>(s[4 * i + Y0], c);
		d[2 * i + 1] = pixel<E, R>(s[4 * i + Y1], c);
	}
	if (width & 1) {
		const uint8_t *m = s + 4 * pairs;
		d[2 * pairs] = pixel<E, R>(m[Y0], chroma<E, R>(m[U], m[V]));
	}
}

/* NV12: y row and its (shared) CbCr row. */
template<YuvEncoding E, YuvRange R>
DMAPIPE_INLINE void rowNv12(const uint8_t *__restrict y, const uint8_t *__restrict c,
			    Px *__restrict d, uint32_t width)
{
	const size_t pairs = width / 2;
	for (size_t i = 0; i < pairs; i++) {
		const Chroma ch = chroma<E, R>(c[2 * i], c[2 * i + 1]);
		d[2 * i] = pixel<E, R>(y[2 * i], ch);
		d[2 * i + 1] = pixel<E, R>(y[2 * i + 1], ch);
	}
	if (width & 1)
		d[2 * pairs] =
			pixel<E, R>(y[2 * pairs], chroma<E, R>(c[2 * pairs], c[2 * pairs + 1]));
}

/*
 * Packed 24-bit RGB: R, G, B are byte offsets within the 3-byte pixel. A
 * plain byte shuffle; the whole-word store lets GCC vectorise it.
 */
template<int R, int G, int B>
DMAPIPE_INLINE void rowRgb24(const uint8_t *__restrict s, Px *__restrict d, uint32_t width)
{
	for (size_t i = 0; i < width; i++)
		d[i] = 0xff000000u | uint32_t(s[3 * i + R]) << 16 | uint32_t(s[3 * i + G]) << 8 |
			uint32_t(s[3 * i + B]);
}

template<YuvEncoding E, YuvRange R>
DMAPIPE_INLINE void convertRows(uint32_t fourcc, const ConstPlane *src, uint8_t *dst,
				uint32_t dstStride, uint32_t width, uint32_t rowBegin,
				uint32_t rowEnd)
{
	for (uint32_t row = rowBegin; row < rowEnd; row++) {
		Px *d = reinterpret_cast<Px *>(dst + size_t(row) * dstStride);
		switch (fourcc) {
		case DRM_FORMAT_YUYV:
			rowPacked<E, R, 0, 1, 2, 3>(src[0].data + size_t(row) * src[0].stride, d,
						    width);
			break;
		case DRM_FORMAT_UYVY:
			rowPacked<E, R, 1, 0, 3, 2>(src[0].data + size_t(row) * src[0].stride, d,
						    width);
			break;
		case DRM_FORMAT_NV12:
			rowNv12<E, R>(src[0].data + size_t(row) * src[0].stride,
				      src[1].data + size_t(row / 2) * src[1].stride, d, width);
			break;
		default:
			return;
		}
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

#define DMAPIPE_CONVERT_ENTRY(name, E, R)                                                          \
	DMAPIPE_CONVERT_CLONES void name(uint32_t fourcc, const ConstPlane *src, uint8_t *dst,     \
					 uint32_t dstStride, uint32_t width, uint32_t rowBegin,    \
					 uint32_t rowEnd)                                          \
	{                                                                                          \
		convertRows<E, R>(fourcc, src, dst, dstStride, width, rowBegin, rowEnd);           \
	}

/* RGB needs no matrix: one entry for both layouts. */
DMAPIPE_CONVERT_CLONES void convertRgb24(uint32_t fourcc, const ConstPlane *src, uint8_t *dst,
					 uint32_t dstStride, uint32_t width, uint32_t rowBegin,
					 uint32_t rowEnd)
{
	for (uint32_t row = rowBegin; row < rowEnd; row++) {
		Px *d = reinterpret_cast<Px *>(dst + size_t(row) * dstStride);
		const uint8_t *s = src[0].data + size_t(row) * src[0].stride;
		if (fourcc == DRM_FORMAT_RGB888)
			rowRgb24<2, 1, 0>(s, d, width); /* bytes B, G, R */
		else
			rowRgb24<0, 1, 2>(s, d, width); /* BGR888: bytes R, G, B */
	}
}

DMAPIPE_CONVERT_ENTRY(convert601Limited, YuvEncoding::BT601, YuvRange::Limited)
DMAPIPE_CONVERT_ENTRY(convert601Full, YuvEncoding::BT601, YuvRange::Full)
DMAPIPE_CONVERT_ENTRY(convert709Limited, YuvEncoding::BT709, YuvRange::Limited)
DMAPIPE_CONVERT_ENTRY(convert709Full, YuvEncoding::BT709, YuvRange::Full)

unsigned planesFor(uint32_t fourcc)
{
	switch (fourcc) {
	case DRM_FORMAT_YUYV:
	case DRM_FORMAT_UYVY:
	case DRM_FORMAT_RGB888:
	case DRM_FORMAT_BGR888:
		return 1;
	case DRM_FORMAT_NV12:
		return 2;
	default:
		return 0;
	}
}

} /* namespace */

bool convertSupported(uint32_t srcFourcc)
{
	return planesFor(srcFourcc) != 0;
}

void convertToXrgb8888(uint32_t srcFourcc, const ConstPlane *src, unsigned numPlanes, uint8_t *dst,
		       uint32_t dstStride, uint32_t width, uint32_t height, YuvEncoding enc,
		       YuvRange range, uint32_t rowBegin, uint32_t rowEnd)
{
	const unsigned planes = planesFor(srcFourcc);
	if (!planes || numPlanes < planes || !src || !dst)
		return;
	rowEnd = std::min(rowEnd, height);
	if (rowBegin >= rowEnd || !width)
		return;

	if (srcFourcc == DRM_FORMAT_RGB888 || srcFourcc == DRM_FORMAT_BGR888) {
		convertRgb24(srcFourcc, src, dst, dstStride, width, rowBegin, rowEnd);
		return;
	}
	const bool full = range == YuvRange::Full;
	if (enc == YuvEncoding::BT709)
		(full ? convert709Full : convert709Limited)(srcFourcc, src, dst, dstStride, width,
							    rowBegin, rowEnd);
	else
		(full ? convert601Full : convert601Limited)(srcFourcc, src, dst, dstStride, width,
							    rowBegin, rowEnd);
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
	case V4L2_YCBCR_ENC_BT2020: /* nearest matrix we have */
	case V4L2_YCBCR_ENC_BT2020_CONST_LUM:
	case V4L2_YCBCR_ENC_SMPTE240M:
		e = YuvEncoding::BT709;
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
