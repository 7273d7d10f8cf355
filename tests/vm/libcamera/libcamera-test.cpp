/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vimc through libcamera -> display through libdmapipe in the VM.
 *
 *   libcamera-test source
 *       LibcameraSource on its own: openSource("libcamera:0"), the DRM/V4L2
 *       byte-order mapping (libcamera RGB888 == V4L2 BGR24, BGR888 == V4L2
 *       RGB24) checked on the table and on real pixels (the same scene in
 *       both formats is byte-swapped; vimc's colour bars have yellow where R
 *       and G are high), size adjustment, imported and exported buffers,
 *       start/stop cycles, bad names.
 *
 *   libcamera-test pipeline ALLOC DISPLAY WxH FORMAT FRAMES [screendump|writeback] [convert]
 *       The Pipeline with camera "libcamera:0" (with "convert": through
 *       ConvertStage into the display's pool): displayed == FRAMES, every
 *       displayed buffer is one of the pool's dma-bufs (inode), the screen
 *       (QMP screendump on cirrus) or the writeback output (vkms) is the
 *       displayed frame pixel for pixel, fds/capbuf buffers/DRM framebuffers
 *       return to where they were.
 */
#include <dmapipe/internal.h>
#include <dmapipe/libcamera_source.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <drm_fourcc.h>
#include <fstream>
#include <linux/videodev2.h>
#include <poll.h>
#include <set>
#include <string>
#include <unistd.h>
#include <vector>

#include "../common/vm-check.h"

using namespace dmapipe;
using namespace vmcheck;

/* Byte offsets of R, G, B inside one pixel of an RGB format, from its DRM code. */
struct RgbLayout {
	unsigned cpp, r, g, b;
};
static RgbLayout rgbLayout(uint32_t drm)
{
	switch (drm) {
	case DRM_FORMAT_XRGB8888:
	case DRM_FORMAT_ARGB8888:
		return { 4, 2, 1, 0 };
	case DRM_FORMAT_XBGR8888:
	case DRM_FORMAT_ABGR8888:
		return { 4, 0, 1, 2 };
	case DRM_FORMAT_RGB888: /* little-endian R:G:B -> bytes B,G,R */
		return { 3, 2, 1, 0 };
	case DRM_FORMAT_BGR888: /* bytes R,G,B */
		return { 3, 0, 1, 2 };
	}
	return { 0, 0, 0, 0 };
}

/* Reads a P6 PPM; empty on error. */
static std::vector<uint8_t> readPpm(const std::string &path, unsigned &w, unsigned &h)
{
	std::ifstream in(path, std::ios::binary);
	std::string magic;
	unsigned max = 0;
	in >> magic >> w >> h >> max;
	in.get();
	if (magic != "P6" || max != 255)
		return {};
	std::vector<uint8_t> rgb(size_t(w) * h * 3);
	in.read(reinterpret_cast<char *>(rgb.data()), std::streamsize(rgb.size()));
	return in.good() ? rgb : std::vector<uint8_t> {};
}

/* Screen (RGB triplets, w x h) against the displayed buffer at the layout's offset. */
static void compareRgb(const uint8_t *screen, unsigned w, unsigned h, RgbLayout sl, uint32_t sstride,
		       const DmaBuffer &buf, const DisplayLayout &l, const char *what)
{
	RgbLayout bl = rgbLayout(buf.format().drm);
	CHECK(bl.cpp, "no RGB layout for %s", buf.format().name);
	if (!bl.cpp)
		return;
	const Plane &pl = buf.planes()[0];
	DmaBufMapping map(pl.fd.get(), buf.dmabufSize(0), Access::Read);
	CpuAccess bracket(pl.fd.get(), Access::Read);
	long differ = 0, nonBlack = 0;
	for (uint32_t y = 0; y < buf.height() && y + l.y < h; y++) {
		for (uint32_t x = 0; x < buf.width() && x + l.x < w; x++) {
			const uint8_t *px = map.data() + pl.offset + y * pl.stride + x * bl.cpp;
			const uint8_t *sp =
				screen + size_t(y + l.y) * sstride + size_t(x + l.x) * sl.cpp;
			if (sp[sl.r] != px[bl.r] || sp[sl.g] != px[bl.g] || sp[sl.b] != px[bl.b])
				differ++;
			if (px[0] | px[1] | px[2])
				nonBlack++;
		}
	}
	printf("%s: %ld of %u pixels differ, %ld non-black\n", what, differ,
	       buf.width() * buf.height(), nonBlack);
	CHECK(differ == 0, "%s does not show the captured frame", what);
	CHECK(nonBlack > long(buf.width() * buf.height() / 4), "the captured frame is mostly black");
}

static void compareScreen(const std::string &ppm, const DmaBuffer &buf, const DisplayLayout &l)
{
	unsigned w = 0, h = 0;
	std::vector<uint8_t> rgb = readPpm(ppm, w, h);
	CHECK(!rgb.empty(), "%s is not a readable P6 PPM", ppm.c_str());
	CHECK(w == l.modeWidth && h == l.modeHeight, "screen %ux%u, mode %ux%u", w, h, l.modeWidth,
	      l.modeHeight);
	if (rgb.empty())
		return;
	compareRgb(rgb.data(), w, h, { 3, 0, 1, 2 }, w * 3, buf, l, "screendump");
}

static void compareWriteback(KmsDisplay &display, const DmaBuffer &buf, const DisplayLayout &l)
{
	auto dumb = display.dumbAllocator();
	auto target = dumb->allocate(dumb->adjust(
		BufferLayout::contiguous(*formatFromString("XRGB8888"), l.modeWidth, l.modeHeight)));
	display.writeback(*target);
	const Plane &wp = target->planes()[0];
	DmaBufMapping out(wp.fd.get(), target->dmabufSize(0), Access::Read);
	CpuAccess b1(wp.fd.get(), Access::Read);
	compareRgb(out.data() + wp.offset, l.modeWidth, l.modeHeight,
		   rgbLayout(DRM_FORMAT_XRGB8888), wp.stride, buf, l, "writeback");
}

/* What each open fd is, for the leak report. */
static std::string fdList()
{
	std::string out;
	DIR *d = opendir("/proc/self/fd");
	while (struct dirent *e = readdir(d)) {
		if (e->d_name[0] == '.')
			continue;
		char target[256] = {};
		std::string link = std::string("/proc/self/fd/") + e->d_name;
		ssize_t n = readlink(link.c_str(), target, sizeof(target) - 1);
		out += std::string("  fd ") + e->d_name + " -> " + (n > 0 ? target : "?") + "\n";
	}
	closedir(d);
	return out;
}

/* ---- source mode ---- */

/* Captures `frames` frames with exported buffers; returns a copy of the last one (tight rows). */
static std::vector<uint8_t> grab(Source &src, const CaptureFormat &f, unsigned frames, bool import,
				 KmsDisplay *display, unsigned *gotFrames = nullptr)
{
	std::vector<std::unique_ptr<DmaBuffer>> bufs;
	std::unique_ptr<Allocator> alloc;
	if (import) {
		alloc = display->dumbAllocator();
		BufferLayout want = BufferLayout::fromStrides(f.format, f.width, f.height,
							      f.strides, f.sizes[0]);
		BufferLayout got = alloc->adjust(want);
		CHECK(got.planes[0].stride == f.strides[0], "dumb pitch %u, libcamera stride %u",
		      got.planes[0].stride, f.strides[0]);
		for (unsigned i = 0; i < 6; i++) {
			bufs.push_back(alloc->allocate(got));
			bufs.back()->index = i;
		}
		std::vector<const DmaBuffer *> raw;
		for (auto &b : bufs)
			raw.push_back(b.get());
		src.importBuffers(raw);
	} else {
		bufs = src.exportBuffers(6);
		CHECK(bufs.size() >= 4, "exported %zu buffers", bufs.size());
	}
	for (auto &b : bufs)
		src.queue(b->index);
	src.start();
	unsigned got = 0, errors = 0;
	uint64_t lastTs = 0;
	std::vector<uint8_t> last;
	/*
	 * A bound for a stuck camera, not a speed check: no frame for 15 s.
	 * vimc under TCG runs ~2 fps, and ~0.7 fps under libcamera >= 0.1,
	 * which debayers a 1920x1080 sensor frame whatever the stream size.
	 */
	const uint64_t stuckNs = 15000000000ull;
	uint64_t deadline = monotonicNs() + stuckNs;
	while (got < frames && monotonicNs() < deadline) {
		pollfd pfd = { src.fd(), POLLIN, 0 };
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		FrameInfo info;
		bool error = false;
		while (got < frames && src.dequeue(info, &error)) {
			deadline = monotonicNs() + stuckNs;
			if (error) {
				errors++;
			} else {
				got++;
				CHECK(info.timestampNs > lastTs, "timestamps not increasing");
				CHECK(info.timestampNs <= info.dequeuedNs,
				      "timestamp %llu after dequeue %llu",
				      (unsigned long long)info.timestampNs,
				      (unsigned long long)info.dequeuedNs);
				lastTs = info.timestampNs;
				if (got == frames) {
					const DmaBuffer &b = *bufs[info.index];
					const Plane &pl = b.planes()[0];
					DmaBufMapping map(pl.fd.get(), b.dmabufSize(0), Access::Read);
					CpuAccess br(pl.fd.get(), Access::Read);
					unsigned row = f.width * f.format.cpp[0];
					for (uint32_t y = 0; y < f.height; y++)
						last.insert(last.end(),
							    map.data() + pl.offset + y * pl.stride,
							    map.data() + pl.offset + y * pl.stride +
								    row);
				}
			}
			src.queue(info.index);
		}
	}
	CHECK(src.queuedCount() == bufs.size(), "queued %u of %zu while streaming",
	      src.queuedCount(), bufs.size());
	src.stop();
	CHECK(src.queuedCount() == 0, "queued %u after stop", src.queuedCount());
	CHECK(got == frames, "captured %u of %u frames (%u errors)", got, frames, errors);
	pollfd pfd = { src.fd(), POLLIN, 0 };
	CHECK(poll(&pfd, 1, 0) == 0, "fd readable after stop");
	if (gotFrames)
		*gotFrames = got;
	return last;
}

/* The pixel at (x, y) of a tight frame in R, G, B order. */
static void rgbAt(const std::vector<uint8_t> &img, const CaptureFormat &f, unsigned x, unsigned y,
		  uint8_t rgb[3])
{
	RgbLayout l = rgbLayout(f.format.drm);
	const uint8_t *p = &img[(size_t(y) * f.width + x) * l.cpp];
	rgb[0] = p[l.r];
	rgb[1] = p[l.g];
	rgb[2] = p[l.b];
}

static int sourceMode()
{
	/* The table: libcamera names formats by DRM fourcc. */
	CHECK(formatFromDrm(DRM_FORMAT_RGB888)->v4l2 == V4L2_PIX_FMT_BGR24,
	      "DRM RGB888 != V4L2 BGR24");
	CHECK(formatFromDrm(DRM_FORMAT_BGR888)->v4l2 == V4L2_PIX_FMT_RGB24,
	      "DRM BGR888 != V4L2 RGB24");

	int fds0 = countFds();
	try {
		for (const char *bad : { "libcamera:7", "libcamera:no such camera" }) {
			bool threw = false;
			try {
				openSource(bad);
			} catch (const Error &e) {
				threw = true;
				printf("%s: %s\n", bad, e.what());
			}
			CHECK(threw, "%s opened", bad);
		}

		std::unique_ptr<Source> src = openSource("libcamera:0");
		printf("source: %s driver %s\n", src->path().c_str(), src->driver().c_str());
		CHECK(src->path() == "libcamera:platform/vimc.0 Sensor B", "path %s",
		      src->path().c_str());
		CHECK(src->driver() == "vimc", "driver %s", src->driver().c_str());
		CHECK(src->supportsDmabufImport(), "no import");
		auto *lc = dynamic_cast<LibcameraSource *>(src.get());
		CHECK(lc, "openSource(libcamera:0) is not a LibcameraSource");
		{
			/* The same camera by id, while the first holds it: acquire must fail. */
			bool threw = false;
			try {
				openSource("libcamera:platform/vimc.0 Sensor B");
			} catch (const Error &e) {
				threw = true;
				printf("second open: %s\n", e.what());
			}
			CHECK(threw, "a second source acquired the camera");
		}

		std::vector<uint32_t> fmts = src->formats();
		std::string names;
		for (uint32_t f : fmts)
			names += fourccToString(f) + " ";
		printf("formats (V4L2): %s\n", names.c_str());
		bool rgb24 = false, bgr24 = false;
		for (uint32_t f : fmts) {
			rgb24 |= f == V4L2_PIX_FMT_RGB24;
			bgr24 |= f == V4L2_PIX_FMT_BGR24;
		}
		CHECK(rgb24 && bgr24,
		      "vimc through libcamera offers RGB24 (BGR888) and BGR24 (RGB888)");
		printf("frame rates: %zu (vimc has no FrameDurationLimits), setFrameRate(30) = %.2f\n",
		       src->frameRates(fmts[0], 0, 0).size(), src->setFrameRate(30));

		/*
		 * Size adjustment: libcamera's validate() rounds an odd size down to
		 * what vimc takes (0.0.3: 636x480, multiples of 6; 0.4: 640x480), and
		 * the adjusted size is taken as it is.
		 */
		CaptureFormat adj = src->setFormat(V4L2_PIX_FMT_BGR24, 641, 481);
		printf("asked 641x481 BGR24: got %ux%u stride %u size %u (%s)\n", adj.width,
		       adj.height, adj.strides[0], adj.sizes[0], adj.format.name);
		CHECK(adj.width <= 641 && adj.height <= 481 && adj.width % 2 == 0 &&
			      adj.height % 2 == 0 && adj.width >= 600 && adj.height >= 450,
		      "adjusted to %ux%u", adj.width, adj.height);
		CaptureFormat again = src->setFormat(V4L2_PIX_FMT_BGR24, adj.width, adj.height);
		CHECK(again.width == adj.width && again.height == adj.height,
		      "the adjusted %ux%u became %ux%u", adj.width, adj.height, again.width,
		      again.height);
		CHECK(adj.strides[0] >= adj.width * 3 && adj.sizes[0] >= adj.strides[0] * adj.height,
		      "stride %u size %u", adj.strides[0], adj.sizes[0]);
		CHECK(adj.format.drm == DRM_FORMAT_RGB888, "BGR24 is %s", adj.format.name);

		/* The same scene in both byte orders, through exported buffers. */
		KmsDisplay display("");
		CaptureFormat fa =
			src->setFormat(V4L2_PIX_FMT_RGB24, 960, 540); /* libcamera BGR888: R,G,B */
		std::vector<uint8_t> a = grab(*src, fa, 20, false, nullptr);
		CaptureFormat fb =
			src->setFormat(V4L2_PIX_FMT_BGR24, 960, 540); /* libcamera RGB888: B,G,R */
		std::vector<uint8_t> b = grab(*src, fb, 20, true, &display);
		CHECK(fa.width == 960 && fa.height == 540 && fb.width == 960, "sizes %ux%u %ux%u",
		      fa.width, fa.height, fb.width, fb.height);
		if (!a.empty() && a.size() == b.size()) {
			/* vimc's 75% colour bars: white, yellow, cyan, green, magenta, red, blue, black. */
			const char *bars[] = { "white",   "yellow", "cyan", "green",
					       "magenta", "red",    "blue", "black" };
			long swapped = 0, same = 0;
			for (size_t i = 0; i + 2 < a.size(); i += 3) {
				if (a[i] == b[i + 2] && a[i + 1] == b[i + 1] && a[i + 2] == b[i])
					swapped++;
				if (a[i] == b[i] && a[i + 2] == b[i + 2])
					same++;
			}
			printf("RGB24 vs BGR24 frames: %ld of %zu pixels byte-swapped, %ld with R==B bytes equal\n",
			       swapped, a.size() / 3, same);
			CHECK(swapped > long(a.size() / 3 * 9 / 10),
			      "the two formats are not byte-swapped");
			for (unsigned bar = 0; bar < 8; bar++) {
				uint8_t pa[3], pb[3];
				unsigned x = fa.width * (2 * bar + 1) / 16, y = fa.height / 2;
				rgbAt(a, fa, x, y, pa);
				rgbAt(b, fb, x, y, pb);
				printf("bar %u (%s): RGB24 frame R,G,B = %u,%u,%u; BGR24 frame R,G,B = %u,%u,%u\n",
				       bar, bars[bar], pa[0], pa[1], pa[2], pb[0], pb[1], pb[2]);
			}
			uint8_t y[3], c[3];
			rgbAt(a, fa, fa.width * 3 / 16, fa.height / 2, y);
			rgbAt(a, fa, fa.width * 5 / 16, fa.height / 2, c);
			CHECK(y[0] > 100 && y[1] > 100 && y[2] < 60,
			      "bar 1 is not yellow: %u,%u,%u", y[0], y[1], y[2]);
			CHECK(c[0] < 60 && c[1] > 100 && c[2] > 100, "bar 2 is not cyan: %u,%u,%u",
			      c[0], c[1], c[2]);
		} else {
			CHECK(false, "frames of %zu and %zu bytes", a.size(), b.size());
		}

		/* Start/stop cycles keep working on the same buffers' requests. */
		for (int i = 0; i < 3; i++)
			grab(*src, fb, 5, false, nullptr);
		printf("inflight limit %u, cancelled requests %llu, sequence gaps %llu\n",
		       lc->inflightLimit(), (unsigned long long)lc->cancelledRequests(),
		       (unsigned long long)src->sequenceGaps());
	} catch (const std::exception &e) {
		fprintf(stderr, "FAIL: %s\n", e.what());
		return 1;
	}
	/*
	 * libcamera keeps per-thread state (the calling thread's event
	 * dispatcher) for the life of the process: a first source may leave
	 * that behind, a second must not add to it.
	 */
	int fds1 = countFds();
	printf("fds: %d before the first source, %d after it\n%s", fds0, fds1, fdList().c_str());
	CHECK(fds1 <= fds0 + 1, "fds %d -> %d", fds0, fds1);
	try {
		std::unique_ptr<Source> src = openSource("libcamera:0");
		CaptureFormat f = src->setFormat(V4L2_PIX_FMT_BGR24, 960, 540);
		grab(*src, f, 5, false, nullptr);
	} catch (const std::exception &e) {
		fprintf(stderr, "FAIL: %s\n", e.what());
		return 1;
	}
	CHECK(countFds() == fds1, "fds %d -> %d after a second source", fds1, countFds());
	printf("%s\n", failures ? "FAILED" : "ok");
	return failures ? 1 : 0;
}

/* ---- pipeline mode ---- */

/* vimc's second colour bar is yellow: checks the byte order end to end. */
static void checkBars(const DmaBuffer &buf)
{
	RgbLayout l = rgbLayout(buf.format().drm);
	if (!l.cpp)
		return;
	const Plane &pl = buf.planes()[0];
	DmaBufMapping map(pl.fd.get(), buf.dmabufSize(0), Access::Read);
	CpuAccess bracket(pl.fd.get(), Access::Read);
	auto at = [&](unsigned bar, uint8_t rgb[3]) {
		const uint8_t *p = map.data() + pl.offset + (buf.height() / 2) * pl.stride +
			(buf.width() * (2 * bar + 1) / 16) * l.cpp;
		rgb[0] = p[l.r];
		rgb[1] = p[l.g];
		rgb[2] = p[l.b];
	};
	uint8_t y[3], b[3];
	at(1, y);
	at(6, b);
	printf("displayed %s frame: bar 1 R,G,B = %u,%u,%u (yellow), bar 6 = %u,%u,%u (blue)\n",
	       buf.format().name, y[0], y[1], y[2], b[0], b[1], b[2]);
	CHECK(y[0] > 100 && y[1] > 100 && y[2] < 60, "bar 1 is not yellow");
	CHECK(b[0] < 60 && b[1] < 60 && b[2] > 100, "bar 6 is not blue");
}

static int pipelineMode(int argc, char **argv)
{
	if (argc < 7) {
		fprintf(stderr,
			"usage: %s pipeline ALLOC DISPLAY WxH FORMAT FRAMES [screendump|writeback]\n",
			argv[0]);
		return 2;
	}
	PipelineConfig cfg;
	cfg.camera = "libcamera:0";
	cfg.alloc = *allocStrategyFromString(argv[2]);
	cfg.display = argv[3];
	sscanf(argv[4], "%ux%u", &cfg.width, &cfg.height);
	cfg.format = strcmp(argv[5], "auto") ? argv[5] : "";
	cfg.frames = strtoull(argv[6], nullptr, 0);
	bool screendump = false, writeback = false, convert = false;
	for (int i = 7; i < argc; i++) {
		screendump |= strcmp(argv[i], "screendump") == 0;
		writeback |= strcmp(argv[i], "writeback") == 0;
		convert |= strcmp(argv[i], "convert") == 0;
	}
	/* vkms takes no 24-bit format: the built-in ConvertStage reorders RGB888/BGR888 into XRGB8888. */
	if (convert)
		cfg.stages.push_back(makeStage("convert"));

	/*
	 * libcamera keeps an eventfd per thread that used it, for the life of
	 * the process: take it before counting, so a leak per source shows.
	 */
	try {
		openSource(cfg.camera);
	} catch (const std::exception &e) {
		fprintf(stderr, "FAIL: %s\n", e.what());
		return 1;
	}
	int fds0 = countFds();
	long live0 = capbufLive();
	int fbs0 = drmFramebuffers();
	try {
		PipelinePrivate p(cfg);
		const CaptureFormat &f = p.captureFormat();
		printf("path: %s\nalloc: %s (%s)\nformat: %s %ux%u stride %u frame %u bytes\nlayout: %s\n",
		       p.pathDescription().c_str(), allocStrategyName(p.allocStrategy()),
		       p.allocReason().c_str(), f.format.name, f.width, f.height, f.strides[0],
		       f.sizes[0], p.layout().describe(cfg.width, cfg.height).c_str());
		auto *lc = dynamic_cast<LibcameraSource *>(&p.capture());
		CHECK(lc, "the pipeline's source is not a LibcameraSource");

		std::set<uint64_t> ids;
		std::string exporter = p.buffers()[0]->exporter();
		for (const auto &b : p.buffers())
			CHECK(b->exporter() == exporter, "mixed exporters");
		for (const auto &b : p.displayBuffers())
			ids.insert(b->id());
		printf("buffers: %zu from %s; displayed from %zu %s buffers from %s\n",
		       p.buffers().size(), exporter.c_str(), p.displayBuffers().size(),
		       p.displayFormat().name, p.displayBuffers()[0]->exporter().c_str());
		CHECK(ids.size() == p.displayBuffers().size(), "buffers share an inode");
		CHECK(p.display().framebufferCount() == p.displayBuffers().size(),
		      "one framebuffer per buffer");
		CHECK(convert || p.displayBuffers().size() == p.buffers().size(),
		      "a display pool without conversion");
		if (convert)
			CHECK(p.displayFormat().drm == DRM_FORMAT_XRGB8888 &&
				      p.displayBuffers() != p.buffers(),
			      "convert was not used as the converter (display format %s)",
			      p.displayFormat().name);
		if (cfg.alloc == AllocStrategy::V4l2)
			CHECK(exporter.find("vmalloc") != std::string::npos,
			      "libcamera export by %s", exporter.c_str());
		if (cfg.alloc == AllocStrategy::Capbuf)
			CHECK(exporter == "capbuf", "exporter %s", exporter.c_str());

		uint64_t displayed = 0, foreign = 0, lastDisplayedId = 0;
		std::set<uint64_t> seen;
		p.onDisplayed = [&](const DmaBuffer &b, const FrameInfo &info) {
			displayed++;
			if (displayed <= 2)
				printf("frame %u: captured at %.3f s, displayed by %.3f s (CLOCK_MONOTONIC)\n",
				       info.sequence, info.timestampNs / 1e9, monotonicNs() / 1e9);
			if (!ids.count(b.id()) || dmabufInode(b.planes()[0].fd.get()) != b.id())
				foreign++;
			seen.insert(b.id());
			lastDisplayedId = b.id();
		};
		uint64_t t0 = monotonicNs();
		p.run();
		double secs = (monotonicNs() - t0) / 1e9;
		const Stats &s = p.stats();
		printf("%s\n", s.summary(monotonicNs()).c_str());
		printf("run: %llu frames displayed in %.2f s (%.1f fps); inflight limit %u; cancelled at stop %llu\n",
		       (unsigned long long)displayed, secs, displayed / secs,
		       lc ? lc->inflightLimit() : 0,
		       (unsigned long long)(lc ? lc->cancelledRequests() : 0));
		CHECK(displayed == cfg.frames, "displayed %llu of %llu",
		      (unsigned long long)displayed, (unsigned long long)cfg.frames);
		CHECK(foreign == 0, "%llu displayed buffers were not the pool's",
		      (unsigned long long)foreign);
		/* A conversion pool is handed out last-freed-first: two of it may be all the screen needs. */
		CHECK(seen.size() >= (convert ? 2u : 3u),
		      "only %zu distinct buffers reached the screen", seen.size());
		CHECK(s.latencyMs(50) > 0, "no latency measured");

		const DmaBuffer *last = nullptr;
		for (const auto &b : p.displayBuffers())
			if (b->id() == lastDisplayedId)
				last = b.get();
		CHECK(last, "last displayed buffer not found");
		if (last)
			checkBars(*last);
		if (writeback && last)
			compareWriteback(p.display(), *last, p.layout());
		if (screendump && last) {
			const char *helper = getenv("DMAPIPE_VM_SCREENDUMP");
			const char *share = getenv("DMAPIPE_VM_SHARE");
			CHECK(helper && share, "not in the VM harness");
			if (helper && share) {
				std::string name = std::string("libcamera-") + argv[2] + ".ppm";
				CHECK(system((std::string(helper) + " " + name).c_str()) == 0,
				      "screendump failed");
				compareScreen(std::string(share) + "/" + name, *last, p.layout());
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

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "source") == 0)
		return sourceMode();
	if (argc >= 2 && strcmp(argv[1], "pipeline") == 0)
		return pipelineMode(argc, argv);
	fprintf(stderr,
		"usage: %s source | pipeline ALLOC DISPLAY WxH FORMAT FRAMES [screendump|writeback]\n",
		argv[0]);
	return 2;
}
