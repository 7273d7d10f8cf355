/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cam_options.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <getopt.h>

using namespace dmapipe;

bool parseSize(const char *s, uint32_t *w, uint32_t *h)
{
	/* Digits only: strtoul alone would take " 640", "+640" and "-0". */
	if (!isdigit(static_cast<unsigned char>(s[0])))
		return false;
	char *end;
	unsigned long a = strtoul(s, &end, 10);
	if (end == s || (*end != 'x' && *end != 'X'))
		return false;
	const char *t = end + 1;
	if (!isdigit(static_cast<unsigned char>(t[0])))
		return false;
	unsigned long b = strtoul(t, &end, 10);
	if (end == t || *end || !a || !b || a > 16384 || b > 16384)
		return false;
	*w = uint32_t(a);
	*h = uint32_t(b);
	return true;
}

bool parseCount(const char *s, uint64_t *out)
{
	/* " -1" passed a check for s[0] == '-' and wrapped to 2^64 - 1. */
	if (!isdigit(static_cast<unsigned char>(s[0])))
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (end == s || *end || errno)
		return false;
	*out = v;
	return true;
}

CamAction parseCamOptions(int argc, char **argv, CamOptions &opts, std::string &error)
{
	enum {
		OPT_CAMERA = 256,
		OPT_STAGE,
		OPT_DISPLAY,
		OPT_SIZE,
		OPT_FORMAT,
		OPT_ALLOC,
		OPT_BUFFERS,
		OPT_FRAMES,
		OPT_CHECK,
		OPT_STATS,
		OPT_FPS,
		OPT_STAGE_THREAD,
		OPT_LIST,
		OPT_HELP,
		OPT_VERSION
	};
	static const option longOpts[] = {
		{ "camera", required_argument, nullptr, OPT_CAMERA },
		{ "display", required_argument, nullptr, OPT_DISPLAY },
		{ "stage", required_argument, nullptr, OPT_STAGE },
		{ "size", required_argument, nullptr, OPT_SIZE },
		{ "format", required_argument, nullptr, OPT_FORMAT },
		{ "alloc", required_argument, nullptr, OPT_ALLOC },
		{ "buffers", required_argument, nullptr, OPT_BUFFERS },
		{ "frames", required_argument, nullptr, OPT_FRAMES },
		{ "check", required_argument, nullptr, OPT_CHECK },
		{ "stats-interval", required_argument, nullptr, OPT_STATS },
		{ "fps", required_argument, nullptr, OPT_FPS },
		{ "stage-thread", no_argument, nullptr, OPT_STAGE_THREAD },
		{ "list", no_argument, nullptr, OPT_LIST },
		{ "help", no_argument, nullptr, OPT_HELP },
		{ "version", no_argument, nullptr, OPT_VERSION },
		{},
	};
	PipelineConfig &cfg = opts.cfg;
	bool doList = false;
	int c;
	auto bad = [&](const std::string &msg) {
		error = "dmapipe-cam: " + msg;
		return CamAction::BadUsage;
	};
	auto quoted = [](const char *s) { return std::string("\"") + s + "\""; };
	opterr = 0;
	optind = 0; /* glibc: start over, as on the first call */
	while ((c = getopt_long(argc, argv, "", longOpts, nullptr)) != -1) {
		uint64_t n;
		switch (c) {
		case OPT_CAMERA:
			cfg.camera = optarg;
			break;
		case OPT_STAGE_THREAD:
			cfg.stageThread = true;
			break;
		case OPT_DISPLAY:
			cfg.display = optarg;
			break;
		case OPT_STAGE:
			try {
				cfg.stages = makeStages(optarg);
			} catch (const Error &e) {
				return bad(std::string("--stage: ") + e.what());
			}
			break;
		case OPT_SIZE:
			if (!parseSize(optarg, &cfg.width, &cfg.height))
				return bad("--size wants WxH, such as 640x480 (got " +
					   quoted(optarg) + ")");
			break;
		case OPT_FORMAT:
			if (!formatFromString(optarg)) {
				std::string known;
				for (const auto &f : pixelFormats())
					known += std::string(" ") + f.name;
				return bad("unknown format " + quoted(optarg) + "; known:" + known);
			}
			cfg.format = optarg;
			break;
		case OPT_ALLOC: {
			std::string a = optarg;
			if (a.rfind("heap:", 0) == 0) {
				cfg.alloc = AllocStrategy::Heap;
				cfg.heap = a.substr(5);
			} else if (auto s = allocStrategyFromString(a)) {
				cfg.alloc = *s;
			} else {
				return bad("--alloc wants capbuf, heap[:NAME], udmabuf, v4l2, dumb or auto (got " +
					   quoted(optarg) + ")");
			}
			break;
		}
		case OPT_BUFFERS:
			if (!parseCount(optarg, &n) || n < 4 || n > 32)
				return bad("--buffers wants 4 to 32 (got " + quoted(optarg) + ")");
			cfg.buffers = unsigned(n);
			break;
		case OPT_FRAMES:
			if (!parseCount(optarg, &n) || n == 0)
				return bad("--frames wants a positive count (got " +
					   quoted(optarg) + ")");
			cfg.frames = n;
			break;
		case OPT_CHECK:
			opts.check = optarg;
			if (opts.check != "off" && opts.check != "warn" && opts.check != "strict")
				return bad("--check wants off, warn or strict (got " +
					   quoted(optarg) + ")");
			break;
		case OPT_STATS: {
			char *end;
			double v = strtod(optarg, &end);
			/* Written so that NaN fails too: "nan" parses, and compares false. */
			if (end == optarg || *end || !(v >= 0 && v <= 3600))
				return bad("--stats-interval wants seconds, 0 to 3600 (got " +
					   quoted(optarg) + ")");
			opts.statsInterval = v;
			break;
		}
		case OPT_FPS: {
			char *end;
			double v = strtod(optarg, &end);
			if (end == optarg || *end || !(v > 0 && v <= 1000))
				return bad("--fps wants frames per second, above 0 and up to 1000 (got " +
					   quoted(optarg) + ")");
			cfg.fps = v;
			break;
		}
		case OPT_LIST:
			doList = true;
			break;
		case OPT_HELP:
			return CamAction::Help;
		case OPT_VERSION:
			return CamAction::Version;
		default:
			return bad("unknown or incomplete option " + quoted(argv[optind - 1]) +
				   "; see --help");
		}
	}
	if (optind < argc)
		return bad("unexpected argument " + quoted(argv[optind]) + "; see --help");
	return doList ? CamAction::List : CamAction::Run;
}
