/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The public API as an integrator sees it: built against the installed
 * headers' include directory and libdmapipe.so only (no internals).
 */
#include <dmapipe/dmapipe.h>

#include <gtest/gtest.h>

#include <cstring>
#include <type_traits>
#include <vector>

using namespace dmapipe;

/* A read-only stage gets const planes: a write through them does not compile. */
static_assert(std::is_same_v<decltype(std::declval<const Frame &>().data(0)), const uint8_t *>);
static_assert(std::is_same_v<decltype(std::declval<const Frame &>().line(0, 0)), const uint8_t *>);
static_assert(std::is_same_v<decltype(std::declval<WritableFrame &>().data(0)), uint8_t *>);
/* Frames are views: copying one copies no pixels. */
static_assert(std::is_trivially_copyable_v<FrameInfo>);

namespace {

class Invert : public Stage
{
public:
	std::string name() const override { return "invert"; }
	Access access() const override { return Access::ReadWrite; }
	bool accepts(const PixelFormat &f) const override { return f.planes == 2; }
	void process(WritableFrame &frame) override
	{
		for (unsigned p = 0; p < frame.planeCount(); p++)
			for (uint32_t y = 0; y < frame.planeHeight(p); y++)
				for (uint32_t x = 0; x < frame.format().minStride(p, frame.width());
				     x++)
					frame.line(p, y)[x] ^= 0xff;
	}
};

/* Declares Read but overrides only process(): a mistake the base class names. */
class Confused : public Stage
{
public:
	std::string name() const override { return "confused"; }
	Access access() const override { return Access::Read; }
	bool accepts(const PixelFormat &) const override { return true; }
	void process(WritableFrame &) override { }
};

} /* namespace */

TEST(Api, FrameGeometryForSubsampledPlanes)
{
	/* NV12 at 7x5 (odd sizes): chroma 4x3 pairs; strides padded. */
	PixelFormat nv12 = *formatFromString("NV12");
	std::vector<uint8_t> y(16 * 5), uv(16 * 3);
	const uint8_t *planes[] = { y.data(), uv.data() };
	uint32_t strides[] = { 16, 16 };
	FrameInfo info;
	info.sequence = 42;
	Frame f(nv12, 7, 5, planes, strides, info, 1234);
	EXPECT_EQ(f.planeCount(), 2u);
	EXPECT_EQ(f.planeWidth(0), 7u);
	EXPECT_EQ(f.planeHeight(0), 5u);
	EXPECT_EQ(f.planeWidth(1), 4u);
	EXPECT_EQ(f.planeHeight(1), 3u);
	EXPECT_EQ(f.stride(1), 16u);
	EXPECT_EQ(f.line(1, 2), uv.data() + 32);
	EXPECT_EQ(f.info().sequence, 42u);
	EXPECT_EQ(f.bufferId(), 1234u);
}

TEST(Api, CustomStageRunsOnPlainMemory)
{
	PixelFormat nv12 = *formatFromString("NV12");
	std::vector<uint8_t> y(8 * 4, 0x10), uv(8 * 2, 0x80);
	uint8_t *planes[] = { y.data(), uv.data() };
	uint32_t strides[] = { 8, 8 };
	WritableFrame f(nv12, 8, 4, planes, strides);
	Invert stage;
	ASSERT_TRUE(stage.accepts(nv12));
	stage.process(f);
	EXPECT_EQ(y[0], 0xef);
	EXPECT_EQ(uv[15], 0x7f);
}

TEST(Api, StageDefaultsNameTheMissingMethod)
{
	Confused stage;
	PixelFormat x = *formatFromString("XRGB8888");
	uint8_t pixel[4] = {};
	const uint8_t *planes[] = { pixel };
	uint32_t strides[] = { 4 };
	Frame f(x, 1, 1, planes, strides);
	try {
		stage.inspect(f);
		FAIL() << "inspect() did not throw";
	} catch (const Error &e) {
		EXPECT_NE(std::string(e.what()).find("confused declares read access"), std::string::npos)
			<< e.what();
		EXPECT_NE(std::string(e.what()).find("inspect"), std::string::npos) << e.what();
	}
	EXPECT_EQ(stage.produces(x), 0u);
}

TEST(Api, BuiltInStagesByName)
{
	auto stages = makeStages("overlay:scale=2,analysis");
	ASSERT_EQ(stages.size(), 2u);
	EXPECT_EQ(stages[0]->access(), Access::ReadWrite);
	EXPECT_EQ(stages[1]->access(), Access::Read);
	EXPECT_THROW(makeStage("blur"), Error);
}

TEST(Api, VersionMatchesTheHeaders)
{
	EXPECT_STREQ(version(), DMAPIPE_VERSION_STRING);
	EXPECT_TRUE(DMAPIPE_VERSION_AT_LEAST(0, 0, 0));
	EXPECT_FALSE(DMAPIPE_VERSION_AT_LEAST(DMAPIPE_VERSION_MAJOR + 1, 0, 0));
}

TEST(Api, ConfigurationErrorsThrowAndGoThroughNoHandler)
{
	std::vector<std::string> got;
	setLogHandler([&](LogLevel, const std::string &m) { got.push_back(m); });
	PipelineConfig c;
	c.buffers = 2;
	try {
		Pipeline p(c);
		FAIL() << "2 buffers accepted";
	} catch (const Error &e) {
		EXPECT_NE(std::string(e.what()).find("at least 4"), std::string::npos) << e.what();
		EXPECT_EQ(e.errnum(), 0);
	}
	setLogHandler(nullptr);
	EXPECT_TRUE(got.empty());
}

TEST(Api, NoDeviceIsAClearError)
{
	/* This host has no /dev/video*: the constructor throws, nothing leaks (ASan run). */
	PipelineConfig c;
	c.camera = "/dev/video-does-not-exist";
	try {
		Pipeline p(c);
		FAIL() << "a missing camera was accepted";
	} catch (const Error &e) {
		EXPECT_NE(std::string(e.what()).find("/dev/video-does-not-exist"), std::string::npos)
			<< e.what();
	}
}
