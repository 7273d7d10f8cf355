/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The format matrix: every camera format vivid offers that the conversion
 * takes, at each size, with each allocation strategy, through
 * `--stage convert` onto the display, compared pixel-exact with the
 * reference conversion of the same captured frame.
 *
 * A read stage ahead of the converter keeps a copy of each captured frame
 * (by sequence number). Once the pipeline stopped, the display still shows
 * the last frame: its pixels are read back (vkms: the writeback connector;
 * cirrus: QMP screendump) and compared with convertFrame() of the kept copy,
 * the kernel the unit suite proves exact for all 2^24 inputs. That checks
 * what the unit tests cannot: V4L2's strides and plane offsets, one dma-buf
 * per plane (vivid multiplanar=2: NV12M, YUV420M, ...), the mappings and
 * their brackets, the colorimetry vivid reports, and the scanout.
 *
 * usage: format-matrix DISPLAY writeback|screendump [--full]
 *                      [--formats A,B,..] [--sizes WxH,..] [--allocs capbuf,v4l2,dumb]
 * Without --formats: every format the camera offers that the conversion
 * takes (so vivid multiplanar=2 gives the ...M forms). The default run
 * (the CI budget): 640x480 (NV12 at 640x480 is not a page multiple), every
 * format with capbuf, and NV12, YUYV and YUV420 (or their ...M forms) with
 * the other two strategies too. --full: every format x every strategy x
 * 320x180, 640x480 and 1280x720. Prints one line per case and a table;
 * exit 1 on any failure.
 */
#include <dmapipe/internal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <drm_fourcc.h>

#include "../common/vm-check.h"

using namespace dmapipe;
using namespace vmcheck;

namespace {

/* Keeps a copy of the last frames it saw, with their geometry. */
class Recorder : public Stage
{
public:
	struct Copy {
		std::vector<std::vector<uint8_t>> planes;
		std::vector<uint32_t> strides;
		PixelFormat format;
		uint32_t width = 0, height = 0;
	};

	std::string name() const override { return "record"; }
	Access access() const override { return Access::Read; }
	bool accepts(const PixelFormat &) const override { return true; }
	void inspect(const Frame &f) override
	{
		Copy c;
		c.format = f.format();
		c.width = f.width();
		c.height = f.height();
		for (unsigned p = 0; p < f.planeCount(); p++) {
			const size_t bytes =
				size_t(f.stride(p)) * f.format().planeHeight(p, f.height());
			c.planes.emplace_back(f.data(p), f.data(p) + bytes);
			c.strides.push_back(f.stride(p));
		}
		std::lock_guard<std::mutex> l(lock_);
		frames_[f.info().sequence] = std::move(c);
		while (frames_.size() > 8)
			frames_.erase(frames_.begin());
	}
	bool find(uint32_t sequence, Copy *out)
	{
		std::lock_guard<std::mutex> l(lock_);
		auto it = frames_.find(sequence);
		if (it == frames_.end())
			return false;
		*out = it->second;
		return true;
	}

private:
	std::mutex lock_;
	std::map<uint32_t, Copy> frames_;
};

/* The display's pixels of the frame's rectangle, as XRGB8888 (B,G,R,X). */
bool readScreen(KmsDisplay &display, const DisplayLayout &l, uint32_t w, uint32_t h, bool writeback,
		std::vector<uint8_t> *out, std::string *why)
{
	out->assign(size_t(w) * h * 4, 0);
	if (writeback) {
		auto dumb = display.dumbAllocator();
		auto target = dumb->allocate(dumb->adjust(BufferLayout::contiguous(
			*formatFromDrm(DRM_FORMAT_XRGB8888), l.modeWidth, l.modeHeight)));
		display.writeback(*target);
		const Plane &wp = target->planes()[0];
		DmaBufMapping map(wp.fd.get(), target->dmabufSize(0), Access::Read);
		CpuAccess bracket(wp.fd.get(), Access::Read);
		for (uint32_t y = 0; y < h; y++)
			std::memcpy(&(*out)[size_t(y) * w * 4],
				    map.data() + wp.offset + size_t(y + l.y) * wp.stride + l.x * 4,
				    size_t(w) * 4);
		return true;
	}
	const char *helper = getenv("DMAPIPE_VM_SCREENDUMP");
	const char *share = getenv("DMAPIPE_VM_SHARE");
	if (!helper || !share) {
		*why = "not in the VM harness (no screendump helper)";
		return false;
	}
	if (system((std::string(helper) + " matrix.ppm").c_str()) != 0) {
		*why = "screendump failed";
		return false;
	}
	std::ifstream in(std::string(share) + "/matrix.ppm", std::ios::binary);
	std::string magic;
	unsigned sw = 0, sh = 0, max = 0;
	in >> magic >> sw >> sh >> max;
	in.get();
	if (magic != "P6" || max != 255 || sw != l.modeWidth || sh != l.modeHeight) {
		*why = "screendump is not a " + std::to_string(l.modeWidth) + "x" +
			std::to_string(l.modeHeight) + " P6 PPM";
		return false;
	}
	std::vector<uint8_t> rgb(size_t(sw) * sh * 3);
	in.read(reinterpret_cast<char *>(rgb.data()), std::streamsize(rgb.size()));
	if (!in.good()) {
		*why = "short PPM";
		return false;
	}
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++) {
			const uint8_t *sp = &rgb[(size_t(y + l.y) * sw + x + l.x) * 3];
			uint8_t *d = &(*out)[(size_t(y) * w + x) * 4];
			d[0] = sp[2], d[1] = sp[1], d[2] = sp[0], d[3] = 0xff;
		}
	return true;
}

struct Result {
	std::string format, size, alloc, path;
	bool ok = false;
	std::string detail;
};

const char *encodingName(YuvEncoding enc)
{
	return enc == YuvEncoding::BT709     ? "BT.709"
		: enc == YuvEncoding::BT2020 ? "BT.2020"
					     : "BT.601";
}

/* expect: the matrix and range the camera's colorimetry must select ("BT.709 limited"), or "". */
Result runCase(const std::string &display, bool writeback, const std::string &format, uint32_t w,
	       uint32_t h, AllocStrategy alloc, const std::string &expect = "")
{
	Result r;
	r.format = format;
	r.size = std::to_string(w) + "x" + std::to_string(h);
	r.alloc = allocStrategyName(alloc);
	const int fds0 = countFds();
	const long live0 = capbufLive();
	const int fbs0 = drmFramebuffers();
	try {
		PipelineConfig cfg;
		cfg.camera = "vivid";
		cfg.display = display;
		cfg.alloc = alloc;
		cfg.format = format;
		cfg.width = w;
		cfg.height = h;
		cfg.frames = 12;
		auto recorder = std::make_shared<Recorder>();
		cfg.stages = { recorder, makeStage("convert") };
		PipelinePrivate p(cfg);
		r.path = p.pathDescription();
		uint32_t lastSequence = 0;
		uint64_t displayed = 0;
		p.onDisplayed = [&](const DmaBuffer &, const FrameInfo &info) {
			lastSequence = info.sequence;
			displayed++;
		};
		p.run();
		if (displayed != cfg.frames)
			throw std::runtime_error("displayed " + std::to_string(displayed) + " of " +
						 std::to_string(cfg.frames));
		Recorder::Copy in;
		if (!recorder->find(lastSequence, &in))
			throw std::runtime_error("frame " + std::to_string(lastSequence) +
						 " was not recorded");
		/*
		 * The reference: the captured frame through the unit-proven kernel, with
		 * vivid's colorimetry, at the stage's precision (Fast: within 1 of exact,
		 * every ISA bit-exact with its scalar reference).
		 */
		const CaptureFormat &cf = p.captureFormat();
		YuvEncoding enc;
		YuvRange range;
		const bool rgb = !cf.format.yuv && cf.format.drm != DRM_FORMAT_R8;
		yuvParamsFromV4l2(cf.colorspace, cf.ycbcrEnc, cf.quantization, rgb, &enc, &range);
		std::vector<ConstPlane> planes;
		for (size_t q = 0; q < in.planes.size(); q++)
			planes.push_back({ in.planes[q].data(), in.strides[q] });
		std::vector<uint8_t> want(size_t(w) * h * 4);
		convertFrame(in.format.drm, planes.data(), unsigned(planes.size()),
			     DRM_FORMAT_XRGB8888, want.data(), w * 4, w, h, enc, range, 0, h,
			     ConvertPrecision::Fast);
		std::vector<uint8_t> got;
		std::string why;
		if (!readScreen(p.display(), p.layout(), w, h, writeback, &got, &why))
			throw std::runtime_error(why);
		long differ = 0, nonBlack = 0, firstX = -1, firstY = -1;
		for (uint32_t y = 0; y < h; y++)
			for (uint32_t x = 0; x < w; x++) {
				const uint8_t *a = &want[(size_t(y) * w + x) * 4];
				const uint8_t *b = &got[(size_t(y) * w + x) * 4];
				if (a[0] != b[0] || a[1] != b[1] || a[2] != b[2]) {
					if (!differ)
						firstX = x, firstY = y;
					differ++;
				}
				nonBlack += (a[0] | a[1] | a[2]) != 0;
			}
		std::ostringstream d;
		d << differ << " of " << size_t(w) * h << " pixels differ";
		if (differ) {
			const uint8_t *a = &want[(size_t(firstY) * w + firstX) * 4];
			const uint8_t *b = &got[(size_t(firstY) * w + firstX) * 4];
			d << " (first at " << firstX << "," << firstY << ": want " << int(a[2])
			  << "," << int(a[1]) << "," << int(a[0]) << " got " << int(b[2]) << ","
			  << int(b[1]) << "," << int(b[0]) << ")";
		}
		d << ", " << cf.format.name << (cf.multiplanar ? " (one dma-buf per plane)" : "")
		  << ", strides";
		for (uint32_t s : in.strides)
			d << " " << s;
		const std::string chosen = std::string(encodingName(enc)) +
			(range == YuvRange::Full ? " full" : " limited");
		d << ", " << chosen;
		r.detail = d.str();
		r.ok = differ == 0 && nonBlack > long(w) * h / 4;
		if (!expect.empty() && chosen != expect) {
			r.ok = false;
			r.detail += ", expected " + expect;
		}
		if (nonBlack <= long(w) * h / 4)
			r.detail += ", the frame is mostly black";
	} catch (const std::exception &e) {
		r.detail = e.what();
		r.ok = false;
	}
	if (countFds() != fds0 || capbufLive() != live0 || drmFramebuffers() != fbs0) {
		r.ok = false;
		r.detail += ", leaked: fds " + std::to_string(fds0) + " -> " +
			std::to_string(countFds()) + ", capbuf " + std::to_string(live0) + " -> " +
			std::to_string(capbufLive()) + ", framebuffers " + std::to_string(fbs0) +
			" -> " + std::to_string(drmFramebuffers());
	}
	return r;
}

std::vector<std::string> split(const std::string &s)
{
	std::vector<std::string> v;
	std::stringstream ss(s);
	for (std::string item; std::getline(ss, item, ',');)
		if (!item.empty())
			v.push_back(item);
	return v;
}

/* The camera's formats the conversion takes, by DRM name, in the camera's order. */
std::vector<std::string> convertibleCameraFormats()
{
	std::vector<std::string> v;
	V4l2Capture cam("vivid");
	auto stage = makeStage("convert");
	for (uint32_t code : cam.formats()) {
		auto f = formatFromV4l2(code);
		if (f && stage->accepts(*f) &&
		    std::find(v.begin(), v.end(), fourccToString(code)) == v.end())
			v.push_back(fourccToString(code));
	}
	return v;
}

} /* namespace */

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr,
			"usage: %s DISPLAY writeback|screendump [--full] [--formats A,B] "
			"[--sizes WxH,..] [--allocs capbuf,v4l2,dumb]\n",
			argv[0]);
		return 2;
	}
	const std::string display = argv[1];
	const bool writeback = strcmp(argv[2], "writeback") == 0;
	std::vector<std::string> formats, sizes = { "640x480" },
					  allocs = { "capbuf", "v4l2", "dumb" };
	bool full = false, allocsGiven = false;
	for (int i = 3; i < argc; i++) {
		const std::string a = argv[i];
		if (a == "--full")
			sizes = { "320x180", "640x480", "1280x720" }, full = true;
		else if (a == "--formats" && i + 1 < argc)
			formats = split(argv[++i]);
		else if (a == "--sizes" && i + 1 < argc)
			sizes = split(argv[++i]);
		else if (a == "--allocs" && i + 1 < argc)
			allocs = split(argv[++i]), allocsGiven = true;
		else {
			fprintf(stderr, "unknown argument %s\n", a.c_str());
			return 2;
		}
	}
	try {
		if (formats.empty())
			formats = convertibleCameraFormats();
	} catch (const std::exception &e) {
		fprintf(stderr, "FAIL: %s\n", e.what());
		return 1;
	}
	if (formats.empty()) {
		fprintf(stderr, "FAIL: the camera offers no format the conversion takes\n");
		return 1;
	}

	std::vector<Result> results;
	for (const std::string &f : formats)
		for (const std::string &size : sizes)
			for (const std::string &a : allocs) {
				/* The default run: every strategy only on the common layouts. */
				const bool core = f == "NV12" || f == "NM12" || f == "YUYV" ||
					f == "YU12" || f == "YM12";
				if (!full && !allocsGiven && a != allocs[0] && !core) {
					Result skipped;
					skipped.format = f, skipped.size = size, skipped.alloc = a;
					skipped.ok = true, skipped.detail = "not run";
					results.push_back(skipped);
					continue;
				}
				uint32_t w = 0, h = 0;
				sscanf(size.c_str(), "%ux%u", &w, &h);
				auto alloc = allocStrategyFromString(a);
				if (!alloc || !w || !h) {
					fprintf(stderr, "bad allocation %s or size %s\n", a.c_str(),
						size.c_str());
					return 2;
				}
				Result r = runCase(display, writeback, f, w, h, *alloc);
				printf("%s %s %s %s: %s (%s)\n", r.ok ? "ok  " : "FAIL", f.c_str(),
				       size.c_str(), a.c_str(), r.detail.c_str(), r.path.c_str());
				fflush(stdout);
				results.push_back(r);
			}

	/*
	 * Colorimetry: vivid's controls set the format's colorspace, Y'CbCr
	 * encoding and quantization; the conversion must follow them (V4L2's
	 * default rules included) and still match the reference.
	 */
	struct Colorimetry {
		const char *controls, *expect;
	};
	const Colorimetry colorimetries[] = {
		{ "colorspace=1,y_cbcr_encoding=0,quantization=0", "BT.709 limited" },
		{ "colorspace=0,y_cbcr_encoding=0,quantization=1", "BT.601 full" },
		{ "colorspace=4,y_cbcr_encoding=0,quantization=0", "BT.2020 limited" },
		{ "colorspace=1,y_cbcr_encoding=6,quantization=1", "BT.2020 full" },
	};
	std::string node;
	try {
		node = V4l2Capture("vivid").path();
	} catch (const std::exception &e) {
		fprintf(stderr, "FAIL: %s\n", e.what());
		return 1;
	}
	std::vector<Result> colorResults;
	const std::string yuvFormat =
		std::find(formats.begin(), formats.end(), "NM12") != formats.end() ? "NM12" : "NV12";
	for (const Colorimetry &c : colorimetries) {
		const std::string cmd = "v4l2-ctl -d " + node + " -c " + c.controls;
		Result r;
		if (system(cmd.c_str()) != 0) {
			r.format = yuvFormat, r.detail = cmd + " failed";
		} else {
			uint32_t w = 0, h = 0;
			sscanf(sizes[0].c_str(), "%ux%u", &w, &h);
			r = runCase(display, writeback, yuvFormat, w, h, AllocStrategy::Capbuf,
				    c.expect);
		}
		printf("%s %s vivid %s: %s\n", r.ok ? "ok  " : "FAIL", yuvFormat.c_str(),
		       c.controls, r.detail.c_str());
		colorResults.push_back(r);
	}
	system(("v4l2-ctl -d " + node + " -c colorspace=2,y_cbcr_encoding=0,quantization=0").c_str());

	std::string header = "| format | size |", rule = "|---|---|";
	for (const std::string &a : allocs)
		header += " " + a + " |", rule += "---|";
	printf("\n%s\n%s\n", header.c_str(), rule.c_str());
	size_t failed = 0;
	for (size_t i = 0; i < results.size(); i += allocs.size()) {
		printf("| %s | %s |", results[i].format.c_str(), results[i].size.c_str());
		for (size_t j = 0; j < allocs.size(); j++) {
			const Result &r = results[i + j];
			printf(" %s |", r.detail == "not run" ? "–" : r.ok ? "exact" : "**FAIL**");
			failed += !r.ok;
		}
		printf("\n");
	}
	const size_t run = size_t(std::count_if(results.begin(), results.end(), [](const Result &r) {
		return r.detail != "not run";
	}));
	size_t colorFailed = 0;
	for (const Result &r : colorResults)
		colorFailed += !r.ok;
	failed += colorFailed;
	printf("\n%zu of %zu cases pixel-exact on %s; %zu of %zu colorimetries followed\n",
	       run - (failed - colorFailed), run, display.c_str(),
	       colorResults.size() - colorFailed, colorResults.size());
	return failed ? 1 : 0;
}
