/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dmapipe-cam: a camera on a display, zero-copy, through libdmapipe.
 * See --help; exit codes: 0 done (frames reached or interrupted),
 * 1 a device or pipeline error, 2 bad usage.
 */
#include <dmapipe/internal.h>

#include <drm_fourcc.h>

#include "cam_options.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <unistd.h>

using namespace dmapipe;

static PipelinePrivate *running;

static void onSignal(int)
{
	if (running)
		running->stop();
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: dmapipe-cam [OPTIONS]\n"
		"Shows a V4L2 camera on a KMS display with no copy of the frames: both devices\n"
		"share the same dma-bufs, and each frame's buffer goes back to the camera only\n"
		"after the display has flipped away from it.\n"
		"\n"
		"  --camera PATH|NAME    capture device: /dev/videoN, or a driver or card name\n"
		"                        (default: the first capture device)\n"
		"  --display PATH|DRIVER KMS device: /dev/dri/cardN or a driver name such as\n"
		"                        cirrus or vkms (default: the first with a connected display)\n"
		"  --size WxH            capture size (default: the camera's current size)\n"
		"  --format FOURCC       pixel format by DRM name (XRGB8888) or fourcc (XR24, YUYV)\n"
		"                        (default: the camera's first format the display scans out)\n"
		"  --alloc STRATEGY      who exports the buffers: capbuf (the capbuf module's heap),\n"
		"                        heap[:NAME] (a dma-heap), udmabuf, v4l2 (the camera, via\n"
		"                        VIDIOC_EXPBUF), dumb (the display's dumb buffers) or auto\n"
		"                        (default: capbuf if loaded, else dumb, else v4l2)\n"
		"  --stage LIST          software stages, comma-separated, in order:\n"
		"                        convert[:threads=N][:exact] (Y'CbCr and RGB formats into\n"
		"                        XRGB8888 or RGB565 in a pool the display scans out; SIMD,\n"
		"                        within 1 of the exact result unless :exact),\n"
		"                        overlay[:scale=N] (frame number and time, in place),\n"
		"                        analysis (checksum and luma histogram, read-only)\n"
		"                        (default: convert alone when the display takes none of the\n"
		"                        camera's formats)\n"
		"  --buffers N           buffers shared by camera and display (default 6, at least 4)\n"
		"  --frames N            stop after N displayed frames (default: until Ctrl-C)\n"
		"  --check MODE          set capbuf's CPU access checker: off, warn or strict\n"
		"  --fps F               capture rate asked of the camera, which picks the nearest it\n"
		"                        offers (default: its highest up to 30)\n"
		"  --stage-thread        run the stages on a thread of their own, so a slow stage never\n"
		"                        delays flip handling\n"
		"  --stats-interval S    status every S seconds (default 1; 0 = only at exit)\n"
		"  --list                list cameras, displays, heaps and the path each pairing takes\n"
		"  --help, --version\n"
		"\n"
		"While running, one status line (fps, frames displayed, drops, latency from capture\n"
		"timestamp to page flip, the buffer path) is refreshed on a terminal, printed line\n"
		"by line otherwise; a summary follows at exit.\n"
		"\n"
		"Exit status: 0 when the frames were shown or the run was interrupted (SIGINT,\n"
		"SIGTERM); 1 on a device or pipeline error (the message says what to do);\n"
		"2 on bad usage.\n");
}

/*
 * The path a camera format takes to a display, as the pipeline's negotiation
 * ranks it: direct scanout on a plane that takes it (the primary first),
 * else through the conversion stage into what some plane takes, else none.
 */
static std::string formatPath(uint32_t v4l2Fourcc, const std::vector<DisplayPlane> &planes)
{
	auto f = formatFromV4l2(v4l2Fourcc);
	if (!f)
		return "none (unknown to dmapipe)";
	auto direct = proposeRoutes({ v4l2Fourcc }, {}, -1, planes);
	if (!direct.empty())
		return direct[0].describe();
	std::vector<std::shared_ptr<Stage>> conv { std::make_shared<ConvertStage>() };
	auto converted = proposeRoutes({ v4l2Fourcc }, conv, 0, planes);
	if (!converted.empty())
		return "--stage convert: " + converted[0].describe();
	return "none (no plane takes it or what convert makes of it)";
}

static int list()
{
	printf("Cameras:\n");
	auto cams = listCaptureDevices();
	if (cams.empty())
		printf("  (none under /dev/video*)\n");
	for (const auto &c : cams) {
		printf("  %s  driver %s, card \"%s\"\n", c.path.c_str(), c.driver.c_str(),
		       c.card.c_str());
		try {
			V4l2Capture cap(c.path);
			CaptureFormat cur = cap.currentFormat();
			printf("    current %s %ux%u, %s, DMABUF import %s\n",
			       fourccToString(cur.v4l2Fourcc).c_str(), cur.width, cur.height,
			       cap.multiplanar() ? "multi-planar" : "single-planar",
			       cap.supportsDmabufImport() ? "yes" : "no");
			printf("    formats:");
			for (uint32_t f : cap.formats()) {
				auto pf = formatFromV4l2(f);
				printf(" %s%s%s%s", fourccToString(f).c_str(), pf ? "(" : "",
				       pf ? pf->name : "", pf ? ")" : "");
			}
			printf("\n");
		} catch (const Error &e) {
			printf("    %s\n", e.what());
		}
	}
	printf("Displays:\n");
	auto displays = listDisplayDevices();
	if (displays.empty())
		printf("  (none under /dev/dri)\n");
	for (const auto &d : displays) {
		printf("  %s  driver %s, connectors:", d.path.c_str(), d.driver.c_str());
		for (const auto &c : d.connectors)
			printf(" %s", c.c_str());
		printf("\n");
	}
	printf("dma-heaps:");
	auto heaps = listHeaps();
	for (const auto &h : heaps)
		printf(" %s", h.c_str());
	printf("%s\nudmabuf: %s\n",
	       heaps.empty() ? " (none: load capbuf for /dev/dma_heap/capbuf)" : "",
	       haveUdmabuf() ? "yes" : "no");

	printf("Pairings (auto):\n");
	for (const auto &c : cams) {
		for (const auto &d : displays) {
			try {
				V4l2Capture cap(c.path);
				KmsDisplay disp(d.path);
				auto routes = proposeRoutes(cap.formats(), {}, -1, disp.planes());
				bool imports = cap.supportsDmabufImport();
				bool capbuf = false;
				for (const auto &h : heaps)
					capbuf |= h == "capbuf";
				const char *alloc = imports ? (capbuf ? "capbuf" : "dumb") : "v4l2";
				printf("  %s -> %s %s: %s, alloc %s\n", c.path.c_str(),
				       d.path.c_str(), disp.connectorName().c_str(),
				       routes.empty() ? "no common format (needs conversion)"
						      : routes[0].scanout.name,
				       alloc);
				for (const auto &pl : disp.planes()) {
					printf("    plane %u (%s, zpos %llu):", pl.id,
					       pl.primary ? "primary" : "overlay",
					       (unsigned long long)pl.zpos);
					for (uint32_t code : pl.formats)
						printf(" %s", fourccToString(code).c_str());
					printf("\n");
				}
				/* Each camera format's path to this display. */
				for (uint32_t code : cap.formats())
					printf("    %s: %s\n", fourccToString(code).c_str(),
					       formatPath(code, disp.planes()).c_str());
			} catch (const Error &e) {
				printf("  %s -> %s: %s\n", c.path.c_str(), d.path.c_str(), e.what());
			}
		}
	}
	return 0;
}

static bool setCheck(const std::string &mode)
{
	std::ofstream f("/sys/module/capbuf/parameters/check");
	if (!f) {
		fprintf(stderr, "dmapipe-cam: --check needs the capbuf module loaded (and root)\n");
		return false;
	}
	f << mode;
	f.flush();
	if (!f) {
		fprintf(stderr, "dmapipe-cam: capbuf refused check=%s\n", mode.c_str());
		return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	CamOptions opts;
	std::string error;
	switch (parseCamOptions(argc, argv, opts, error)) {
	case CamAction::BadUsage:
		fprintf(stderr, "%s\n", error.c_str());
		return 2;
	case CamAction::Help:
		usage(stdout);
		return 0;
	case CamAction::Version:
		printf("dmapipe-cam %s\n", DMAPIPE_VERSION_STRING);
		return 0;
	case CamAction::List:
		return list();
	case CamAction::Run:
		break;
	}
	PipelineConfig &cfg = opts.cfg;
	const std::string &check = opts.check;
	double statsInterval = opts.statsInterval;
	if (!check.empty() && !setCheck(check))
		return 1;

	try {
		if (cfg.stages.empty() && cfg.format.empty()) {
			/* A conversion only where needed: when the display takes none of the camera's formats. */
			/* Closed before the Pipeline opens it: a libcamera camera is exclusive. */
			auto cam = openSource(cfg.camera);
			KmsDisplay disp(cfg.display);
			if (proposeRoutes(cam->formats(), {}, -1, disp.planes()).empty()) {
				cfg.stages = makeStages("convert");
				fprintf(stderr,
					"note: no plane of the display takes any of the camera's "
					"formats; converting\n");
			}
		}
		PipelinePrivate p(cfg);
		const CaptureFormat &f = p.captureFormat();
		fprintf(stderr,
			"camera: %s (%s) %s %ux%u\ndisplay: %s (%s) %s, %s\nnegotiation: %s\nbuffers: %s, %zu of them (%s)\npath: %s\n",
			p.capture().path().c_str(), p.capture().driver().c_str(), f.format.name,
			f.width, f.height, p.display().path().c_str(), p.display().driver().c_str(),
			p.display().connectorName().c_str(),
			p.layout().describe(f.width, f.height).c_str(),
			p.negotiated().summary().c_str(), allocStrategyName(p.allocStrategy()),
			p.buffers().size(), p.allocReason().c_str(), p.pathDescription().c_str());

		for (const auto &r : p.negotiated().rejected)
			fprintf(stderr, "  passed over: %s\n", r.c_str());
		bool tty = isatty(STDOUT_FILENO);
		std::string path = p.pathDescription();
		if (statsInterval > 0) {
			p.statsIntervalNs = uint64_t(statsInterval * 1e9);
			p.onStats = [&](const Stats &s) {
				char line[256];
				snprintf(line, sizeof(line),
					 "%.1f fps, displayed %llu, dropped %llu, latency p50 %.1f ms p99 %.1f ms, %s",
					 s.fps(monotonicNs()),
					 (unsigned long long)s.displayedFrames(),
					 (unsigned long long)s.drops(), s.latencyMs(50),
					 s.latencyMs(99), path.c_str());
				if (tty)
					printf("\r\033[K%s", line);
				else
					printf("%s\n", line);
				fflush(stdout);
			};
		}
		running = &p;
		struct sigaction sa = {};
		sa.sa_handler = onSignal;
		sigaction(SIGINT, &sa, nullptr);
		sigaction(SIGTERM, &sa, nullptr);
		p.run();
		running = nullptr;
		if (tty && statsInterval > 0)
			printf("\n");
		printf("%s\n", p.stats().summary(monotonicNs()).c_str());
		/*
		 * No code path copies a frame: the display scans out the very
		 * dma-bufs the camera (or a converting stage) wrote.
		 */
		printf("frame copies: 0 (display buffers: %s, %zu of them)\n",
		       p.displayBuffers()[0]->exporter().c_str(), p.displayBuffers().size());
		std::ifstream checker("/sys/kernel/debug/capbuf/stats");
		std::string line, mode, violations;
		while (std::getline(checker, line)) {
			if (line.rfind("check ", 0) == 0)
				mode = line.substr(6);
			if (line.rfind("violations_total ", 0) == 0)
				violations = line.substr(17);
		}
		if (!mode.empty())
			printf("capbuf checker: %s, violations: %s\n", mode.c_str(),
			       violations.c_str());
	} catch (const std::exception &e) {
		running = nullptr;
		fprintf(stderr, "dmapipe-cam: %s\n", e.what());
		return 1;
	}
	return 0;
}
