/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * usage: gst-hold-copy FRAMES 'LAUNCH LINE with a sink named "sink"'
 *        gst-hold-copy --uniform 'LAUNCH LINE with a sink named "sink"'
 *
 * GStreamer's contract for a source's buffers: a shallow copy
 * (gst_buffer_copy, as tee, videorate and make_writable make) shares the
 * memories, and a frame's memory goes back to the device only when its last
 * reference goes. At the 5th buffer into "sink" this keeps a shallow copy
 * and lets the original go on and die; it checks that the copy's bytes are
 * the same after FRAMES more buffers, and that the frames meanwhile changed
 * (else the check could not fail). Exit 0 when both hold.
 *
 * --uniform: keeps every buffer reaching "sink" and checks at EOS that each
 * is still one solid colour (4-byte pixels): for a tee whose other branch
 * draws in place (dmapipeoverlay), which must not draw into this branch's
 * frames.
 */
#include <gst/gst.h>

#include "gst-test.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static GstBuffer *held;
static guint64 heldHash, heldHashAfter;
static gint seen, changed, frames;

static guint64 hashBuffer(GstBuffer *buf)
{
	GstMapInfo map;
	guint64 h = 1469598103934665603ull;
	if (!gst_buffer_map(buf, &map, GST_MAP_READ)) {
		fprintf(stderr, "FAIL: cannot map a buffer\n");
		exit(1);
	}
	for (gsize i = 0; i < map.size; i++)
		h = (h ^ map.data[i]) * 1099511628211ull;
	gst_buffer_unmap(buf, &map);
	return h;
}

static GPtrArray *kept;

static GstPadProbeReturn keep(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	(void)pad;
	(void)data;
	g_ptr_array_add(kept, gst_buffer_ref(GST_PAD_PROBE_INFO_BUFFER(info)));
	return GST_PAD_PROBE_OK;
}

/* Buffers of kept that are not one solid colour. */
static guint notUniform(void)
{
	guint bad = 0;
	for (guint i = 0; i < kept->len; i++) {
		GstBuffer *buf = g_ptr_array_index(kept, i);
		GstMapInfo map;
		if (!gst_buffer_map(buf, &map, GST_MAP_READ)) {
			fprintf(stderr, "FAIL: cannot map a buffer\n");
			exit(1);
		}
		for (gsize o = 4; o + 4 <= map.size; o += 4) {
			if (memcmp(map.data, map.data + o, 4)) {
				bad++;
				break;
			}
		}
		gst_buffer_unmap(buf, &map);
	}
	return bad;
}

static GstPadProbeReturn probe(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	(void)pad;
	(void)data;
	GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
	gint n = ++seen;
	if (n == 5) {
		held = gst_buffer_copy(buf); /* shallow: the same memories */
		heldHash = hashBuffer(held);
	} else if (n > 5 && n <= 5 + frames) {
		if (hashBuffer(buf) != heldHash)
			changed++;
		if (n == 5 + frames)
			heldHashAfter = hashBuffer(held);
	}
	return GST_PAD_PROBE_OK;
}

int main(int argc, char **argv)
{
	gst_init(&argc, &argv);
	if (argc != 3) {
		fprintf(stderr, "usage: %s FRAMES LAUNCH-LINE\n", argv[0]);
		return 2;
	}
	gboolean uniform = !strcmp(argv[1], "--uniform");
	frames = uniform ? 0 : atoi(argv[1]);
	kept = g_ptr_array_new_with_free_func((GDestroyNotify)gst_buffer_unref);
	GError *err = NULL;
	GstElement *pipe = gst_parse_launch(argv[2], &err);
	if (!pipe) {
		fprintf(stderr, "FAIL: %s\n", err->message);
		return 1;
	}
	GstElement *sink = GST_IS_BIN(pipe) ? gst_bin_get_by_name(GST_BIN(pipe), "sink") : NULL;
	if (err || !sink) {
		fprintf(stderr, "FAIL: %s\n", err ? err->message : "no element named sink");
		return 1;
	}
	GstPad *pad = gst_element_get_static_pad(sink, "sink");
	gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, uniform ? keep : probe, NULL, NULL);
	gst_object_unref(pad);
	gst_object_unref(sink);

	int status = play_to_eos(pipe, 60, seen);
	if (uniform) {
		guint bad = status ? 0 : notUniform();
		if (!status && kept->len < 10) {
			fprintf(stderr, "FAIL: only %u buffers reached the sink\n", kept->len);
			status = 1;
		} else if (bad) {
			fprintf(stderr,
				"FAIL: %u of %u frames of this branch were drawn into by another\n",
				bad, kept->len);
			status = 1;
		} else if (!status) {
			printf("all %u frames of this branch untouched\n", kept->len);
		}
		g_ptr_array_unref(kept);
			gst_object_unref(pipe);
		gst_deinit();
		return status;
	}
	if (!status && seen < 5 + frames) {
		fprintf(stderr, "FAIL: only %d buffers reached the sink\n", seen);
		status = 1;
	}
	if (!status && !changed) {
		fprintf(stderr, "FAIL: no frame differed from the held one: the check cannot fail\n");
		status = 1;
	}
	if (!status && heldHashAfter != heldHash) {
		fprintf(stderr,
			"FAIL: the held copy's bytes changed after %d frames: its memory went back "
			"to the device while a copy still used it\n",
			frames);
		status = 1;
	}
	if (!status)
		printf("held copy unchanged over %d frames (%d of them differed from it)\n", frames,
		       changed);
	if (held)
		gst_buffer_unref(held);
	g_ptr_array_unref(kept);
	gst_object_unref(pipe);
	gst_deinit();
	return status;
}
