/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The "dmapipe" GStreamer plugin: dmapipesrc, dmapipesink, dmapipeconvert, dmapipeoverlay. */
#include "elements.h"

static gboolean plugin_init(GstPlugin *plugin)
{
	return gst_element_register(plugin, "dmapipesrc", GST_RANK_NONE, gst_dmapipe_src_get_type()) &&
		gst_element_register(plugin, "dmapipesink", GST_RANK_NONE,
				     gst_dmapipe_sink_get_type()) &&
		gst_element_register(plugin, "dmapipeconvert", GST_RANK_NONE,
				     gst_dmapipe_convert_get_type()) &&
		gst_element_register(plugin, "dmapipeoverlay", GST_RANK_NONE,
				     gst_dmapipe_overlay_get_type());
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, dmapipe,
		  "Zero-copy V4L2 capture and KMS scanout through dma-bufs (libdmapipe)",
		  plugin_init, VERSION, "LGPL", "dmapipe", "https://example.invalid/dmapipe")
