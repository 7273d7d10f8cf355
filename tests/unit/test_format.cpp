/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dmapipe/format.h>

#include <drm_fourcc.h>
#include <gtest/gtest.h>
#include <linux/videodev2.h>
#include <set>

using namespace dmapipe;

/* The byte-order traps: same bytes in memory, different names. */
TEST(Format, V4l2AndDrmNameTheSameBytes)
{
	EXPECT_EQ(formatFromV4l2(V4L2_PIX_FMT_XBGR32)->drm, DRM_FORMAT_XRGB8888);
	EXPECT_EQ(formatFromV4l2(V4L2_PIX_FMT_RGB24)->drm, DRM_FORMAT_BGR888);
	EXPECT_EQ(formatFromV4l2(V4L2_PIX_FMT_BGR24)->drm, DRM_FORMAT_RGB888);
	EXPECT_EQ(formatFromV4l2(V4L2_PIX_FMT_XRGB32)->drm, DRM_FORMAT_BGRX8888);
	EXPECT_EQ(formatFromV4l2(V4L2_PIX_FMT_RGBX32)->drm, DRM_FORMAT_XBGR8888);
	EXPECT_EQ(formatFromV4l2(V4L2_PIX_FMT_BGRX32)->drm, DRM_FORMAT_RGBX8888);
	EXPECT_EQ(formatFromV4l2(V4L2_PIX_FMT_YUYV)->drm, DRM_FORMAT_YUYV);
	EXPECT_EQ(formatFromV4l2(V4L2_PIX_FMT_NV12M)->drm, DRM_FORMAT_NV12);
	/* 'XR24' is the same four characters in both APIs for the same layout. */
	EXPECT_EQ(uint32_t(V4L2_PIX_FMT_XBGR32), uint32_t(DRM_FORMAT_XRGB8888));
}

TEST(Format, TableIsOneToOne)
{
	std::set<uint32_t> drm, v4l2;
	for (const auto &f : pixelFormats()) {
		EXPECT_TRUE(drm.insert(f.drm).second) << f.name;
		EXPECT_TRUE(v4l2.insert(f.v4l2).second) << f.name;
		EXPECT_GE(f.planes, 1u);
		EXPECT_LE(f.planes, 3u);
		EXPECT_EQ(formatFromDrm(f.drm)->v4l2, f.v4l2);
	}
}

TEST(Format, FromString)
{
	EXPECT_EQ(formatFromString("XRGB8888")->drm, DRM_FORMAT_XRGB8888);
	EXPECT_EQ(formatFromString("xrgb8888")->drm, DRM_FORMAT_XRGB8888);
	EXPECT_EQ(formatFromString("XR24")->drm, DRM_FORMAT_XRGB8888);
	EXPECT_EQ(formatFromString("YUYV")->drm, DRM_FORMAT_YUYV);
	/* V4L2-only fourcc: RGB3 is V4L2 RGB24 = DRM BGR888. */
	EXPECT_EQ(formatFromString("RGB3")->drm, DRM_FORMAT_BGR888);
	EXPECT_FALSE(formatFromString("NOPE"));
	EXPECT_FALSE(formatFromString(""));
	EXPECT_FALSE(formatFromString("XRGB88888"));
}

TEST(Format, StridesAndPlaneHeights)
{
	auto nv12 = *formatFromDrm(DRM_FORMAT_NV12);
	EXPECT_EQ(nv12.minStride(0, 641), 641u);
	EXPECT_EQ(nv12.minStride(1, 641), 642u); /* 321 CbCr pairs */
	EXPECT_EQ(nv12.planeHeight(1, 481), 241u);
	EXPECT_EQ(nv12.impliedStride(1, 704), 704u);
	auto yuv420 = *formatFromDrm(DRM_FORMAT_YUV420);
	EXPECT_EQ(yuv420.impliedStride(1, 704), 352u);
	EXPECT_EQ(yuv420.impliedStride(2, 704), 352u);
	auto xrgb = *formatFromDrm(DRM_FORMAT_XRGB8888);
	EXPECT_EQ(xrgb.minStride(0, 640), 2560u);
}

TEST(Format, CommonFormatFollowsCameraPreference)
{
	std::vector<uint32_t> cam = { V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_RGB565, V4L2_PIX_FMT_XBGR32 };
	std::vector<uint32_t> cirrus = { DRM_FORMAT_XRGB8888, DRM_FORMAT_RGB565, DRM_FORMAT_RGB888 };
	EXPECT_EQ(commonFormat(cam, cirrus)->drm, DRM_FORMAT_RGB565);
	std::vector<uint32_t> vkms = { DRM_FORMAT_XRGB8888, DRM_FORMAT_ARGB8888 };
	EXPECT_EQ(commonFormat(cam, vkms)->drm, DRM_FORMAT_XRGB8888);
	EXPECT_FALSE(commonFormat({ V4L2_PIX_FMT_YUYV }, vkms));
	EXPECT_FALSE(commonFormat({}, vkms));
}

TEST(Format, FourccToString)
{
	EXPECT_EQ(fourccToString(DRM_FORMAT_XRGB8888), "XR24");
	EXPECT_EQ(fourccToString(0x01020304), "????");
}
