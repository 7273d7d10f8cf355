/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The plugin's element types. */
#pragma once

#include <gst/base/gstbasetransform.h>
#include <gst/base/gstpushsrc.h>
#include <gst/gst.h>
#include <gst/video/gstvideosink.h>

G_BEGIN_DECLS
G_DECLARE_FINAL_TYPE(GstDmapipeSrc, gst_dmapipe_src, GST, DMAPIPE_SRC, GstPushSrc)
G_DECLARE_FINAL_TYPE(GstDmapipeSink, gst_dmapipe_sink, GST, DMAPIPE_SINK, GstVideoSink)
G_DECLARE_FINAL_TYPE(GstDmapipeConvert, gst_dmapipe_convert, GST, DMAPIPE_CONVERT, GstBaseTransform)
G_DECLARE_FINAL_TYPE(GstDmapipeOverlay, gst_dmapipe_overlay, GST, DMAPIPE_OVERLAY, GstBaseTransform)
G_END_DECLS

GST_ELEMENT_REGISTER_DECLARE(dmapipesrc);
GST_ELEMENT_REGISTER_DECLARE(dmapipesink);
GST_ELEMENT_REGISTER_DECLARE(dmapipeconvert);
GST_ELEMENT_REGISTER_DECLARE(dmapipeoverlay);
