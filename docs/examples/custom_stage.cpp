/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A custom read-write stage in the pipeline: the camera's frames with a
 * pixelated region, zero-copy. SIGINT and SIGTERM stop it and restore the
 * display.
 *   custom_stage [CAMERA [DISPLAY [FRAMES]]]
 */
#include "privacy_mask.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>

static dmapipe::Pipeline *pipeline;

int main(int argc, char **argv)
{
	dmapipe::PipelineConfig config;
	config.camera = argc > 1 ? argv[1] : "";
	config.display = argc > 2 ? argv[2] : "";
	config.frames = argc > 3 ? strtoull(argv[3], nullptr, 10) : 0;
	auto mask = std::make_shared<PrivacyMask>(0.25, 0.25, 0.5, 0.5);
	config.stages.push_back(mask);
	/* XRGB8888: the mask's format; the negotiation refuses a camera without it, clearly. */
	config.format = "XRGB8888";

	try {
		dmapipe::Pipeline p(config);
		printf("%s\n", p.pathDescription().c_str());
		pipeline = &p;
		struct sigaction sa = {};
		sa.sa_handler = [](int) { pipeline->stop(); };
		sigaction(SIGINT, &sa, nullptr);
		sigaction(SIGTERM, &sa, nullptr);
		p.run();
		pipeline = nullptr;
		printf("%s\nmasked frames: %llu\n", p.stats().summary(dmapipe::monotonicNs()).c_str(),
		       (unsigned long long)mask->frames());
	} catch (const std::exception &e) {
		fprintf(stderr, "%s\n", e.what());
		return 1;
	}
	return 0;
}
