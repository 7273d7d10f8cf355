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
