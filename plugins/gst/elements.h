/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS
GType gst_dmapipe_src_get_type(void);
GType gst_dmapipe_sink_get_type(void);
GType gst_dmapipe_convert_get_type(void);
GType gst_dmapipe_overlay_get_type(void);
G_END_DECLS

GST_ELEMENT_REGISTER_DECLARE(dmapipesrc);
GST_ELEMENT_REGISTER_DECLARE(dmapipesink);
GST_ELEMENT_REGISTER_DECLARE(dmapipeconvert);
GST_ELEMENT_REGISTER_DECLARE(dmapipeoverlay);
