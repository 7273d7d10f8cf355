/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cstdint>

namespace dmapipe {

/*
 * Y'CbCr -> R'G'B' conversion for software stages (e.g. showing a YUYV
 * camera on a plane that only scans out XRGB8888 or RGB565).
 *
 * Matrix: the BT.601 (Kr 0.299, Kb 0.114), BT.709 (Kr 0.2126, Kb 0.0722) or
 * BT.2020 non-constant-luminance (Kr 0.2627, Kb 0.0593) equations, no
 * transfer function or primaries conversion (R'G'B' out is whatever the
 * camera's gamma-encoded R'G'B' was).
 *
 * Range: Limited is Y' 16..235 and Cb/Cr 16..240 (scale 219 / 224);
 * Full is Y' 0..255 and Cb/Cr 0..255 around 128 (scale 255 / 255),
 * as V4L2 and GStreamer define them.
 *
 * Exactness: every output byte equals round(255 * R'), half-up, clamped to
 * 0..255, where R' is the equation evaluated exactly. The kernels use 32
 * fractional bits (as two 16-bit halves in 32-bit lanes, so the loops
 * vectorise without 64-bit multiplies); tests/unit/test_convert.cpp checks all
 * 2^24 (Y', Cb, Cr) triples for every encoding/range against a double
 * reference, and every layout on random frames of odd sizes and strides.
 * RGB565 output is the XRGB8888 result truncated to 5/6/5 bits, as
 * GStreamer packs RGB16 without dithering.
 *
 * Chroma siting: no interpolation. Both pixels of a horizontal pair use the
 * pair's Cb/Cr sample, and for NV12 rows 2k and 2k+1 use chroma row k
 * (nearest / sample replication). This is what GStreamer's videoconvert does
 * with chroma-mode=none and what its unpack functions do for YUY2/UYVY/NV12;
 * it keeps the kernel stateless per row so row ranges can be split freely.
 */

enum class YuvEncoding { BT601, BT709, BT2020 };
enum class YuvRange { Limited, Full };

/*
 * Exact: as above, every byte the exactly rounded equation (32 fractional
 * bits; the reference). Fast: 13 fractional bits in 16-bit lanes with 32-bit
 * sums (src/convert_fast.h), explicit SIMD, every byte within 1 of Exact's
 * (checked for all 2^24 inputs); what ConvertStage uses unless told
 * "exact". Both clamp and truncate to RGB565 the same way. R'G'B' sources
 * are reordered the same way by both.
 */
enum class ConvertPrecision { Fast, Exact };

/*
 * The instruction set Fast runs on: the best this CPU has (AVX2, else SSE2
 * on x86-64; NEON on arm64; else the scalar reference) unless the
 * environment's DMAPIPE_CONVERT_ISA names another supported one. Every ISA
 * gives the same bytes as Scalar; setConvertIsa() is for tests and
 * benchmarks (it is process-wide) and fails for an ISA the build or CPU
 * lacks.
 */
enum class ConvertIsa { Scalar, Sse2, Avx2, Neon };
bool convertIsaSupported(ConvertIsa isa);
ConvertIsa convertIsa();
bool setConvertIsa(ConvertIsa isa);
const char *convertIsaName(ConvertIsa isa);

/*
 * Sources, by DRM fourcc (planes as DRM and V4L2's ...M formats order them):
 *  - packed 4:2:2, one plane: YUYV, YVYU, UYVY, VYUY;
 *  - semi-planar: NV12, NV21 (4:2:0), NV16, NV61 (4:2:2): Y plane, then
 *    interleaved CbCr (CrCb for NV21/NV61);
 *  - planar: YUV420, YVU420 (4:2:0), YUV422: Y, then Cb and Cr planes (Cr
 *    first for YVU420);
 *  - R8 (V4L2 GREY): luma only, converted with neutral chroma, so the
 *    range applies (limited-range grey is expanded);
 *  - R'G'B', only reordered or widened (encoding and range do not apply):
 *    RGB888 (bytes B,G,R = V4L2 BGR24), BGR888 (bytes R,G,B = V4L2 RGB24),
 *    RGB565 (to XRGB8888), XRGB8888 (to RGB565).
 * Outputs: DRM_FORMAT_XRGB8888 (little-endian B,G,R,X bytes in memory,
 * X = 0xff) and DRM_FORMAT_RGB565.
 */
struct ConstPlane {
	const uint8_t *data;
	uint32_t stride;
};

/* Whether src converts to dst (XRGB8888 or RGB565). */
bool convertSupported(uint32_t srcFourcc, uint32_t dstFourcc);
/* Whether src converts to XRGB8888. */
bool convertSupported(uint32_t srcFourcc);
/* The planes convertFrame() reads for src, 0 when unsupported. */
unsigned convertPlanes(uint32_t srcFourcc);

/*
 * Converts rows [rowBegin, rowEnd) so callers can split work across threads.
 * Any split is valid (each output row depends only on its own source row and,
 * for NV12, chroma row / 2); splits on even rows keep threads off each
 * other's chroma cache lines for NV12. rowEnd is clamped to height.
 *
 * Writes exactly width * 4 (RGB565: 2) bytes per row to dst + row *
 * dstStride; bytes beyond that (stride padding) are untouched. Odd widths
 * and heights are allowed: the last pixel uses the chroma of its (half-used)
 * pair, and an odd last row of a 4:2:0 format its (half-used) chroma row,
 * which must be present in the source, i.e. chroma rows hold (width + 1) / 2
 * samples and 4:2:0 chroma planes (height + 1) / 2 rows.
 *
 * numPlanes: at least convertPlanes(srcFourcc). Unsupported pairs or a
 * short plane array are programming errors and convert nothing.
 */
void convertFrame(uint32_t srcFourcc, const ConstPlane *src, unsigned numPlanes, uint32_t dstFourcc,
		  uint8_t *dst, uint32_t dstStride, uint32_t width, uint32_t height,
		  YuvEncoding enc, YuvRange range, uint32_t rowBegin, uint32_t rowEnd,
		  ConvertPrecision precision = ConvertPrecision::Exact);

/* convertFrame() into XRGB8888. */
void convertToXrgb8888(uint32_t srcFourcc, const ConstPlane *src, unsigned numPlanes, uint8_t *dst,
		       uint32_t dstStride, uint32_t width, uint32_t height, YuvEncoding enc,
		       YuvRange range, uint32_t rowBegin, uint32_t rowEnd,
		       ConvertPrecision precision = ConvertPrecision::Exact);

/*
 * Chooses encoding/range from V4L2 colorimetry (enum v4l2_colorspace,
 * v4l2_ycbcr_encoding, v4l2_quantization values as ints), following the
 * V4L2_MAP_YCBCR_ENC_DEFAULT and V4L2_MAP_QUANTIZATION_DEFAULT macros of
 * <linux/videodev2.h>:
 *  - ycbcr_enc DEFAULT: REC709 and DCI_P3 colorspaces -> 709, BT2020 ->
 *    BT2020, SMPTE240M -> SMPTE240M, everything else (including SRGB, JPEG,
 *    SMPTE170M, 470_SYSTEM_*, OPRGB and colorspace DEFAULT) -> 601.
 *  - quantization DEFAULT: full if isRgb or colorspace is JPEG, else limited.
 * Explicit values: 601, XV601 and SYCC -> BT601; 709 and XV709 -> BT709
 * (xvYCC uses the same matrix; values outside the nominal range are simply
 * clamped); BT2020 -> BT2020. BT2020_CONST_LUM (whose luma comes from
 * linear light, not a matrix) takes BT2020's matrix, the nearest; SMPTE240M
 * (Kr/Kb 0.212/0.087) takes BT709's, the nearest. Unknown values are
 * treated like DEFAULT.
 * For isRgb the encoding is meaningless (nothing to convert); BT601 and the
 * mapped range are returned.
 */
void yuvParamsFromV4l2(uint32_t colorspace, uint32_t ycbcrEnc, uint32_t quantization, bool isRgb,
		       YuvEncoding *enc, YuvRange *range);

} /* namespace dmapipe */
