/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * usage: gst-renegotiate AFTER 'NEW CAPS' 'LAUNCH LINE with a capsfilter
 *        named "cf" and a sink named "sink"'
 *
 * A caps change mid-stream: after AFTER buffers reached "sink", sets the
 * capsfilter's caps to NEW CAPS, so that every element upstream and
 * downstream of it negotiates again while frames are held (the sink's frame
 * on screen, queued buffers). Passes when the stream ends with EOS, without
 * an error, after buffers of caps other than the first reached the sink (the
 * sink's caps follow NEW CAPS through any converter in between).
 */
#include <gst/gst.h>

#include "gst-test.h"
#include <stdio.h>
#include <stdlib.h>

static gint seen, seenAfter, after;
static GstElement *capsfilter;
static GstCaps *newCaps;
static gint changed;
static GstCaps *firstCaps;

static GstPadProbeReturn probe(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	(void)data;
	if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
		GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
		if (GST_EVENT_TYPE(ev) == GST_EVENT_CAPS) {
			GstCaps *caps;
			gst_event_parse_caps(ev, &caps);
			gchar *s = gst_caps_to_string(caps);
			printf("caps at %s: %s\n", GST_OBJECT_NAME(GST_OBJECT_PARENT(pad)), s);
			g_free(s);
		}
		return GST_PAD_PROBE_OK;
	}
	gint n = g_atomic_int_add(&seen, 1) + 1;
	GstCaps *current = gst_pad_get_current_caps(pad);
	if (!firstCaps && current)
		firstCaps = gst_caps_ref(current);
	if (g_atomic_int_get(&changed) && current && !gst_caps_is_equal(current, firstCaps))
		g_atomic_int_inc(&seenAfter);
	if (current)
		gst_caps_unref(current);
	if (n == after) {
		g_object_set(capsfilter, "caps", newCaps, NULL);
		g_atomic_int_set(&changed, 1);
	}
	return GST_PAD_PROBE_OK;
}

int main(int argc, char **argv)
{
	gst_init(&argc, &argv);
	if (argc != 4) {
		fprintf(stderr, "usage: %s AFTER NEW-CAPS LAUNCH-LINE\n", argv[0]);
		return 2;
	}
	after = atoi(argv[1]);
	newCaps = gst_caps_from_string(argv[2]);
	GError *err = NULL;
	GstElement *pipe = gst_parse_launch(argv[3], &err);
	if (!pipe || !newCaps) {
		fprintf(stderr, "FAIL: %s\n", err ? err->message : "bad caps");
		return 1;
	}
	capsfilter = gst_bin_get_by_name(GST_BIN(pipe), "cf");
	GstElement *sink = gst_bin_get_by_name(GST_BIN(pipe), "sink");
	if (!capsfilter || !sink) {
		fprintf(stderr, "FAIL: no element named cf or sink\n");
		return 1;
	}
	GstPad *pad = gst_element_get_static_pad(sink, "sink");
	gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
			  probe, NULL, NULL);
	gst_object_unref(pad);
	gst_object_unref(sink);

	int status = play_to_eos(pipe, 90, seen);
	if (!status && seenAfter == 0) {
		fprintf(stderr, "FAIL: no buffer of the new caps reached the sink (%d buffers)\n",
			seen);
		status = 1;
	}
	if (!status)
		printf("renegotiated after %d buffers: %d of %d buffers in the new caps\n", after,
		       seenAfter, seen);
	gst_caps_unref(newCaps);
	if (firstCaps)
		gst_caps_unref(firstCaps);
	gst_object_unref(capsfilter);
	gst_object_unref(pipe);
	gst_deinit();
	return status;
}
