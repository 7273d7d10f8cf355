/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vivid YUYV -> convert -> overlay -> analysis -> display, with capbuf's
 * checker in strict mode: any CPU touch outside a DMA_BUF_IOCTL_SYNC bracket
 * would be a SIGBUS. Checks from capbuf's debugfs that every bracket was
 * opened and closed exactly once per stage per frame, in the stage's
 * direction, that nothing was flagged, and (cirrus) that the screen shows
 * the converted frame with the overlay text of that frame.
 *
 * usage: stages-test DISPLAY FRAMES [screendump]
 */
#include <dmapipe/internal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <drm_fourcc.h>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "../common/vm-check.h"

using namespace dmapipe;
using namespace vmcheck;

struct Brackets {
	long begin[3] = {}, end[3] = {}; /* r, w, rw */
};

/* Sums of begin/end per direction over capbuf's buffers of one size. */
static std::map<long, Brackets> bracketsBySize()
{
	std::map<long, Brackets> out;
	std::stringstream s(slurp("/sys/kernel/debug/capbuf/buffers"));
	std::string line;
	while (std::getline(s, line)) {
		long size = field(line, "size=");
		auto b = line.find("begin="), e = line.find("end=");
		if (size < 0 || b == std::string::npos || e == std::string::npos)
			continue;
		Brackets &br = out[size];
		std::string bs = line.substr(b), es = line.substr(e);
		br.begin[0] += field(bs, "r:");
		br.begin[1] += field(bs, ",w:");
		br.begin[2] += field(bs, "rw:");
		br.end[0] += field(es, "r:");
		br.end[1] += field(es, ",w:");
		br.end[2] += field(es, "rw:");
	}
	return out;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s DISPLAY FRAMES [screendump]\n", argv[0]);
		return 2;
	}
	std::ofstream("/sys/module/capbuf/parameters/check") << "strict";
	CHECK(slurp("/sys/module/capbuf/parameters/check").find("strict") != std::string::npos,
	      "capbuf check=strict not set");

	PipelineConfig cfg;
	cfg.camera = "vivid";
	cfg.display = argv[1];
	cfg.format = "YUYV";
	cfg.alloc = AllocStrategy::Capbuf;
	cfg.frames = strtoull(argv[2], nullptr, 0);
	auto analysis = std::make_shared<AnalysisStage>();
	cfg.stages = { makeStage("convert"), makeStage("overlay:scale=2"), analysis };
	bool screendump = argc > 3 && strcmp(argv[3], "screendump") == 0;

	try {
		PipelinePrivate p(cfg);
		printf("path: %s\nlayout: %s\n", p.pathDescription().c_str(),
		       p.layout().describe(p.captureFormat().width, p.captureFormat().height).c_str());
		CHECK(p.displayFormat().drm == DRM_FORMAT_XRGB8888, "display format %s",
		      p.displayFormat().name);
		CHECK(p.displayBuffers().size() == 4, "display pool of %zu",
		      p.displayBuffers().size());

		uint64_t lastId = 0;
		FrameInfo lastInfo;
		p.onDisplayed = [&](const DmaBuffer &b, const FrameInfo &info) {
			lastId = b.id();
			lastInfo = info;
		};
		p.run();
		const Stats &s = p.stats();
		printf("%s\n", s.summary(monotonicNs()).c_str());
		CHECK(s.displayedFrames() == cfg.frames, "displayed %llu",
		      (unsigned long long)s.displayedFrames());
		CHECK(s.errorFrames == 0, "%llu frames failed", (unsigned long long)s.errorFrames);

		/* Exactly one bracket per stage per frame, in the stage's direction. */
		uint64_t converted = s.capturedFrames() - s.lateDrops - s.errorFrames;
		long capSize = long((p.buffers()[0]->dmabufSize(0)));
		long outSize = long((p.displayBuffers()[0]->dmabufSize(0)));
		auto br = bracketsBySize();
		const Brackets &cap = br[capSize], &out = br[outSize];
		printf("camera buffers: begin r:%ld w:%ld rw:%ld; display pool: begin r:%ld w:%ld rw:%ld; converted %llu\n",
		       cap.begin[0], cap.begin[1], cap.begin[2], out.begin[0], out.begin[1],
		       out.begin[2], (unsigned long long)converted);
		for (int d = 0; d < 3; d++) {
			CHECK(cap.begin[d] == cap.end[d], "camera buffers: %ld begins, %ld ends",
			      cap.begin[d], cap.end[d]);
			CHECK(out.begin[d] == out.end[d], "display pool: %ld begins, %ld ends",
			      out.begin[d], out.end[d]);
		}
		CHECK(cap.begin[0] == long(converted) && cap.begin[1] == 0 && cap.begin[2] == 0,
		      "convert reads each captured frame once");
		CHECK(out.begin[1] == long(converted), "convert writes each frame once (%ld)",
		      out.begin[1]);
		CHECK(out.begin[2] == long(converted), "overlay read-writes each frame once (%ld)",
		      out.begin[2]);
		CHECK(out.begin[0] == long(converted), "analysis reads each frame once (%ld)",
		      out.begin[0]);
		std::string stats = slurp("/sys/kernel/debug/capbuf/stats");
		CHECK(field(stats, "violations_total") == 0, "checker violations: %s", stats.c_str());
		CHECK(analysis->frames() == converted, "analysis saw %llu",
		      (unsigned long long)analysis->frames());
		CHECK(analysis->last().meanLuma > 10, "mean luma %.1f", analysis->last().meanLuma);

		if (screendump) {
			const DmaBuffer *last = nullptr;
			for (const auto &b : p.displayBuffers())
				if (b->id() == lastId)
					last = b.get();
			CHECK(last, "last displayed buffer not in the display pool");
			std::string cmd =
				std::string(getenv("DMAPIPE_VM_SCREENDUMP")) + " stages.ppm";
			CHECK(system(cmd.c_str()) == 0, "screendump");
			std::ifstream in(std::string(getenv("DMAPIPE_VM_SHARE")) + "/stages.ppm",
					 std::ios::binary);
			std::string magic;
			unsigned w, h, max;
			in >> magic >> w >> h >> max;
			in.get();
			std::vector<uint8_t> rgb(size_t(w) * h * 3);
			in.read(reinterpret_cast<char *>(rgb.data()), std::streamsize(rgb.size()));
			const Plane &pl = last->planes()[0];
			DmaBufMapping map(pl.fd.get(), last->dmabufSize(0), Access::Read);
			CpuAccess bracket(pl.fd.get(), Access::Read);
			const DisplayLayout &l = p.layout();
			long differ = 0, textWrong = 0;
			std::string text = OverlayStage::text(lastInfo);
			for (uint32_t y = 0; y < last->height(); y++) {
				for (uint32_t x = 0; x < last->width(); x++) {
					const uint8_t *px =
						map.data() + pl.offset + y * pl.stride + x * 4;
					const uint8_t *sp = &rgb[(size_t(y + l.y) * w + x + l.x) * 3];
					differ += sp[0] != px[2] || sp[1] != px[1] || sp[2] != px[0];
					if (x < OverlayStage::boxWidth(text, 2) &&
					    y < OverlayStage::boxHeight(2))
						textWrong += sp[0] !=
							(OverlayStage::lit(text, 2, x, y) ? 0xff : 0);
				}
			}
			printf("screendump: %ld pixels differ from the displayed frame; overlay \"%s\": %ld pixels wrong\n",
			       differ, text.c_str(), textWrong);
			CHECK(differ == 0, "screen is not the displayed frame");
			CHECK(textWrong == 0, "overlay text not on screen");
		}
	} catch (const std::exception &e) {
		fprintf(stderr, "FAIL: %s\n", e.what());
		return 1;
	}
	printf("%s\n", failures ? "FAILED" : "ok");
	return failures ? 1 : 0;
}
