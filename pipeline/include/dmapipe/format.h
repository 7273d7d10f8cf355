/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dmapipe {

/*
 * One pixel format as both APIs name it. Byte order matters: V4L2's 'XR24'
 * (V4L2_PIX_FMT_XBGR32, bytes B,G,R,X) is DRM's XRGB8888 (little-endian
 * X:R:G:B), and V4L2 RGB24 (bytes R,G,B) is DRM BGR888, not RGB888.
 */
struct PixelFormat {
	uint32_t drm; /* DRM_FORMAT_* */
	uint32_t v4l2; /* V4L2_PIX_FMT_* (single buffer) */
	uint32_t v4l2Mplane; /* V4L2_PIX_FMT_*M (one buffer per plane), or 0 */
	unsigned planes; /* colour planes */
	unsigned cpp[3]; /* bytes per pixel (per 2x2 block for CbCr of NV12) */
	unsigned hsub, vsub; /* chroma subsampling of planes 1 and 2 */
	bool yuv;
	const char *name; /* e.g. "XRGB8888" */

	/* Bytes per line of plane p for a given width, without padding. */
	uint32_t minStride(unsigned p, uint32_t width) const;
	/*
	 * Stride of plane p when only plane 0's is given, as in V4L2's
	 * single-buffer formats (NV12: the same; YUV420: half).
	 */
	uint32_t impliedStride(unsigned p, uint32_t stride0) const;
	/* Lines of plane p for a given height. */
	uint32_t planeHeight(unsigned p, uint32_t height) const;
};

/* The whole table, in order of preference for display (RGB first). */
const std::vector<PixelFormat> &pixelFormats();

std::optional<PixelFormat> formatFromDrm(uint32_t drmFourcc);
/* Accepts single-buffer and multi-planar (...M) V4L2 codes. */
std::optional<PixelFormat> formatFromV4l2(uint32_t v4l2Fourcc);
/* By DRM name ("XRGB8888"), by four characters in either API ("XR24", "YUYV"). */
std::optional<PixelFormat> formatFromString(const std::string &name);

/* "XR24" for a fourcc; non-printable bytes as '?'. */
std::string fourccToString(uint32_t fourcc);

/*
 * First format both sides take, in the capture side's order of preference
 * (its enumeration order), or nothing.
 */
std::optional<PixelFormat> commonFormat(const std::vector<uint32_t> &v4l2Formats,
					const std::vector<uint32_t> &drmFormats);

} /* namespace dmapipe */
