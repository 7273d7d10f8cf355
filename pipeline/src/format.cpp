/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dmapipe/format.h"

#include <algorithm>
#include <cctype>
#include <drm_fourcc.h>
#include <linux/videodev2.h>

namespace dmapipe {

const std::vector<PixelFormat> &pixelFormats()
{
	static const std::vector<PixelFormat> table = {
		/* drm, v4l2, v4l2 mplane, planes, cpp, hsub, vsub, yuv, name */
		{ DRM_FORMAT_XRGB8888, V4L2_PIX_FMT_XBGR32, 0, 1, { 4 }, 1, 1, false, "XRGB8888" },
		{ DRM_FORMAT_ARGB8888, V4L2_PIX_FMT_ABGR32, 0, 1, { 4 }, 1, 1, false, "ARGB8888" },
		{ DRM_FORMAT_XBGR8888, V4L2_PIX_FMT_RGBX32, 0, 1, { 4 }, 1, 1, false, "XBGR8888" },
		{ DRM_FORMAT_ABGR8888, V4L2_PIX_FMT_RGBA32, 0, 1, { 4 }, 1, 1, false, "ABGR8888" },
		{ DRM_FORMAT_BGRX8888, V4L2_PIX_FMT_XRGB32, 0, 1, { 4 }, 1, 1, false, "BGRX8888" },
		{ DRM_FORMAT_BGRA8888, V4L2_PIX_FMT_ARGB32, 0, 1, { 4 }, 1, 1, false, "BGRA8888" },
		{ DRM_FORMAT_RGBX8888, V4L2_PIX_FMT_BGRX32, 0, 1, { 4 }, 1, 1, false, "RGBX8888" },
		{ DRM_FORMAT_RGBA8888, V4L2_PIX_FMT_BGRA32, 0, 1, { 4 }, 1, 1, false, "RGBA8888" },
		{ DRM_FORMAT_RGB888, V4L2_PIX_FMT_BGR24, 0, 1, { 3 }, 1, 1, false, "RGB888" },
		{ DRM_FORMAT_BGR888, V4L2_PIX_FMT_RGB24, 0, 1, { 3 }, 1, 1, false, "BGR888" },
		{ DRM_FORMAT_RGB565, V4L2_PIX_FMT_RGB565, 0, 1, { 2 }, 1, 1, false, "RGB565" },
		{ DRM_FORMAT_XRGB1555, V4L2_PIX_FMT_XRGB555, 0, 1, { 2 }, 1, 1, false, "XRGB1555" },
		{ DRM_FORMAT_ARGB1555, V4L2_PIX_FMT_ARGB555, 0, 1, { 2 }, 1, 1, false, "ARGB1555" },
		{ DRM_FORMAT_YUYV, V4L2_PIX_FMT_YUYV, 0, 1, { 2 }, 1, 1, true, "YUYV" },
		{ DRM_FORMAT_UYVY, V4L2_PIX_FMT_UYVY, 0, 1, { 2 }, 1, 1, true, "UYVY" },
		{ DRM_FORMAT_YVYU, V4L2_PIX_FMT_YVYU, 0, 1, { 2 }, 1, 1, true, "YVYU" },
		{ DRM_FORMAT_VYUY, V4L2_PIX_FMT_VYUY, 0, 1, { 2 }, 1, 1, true, "VYUY" },
		{ DRM_FORMAT_NV12, V4L2_PIX_FMT_NV12, V4L2_PIX_FMT_NV12M, 2, { 1, 2 }, 2, 2, true, "NV12" },
		{ DRM_FORMAT_NV21, V4L2_PIX_FMT_NV21, V4L2_PIX_FMT_NV21M, 2, { 1, 2 }, 2, 2, true, "NV21" },
		{ DRM_FORMAT_NV16, V4L2_PIX_FMT_NV16, V4L2_PIX_FMT_NV16M, 2, { 1, 2 }, 2, 1, true, "NV16" },
		{ DRM_FORMAT_NV61, V4L2_PIX_FMT_NV61, V4L2_PIX_FMT_NV61M, 2, { 1, 2 }, 2, 1, true, "NV61" },
		{ DRM_FORMAT_NV24, V4L2_PIX_FMT_NV24, 0, 2, { 1, 2 }, 1, 1, true, "NV24" },
		{ DRM_FORMAT_NV42, V4L2_PIX_FMT_NV42, 0, 2, { 1, 2 }, 1, 1, true, "NV42" },
		{ DRM_FORMAT_YUV420,
		  V4L2_PIX_FMT_YUV420,
		  V4L2_PIX_FMT_YUV420M,
		  3,
		  { 1, 1, 1 },
		  2,
		  2,
		  true,
		  "YUV420" },
		{ DRM_FORMAT_YVU420,
		  V4L2_PIX_FMT_YVU420,
		  V4L2_PIX_FMT_YVU420M,
		  3,
		  { 1, 1, 1 },
		  2,
		  2,
		  true,
		  "YVU420" },
		{ DRM_FORMAT_YUV422,
		  V4L2_PIX_FMT_YUV422P,
		  V4L2_PIX_FMT_YUV422M,
		  3,
		  { 1, 1, 1 },
		  2,
		  1,
		  true,
		  "YUV422" },
		{ DRM_FORMAT_R8, V4L2_PIX_FMT_GREY, 0, 1, { 1 }, 1, 1, false, "R8" },
	};
	return table;
}

uint32_t PixelFormat::minStride(unsigned p, uint32_t width) const
{
	if (p == 0)
		return width * cpp[0];
	/* cpp of an interleaved CbCr plane counts both samples. */
	return (width + hsub - 1) / hsub * cpp[p];
}

uint32_t PixelFormat::impliedStride(unsigned p, uint32_t stride0) const
{
	if (p == 0)
		return stride0;
	return stride0 * cpp[p] / (cpp[0] * hsub);
}

uint32_t PixelFormat::planeHeight(unsigned p, uint32_t height) const
{
	return p == 0 ? height : (height + vsub - 1) / vsub;
}

uint32_t PixelFormat::planeWidth(unsigned p, uint32_t width) const
{
	return p == 0 ? width : (width + hsub - 1) / hsub;
}

std::optional<PixelFormat> formatFromDrm(uint32_t drmFourcc)
{
	for (const auto &f : pixelFormats())
		if (f.drm == drmFourcc)
			return f;
	return std::nullopt;
}

std::optional<PixelFormat> formatFromV4l2(uint32_t v4l2Fourcc)
{
	for (const auto &f : pixelFormats())
		if (f.v4l2 == v4l2Fourcc || (f.v4l2Mplane && f.v4l2Mplane == v4l2Fourcc))
			return f;
	return std::nullopt;
}

static uint32_t fourccFromChars(const std::string &s)
{
	return uint32_t(uint8_t(s[0])) | uint32_t(uint8_t(s[1])) << 8 |
		uint32_t(uint8_t(s[2])) << 16 | uint32_t(uint8_t(s[3])) << 24;
}

std::optional<PixelFormat> formatFromString(const std::string &name)
{
	std::string upper(name);
	std::transform(upper.begin(), upper.end(), upper.begin(),
		       [](unsigned char c) { return std::toupper(c); });
	for (const auto &f : pixelFormats())
		if (upper == f.name)
			return f;
	if (name.size() == 4) {
		/* A DRM fourcc first: "XR24" names the same bytes in both APIs. */
		uint32_t code = fourccFromChars(name);
		if (auto f = formatFromDrm(code))
			return f;
		if (auto f = formatFromV4l2(code))
			return f;
	}
	return std::nullopt;
}

std::string fourccToString(uint32_t fourcc)
{
	std::string s(4, '?');
	for (int i = 0; i < 4; i++) {
		char c = char((fourcc >> (8 * i)) & 0xff);
		if (std::isprint(static_cast<unsigned char>(c)))
			s[i] = c;
	}
	return s;
}

std::optional<PixelFormat> commonFormat(const std::vector<uint32_t> &v4l2Formats,
					const std::vector<uint32_t> &drmFormats)
{
	for (uint32_t v : v4l2Formats) {
		auto f = formatFromV4l2(v);
		if (!f)
			continue;
		if (std::find(drmFormats.begin(), drmFormats.end(), f->drm) != drmFormats.end())
			return f;
	}
	return std::nullopt;
}

} /* namespace dmapipe */
