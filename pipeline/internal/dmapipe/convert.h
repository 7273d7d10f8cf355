/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cstdint>

namespace dmapipe {

/*
 * Y'CbCr -> R'G'B' conversion for software stages (e.g. showing a YUYV
 * camera on a plane that only scans out XRGB8888).
 *
 * Matrix: the BT.601 (Kr 0.299, Kb 0.114) or BT.709 (Kr 0.2126, Kb 0.0722)
 * equations, no transfer function or primaries conversion (R'G'B' out is
 * whatever the camera's gamma-encoded R'G'B' was).
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
 * reference.
 *
 * Chroma siting: no interpolation. Both pixels of a horizontal pair use the
 * pair's Cb/Cr sample, and for NV12 rows 2k and 2k+1 use chroma row k
 * (nearest / sample replication). This is what GStreamer's videoconvert does
 * with chroma-mode=none and what its unpack functions do for YUY2/UYVY/NV12;
 * it keeps the kernel stateless per row so row ranges can be split freely.
 */

enum class YuvEncoding { BT601, BT709 };
enum class YuvRange { Limited, Full };

/*
 * Source layouts supported: DRM_FORMAT_YUYV, DRM_FORMAT_UYVY (one plane,
 * 2 bytes/px), DRM_FORMAT_NV12 (plane 0 Y, plane 1 interleaved CbCr at half
 * height/width), and packed R'G'B' DRM_FORMAT_RGB888 (bytes B,G,R = V4L2
 * BGR24) and DRM_FORMAT_BGR888 (bytes R,G,B = V4L2 RGB24), which are only
 * reordered (encoding and range do not apply).
 * Output: DRM_FORMAT_XRGB8888 (little-endian B,G,R,X bytes in memory,
 * X = 0xff).
 */
struct ConstPlane {
	const uint8_t *data;
	uint32_t stride;
};

bool convertSupported(uint32_t srcFourcc);

/*
 * Converts rows [rowBegin, rowEnd) so callers can split work across threads.
 * Any split is valid (each output row depends only on its own source row and,
 * for NV12, chroma row / 2); splits on even rows keep threads off each
 * other's chroma cache lines for NV12. rowEnd is clamped to height.
 *
 * Writes exactly width * 4 bytes per row to dst + row * dstStride; bytes
 * beyond that (stride padding) are untouched. Odd widths are allowed: the
 * last pixel uses the chroma of its (half-used) pair, which must be present
 * in the source, i.e. source rows hold (width + 1) / 2 macropixels / CbCr
 * pairs.
 *
 * numPlanes: 1 for YUYV/UYVY/RGB888/BGR888, 2 for NV12. Unsupported formats or a short
 * plane array are programming errors and convert nothing.
 */
void convertToXrgb8888(uint32_t srcFourcc, const ConstPlane *src, unsigned numPlanes, uint8_t *dst,
		       uint32_t dstStride, uint32_t width, uint32_t height, YuvEncoding enc,
		       YuvRange range, uint32_t rowBegin, uint32_t rowEnd);

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
 * clamped). BT2020 / BT2020_CONST_LUM / SMPTE240M have no matrix here and map
 * to the nearest one we have, BT709 (Kr/Kb 0.2627/0.0593 and 0.212/0.087 are
 * far closer to 709's 0.2126/0.0722 than to 601's 0.299/0.114). Unknown
 * values are treated like DEFAULT.
 * For isRgb the encoding is meaningless (nothing to convert); BT601 and the
 * mapped range are returned.
 */
void yuvParamsFromV4l2(uint32_t colorspace, uint32_t ycbcrEnc, uint32_t quantization, bool isRgb,
		       YuvEncoding *enc, YuvRange *range);

} /* namespace dmapipe */
