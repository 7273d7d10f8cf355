/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dmapipe's Y'CbCr -> XRGB8888 conversion against GStreamer's videoconvert
 * on the same frames, natively, no VM: GStreamer's part through the
 * GstVideoConverter API that videoconvert runs (same options as the element
 * with dither=none chroma-mode=none: sample replication, as ours), so
 * neither side pays for a pipeline. Both with 1 thread and with n threads
 * (ours through ConvertStage itself, which splits rows in bands over its
 * worker threads; GStreamer's own task pool), and memcpy of the same number of bytes
 * as the memory-bandwidth floor.
 *
 * Rounds are interleaved (ours, GStreamer, memcpy, ours, ...) so a change of
 * load hits all three alike; each figure is the median over the rounds of
 * each round's median frame time, with the rounds' min and max.
 *
 * Prints one JSON line per (format, size, implementation, threads):
 *   {"format":"YUYV","width":1920,"height":1080,"impl":"dmapipe","threads":1,
 *    "ms":1.7,"ms_min":1.6,"ms_max":1.8,"src_bytes":..,"dst_bytes":..,"isa":"avx2"}
 * impl is dmapipe (the stage as users get it: ConvertPrecision::Fast on the
 * CPU's best ISA), videoconvert or memcpy (floor: (src + dst) / 2 bytes
 * copied, i.e. src + dst bytes of traffic, one thread); with 1 thread also
 * dmapipe-<isa> for every other ISA the CPU has (scalar included: the
 * reference) and dmapipe-exact (ConvertPrecision::Exact).
 *
 * usage: convert-vs-videoconvert [--rounds N] [--frames N] [--threads N]
 *                                [--sizes 640x480,...] [--formats YUYV,...]
 */

#include "dmapipe/convert.h"
#include "dmapipe/stages.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <drm_fourcc.h>
#include <gst/gst.h>
#include <gst/video/video.h>

using namespace dmapipe;

namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t0)
{
	return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double median(std::vector<double> v)
{
	std::sort(v.begin(), v.end());
	const size_t n = v.size();
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct Format {
	const char *name;
	uint32_t drm;
	GstVideoFormat gst;
};

const Format kFormats[] = {
	{ "YUYV", DRM_FORMAT_YUYV, GST_VIDEO_FORMAT_YUY2 },
	{ "UYVY", DRM_FORMAT_UYVY, GST_VIDEO_FORMAT_UYVY },
	{ "NV12", DRM_FORMAT_NV12, GST_VIDEO_FORMAT_NV12 },
};

struct Case {
	const Format *format;
	uint32_t width, height;
	GstVideoInfo in, out;
	GstBuffer *src = nullptr, *dst = nullptr;
	GstVideoFrame srcFrame {}, dstFrame {};
	std::vector<ConstPlane> planes;

	Case(const Format &f, uint32_t w, uint32_t h) : format(&f), width(w), height(h)
	{
		gst_video_info_set_format(&in, f.gst, w, h);
		/* BT.601 limited range, as vivid's default for SDTV and ours. */
		gst_video_colorimetry_from_string(&in.colorimetry, GST_VIDEO_COLORIMETRY_BT601);
		gst_video_info_set_format(&out, GST_VIDEO_FORMAT_BGRx, w, h);
		src = gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&in), nullptr);
		dst = gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&out), nullptr);
		GstMapInfo map;
		gst_buffer_map(src, &map, GST_MAP_WRITE);
		std::mt19937 rng(w * 131 + f.drm);
		for (size_t i = 0; i < map.size; i++)
			map.data[i] = uint8_t(rng());
		gst_buffer_unmap(src, &map);
		gst_video_frame_map(&srcFrame, &in, src, GST_MAP_READ);
		gst_video_frame_map(&dstFrame, &out, dst, GST_MAP_WRITE);
		for (unsigned p = 0; p < GST_VIDEO_FRAME_N_PLANES(&srcFrame); p++)
			planes.push_back({ static_cast<const uint8_t *>(
						   GST_VIDEO_FRAME_PLANE_DATA(&srcFrame, p)),
					   uint32_t(GST_VIDEO_FRAME_PLANE_STRIDE(&srcFrame, p)) });
	}
	~Case()
	{
		gst_video_frame_unmap(&dstFrame);
		gst_video_frame_unmap(&srcFrame);
		gst_buffer_unref(dst);
		gst_buffer_unref(src);
	}
	size_t srcBytes() const { return GST_VIDEO_INFO_SIZE(&in); }
	size_t dstBytes() const { return GST_VIDEO_INFO_SIZE(&out); }
};

GstVideoConverter *gstConverter(Case &c, unsigned threads)
{
	GstStructure *cfg = gst_structure_new(
		"config", GST_VIDEO_CONVERTER_OPT_DITHER_METHOD, GST_TYPE_VIDEO_DITHER_METHOD,
		GST_VIDEO_DITHER_NONE, GST_VIDEO_CONVERTER_OPT_CHROMA_MODE,
		GST_TYPE_VIDEO_CHROMA_MODE, GST_VIDEO_CHROMA_MODE_NONE,
		GST_VIDEO_CONVERTER_OPT_THREADS, G_TYPE_UINT, threads, nullptr);
	return gst_video_converter_new(&c.in, &c.out, cfg);
}

/* Median of `frames` timed calls after 3 untimed ones. */
template<typename F>
double timeFrames(unsigned frames, F &&fn)
{
	for (int i = 0; i < 3; i++)
		fn();
	std::vector<double> t;
	for (unsigned i = 0; i < frames; i++) {
		const auto t0 = Clock::now();
		fn();
		t.push_back(msSince(t0));
	}
	return median(t);
}

struct Series {
	std::string impl;
	unsigned threads;
	std::vector<double> rounds;
	int maxDiff = -1; /* videoconvert's largest channel difference from ours */
	const char *isa = "";
};

void print(const Case &c, const Series &s)
{
	const auto [lo, hi] = std::minmax_element(s.rounds.begin(), s.rounds.end());
	std::printf("{\"format\":\"%s\",\"width\":%u,\"height\":%u,\"impl\":\"%s\",\"threads\":%u,"
		    "\"ms\":%.4f,\"ms_min\":%.4f,\"ms_max\":%.4f,\"rounds\":%zu,"
		    "\"src_bytes\":%zu,\"dst_bytes\":%zu,\"max_diff\":%d,\"isa\":\"%s\"}\n",
		    c.format->name, c.width, c.height, s.impl.c_str(), s.threads, median(s.rounds),
		    *lo, *hi, s.rounds.size(), c.srcBytes(), c.dstBytes(), s.maxDiff, s.isa);
	std::fflush(stdout);
}

std::vector<std::string> splitList(const std::string &s)
{
	std::vector<std::string> out;
	std::stringstream ss(s);
	for (std::string item; std::getline(ss, item, ',');)
		if (!item.empty())
			out.push_back(item);
	return out;
}

[[noreturn]] void usage()
{
	std::fprintf(stderr,
		     "usage: convert-vs-videoconvert [--rounds N] [--frames N] [--threads N]"
		     " [--sizes WxH,...] [--formats YUYV,UYVY,NV12]\n");
	std::exit(2);
}

} /* namespace */

int main(int argc, char **argv)
{
	unsigned rounds = 5, frames = 20;
	unsigned nthreads = std::max(2u, std::thread::hardware_concurrency());
	std::vector<std::string> sizes = { "640x480", "1280x720", "1920x1080" };
	std::vector<std::string> formats = { "YUYV", "UYVY", "NV12" };
	for (int i = 1; i < argc; i++) {
		const std::string a = argv[i];
		if (i + 1 >= argc)
			usage();
		const std::string v = argv[++i];
		if (a == "--rounds")
			rounds = unsigned(std::max(1, std::atoi(v.c_str())));
		else if (a == "--frames")
			frames = unsigned(std::max(1, std::atoi(v.c_str())));
		else if (a == "--threads")
			nthreads = unsigned(std::max(2, std::atoi(v.c_str())));
		else if (a == "--sizes")
			sizes = splitList(v);
		else if (a == "--formats")
			formats = splitList(v);
		else
			usage();
	}
	gst_init(&argc, &argv);

	for (const std::string &fname : formats) {
		const Format *f = nullptr;
		for (const Format &k : kFormats)
			if (fname == k.name)
				f = &k;
		if (!f) {
			std::fprintf(stderr, "unknown format %s (YUYV, UYVY, NV12)\n", fname.c_str());
			return 2;
		}
		for (const std::string &size : sizes) {
			unsigned w = 0, h = 0;
			if (std::sscanf(size.c_str(), "%ux%u", &w, &h) != 2 || !w || !h) {
				std::fprintf(stderr, "bad size %s\n", size.c_str());
				return 2;
			}
			Case c(*f, w, h);
			const unsigned counts[2] = { 1, nthreads };
			Series ours[2] = { { "dmapipe", 1, {} }, { "dmapipe", nthreads, {} } };
			Series gst[2] = { { "videoconvert", 1, {} },
					  { "videoconvert", nthreads, {} } };
			Series copy = { "memcpy", 1, {} };
			const ConvertIsa best = convertIsa();
			ours[0].isa = ours[1].isa = convertIsaName(best);
			/* The other ISAs and the exact path, one thread each, through a stage of their own. */
			struct Variant {
				Series series;
				ConvertIsa isa;
				std::unique_ptr<ConvertStage> stage;
			};
			std::vector<Variant> variants;
			for (ConvertIsa isa : { ConvertIsa::Scalar, ConvertIsa::Sse2,
						ConvertIsa::Avx2, ConvertIsa::Neon })
				if (isa != best && convertIsaSupported(isa))
					variants.push_back(
						{ { std::string("dmapipe-") + convertIsaName(isa),
						    1,
						    {},
						    -1,
						    convertIsaName(isa) },
						  isa,
						  std::make_unique<ConvertStage>(1) });
			variants.push_back(
				{ { "dmapipe-exact", 1, {}, -1, "clones" },
				  best,
				  std::make_unique<ConvertStage>(1, 0, ConvertPrecision::Exact) });
			GstVideoConverter *conv[2];
			std::unique_ptr<ConvertStage> stage[2];
			CaptureFormat cf;
			cf.format = *formatFromDrm(f->drm);
			cf.width = w, cf.height = h;
			for (int t = 0; t < 2; t++) {
				conv[t] = gstConverter(c, counts[t]);
				stage[t] = std::make_unique<ConvertStage>(counts[t]);
				stage[t]->configure(cf); /* colorspace default: BT.601 limited */
			}
			for (Variant &v : variants)
				v.stage->configure(cf);
			uint8_t *dst =
				static_cast<uint8_t *>(GST_VIDEO_FRAME_PLANE_DATA(&c.dstFrame, 0));
			const uint32_t dstStride =
				uint32_t(GST_VIDEO_FRAME_PLANE_STRIDE(&c.dstFrame, 0));
			const uint8_t *srcData[3] = {};
			uint32_t srcStrides[3] = {};
			for (size_t p = 0; p < c.planes.size(); p++)
				srcData[p] = c.planes[p].data, srcStrides[p] = c.planes[p].stride;
			const Frame in(cf.format, w, h, srcData, srcStrides);
			WritableFrame out(*formatFromDrm(DRM_FORMAT_XRGB8888), w, h, &dst,
					  &dstStride);
			const size_t copyBytes = (c.srcBytes() + c.dstBytes()) / 2;
			std::vector<uint8_t> from(copyBytes, 1), to(copyBytes);

			/*
			 * The same work on both sides: videoconvert's output stays
			 * within its documented rounding of the exact result
			 * (tests/unit/test_convert.cpp: at most 6 for limited range),
			 * and the stage's fast path within 1 of that.
			 */
			stage[0]->convert(in, out);
			std::vector<uint8_t> mine(dst, dst + size_t(dstStride) * h);
			gst_video_converter_frame(conv[0], &c.srcFrame, &c.dstFrame);
			int maxDiff = 0;
			for (uint32_t y = 0; y < h; y++)
				for (uint32_t x = 0; x < w * 4; x++)
					if (x % 4 != 3)
						maxDiff = std::max(
							maxDiff,
							std::abs(int(mine[size_t(y) * dstStride + x]) -
								 int(dst[size_t(y) * dstStride + x])));
			gst[0].maxDiff = gst[1].maxDiff = maxDiff;
			if (maxDiff > 7) {
				std::fprintf(
					stderr,
					"%s %ux%u: videoconvert differs from ours by %d: not the same conversion\n",
					f->name, w, h, maxDiff);
				return 1;
			}

			for (unsigned r = 0; r < rounds; r++) {
				for (int t = 0; t < 2; t++) {
					ours[t].rounds.push_back(timeFrames(
						frames, [&] { stage[t]->convert(in, out); }));
					gst[t].rounds.push_back(timeFrames(frames, [&] {
						gst_video_converter_frame(conv[t], &c.srcFrame,
									  &c.dstFrame);
					}));
				}
				for (Variant &v : variants) {
					setConvertIsa(v.isa);
					v.series.rounds.push_back(timeFrames(
						frames, [&] { v.stage->convert(in, out); }));
					setConvertIsa(best);
				}
				copy.rounds.push_back(timeFrames(frames, [&] {
					std::memcpy(to.data(), from.data(), copyBytes);
					asm volatile("" : : "r"(to.data()) : "memory");
				}));
			}
			for (int t = 0; t < 2; t++) {
				print(c, ours[t]);
				print(c, gst[t]);
				gst_video_converter_free(conv[t]);
			}
			for (const Variant &v : variants)
				print(c, v.series);
			print(c, copy);
		}
	}
	return 0;
}
