/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The smallest useful libdmapipe program: the first camera on the first
 * display, zero-copy, until Ctrl-C (or N frames). Build it outside this tree:
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
		printf("%s\n", p.pathDescription().c_str());

		pipeline = &p;
		signal(SIGINT, [](int) { pipeline->stop(); });
		p.onDisplayed = [](const dmapipe::DmaBuffer &buffer, const dmapipe::FrameInfo &frame) {
			if (frame.sequence % 100 == 0)
				printf("frame %u shown from dma-buf inode %llu\n", frame.sequence,
				       (unsigned long long)buffer.id());
		};
		p.run();
		printf("%s\n", p.stats().summary(dmapipe::monotonicNs()).c_str());
	} catch (const std::exception &e) {
		fprintf(stderr, "%s\n", e.what());
		return 1;
	}
	return 0;
}
