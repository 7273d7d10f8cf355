/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * usage: gst-state-cycle CYCLES FRAMES 'LAUNCH LINE with a sink named "sink"'
 *
 * Takes the pipeline NULL -> PLAYING -> NULL CYCLES times, each time until
 * FRAMES buffers reached the sink. Fails on an error message, a failed
 * state change or a stall. Calls gst_deinit() at the end so that
 * GST_TRACERS=leaks can report what is still alive.
 */
#include <gst/gst.h>
#include <stdio.h>
#include <stdlib.h>

static gint frames;

static GstPadProbeReturn count(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	(void)pad;
	(void)info;
	(void)data;
	g_atomic_int_inc(&frames);
	return GST_PAD_PROBE_OK;
}

static int fail_on(GstMessage *msg)
{
	if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
		GError *err = NULL;
		gchar *dbg = NULL;
		gst_message_parse_error(msg, &err, &dbg);
		fprintf(stderr, "FAIL: error from %s: %s (%s)\n", GST_OBJECT_NAME(msg->src),
			err->message, dbg ? dbg : "");
		g_error_free(err);
		g_free(dbg);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	gst_init(&argc, &argv);
	if (argc != 4) {
		fprintf(stderr, "usage: %s CYCLES FRAMES LAUNCH-LINE\n", argv[0]);
		return 2;
	}
	int cycles = atoi(argv[1]), want = atoi(argv[2]), rc = 0;
	GError *err = NULL;
	GstElement *pipe = gst_parse_launch(argv[3], &err);
	if (!pipe) {
		fprintf(stderr, "FAIL: %s\n", err ? err->message : "parse error");
		return 1;
	}
	GstElement *sink = gst_bin_get_by_name(GST_BIN(pipe), "sink");
	if (!sink) {
		fprintf(stderr, "FAIL: no element named sink\n");
		return 1;
	}
	GstPad *pad = gst_element_get_static_pad(sink, "sink");
	gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, count, NULL, NULL);
	GstBus *bus = gst_element_get_bus(pipe);

	for (int i = 0; i < cycles && !rc; i++) {
		g_atomic_int_set(&frames, 0);
		if (gst_element_set_state(pipe, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
			fprintf(stderr, "FAIL: cycle %d: set_state(PLAYING) failed\n", i);
			rc = 1;
		}
		gint64 deadline = g_get_monotonic_time() + 30 * G_TIME_SPAN_SECOND;
		while (!rc && g_atomic_int_get(&frames) < want) {
			GstMessage *msg = gst_bus_timed_pop_filtered(bus, 100 * GST_MSECOND,
								     GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
			if (msg) {
				if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS) {
					fprintf(stderr, "FAIL: cycle %d: EOS after %d frames\n", i,
						g_atomic_int_get(&frames));
					rc = 1;
				} else {
					rc = fail_on(msg);
				}
				gst_message_unref(msg);
			}
			if (g_get_monotonic_time() > deadline) {
				fprintf(stderr, "FAIL: cycle %d: %d of %d frames in 30 s\n", i,
					g_atomic_int_get(&frames), want);
				rc = 1;
			}
		}
		if (gst_element_set_state(pipe, GST_STATE_NULL) == GST_STATE_CHANGE_FAILURE) {
			fprintf(stderr, "FAIL: cycle %d: set_state(NULL) failed\n", i);
			rc = 1;
		}
		GstMessage *msg;
		while ((msg = gst_bus_pop(bus))) {
			if (!rc)
				rc = fail_on(msg);
			gst_message_unref(msg);
		}
		if (!rc)
			printf("cycle %d: %d frames, back to NULL\n", i, g_atomic_int_get(&frames));
	}

	gst_object_unref(bus);
	gst_object_unref(pad);
	gst_object_unref(sink);
	gst_object_unref(pipe);
	gst_deinit();
	if (!rc)
		printf("PASS: %d NULL -> PLAYING -> NULL cycles\n", cycles);
	return rc;
}
