/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Phase one of the negotiation: routes and their order, from declared capabilities. */
#include <dmapipe/internal.h>

#include <drm_fourcc.h>
#include <gtest/gtest.h>
#include <linux/videodev2.h>

using namespace dmapipe;

namespace {

/* vkms on 6.1 with enable_overlay=1: the overlay takes ARGB8888, the primary does not. */
const DisplayPlane primary {
	31, true, { DRM_FORMAT_XRGB8888, DRM_FORMAT_XRGB16161616, DRM_FORMAT_RGB565 }, 0
};
const DisplayPlane overlay {
	40, false, { DRM_FORMAT_ARGB8888, DRM_FORMAT_XRGB8888, DRM_FORMAT_RGB565 }, 1
};
const DisplayPlane yuvOverlay { 50, false, { DRM_FORMAT_NV12, DRM_FORMAT_YUYV }, 2 };

class Inplace : public Stage
{
public:
	explicit Inplace(uint32_t only) : only_(only) { }
	std::string name() const override { return "inplace"; }
	Access access() const override { return Access::ReadWrite; }
	bool accepts(const PixelFormat &f) const override { return f.drm == only_; }
	void process(WritableFrame &) override { }

private:
	uint32_t only_;
};

} /* namespace */

TEST(Negotiation, PrimaryFirstInTheCameraOrder)
{
	auto r = proposeRoutes({ V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_RGB565, V4L2_PIX_FMT_XBGR32 }, {},
			       -1, { overlay, primary });
	ASSERT_EQ(r.size(), 4u);
	EXPECT_EQ(r[0].capture.drm, DRM_FORMAT_RGB565);
	EXPECT_EQ(r[0].plane.id, 31u);
	EXPECT_EQ(r[1].capture.drm, DRM_FORMAT_XRGB8888);
	EXPECT_EQ(r[1].plane.id, 31u);
	EXPECT_EQ(r[2].plane.id, 40u);
	EXPECT_EQ(r[0].converter, -1);
	EXPECT_EQ(r[0].describe(), "direct scanout of RGB565 on plane 31 (primary)");
}

TEST(Negotiation, OverlayTakesWhatThePrimaryDoesNot)
{
	auto r = proposeRoutes({ V4L2_PIX_FMT_ABGR32 }, {}, -1, { primary, overlay });
	ASSERT_EQ(r.size(), 1u);
	EXPECT_EQ(r[0].plane.id, 40u);
	EXPECT_EQ(r[0].scanout.drm, DRM_FORMAT_ARGB8888);
	EXPECT_EQ(r[0].describe(),
		  "direct scanout of ARGB8888 on plane 40 (overlay, zpos 1): the "
		  "primary plane does not take ARGB8888");
}

TEST(Negotiation, DirectScanoutOfYuvOnAnOverlayBeforeAnyConversion)
{
	/* Without a converting stage, NV12 goes to the YUV overlay as it is. */
	auto r = proposeRoutes({ V4L2_PIX_FMT_NV12M }, {}, -1, { primary, yuvOverlay, overlay });
	ASSERT_EQ(r.size(), 1u);
	EXPECT_EQ(r[0].plane.id, 50u);
	EXPECT_EQ(r[0].capture.drm, DRM_FORMAT_NV12);
	/* The CLI adds a conversion only when this list is empty. */
	EXPECT_TRUE(proposeRoutes({ V4L2_PIX_FMT_NV12M }, {}, -1, { primary, overlay }).empty());
}

TEST(Negotiation, ConversionIntoXrgbThenRgb565)
{
	std::vector<std::shared_ptr<Stage>> stages { std::make_shared<ConvertStage>() };
	auto r = proposeRoutes({ V4L2_PIX_FMT_NV12 }, stages, 0, { primary });
	ASSERT_EQ(r.size(), 2u);
	EXPECT_EQ(r[0].scanout.drm, DRM_FORMAT_XRGB8888);
	EXPECT_EQ(r[1].scanout.drm, DRM_FORMAT_RGB565);
	EXPECT_EQ(r[0].converter, 0);
	EXPECT_EQ(r[0].describe(), "convert NV12 -> XRGB8888 on plane 31 (primary)");

	/* A display taking RGB565 only gets RGB565 out of the converter. */
	const DisplayPlane rgb565 { 7, true, { DRM_FORMAT_RGB565 }, 0 };
	r = proposeRoutes({ V4L2_PIX_FMT_YUYV, V4L2_PIX_FMT_XBGR32 }, stages, 0, { rgb565 });
	ASSERT_EQ(r.size(), 2u);
	EXPECT_EQ(r[0].capture.drm, DRM_FORMAT_YUYV);
	EXPECT_EQ(r[0].scanout.drm, DRM_FORMAT_RGB565);
	EXPECT_EQ(r[1].capture.drm, DRM_FORMAT_XRGB8888); /* XRGB8888 -> RGB565 */
	EXPECT_EQ(r[1].scanout.drm, DRM_FORMAT_RGB565);
}

TEST(Negotiation, StagesNarrowTheRoutes)
{
	/* An in-place stage after the converter sees the scanout format. */
	std::vector<std::shared_ptr<Stage>> stages { std::make_shared<ConvertStage>(),
						     std::make_shared<Inplace>(DRM_FORMAT_RGB565) };
	auto r = proposeRoutes({ V4L2_PIX_FMT_YUYV }, stages, 0, { primary });
	ASSERT_EQ(r.size(), 1u);
	EXPECT_EQ(r[0].scanout.drm, DRM_FORMAT_RGB565);
	/* Without a converter it sees the camera's format. */
	std::vector<std::shared_ptr<Stage>> only { std::make_shared<Inplace>(DRM_FORMAT_XRGB8888) };
	r = proposeRoutes({ V4L2_PIX_FMT_RGB565, V4L2_PIX_FMT_XBGR32 }, only, -1, { primary });
	ASSERT_EQ(r.size(), 1u);
	EXPECT_EQ(r[0].capture.drm, DRM_FORMAT_XRGB8888);
}

TEST(Negotiation, WantedFormatAndTheReasonsForNothing)
{
	auto wanted = formatFromString("NV12");
	EXPECT_TRUE(proposeRoutes({ V4L2_PIX_FMT_NV12 }, {}, -1, { primary }, wanted).empty());
	std::string why = noRouteReason({ V4L2_PIX_FMT_NV12 }, {}, -1, { primary, overlay }, wanted,
					"/dev/video0 (vivid)", "/dev/dri/card0 (vkms)");
	EXPECT_NE(why.find("cannot scan out NV12 on any plane"), std::string::npos) << why;
	EXPECT_NE(why.find("plane 40 (overlay, zpos 1) takes AR24"), std::string::npos) << why;
	EXPECT_NE(why.find("--stage convert"), std::string::npos) << why;

	why = noRouteReason({ V4L2_PIX_FMT_YUYV }, {}, -1, { primary }, formatFromString("NV12"),
			    "/dev/video0 (vivid)", "/dev/dri/card0 (vkms)");
	EXPECT_EQ(why, "/dev/video0 (vivid) does not capture NV12; it offers YUYV");

	why = noRouteReason({ V4L2_PIX_FMT_YUYV }, {}, -1, { primary }, {}, "/dev/video0 (vivid)",
			    "/dev/dri/card0 (cirrus)");
	EXPECT_NE(why.find("no pixel format both ends take"), std::string::npos) << why;
}

TEST(Negotiation, SmallerSizesFitTheScreenFirst)
{
	/* libcamera's vimc lists discrete sizes; cirrus refused 1920x1080, its screen is 1024x768. */
	std::vector<FrameSize> listed { { 1920, 1080 }, { 1280, 720 }, { 960, 540 }, { 640, 480 } };
	auto s = smallerSizes(listed, { 1920, 1080 }, { 1024, 768 });
	ASSERT_EQ(s.size(), 3u);
	EXPECT_EQ(s[0].width, 960u); /* fits the screen */
	EXPECT_EQ(s[1].width, 640u);
	EXPECT_EQ(s[2].width, 1280u); /* larger than the screen: last */

	/* A range (vivid lists min and max): the screen, then halvings. */
	s = smallerSizes({ { 16, 16 }, { 16384, 16384 } }, { 1920, 1080 }, { 1024, 768 });
	ASSERT_GE(s.size(), 3u);
	EXPECT_EQ(s[0].width, 1024u);
	EXPECT_EQ(s[0].height, 768u);
	EXPECT_EQ(s[1].width, 960u);
	EXPECT_EQ(s[1].height, 540u);
	for (const auto &f : s)
		EXPECT_TRUE(f.width < 1920 || f.height < 1080);
}

TEST(Negotiation, ConvertStageOutputIsSetByTheRoute)
{
	ConvertStage c;
	auto yuyv = *formatFromDrm(DRM_FORMAT_YUYV);
	EXPECT_EQ(c.produces(yuyv), DRM_FORMAT_XRGB8888);
	c.setOutput(DRM_FORMAT_RGB565);
	EXPECT_EQ(c.produces(yuyv), DRM_FORMAT_RGB565);
	EXPECT_THROW(c.setOutput(DRM_FORMAT_NV12), Error);
}
