/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dmapipe/allocator.h>
#include <dmapipe/buffer.h>
#include <dmapipe/cpu_access.h>
#include <dmapipe/error.h>
#include <dmapipe/fd.h>
#include <dmapipe/pipeline.h>
#include <dmapipe/stages.h>
#include <dmapipe/stats.h>

#include <cerrno>
#include <dirent.h>
#include <drm_fourcc.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/dma-buf.h>
#include <sys/mman.h>
#include <unistd.h>

using namespace dmapipe;

static int openFds()
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

TEST(Error, NamesCallDeviceAndErrno)
{
	Error e("VIDIOC_S_FMT", "/dev/video0", EINVAL);
	EXPECT_STREQ(e.what(), "VIDIOC_S_FMT on /dev/video0: Invalid argument");
	EXPECT_EQ(e.errnum(), EINVAL);
	Error h("drmSetMaster", "/dev/dri/card0", EACCES, "no DRM master: stop the compositor");
	EXPECT_NE(std::string(h.what()).find("Permission denied (no DRM master"), std::string::npos);
}

TEST(UniqueFd, ClosesAndMoves)
{
	int before = openFds();
	{
		UniqueFd a(open("/dev/null", O_RDONLY | O_CLOEXEC));
		ASSERT_TRUE(a);
		UniqueFd b = std::move(a);
		EXPECT_FALSE(a);
		UniqueFd c = b.dup();
		EXPECT_NE(c.get(), b.get());
		EXPECT_EQ(openFds(), before + 2);
	}
	EXPECT_EQ(openFds(), before);
}

TEST(Dmabuf, ForeignFdsAreNotDmabufs)
{
	int fd = memfd_create("not-a-dmabuf", MFD_CLOEXEC);
	ASSERT_GE(fd, 0);
	EXPECT_FALSE(isDmabuf(fd));
	EXPECT_EQ(dmabufExporter(fd), "");
	EXPECT_NE(dmabufInode(fd), 0u);
	close(fd);
	EXPECT_EQ(dmabufInode(fd), 0u) << "a closed fd has no identity";
	EXPECT_FALSE(isDmabuf(-1));
}

TEST(CpuAccess, SyncOnANonDmabufFailsClearly)
{
	/* The bracket's START is an ioctl a memfd refuses: a clear error, nothing held. */
	int before = openFds();
	int fd = memfd_create("x", MFD_CLOEXEC);
	try {
		CpuAccess a(fd, Access::Read);
		FAIL() << "SYNC on a memfd succeeded";
	} catch (const Error &e) {
		EXPECT_NE(std::string(e.what()).find("DMA_BUF_IOCTL_SYNC(START)"), std::string::npos)
			<< e.what();
	}
	close(fd);
	EXPECT_EQ(openFds(), before);
	EXPECT_EQ(syncDirection(Access::Read), uint64_t(DMA_BUF_SYNC_READ));
	EXPECT_EQ(syncDirection(Access::Write), uint64_t(DMA_BUF_SYNC_WRITE));
	EXPECT_EQ(syncDirection(Access::ReadWrite), uint64_t(DMA_BUF_SYNC_RW));
}

TEST(DmaBufMapping, ProtectionFollowsAccessAndUnmaps)
{
	int fd = memfd_create("map", MFD_CLOEXEC);
	ASSERT_EQ(ftruncate(fd, 4096), 0);
	{
		DmaBufMapping rw(fd, 4096, Access::ReadWrite);
		rw.data()[0] = 42;
		DmaBufMapping ro(fd, 4096, Access::Read);
		EXPECT_EQ(ro.data()[0], 42);
		DmaBufMapping moved = std::move(ro);
		EXPECT_FALSE(ro.isValid());
		EXPECT_TRUE(moved.isValid());
	}
	EXPECT_THROW(DmaBufMapping(-1, 4096, Access::Read), Error);
	close(fd);
}

TEST(DmaBuffer, NeedsPlanes)
{
	EXPECT_THROW(DmaBuffer(*formatFromString("XRGB8888"), 1, 1, {}, "x"), Error);
}

TEST(Allocator, MissingHeapSaysWhatToDo)
{
	try {
		makeHeapAllocator("no-such-heap-here");
		FAIL();
	} catch (const Error &e) {
		EXPECT_NE(std::string(e.what()).find("/dev/dma_heap/no-such-heap-here"),
			  std::string::npos);
	}
}

TEST(Pipeline, StrategyNamesRoundTrip)
{
	for (auto s : { AllocStrategy::Auto, AllocStrategy::Capbuf, AllocStrategy::Heap,
			AllocStrategy::Udmabuf, AllocStrategy::V4l2, AllocStrategy::Dumb })
		EXPECT_EQ(allocStrategyFromString(allocStrategyName(s)), s);
	EXPECT_FALSE(allocStrategyFromString("Capbuf"));
	EXPECT_FALSE(allocStrategyFromString(""));
}

TEST(Pipeline, TooFewBuffersIsAClearError)
{
	PipelineConfig c;
	c.buffers = 3;
	try {
		Pipeline p(c);
		FAIL();
	} catch (const Error &e) {
		EXPECT_NE(std::string(e.what()).find("at least 4"), std::string::npos) << e.what();
	}
}

TEST(Pipeline, NoCameraIsAClearError)
{
	/* This host has no /dev/video*; a named device that does not exist says so. */
	int before = openFds();
	PipelineConfig c;
	c.camera = "/dev/this-is-no-camera";
	EXPECT_THROW(Pipeline p(c), Error);
	c.camera = "no-such-driver";
	try {
		Pipeline p(c);
		FAIL();
	} catch (const Error &e) {
		EXPECT_NE(std::string(e.what()).find("no-such-driver"), std::string::npos)
			<< e.what();
	}
	EXPECT_EQ(openFds(), before);
}

TEST(Stats, Percentiles)
{
	Stats s;
	s.start(0);
	for (uint64_t i = 1; i <= 100; i++)
		s.displayed(i * 1000000);
	s.stop(1000000000);
	EXPECT_NEAR(s.latencyMs(50), 50.5, 0.6);
	EXPECT_NEAR(s.latencyMs(99), 99, 1.01);
	EXPECT_DOUBLE_EQ(s.latencyMaxMs(), 100);
	EXPECT_DOUBLE_EQ(s.fps(5000000000), 100);
	EXPECT_NE(s.summary(0).find("displayed: 100 dropped: 0"), std::string::npos);
	Stats empty;
	EXPECT_EQ(empty.latencyMs(50), 0);
}

/* The stage converts Fast unless its spec says exact; parameters are colon-separated. */
TEST(Stages, ConvertSpec)
{
	auto precision = [](const std::string &spec) {
		auto s = std::dynamic_pointer_cast<ConvertStage>(makeStage(spec));
		EXPECT_TRUE(s) << spec;
		return s ? s->precision() : ConvertPrecision::Fast;
	};
	EXPECT_EQ(precision("convert"), ConvertPrecision::Fast);
	EXPECT_EQ(precision("convert:threads=2"), ConvertPrecision::Fast);
	EXPECT_EQ(precision("convert:exact"), ConvertPrecision::Exact);
	EXPECT_EQ(precision("convert:threads=2:exact"), ConvertPrecision::Exact);
	EXPECT_EQ(precision("convert:exact:threads=1"), ConvertPrecision::Exact);
	for (const char *bad : { "convert:fast", "convert:threads=0",
				 "convert:threads=2:", "convert:exact=1", "convert:" }) {
		try {
			makeStage(bad);
			ADD_FAILURE() << bad << " was accepted";
		} catch (const Error &e) {
			EXPECT_NE(std::string(e.what()).find("convert"), std::string::npos)
				<< e.what();
		}
	}
}

/*
 * Threads claim chunks of rows: whatever each thread ends up doing, the frame
 * is the single-threaded one, frame after frame (one worker waking late,
 * another finding no rows left), for every thread count and a 4:2:0 layout
 * whose chroma rows chunks must not split.
 */
TEST(Stages, ConvertThreadsMatchOneThread)
{
	/* 1031 wide: chunks of 30 rows, 5 of them. */
	const uint32_t w = 1031, h = 121, cw = (w + 1) / 2, ch = (h + 1) / 2;
	std::vector<uint8_t> y(size_t(w) * h), uv(size_t(cw) * 2 * ch);
	uint32_t seed = 1;
	for (auto *v : { &y, &uv })
		for (auto &b : *v)
			b = uint8_t((seed = seed * 1103515245u + 12345u) >> 16);
	const uint8_t *src[2] = { y.data(), uv.data() };
	const uint32_t srcStrides[2] = { w, cw * 2 };
	CaptureFormat cf;
	cf.format = *formatFromDrm(DRM_FORMAT_NV12);
	cf.width = w, cf.height = h;
	const Frame in(cf.format, w, h, src, srcStrides);
	const uint32_t ds = w * 4 + 12;
	auto convert = [&](ConvertStage &stage) {
		std::vector<uint8_t> out(size_t(ds) * h, 0xab);
		uint8_t *d = out.data();
		WritableFrame frame(*formatFromDrm(DRM_FORMAT_XRGB8888), w, h, &d, &ds);
		stage.convert(in, frame);
		return out;
	};
	ConvertStage one(1);
	one.configure(cf);
	const std::vector<uint8_t> want = convert(one);
	for (unsigned threads : { 2u, 3u, 8u }) {
		ConvertStage many(threads);
		many.configure(cf);
		for (int i = 0; i < 100; i++)
			ASSERT_EQ(convert(many), want) << threads << " threads, frame " << i;
	}
}
