/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dmapipe/allocator.h>
#include <dmapipe/error.h>
#include <dmapipe/kms_display.h>

#include <drm_fourcc.h>
#include <gtest/gtest.h>

using namespace dmapipe;

TEST(Layout, ListedModeOfTheFrameSizeComesFirst)
{
	std::vector<ModeSize> modes = { { 1024, 768, true }, { 800, 600 }, { 640, 480 } };
	auto c = layoutCandidates(640, 480, modes);
	ASSERT_FALSE(c.empty());
	EXPECT_EQ(c[0], (DisplayLayout { 640, 480, false, 0, 0, 640, 480 }));
	for (const auto &l : c)
		EXPECT_FALSE(l.customMode) << "a listed mode needs no custom one";
}

TEST(Layout, UnlistedSizeGetsACustomModeThenCentredThenScaled)
{
	/* vivid's 640x360 on cirrus, whose modes are 4:3: kmssink fails here. */
	std::vector<ModeSize> modes = { { 1024, 768, true }, { 640, 480 } };
	auto c = layoutCandidates(640, 360, modes);
	ASSERT_EQ(c.size(), 4u);
	EXPECT_EQ(c[0], (DisplayLayout { 640, 360, true, 0, 0, 640, 360 }));
	EXPECT_EQ(c[1], (DisplayLayout { 1024, 768, false, 192, 204, 640, 360 }));
	EXPECT_EQ(c[2], (DisplayLayout { 1024, 768, false, 0, 96, 1024, 576 })); /* 16:9 kept */
	EXPECT_EQ(c[3], (DisplayLayout { 1024, 768, false, 0, 0, 1024, 768 }));
	EXPECT_FALSE(c[1].scaled(640, 360));
	EXPECT_TRUE(c[2].scaled(640, 360));
}

TEST(Layout, FrameLargerThanTheScreenIsNeverCentredUnscaled)
{
	std::vector<ModeSize> modes = { { 1024, 768, true } };
	for (const auto &l : layoutCandidates(1920, 1080, modes)) {
		if (!l.customMode) {
			EXPECT_LE(l.w, 1024u);
			EXPECT_LE(l.h, 768u);
		}
	}
}

TEST(Layout, NoModesStillOffersTheFrameSize)
{
	auto c = layoutCandidates(320, 240, {});
	ASSERT_EQ(c.size(), 1u);
	EXPECT_TRUE(c[0].customMode);
	EXPECT_TRUE(layoutCandidates(0, 240, {}).empty());
}

TEST(Layout, Describe)
{
	DisplayLayout full { 640, 480, false, 0, 0, 640, 480 };
	EXPECT_EQ(full.describe(640, 480), "mode 640x480, full screen");
	DisplayLayout centred { 1024, 768, false, 192, 204, 640, 360 };
	EXPECT_EQ(centred.describe(640, 360), "mode 1024x768, frame at 192,204 640x360 unscaled");
}

TEST(BufferLayout, ContiguousPlanes)
{
	auto nv12 = *formatFromDrm(DRM_FORMAT_NV12);
	auto l = BufferLayout::contiguous(nv12, 640, 480, 64);
	ASSERT_EQ(l.planes.size(), 2u);
	EXPECT_EQ(l.planes[0].stride, 640u);
	EXPECT_EQ(l.planes[1].offset, 640u * 480);
	EXPECT_EQ(l.planes[1].length, 640u * 240);
	EXPECT_EQ(l.sizes[0], 640u * 480 * 3 / 2);
	auto padded = BufferLayout::contiguous(*formatFromDrm(DRM_FORMAT_RGB888), 100, 10, 64);
	EXPECT_EQ(padded.planes[0].stride, 320u);
}

TEST(BufferLayout, RejectsStridesBelowTheFormatsMinimum)
{
	auto xrgb = *formatFromDrm(DRM_FORMAT_XRGB8888);
	EXPECT_THROW(BufferLayout::fromStrides(xrgb, 640, 480, { 2559 }), Error);
	EXPECT_THROW(BufferLayout::fromStrides(xrgb, 640, 480, { 2560, 2560 }), Error);
	try {
		BufferLayout::fromStrides(xrgb, 640, 480, { 100 });
	} catch (const Error &e) {
		EXPECT_NE(std::string(e.what()).find("2560"), std::string::npos) << e.what();
	}
	/* A driver's larger sizeimage is honoured. */
	EXPECT_EQ(BufferLayout::fromStrides(xrgb, 640, 480, { 2560 }, 2 << 20).sizes[0],
		  size_t(2 << 20));
}

/* The sink's scaling property and render rectangle (kmssink-style). */
TEST(LayoutRequest, EachScalingPolicy)
{
	std::vector<ModeSize> modes = { { 1920, 1080, true }, { 640, 480, false } };
	auto one = [&](Scaling s, uint32_t fw, uint32_t fh) {
		LayoutRequest r;
		r.scaling = s;
		return layoutCandidates(fw, fh, modes, r);
	};
	/* None: a mode of the frame's size, else centred; nothing scaled. */
	auto none = one(Scaling::None, 640, 480);
	ASSERT_FALSE(none.empty());
	EXPECT_EQ(none[0].modeWidth, 640u);
	for (const auto &l : none)
		EXPECT_FALSE(l.scaled(640, 480));
	/* Fit: 4:3 into 16:9 is pillarboxed, height-limited. */
	auto fit = one(Scaling::Fit, 640, 480);
	ASSERT_EQ(fit.size(), 1u);
	EXPECT_EQ(fit[0].w, 1440u);
	EXPECT_EQ(fit[0].h, 1080u);
	EXPECT_EQ(fit[0].x, 240);
	EXPECT_EQ(fit[0].y, 0);
	/* Fill: width-limited, cropped top and bottom (negative y). */
	auto fill = one(Scaling::Fill, 640, 480);
	ASSERT_EQ(fill.size(), 1u);
	EXPECT_EQ(fill[0].w, 1920u);
	EXPECT_EQ(fill[0].h, 1440u);
	EXPECT_EQ(fill[0].x, 0);
	EXPECT_EQ(fill[0].y, -180);
	/* Stretch: the whole preferred mode. */
	auto stretch = one(Scaling::Stretch, 640, 480);
	ASSERT_EQ(stretch.size(), 1u);
	EXPECT_EQ(stretch[0].w, 1920u);
	EXPECT_EQ(stretch[0].h, 1080u);
	/* A render rectangle wins over the policy. */
	LayoutRequest r;
	r.scaling = Scaling::Fit;
	r.x = 100;
	r.y = 50;
	r.w = 640;
	r.h = 480;
	auto rect = layoutCandidates(640, 480, modes, r);
	ASSERT_EQ(rect.size(), 1u);
	EXPECT_EQ(rect[0].modeWidth, 1920u);
	EXPECT_EQ(rect[0].x, 100);
	EXPECT_EQ(rect[0].y, 50);
	EXPECT_FALSE(rect[0].scaled(640, 480));
	/* Auto without a rectangle is the default candidate list. */
	EXPECT_EQ(layoutCandidates(640, 480, modes, LayoutRequest {}).size(),
		  layoutCandidates(640, 480, modes).size());
}
