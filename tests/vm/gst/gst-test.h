/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared by the GStreamer test helpers of tests/vm/gst. */
#pragma once

#include <gst/gst.h>
#include <stdio.h>

/*
 * Plays pipe until EOS, an error or timeout seconds, then sets it to NULL.
 * Returns 0 at EOS; else prints the FAIL line (the error, or how many
 * buffers were seen before the timeout) and returns 1.
 */
static inline int play_to_eos(GstElement *pipe, guint timeout, gint seen)
{
	int status = 0;
	GstBus *bus = gst_element_get_bus(pipe);
	gst_element_set_state(pipe, GST_STATE_PLAYING);
	GstMessage *msg = gst_bus_timed_pop_filtered(bus, timeout * GST_SECOND,
						     GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
	if (!msg) {
		fprintf(stderr, "FAIL: no EOS within %u s (%d buffers seen)\n", timeout, seen);
		status = 1;
	} else if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
		GError *e = NULL;
		gchar *dbg = NULL;
		gst_message_parse_error(msg, &e, &dbg);
		/* The domain and code, as an application's bus handler sees them. */
		const char *code = "";
		if (e->domain == GST_RESOURCE_ERROR) {
			GEnumClass *c = G_ENUM_CLASS(g_type_class_ref(GST_TYPE_RESOURCE_ERROR));
			GEnumValue *v = g_enum_get_value(c, e->code);
			code = v ? v->value_nick : "";
			g_type_class_unref(c);
		}
		fprintf(stderr, "FAIL: error from %s: %s (%s) [%s %s]\n", GST_OBJECT_NAME(msg->src),
			e->message, dbg ? dbg : "", g_quark_to_string(e->domain), code);
		g_error_free(e);
		g_free(dbg);
		status = 1;
	}
	if (msg)
		gst_message_unref(msg);
	gst_element_set_state(pipe, GST_STATE_NULL);
	gst_object_unref(bus);
	return status;
}
