/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <dmapipe/internal.h>

#include <cstdint>
#include <string>

/*
 * dmapipe-cam's command line, parsed without touching any device, so that
 * tests and the fuzzer (tests/fuzz/fuzz_cli.cpp) can drive it.
 */
struct CamOptions {
	dmapipe::PipelineConfig cfg;
	std::string check; /* "" = leave capbuf's checker alone */
	double statsInterval = 1.0;
};

enum class CamAction { Run, List, Help, Version, BadUsage };

/*
 * Parses argv with getopt_long (restarted, so it may be called again).
 * BadUsage comes with the message for stderr in @error ("dmapipe-cam: ...").
 */
CamAction parseCamOptions(int argc, char **argv, CamOptions &opts, std::string &error);

/* "WxH", 1 to 16384 each. */
bool parseSize(const char *s, uint32_t *w, uint32_t *h);

/* A decimal count, digits only. */
bool parseCount(const char *s, uint64_t *out);
