/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The "dmapipe" GStreamer plugin: dmapipesrc, dmapipesink, dmapipeconvert, dmapipeoverlay. */
#include "elements.h"

static gboolean plugin_init(GstPlugin *plugin)
{
	gboolean ok = FALSE;
	ok |= GST_ELEMENT_REGISTER(dmapipesrc, plugin);
	ok |= GST_ELEMENT_REGISTER(dmapipesink, plugin);
	ok |= GST_ELEMENT_REGISTER(dmapipeconvert, plugin);
	ok |= GST_ELEMENT_REGISTER(dmapipeoverlay, plugin);
	return ok;
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, dmapipe,
		  "Zero-copy V4L2 capture and KMS scanout through dma-bufs (libdmapipe)",
		  plugin_init, VERSION, "LGPL", "dmapipe", "Unknown package origin")
