/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libdmapipe inside a GLib main loop, as a product with its own loop (GTK,
 * GStreamer, D-Bus services) integrates it: the pipeline's fd() is a GLib
 * source, dispatch() runs when it is readable, and the loop keeps serving
 * its other sources (here a one-second status timer and the signals). The
 * stage runs on the pipeline's worker thread (PipelineConfig::stageThread),
 * so neither it nor the loop's other sources delay each other.
 * SIGINT and SIGTERM end the loop; the Pipeline's destructor restores the
 * display.
 *   glib_loop [CAMERA [DISPLAY [FRAMES]]]
 */
#include "privacy_mask.h"

#include <glib-unix.h>
#include <glib.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>

/* The mask, noting whether it ran off the main loop's thread. */
class ThreadedMask : public PrivacyMask
{
public:
	using PrivacyMask::PrivacyMask;
	void process(dmapipe::WritableFrame &frame) override
	{
		if (std::this_thread::get_id() != mainThread_)
			offLoop_++;
		PrivacyMask::process(frame);
	}
	uint64_t offLoop() const { return offLoop_; }

private:
	std::thread::id mainThread_ = std::this_thread::get_id();
	std::atomic<uint64_t> offLoop_ { 0 };
};

struct App {
	GMainLoop *loop;
	dmapipe::Pipeline *pipeline;
	int status = 0;
	unsigned ticks = 0;
};

static gboolean onPipelineReady(gint, GIOCondition, gpointer data)
{
	App *app = static_cast<App *>(data);
	try {
		if (app->pipeline->dispatch())
			return G_SOURCE_CONTINUE;
	} catch (const std::exception &e) {
		fprintf(stderr, "%s\n", e.what());
		app->status = 1;
	}
	g_main_loop_quit(app->loop);
	return G_SOURCE_REMOVE;
}

static gboolean onTick(gpointer data)
{
	App *app = static_cast<App *>(data);
	/* stats() is a consistent copy: safe here, and from any other thread. */
	dmapipe::Stats s = app->pipeline->stats();
	app->ticks++;
	printf("tick %u: displayed %llu, dropped %llu\n", app->ticks,
	       (unsigned long long)s.displayedFrames(), (unsigned long long)s.drops());
	fflush(stdout);
	return G_SOURCE_CONTINUE;
}

static gboolean onSignal(gpointer data)
{
	App *app = static_cast<App *>(data);
	/* Ends streaming at the next dispatch(), which then returns false. */
	app->pipeline->stop();
	return G_SOURCE_CONTINUE;
}

int main(int argc, char **argv)
{
	dmapipe::PipelineConfig config;
	config.camera = argc > 1 ? argv[1] : "";
	config.display = argc > 2 ? argv[2] : "";
	config.frames = argc > 3 ? strtoull(argv[3], nullptr, 10) : 0;
	config.format = "XRGB8888";
	auto mask = std::make_shared<ThreadedMask>(0.0, 0.0, 0.25, 0.25);
	config.stages.push_back(mask);
	config.stageThread = true;

	/* The library's messages through GLib's logging, as the rest of the product's. */
	dmapipe::setLogHandler([](dmapipe::LogLevel level, const std::string &message) {
		if (level >= dmapipe::LogLevel::Warning)
			g_warning("dmapipe: %s", message.c_str());
		else
			g_message("dmapipe: %s", message.c_str());
	});

	App app;
	app.loop = g_main_loop_new(nullptr, FALSE);
	try {
		dmapipe::Pipeline p(config);
		app.pipeline = &p;
		printf("%s\n", p.pathDescription().c_str());
		p.start();
		guint fdSource = g_unix_fd_add(p.fd(), G_IO_IN, onPipelineReady, &app);
		guint tick = g_timeout_add_seconds(1, onTick, &app);
		guint sigint = g_unix_signal_add(SIGINT, onSignal, &app);
		guint sigterm = g_unix_signal_add(SIGTERM, onSignal, &app);
		g_main_loop_run(app.loop);
		for (guint id : { tick, sigint, sigterm })
			g_source_remove(id);
		if (p.streaming()) /* the loop ended for another reason */
			g_source_remove(fdSource);
		printf("%s\nmasked frames: %llu (%llu on the stage thread)\n",
		       p.stats().summary(dmapipe::monotonicNs()).c_str(),
		       (unsigned long long)mask->frames(), (unsigned long long)mask->offLoop());
	} catch (const std::exception &e) {
		fprintf(stderr, "%s\n", e.what());
		app.status = 1;
	}
	g_main_loop_unref(app.loop);
	return app.status;
}
