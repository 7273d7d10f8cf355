/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dmapipe/stages.h"
#include "dmapipe/error.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <drm_fourcc.h>
#include <functional>
#include <sstream>
#include <thread>

namespace dmapipe {

/* ---- convert ---- */

/*
 * A fixed set of threads that help convert the current frame. The rows are
 * claimed in chunks from a shared counter by the caller and by whichever
 * workers are awake, so a worker that wakes late (a futex wake takes tens
 * of microseconds, a 640x480 frame converts in about a hundred natively)
 * only takes what is left, and the caller never waits for a worker that has
 * not started: n threads are never much slower than one.
 */
struct ConvertStage::Workers {
	explicit Workers(unsigned n)
	{
		for (unsigned i = 0; i < n; i++)
			threads.emplace_back([this] { loop(); });
	}
	~Workers()
	{
		{
			std::lock_guard<std::mutex> l(lock);
			quit = true;
		}
		cv.notify_all();
		for (auto &t : threads)
			t.join();
	}
	/* Runs fn() on the caller and on the workers that join in; returns when every fn() has. */
	void run(const std::function<void()> &fn)
	{
		{
			std::lock_guard<std::mutex> l(lock);
			job = &fn;
			generation++;
		}
		cv.notify_all();
		fn();
		std::unique_lock<std::mutex> l(lock);
		done.wait(l, [this] { return active == 0; });
		job = nullptr; /* workers waking from now on skip this frame */
	}
	void loop()
	{
		uint64_t seen = 0;
		for (;;) {
			const std::function<void()> *fn;
			{
				std::unique_lock<std::mutex> l(lock);
				cv.wait(l, [&] { return quit || generation != seen; });
				if (quit)
					return;
				seen = generation;
				fn = job;
				if (!fn)
					continue;
				active++;
			}
			(*fn)();
			std::lock_guard<std::mutex> l(lock);
			if (--active == 0)
				done.notify_one();
		}
	}

	std::vector<std::thread> threads;
	std::mutex lock;
	std::condition_variable cv, done;
	const std::function<void()> *job = nullptr;
	unsigned active = 0;
	uint64_t generation = 0;
	bool quit = false;
};

ConvertStage::ConvertStage(unsigned threads, uint32_t output, ConvertPrecision precision)
	: output_(output == DRM_FORMAT_RGB565 ? output : DRM_FORMAT_XRGB8888),
	  precision_(precision), threads_(threads ? threads : 1)
{
	if (threads_ > 1)
		workers_ = std::make_unique<Workers>(threads_ - 1);
}

ConvertStage::~ConvertStage() = default;

std::vector<uint32_t> ConvertStage::outputs()
{
	return { DRM_FORMAT_XRGB8888, DRM_FORMAT_RGB565 };
}

void ConvertStage::setOutput(uint32_t drmFourcc)
{
	if (drmFourcc != DRM_FORMAT_XRGB8888 && drmFourcc != DRM_FORMAT_RGB565)
		throw Error("convert makes XRGB8888 or RGB565, not " + fourccToString(drmFourcc));
	output_ = drmFourcc;
}

bool ConvertStage::accepts(const PixelFormat &f) const
{
	return f.drm != output_ && convertSupported(f.drm, output_);
}

uint32_t ConvertStage::produces(const PixelFormat &f) const
{
	return accepts(f) ? output_ : 0;
}

void ConvertStage::configure(const CaptureFormat &format)
{
	/* V4L2's GREY is Y'CbCr without chroma: its default range is Y'CbCr's (limited). */
	const bool rgb = !format.format.yuv && format.format.drm != DRM_FORMAT_R8;
	yuvParamsFromV4l2(format.colorspace, format.ycbcrEnc, format.quantization, rgb, &enc_,
			  &range_);
}

void ConvertStage::convert(const Frame &in, WritableFrame &out)
{
	if (in.width() != out.width() || in.height() != out.height())
		throw Error("convert: " + std::to_string(in.width()) + "x" +
			    std::to_string(in.height()) + " into " + std::to_string(out.width()) +
			    "x" + std::to_string(out.height()));
	ConstPlane planes[3] = {};
	unsigned n = in.planeCount();
	for (unsigned p = 0; p < n && p < 3; p++)
		planes[p] = { in.data(p), in.stride(p) };
	uint32_t fourcc = in.format().drm, w = in.width(), h = in.height();
	uint8_t *d = out.data(0);
	uint32_t ds = out.stride(0), to = out.format().drm;
	if (!convertSupported(fourcc, to))
		throw Error("convert: " + fourccToString(fourcc) + " into " + fourccToString(to));
	if (!workers_) {
		convertFrame(fourcc, planes, n, to, d, ds, w, h, enc_, range_, 0, h, precision_);
		return;
	}
	/* Chunks of about 32 K pixels, even rows (a 4:2:0 chroma row stays in one chunk). */
	const uint32_t chunk = std::max(2u, (32768 / std::max(w, 1u)) & ~1u);
	std::atomic<uint32_t> next { 0 };
	workers_->run([&] {
		for (;;) {
			const uint32_t begin = next.fetch_add(chunk, std::memory_order_relaxed);
			if (begin >= h)
				return;
			convertFrame(fourcc, planes, n, to, d, ds, w, h, enc_, range_, begin,
				     std::min(h, begin + chunk), precision_);
		}
	});
}

/* ---- overlay ---- */

/* 5x7 glyphs, one byte per row, bit 4 = leftmost column. */
static const uint8_t *glyph(char c)
{
	static const uint8_t digits[10][7] = {
		{ 0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e },
		{ 0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e },
		{ 0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f },
		{ 0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e },
		{ 0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02 },
		{ 0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e },
		{ 0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e },
		{ 0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08 },
		{ 0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e },
		{ 0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c },
	};
	static const uint8_t hash[7] = { 0x0a, 0x0a, 0x1f, 0x0a, 0x1f, 0x0a, 0x0a };
	static const uint8_t dot[7] = { 0, 0, 0, 0, 0, 0x0c, 0x0c };
	static const uint8_t blank[7] = {};
	if (c >= '0' && c <= '9')
		return digits[c - '0'];
	if (c == '#')
		return hash;
	if (c == '.')
		return dot;
	return blank;
}

std::string OverlayStage::text(const FrameInfo &info)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "#%06u %llu.%06llu", info.sequence,
		 (unsigned long long)(info.timestampNs / 1000000000ull),
		 (unsigned long long)(info.timestampNs % 1000000000ull / 1000));
	return buf;
}

unsigned OverlayStage::boxWidth(const std::string &text, unsigned scale)
{
	return (1 + 6 * unsigned(text.size())) * scale;
}

unsigned OverlayStage::boxHeight(unsigned scale)
{
	return 9 * scale;
}

bool OverlayStage::lit(const std::string &text, unsigned scale, unsigned x, unsigned y)
{
	unsigned cx = x / scale, cy = y / scale;
	if (cy < 1 || cy > 7 || cx < 1)
		return false;
	unsigned i = (cx - 1) / 6, gx = (cx - 1) % 6;
	if (i >= text.size() || gx >= 5)
		return false;
	return glyph(text[i])[cy - 1] & (0x10 >> gx);
}

bool OverlayStage::accepts(const PixelFormat &f) const
{
	switch (f.drm) {
	case DRM_FORMAT_XRGB8888:
	case DRM_FORMAT_XBGR8888:
	case DRM_FORMAT_ARGB8888:
	case DRM_FORMAT_ABGR8888:
	case DRM_FORMAT_YUYV:
	case DRM_FORMAT_UYVY:
		return true;
	default:
		return false;
	}
}

void OverlayStage::process(WritableFrame &frame)
{
	std::string t = text(frame.info());
	unsigned w = std::min(boxWidth(t, scale_), frame.width());
	unsigned h = std::min(boxHeight(scale_), frame.height());
	uint32_t fmt = frame.format().drm;
	bool yuyv = fmt == DRM_FORMAT_YUYV, uyvy = fmt == DRM_FORMAT_UYVY;
	for (unsigned y = 0; y < h; y++) {
		uint8_t *row = frame.line(0, y);
		for (unsigned x = 0; x < w; x++) {
			bool on = lit(t, scale_, x, y);
			if (yuyv || uyvy) {
				/* Luma of this pixel; the pair's chroma goes neutral. */
				uint8_t *px = row + x * 2;
				px[yuyv ? 0 : 1] = on ? 235 : 16;
				px[yuyv ? 1 : 0] = 128;
			} else {
				uint8_t *px = row + x * 4;
				uint8_t v = on ? 0xff : 0x00;
				px[0] = px[1] = px[2] = v;
				px[3] = 0xff;
			}
		}
	}
}

/* ---- analysis ---- */

bool AnalysisStage::accepts(const PixelFormat &f) const
{
	switch (f.drm) {
	case DRM_FORMAT_XRGB8888:
	case DRM_FORMAT_ARGB8888:
	case DRM_FORMAT_YUYV:
	case DRM_FORMAT_UYVY:
	case DRM_FORMAT_NV12:
	case DRM_FORMAT_NV21:
		return true;
	default:
		return false;
	}
}

static uint64_t mixLine(uint64_t h, const uint8_t *p, size_t n)
{
	/* 8 bytes at a time: a multiply-xor hash; byte-order independent of alignment. */
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t v;
		memcpy(&v, p + i, 8);
		h = (h ^ v) * 0x100000001b3ull;
		h ^= h >> 29;
	}
	for (; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

FrameAnalysis AnalysisStage::analyse(const PixelFormat &f, const uint8_t *const *planes,
				     const uint32_t *strides, uint32_t width, uint32_t height)
{
	FrameAnalysis a;
	uint64_t h = 0xcbf29ce484222325ull;
	for (unsigned p = 0; p < f.planes; p++)
		for (uint32_t y = 0; y < f.planeHeight(p, height); y++)
			h = mixLine(h, planes[p] + size_t(y) * strides[p], f.minStride(p, width));
	a.checksum = h;
	uint64_t sum = 0;
	for (uint32_t y = 0; y < height; y++) {
		const uint8_t *row = planes[0] + size_t(y) * strides[0];
		for (uint32_t x = 0; x < width; x++) {
			uint8_t l;
			switch (f.drm) {
			case DRM_FORMAT_YUYV:
				l = row[x * 2];
				break;
			case DRM_FORMAT_UYVY:
				l = row[x * 2 + 1];
				break;
			case DRM_FORMAT_NV12:
			case DRM_FORMAT_NV21:
				l = row[x];
				break;
			default: /* B, G, R, X in memory */
				l = uint8_t((29 * row[x * 4] + 150 * row[x * 4 + 1] +
					     77 * row[x * 4 + 2]) >>
					    8);
				break;
			}
			a.luma[l]++;
			sum += l;
		}
	}
	a.meanLuma = width && height ? double(sum) / (double(width) * height) : 0;
	return a;
}

void AnalysisStage::inspect(const Frame &frame)
{
	uint32_t strides[3] = {};
	const uint8_t *planes[3] = {};
	for (unsigned p = 0; p < frame.planeCount() && p < 3; p++) {
		strides[p] = frame.stride(p);
		planes[p] = frame.data(p);
	}
	FrameAnalysis a = analyse(frame.format(), planes, strides, frame.width(), frame.height());
	a.sequence = frame.info().sequence;
	std::lock_guard<std::mutex> l(lock_);
	last_ = a;
	frames_++;
}

FrameAnalysis AnalysisStage::last() const
{
	std::lock_guard<std::mutex> l(lock_);
	return last_;
}

/* ---- factory ---- */

std::shared_ptr<Stage> makeStage(const std::string &spec)
{
	std::string name = spec.substr(0, spec.find(':'));
	std::string param =
		spec.find(':') == std::string::npos ? "" : spec.substr(spec.find(':') + 1);
	auto number = [&](const char *key, unsigned lo, unsigned hi) -> unsigned {
		std::string prefix = std::string(key) + "=";
		if (param.empty())
			return 0;
		if (param.rfind(prefix, 0) != 0)
			throw Error("stage " + name + ": unknown parameter \"" + param +
				    "\" (it takes " + key + "=N)");
		std::string v = param.substr(prefix.size());
		char *end;
		unsigned long n = strtoul(v.c_str(), &end, 10);
		if (v.empty() || *end || n < lo || n > hi)
			throw Error("stage " + name + ": " + key + " wants " + std::to_string(lo) +
				    " to " + std::to_string(hi) + " (got \"" + v + "\")");
		return unsigned(n);
	};
	if (name == "convert") {
		/* Colon-separated (a stage list is comma-separated): threads=N, exact. */
		unsigned threads = 0;
		ConvertPrecision precision = ConvertPrecision::Fast;
		const std::string all = param;
		const bool hasParams = spec.find(':') != std::string::npos;
		for (size_t at = 0; hasParams && at <= all.size();) {
			const size_t colon = std::min(all.find(':', at), all.size());
			param = all.substr(at, colon - at);
			at = colon + 1;
			if (param == "exact")
				precision = ConvertPrecision::Exact;
			else if (param.rfind("threads=", 0) == 0)
				threads = number("threads", 1, 16);
			else
				throw Error(
					"stage convert: unknown parameter \"" + param +
					"\" (it takes threads=N and exact: convert:threads=2:exact)");
		}
		/* Measured in the VM (2 vCPUs, 640x360): 13 fps on one thread, 27 on two. */
		if (!threads)
			threads = std::max(1u, std::min(4u, std::thread::hardware_concurrency()));
		return std::make_shared<ConvertStage>(threads, 0, precision);
	}
	if (name == "overlay") {
		unsigned scale = number("scale", 1, 16);
		return std::make_shared<OverlayStage>(scale ? scale : 3);
	}
	if (name == "analysis") {
		if (!param.empty())
			throw Error("stage analysis takes no parameters (got \"" + param + "\")");
		return std::make_shared<AnalysisStage>();
	}
	throw Error("unknown stage \"" + name +
		    "\" (stages: convert[:threads=N][:exact], overlay[:scale=N], analysis)");
}

std::vector<std::shared_ptr<Stage>> makeStages(const std::string &specs)
{
	std::vector<std::shared_ptr<Stage>> out;
	std::stringstream ss(specs);
	std::string item;
	while (std::getline(ss, item, ','))
		out.push_back(makeStage(item));
	if (out.empty())
		throw Error("no stages in \"" + specs + "\"");
	return out;
}

} /* namespace dmapipe */
