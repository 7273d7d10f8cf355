/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file format.h
 * @brief Pixel formats as V4L2 and DRM name them, and a camera's settled format.
 */
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <dmapipe/export.h>

namespace dmapipe {

/**
 * @brief One pixel format as both APIs name it.
 *
 * Byte order matters: V4L2's 'XR24' (V4L2_PIX_FMT_XBGR32, bytes B,G,R,X) is
 * DRM's XRGB8888 (little-endian X:R:G:B), and V4L2 RGB24 (bytes R,G,B) is DRM
 * BGR888, not RGB888. The library's table (pixelFormats()) holds every format
 * it knows; the struct's layout is part of the ABI.
 */
struct DMAPIPE_EXPORT PixelFormat {
	uint32_t drm; /**< DRM_FORMAT_* fourcc */
	uint32_t v4l2; /**< V4L2_PIX_FMT_* (single buffer) */
	uint32_t v4l2Mplane; /**< V4L2_PIX_FMT_*M (one buffer per plane), or 0 */
	unsigned planes; /**< colour planes */
	unsigned cpp[3]; /**< bytes per pixel of each plane (per 2x2 block for NV12's CbCr) */
	unsigned hsub; /**< horizontal chroma subsampling of planes 1 and 2 */
	unsigned vsub; /**< vertical chroma subsampling of planes 1 and 2 */
	bool yuv; /**< YCbCr rather than RGB */
	const char *name; /**< the DRM name, e.g. "XRGB8888" */

	/** @brief Bytes per line of plane @p p for @p width pixels, without padding. */
	uint32_t minStride(unsigned p, uint32_t width) const;
	/**
	 * @brief Stride of plane @p p when only plane 0's is given, as in V4L2's
	 * single-buffer formats (NV12: the same; YUV420: half).
	 */
	uint32_t impliedStride(unsigned p, uint32_t stride0) const;
	/** @brief Lines of plane @p p for a frame of @p height lines. */
	uint32_t planeHeight(unsigned p, uint32_t height) const;
	/** @brief Pixels per line of plane @p p for a frame @p width wide. */
	uint32_t planeWidth(unsigned p, uint32_t width) const;
};

/** @brief The whole table, in order of preference for display (RGB first). */
DMAPIPE_EXPORT const std::vector<PixelFormat> &pixelFormats();

/** @brief The format of a DRM fourcc, if the library knows it. */
DMAPIPE_EXPORT std::optional<PixelFormat> formatFromDrm(uint32_t drmFourcc);
/** @brief The format of a V4L2 fourcc, single-buffer or multi-planar (...M). */
DMAPIPE_EXPORT std::optional<PixelFormat> formatFromV4l2(uint32_t v4l2Fourcc);
/** @brief By DRM name ("XRGB8888") or by four characters in either API ("XR24", "YUYV"). */
DMAPIPE_EXPORT std::optional<PixelFormat> formatFromString(const std::string &name);

/** @brief "XR24" for a fourcc; non-printable bytes as '?'. */
DMAPIPE_EXPORT std::string fourccToString(uint32_t fourcc);

/**
 * @brief The first format both sides take, in the capture side's order of
 * preference (its enumeration order), or nothing.
 * @param v4l2Formats the camera's V4L2 fourccs
 * @param drmFormats  the display's DRM fourccs
 */
DMAPIPE_EXPORT std::optional<PixelFormat> commonFormat(const std::vector<uint32_t> &v4l2Formats,
						       const std::vector<uint32_t> &drmFormats);

/**
 * @brief The format the camera settled on (V4L2 S_FMT, or libcamera's
 * configuration mapped to V4L2 terms), as stages see it in Stage::configure().
 */
struct DMAPIPE_EXPORT CaptureFormat {
	PixelFormat format {}; /**< the pixel format */
	uint32_t v4l2Fourcc = 0; /**< the exact V4L2 code (single-buffer or ...M) */
	uint32_t width = 0; /**< pixels per line */
	uint32_t height = 0; /**< lines */
	std::vector<uint32_t> strides; /**< bytesperline per V4L2 plane */
	std::vector<uint32_t> sizes; /**< sizeimage per V4L2 plane */
	bool multiplanar = false; /**< the V4L2 multi-planar API (one buffer per plane) */
	uint32_t colorspace = 0; /**< enum v4l2_colorspace */
	uint32_t ycbcrEnc = 0; /**< enum v4l2_ycbcr_encoding */
	uint32_t quantization = 0; /**< enum v4l2_quantization */
};

} /* namespace dmapipe */
