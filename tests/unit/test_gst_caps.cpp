/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The plugin's translation between GStreamer 1.22's dma-buf caps and
 * 1.24's DMA_DRM caps (plugins/gst/common.cpp), on the host's GStreamer:
 * the translation uses no 1.24 API, so it is tested with either.
 */
#include <gtest/gtest.h>

#include "common.h"

using namespace dmapipe::gst;

namespace {

struct Gst : ::testing::Test {
	static void SetUpTestSuite() { gst_init(nullptr, nullptr); }
};

std::string str(GstCaps *caps)
{
	gchar *s = gst_caps_to_string(caps);
	std::string out = s;
	g_free(s);
	gst_caps_unref(caps);
	return out;
}

} /* namespace */

TEST_F(Gst, ExternalPutsDmaDrmFirstAndKeepsThe122Form)
{
	GstCaps *in = gst_caps_from_string(
		"video/x-raw(memory:DMABuf), format=(string){ BGRx, YUY2 }, width=640, height=480; "
		"video/x-raw, format=BGRx, width=640, height=480");
	std::string out = str(capsToExternal(in, true));
	gst_caps_unref(in);
	EXPECT_EQ(out,
		  "video/x-raw(memory:DMABuf), format=(string)DMA_DRM, width=(int)640, "
		  "height=(int)480, drm-format=(string){ XR24, YUYV }; "
		  "video/x-raw(memory:DMABuf), format=(string){ BGRx, YUY2 }, width=(int)640, "
		  "height=(int)480; "
		  "video/x-raw, format=(string)BGRx, width=(int)640, height=(int)480");
}

TEST_F(Gst, ExternalOn122IsTheSameCaps)
{
	GstCaps *in = gst_caps_from_string("video/x-raw(memory:DMABuf), format=BGRx");
	GstCaps *out = capsToExternal(in, false);
	EXPECT_TRUE(gst_caps_is_equal(in, out));
	gst_caps_unref(out);
	gst_caps_unref(in);
}

TEST_F(Gst, InternalReadsLinearDrmFormats)
{
	GstCaps *in = gst_caps_from_string(
		"video/x-raw(memory:DMABuf), format=DMA_DRM, "
		"drm-format=(string){ XR24, NV12:0x0000000000000000 }, width=640, height=480");
	std::string out = str(capsToInternal(in));
	gst_caps_unref(in);
	EXPECT_EQ(out,
		  "video/x-raw(memory:DMABuf), format=(string){ BGRx, NV12 }, width=(int)640, "
		  "height=(int)480");
}

TEST_F(Gst, InternalRefusesOtherModifiersWithTheReason)
{
	GstCaps *in = gst_caps_from_string("video/x-raw(memory:DMABuf), format=DMA_DRM, "
					   "drm-format=XR24:0x0100000000000001");
	std::string why;
	GstCaps *out = capsToInternal(in, &why);
	EXPECT_TRUE(gst_caps_is_empty(out));
	EXPECT_NE(why.find("only the linear modifier"), std::string::npos) << why;
	gst_caps_unref(out);
	gst_caps_unref(in);
}

TEST_F(Gst, VideoInfoOfDmaDrmCaps)
{
	GstCaps *in = gst_caps_from_string("video/x-raw(memory:DMABuf), format=DMA_DRM, "
					   "drm-format=YUYV, width=640, height=480");
	GstVideoInfo info;
	ASSERT_TRUE(videoInfoFromCaps(&info, in));
	EXPECT_EQ(GST_VIDEO_INFO_FORMAT(&info), GST_VIDEO_FORMAT_YUY2);
	EXPECT_EQ(GST_VIDEO_INFO_WIDTH(&info), 640);
	EXPECT_TRUE(isDmaDrmCaps(in));
	gst_caps_unref(in);
}
