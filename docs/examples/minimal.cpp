/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The smallest useful libdmapipe program: the first camera on the first
 * display, zero-copy, until Ctrl-C or SIGTERM (or N frames). Build it outside
 * this tree:
 *   g++ -std=c++17 minimal.cpp $(pkg-config --cflags --libs dmapipe) -o minimal
 */
#include <dmapipe/dmapipe.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>

static dmapipe::Pipeline *pipeline;

int main(int argc, char **argv)
{
	dmapipe::PipelineConfig config;
	config.camera = argc > 1 ? argv[1] : ""; /* "/dev/video0", "vivid", or the first */
	config.display = argc > 2 ? argv[2] : ""; /* "cirrus", "/dev/dri/card0", or the first */
	config.frames = argc > 3 ? strtoull(argv[3], nullptr, 10) : 0;

	try {
		dmapipe::Pipeline p(config);
		printf("libdmapipe %s: %s\n", dmapipe::version(), p.pathDescription().c_str());

		/* stop() is async-signal-safe; run() then returns and ~Pipeline restores the display. */
		pipeline = &p;
		struct sigaction sa = {};
		sa.sa_handler = [](int) { pipeline->stop(); };
		sigaction(SIGINT, &sa, nullptr);
		sigaction(SIGTERM, &sa, nullptr);

		p.setDisplayedCallback([](const dmapipe::FrameInfo &frame, uint64_t bufferId) {
			if (frame.sequence % 100 == 0)
				printf("frame %u shown from dma-buf inode %llu\n", frame.sequence,
				       (unsigned long long)bufferId);
		});
		p.run();
		pipeline = nullptr;
		printf("%s\n", p.stats().summary(dmapipe::monotonicNs()).c_str());
	} catch (const std::exception &e) {
		fprintf(stderr, "%s\n", e.what());
		return 1;
	}
	return 0;
}
