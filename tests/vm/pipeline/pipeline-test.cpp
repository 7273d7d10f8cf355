/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vivid -> display through libdmapipe in the VM, checking what "zero-copy"
 * promises: every displayed buffer is one of the dma-bufs the camera wrote
 * (inode identity), the display imported them (capbuf's debugfs shows its
 * attachment), the screen shows the captured pixels (QMP screendump on
 * cirrus), and fds, capbuf buffers and DRM framebuffers return to where
 * they started.
 *
 * usage: pipeline-test ALLOC DISPLAY WxH FORMAT FRAMES [screendump|writeback]
 *                      [expect=EXPORTER]
 * expect=EXPORTER: the buffers must come from that exporter, and when it is
 * not the one asked for, the allocation reason must say why.
 */
#include <dmapipe/internal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "../common/vm-check.h"

using namespace dmapipe;
using namespace vmcheck;

/* Compares the vkms writeback output (XRGB8888, mode size) with the displayed frame. */
static void compareWriteback(KmsDisplay &display, const DmaBuffer &buf, const DisplayLayout &l)
{
	auto dumb = display.dumbAllocator();
	auto target = dumb->allocate(dumb->adjust(
		BufferLayout::contiguous(*formatFromString("XRGB8888"), l.modeWidth, l.modeHeight)));
	display.writeback(*target);
	const Plane &wp = target->planes()[0];
	const Plane &pl = buf.planes()[0];
	DmaBufMapping out(wp.fd.get(), target->dmabufSize(0), Access::Read);
	DmaBufMapping in(pl.fd.get(), buf.dmabufSize(0), Access::Read);
	CpuAccess b1(wp.fd.get(), Access::Read), b2(pl.fd.get(), Access::Read);
	long differ = 0, nonBlack = 0;
	for (uint32_t y = 0; y < buf.height(); y++) {
		for (uint32_t x = 0; x < buf.width(); x++) {
			const uint8_t *a = in.data() + pl.offset + y * pl.stride + x * 4;
			const uint8_t *b =
				out.data() + wp.offset + (y + l.y) * wp.stride + (x + l.x) * 4;
			if (a[0] != b[0] || a[1] != b[1] || a[2] != b[2])
				differ++;
			if (a[0] | a[1] | a[2])
				nonBlack++;
		}
	}
	printf("writeback: %ld of %u pixels differ, %ld non-black\n", differ,
	       buf.width() * buf.height(), nonBlack);
	CHECK(differ == 0, "the writeback output is not the captured frame");
	CHECK(nonBlack > long(buf.width() * buf.height() / 4), "the captured frame is mostly black");
}

/* Compares the screendump (binary PPM) with an XRGB8888 frame. */
static void compareScreen(const std::string &ppmPath, const DmaBuffer &buf, const DisplayLayout &l)
{
	std::ifstream in(ppmPath, std::ios::binary);
	std::string magic;
	unsigned w = 0, h = 0, max = 0;
	in >> magic >> w >> h >> max;
	in.get();
	CHECK(magic == "P6" && max == 255, "%s is not a P6 PPM", ppmPath.c_str());
	CHECK(w == l.modeWidth && h == l.modeHeight, "screen %ux%u, mode %ux%u", w, h, l.modeWidth,
	      l.modeHeight);
	std::vector<uint8_t> rgb(size_t(w) * h * 3);
	in.read(reinterpret_cast<char *>(rgb.data()), std::streamsize(rgb.size()));
	CHECK(in.good(), "short PPM");
	if (failures)
		return;

	const Plane &pl = buf.planes()[0];
	DmaBufMapping map(pl.fd.get(), buf.dmabufSize(0), Access::Read);
	CpuAccess bracket(pl.fd.get(), Access::Read);
	long differ = 0, nonBlack = 0;
	for (uint32_t y = 0; y < buf.height() && y < h; y++) {
		for (uint32_t x = 0; x < buf.width() && x < w; x++) {
			const uint8_t *px = map.data() + pl.offset + y * pl.stride + x * 4;
			const uint8_t *sp = &rgb[(size_t(y + l.y) * w + x + l.x) * 3];
			/* XRGB8888 is B,G,R,X in memory. */
			if (sp[0] != px[2] || sp[1] != px[1] || sp[2] != px[0])
				differ++;
			if (px[0] | px[1] | px[2])
				nonBlack++;
		}
	}
	printf("screendump: %ld of %u pixels differ, %ld non-black\n", differ,
	       buf.width() * buf.height(), nonBlack);
	CHECK(differ == 0, "the screen does not show the captured frame");
	CHECK(nonBlack > long(buf.width() * buf.height() / 4), "the captured frame is mostly black");
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: %s ALLOC DISPLAY WxH FORMAT FRAMES [screendump]\n", argv[0]);
		return 2;
	}
	PipelineConfig cfg;
	cfg.camera = "vivid";
	cfg.alloc = *allocStrategyFromString(argv[1]);
	cfg.display = argv[2];
	sscanf(argv[3], "%ux%u", &cfg.width, &cfg.height);
	cfg.format = argv[4];
	cfg.frames = strtoull(argv[5], nullptr, 0);
	bool screendump = false, writeback = false;
	std::string expectExporter;
	for (int i = 6; i < argc; i++) {
		screendump |= strcmp(argv[i], "screendump") == 0;
		writeback |= strcmp(argv[i], "writeback") == 0;
		if (strncmp(argv[i], "expect=", 7) == 0)
			expectExporter = argv[i] + 7;
	}

	int fds0 = countFds();
	long live0 = capbufLive();
	int fbs0 = drmFramebuffers();

	try {
		PipelinePrivate p(cfg);
		printf("path: %s\nalloc: %s (%s)\nlayout: %s\n", p.pathDescription().c_str(),
		       allocStrategyName(p.allocStrategy()), p.allocReason().c_str(),
		       p.layout().describe(cfg.width, cfg.height).c_str());

		std::set<uint64_t> ids;
		std::string exporter = p.buffers()[0]->exporter();
		for (const auto &b : p.buffers()) {
			ids.insert(b->id());
			CHECK(b->exporter() == exporter, "mixed exporters");
		}
		CHECK(ids.size() == p.buffers().size(), "buffers share an inode");
		CHECK(p.display().framebufferCount() == p.buffers().size(),
		      "one framebuffer per buffer");
		if (cfg.alloc == AllocStrategy::V4l2)
			CHECK(exporter.find("vmalloc") != std::string::npos || exporter == "vivid",
			      "v4l2 export by %s", exporter.c_str());
		if (cfg.alloc == AllocStrategy::Capbuf)
			CHECK(exporter == "capbuf", "exporter %s", exporter.c_str());
		if (!expectExporter.empty()) {
			CHECK(exporter == expectExporter, "exporter %s, expected %s",
			      exporter.c_str(), expectExporter.c_str());
			CHECK(p.allocReason().find("contiguous") != std::string::npos,
			      "the allocation reason does not say why: %s", p.allocReason().c_str());
		}

		uint64_t displayed = 0, foreign = 0, lastDisplayedId = 0;
		std::set<uint64_t> seen;
		bool checkedAttach = false;
		p.onDisplayed = [&](const DmaBuffer &b, const FrameInfo &info) {
			displayed++;
			if (displayed <= 2)
				printf("frame %u: captured at %.3f s, displayed by %.3f s (CLOCK_MONOTONIC)\n",
				       info.sequence, info.timestampNs / 1e9, monotonicNs() / 1e9);
			if (!ids.count(b.id()) || dmabufInode(b.planes()[0].fd.get()) != b.id())
				foreign++;
			seen.insert(b.id());
			lastDisplayedId = b.id();
			if (cfg.alloc == AllocStrategy::Capbuf && displayed == 30 && !checkedAttach) {
				/* Both importers hold an attachment on every buffer. */
				std::string dbg = slurp("/sys/kernel/debug/capbuf/buffers");
				std::string drv = p.display().driver();
				size_t withDisplay = 0;
				/* "cirrus/0000:00:02.0:bidir", or "platform/vkms:bidir" for a driverless device */
				for (const std::string &needle : { drv + "/", "/" + drv + ":" })
					for (size_t pos = 0;
					     (pos = dbg.find(needle, pos)) != std::string::npos;
					     pos++)
						withDisplay++;
				printf("capbuf debugfs:\n%s", dbg.c_str());
				CHECK(withDisplay >= p.buffers().size(),
				      "%zu of %zu buffers attached to %s", withDisplay,
				      p.buffers().size(), drv.c_str());
				checkedAttach = true;
			}
		};
		p.run();
		const Stats &s = p.stats();
		printf("%s\n", s.summary(monotonicNs()).c_str());
		CHECK(displayed == cfg.frames, "displayed %llu of %llu",
		      (unsigned long long)displayed, (unsigned long long)cfg.frames);
		CHECK(foreign == 0, "%llu displayed buffers were not captured ones",
		      (unsigned long long)foreign);
		CHECK(seen.size() >= 3, "only %zu distinct buffers reached the screen", seen.size());
		CHECK(s.latencyMs(50) > 0, "no latency measured");
		CHECK(cfg.alloc != AllocStrategy::Capbuf || checkedAttach, "attachments not checked");

		if (writeback) {
			const DmaBuffer *last = nullptr;
			for (const auto &b : p.buffers())
				if (b->id() == lastDisplayedId)
					last = b.get();
			CHECK(last, "last displayed buffer not found");
			if (last)
				compareWriteback(p.display(), *last, p.layout());
		}
		if (screendump) {
			const char *helper = getenv("DMAPIPE_VM_SCREENDUMP");
			const char *share = getenv("DMAPIPE_VM_SHARE");
			CHECK(helper && share, "not in the VM harness");
			if (helper && share) {
				std::string cmd = std::string(helper) + " pipeline.ppm";
				CHECK(system(cmd.c_str()) == 0, "screendump failed");
				/* The last frame displayed stays on screen once capture stopped. */
				const DmaBuffer *last = nullptr;
				for (const auto &b : p.buffers())
					if (b->id() == lastDisplayedId)
						last = b.get();
				CHECK(last, "last displayed buffer not found");
				if (last)
					compareScreen(std::string(share) + "/pipeline.ppm", *last,
						      p.layout());
			}
		}
	} catch (const std::exception &e) {
		fprintf(stderr, "FAIL: %s\n", e.what());
		return 1;
	}

	CHECK(countFds() == fds0, "fds %d -> %d", fds0, countFds());
	CHECK(capbufLive() == live0, "capbuf live buffers %ld -> %ld", live0, capbufLive());
	CHECK(drmFramebuffers() == fbs0, "DRM framebuffers %d -> %d", fbs0, drmFramebuffers());
	printf("%s\n", failures ? "FAILED" : "ok");
	return failures ? 1 : 0;
}
