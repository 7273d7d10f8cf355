/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dmapipeoverlay: libdmapipe's OverlayStage (frame number and timestamp
 * burnt into the top-left corner) in place on the buffer going by. A
 * dma-buf is mapped read-write once (kept on its GstMemory) and each frame
 * is bracketed with one DMA_BUF_IOCTL_SYNC START/END RW pair through
 * CpuAccess. Allocation queries go through to downstream, so an upstream
 * dmapipeconvert or v4l2src still writes into dmapipesink's scanout buffers.
 */
#include "common.h"
#include "elements.h"
#include "stageframe.h"

#include <gst/base/gstbasetransform.h>

#include <memory>
#include <optional>

#include <dmapipe/error.h>
#include <dmapipe/stages.h>

GST_DEBUG_CATEGORY_STATIC(dmapipeoverlay_debug);
#define GST_CAT_DEFAULT dmapipeoverlay_debug

using namespace dmapipe;
using namespace dmapipe::gst;

namespace {

std::vector<uint32_t> acceptedFormats()
{
	OverlayStage probe;
	std::vector<uint32_t> v;
	for (const auto &f : pixelFormats())
		if (probe.accepts(f) && videoFormatFromDrm(f.drm) != GST_VIDEO_FORMAT_UNKNOWN)
			v.push_back(f.drm);
	return v;
}

constexpr guint defaultScale = 3;

struct Priv {
	/* properties (object lock) */
	bool enable = true;
	guint scale = defaultScale;

	std::unique_ptr<OverlayStage> stage;
	guint stageScale = 0;
	GstVideoInfo info;
	SysmemFrame sys;
	bool negotiationErrorPosted = false;
	uint64_t frames = 0, copies = 0;
};

} /* namespace */

struct _GstDmapipeOverlay {
	GstBaseTransform parent;
	Priv *priv;
};

G_DEFINE_TYPE(GstDmapipeOverlay, gst_dmapipe_overlay, GST_TYPE_BASE_TRANSFORM)
GST_ELEMENT_REGISTER_DEFINE(dmapipeoverlay, "dmapipeoverlay", GST_RANK_NONE,
			    gst_dmapipe_overlay_get_type());

enum { PROP_0, PROP_ENABLE, PROP_SCALE };

static void gst_dmapipe_overlay_set_property(GObject *object, guint id, const GValue *value,
					     GParamSpec *pspec)
{
	GstDmapipeOverlay *self = GST_DMAPIPE_OVERLAY(object);
	switch (id) {
	case PROP_ENABLE: {
		bool enable = g_value_get_boolean(value);
		GST_OBJECT_LOCK(self);
		self->priv->enable = enable;
		GST_OBJECT_UNLOCK(self);
		/* Disabled: buffers go through untouched, no mapping, no bracket. */
		gst_base_transform_set_passthrough(GST_BASE_TRANSFORM(self), !enable);
		break;
	}
	case PROP_SCALE:
		GST_OBJECT_LOCK(self);
		self->priv->scale = g_value_get_uint(value);
		GST_OBJECT_UNLOCK(self);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
	}
}

static void gst_dmapipe_overlay_get_property(GObject *object, guint id, GValue *value,
					     GParamSpec *pspec)
{
	GstDmapipeOverlay *self = GST_DMAPIPE_OVERLAY(object);
	GST_OBJECT_LOCK(self);
	switch (id) {
	case PROP_ENABLE:
		g_value_set_boolean(value, self->priv->enable);
		break;
	case PROP_SCALE:
		g_value_set_uint(value, self->priv->scale);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
	}
	GST_OBJECT_UNLOCK(self);
}

static gboolean gst_dmapipe_overlay_set_caps(GstBaseTransform *trans, GstCaps *incaps,
					     GstCaps *outcaps)
{
	GstDmapipeOverlay *self = GST_DMAPIPE_OVERLAY(trans);
	Priv *p = self->priv;
	GstVideoInfo in, out;
	p->negotiationErrorPosted = true;
	if (!videoInfoFromCaps(&in, incaps) || !videoInfoFromCaps(&out, outcaps)) {
		GST_ELEMENT_ERROR(self, CORE, NEGOTIATION,
				  ("cannot parse caps %" GST_PTR_FORMAT " -> %" GST_PTR_FORMAT,
				   incaps, outcaps),
				  (nullptr));
		return FALSE;
	}
	const char *inName = gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&in));
	const char *outName = gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&out));
	OverlayStage probe;
	auto pf = pixelFormatFromVideo(GST_VIDEO_INFO_FORMAT(&in));
	if (GST_VIDEO_INFO_FORMAT(&in) != GST_VIDEO_INFO_FORMAT(&out) ||
	    GST_VIDEO_INFO_WIDTH(&in) != GST_VIDEO_INFO_WIDTH(&out) ||
	    GST_VIDEO_INFO_HEIGHT(&in) != GST_VIDEO_INFO_HEIGHT(&out) || !pf || !probe.accepts(*pf)) {
		GST_ELEMENT_ERROR(self, CORE, NEGOTIATION,
				  ("cannot overlay %s %dx%d in, %s %dx%d out", inName,
				   GST_VIDEO_INFO_WIDTH(&in), GST_VIDEO_INFO_HEIGHT(&in), outName,
				   GST_VIDEO_INFO_WIDTH(&out), GST_VIDEO_INFO_HEIGHT(&out)),
				  ("OverlayStage works in place on one format it accepts (%s is %s)",
				   inName, pf && probe.accepts(*pf) ? "accepted" : "not accepted"));
		return FALSE;
	}
	p->negotiationErrorPosted = false;
	p->info = in;
	GST_INFO_OBJECT(self, "%s %dx%d in place", inName, GST_VIDEO_INFO_WIDTH(&in),
			GST_VIDEO_INFO_HEIGHT(&in));
	return TRUE;
}

/* A CAPS event downstream cannot follow: an error naming both sides' formats. */
static gboolean gst_dmapipe_overlay_sink_event(GstBaseTransform *trans, GstEvent *event)
{
	GstDmapipeOverlay *self = GST_DMAPIPE_OVERLAY(trans);
	std::string in;
	if (GST_EVENT_TYPE(event) == GST_EVENT_CAPS) {
		GstCaps *caps;
		gst_event_parse_caps(event, &caps);
		in = capsFormat(caps);
		self->priv->negotiationErrorPosted = false;
	}
	gboolean ret =
		GST_BASE_TRANSFORM_CLASS(gst_dmapipe_overlay_parent_class)->sink_event(trans, event);
	if (!ret && !in.empty() && !self->priv->negotiationErrorPosted) {
		std::string out = peerFormats(GST_BASE_TRANSFORM_SRC_PAD(trans));
		GST_ELEMENT_ERROR(self, CORE, NEGOTIATION,
				  ("cannot pass %s on: downstream takes %s", in.c_str(), out.c_str()),
				  ("dmapipeoverlay works in place: the format out is the format in"));
	}
	return ret;
}

/*
 * In place only into memory nobody else sees. GstBaseTransform's default
 * makes the GstBuffer writable with a shallow copy, whose memories another
 * branch of a tee (or a held copy) still shows: drawing there would change
 * its frames. A shared memory gets a deep copy to draw into instead.
 */
static GstFlowReturn gst_dmapipe_overlay_prepare_output_buffer(GstBaseTransform *trans,
							       GstBuffer *input, GstBuffer **outbuf)
{
	GstDmapipeOverlay *self = GST_DMAPIPE_OVERLAY(trans);
	if (gst_base_transform_is_passthrough(trans) || gst_buffer_is_all_memory_writable(input))
		return GST_BASE_TRANSFORM_CLASS(gst_dmapipe_overlay_parent_class)
			->prepare_output_buffer(trans, input, outbuf);
	*outbuf = gst_buffer_copy_deep(input);
	if (!*outbuf) {
		GST_ELEMENT_ERROR(self, CORE, FAILED, ("cannot copy a shared frame to draw into"),
				  (nullptr));
		return GST_FLOW_ERROR;
	}
	if (self->priv->copies++ == 0)
		GST_INFO_OBJECT(self,
				"the input memory is shared (a tee or a held copy): drawing "
				"into a copy");
	return GST_FLOW_OK;
}

static GstFlowReturn gst_dmapipe_overlay_transform_ip(GstBaseTransform *trans, GstBuffer *buf)
{
	GstDmapipeOverlay *self = GST_DMAPIPE_OVERLAY(trans);
	Priv *p = self->priv;
	GST_OBJECT_LOCK(self);
	guint scale = p->scale;
	GST_OBJECT_UNLOCK(self);
	if (!p->stage || p->stageScale != scale) {
		p->stage = std::make_unique<OverlayStage>(scale);
		p->stageScale = scale;
	}
	GstVideoFrame frame;
	bool mapped = false;
	GstFlowReturn ret = GST_FLOW_OK;
	try {
		FrameInfo info = frameInfo(buf, p->frames);
		auto sb = stageBuffer(buf, p->info, Access::ReadWrite);
		if (sb) {
			WritableFrame view = stageFrame(*sb->buffer, info, sb->planes());
			StageAccess bracket(*sb);
			p->stage->process(view);
		} else {
			if (!gst_video_frame_map(&frame, &p->info, buf,
						 GstMapFlags(GST_MAP_READWRITE)))
				throw Error("cannot map the frame for reading and writing");
			mapped = true;
			WritableFrame view =
				stageFrame(p->sys.describe(frame), info, SysmemFrame::planes(frame));
			p->stage->process(view);
		}
		p->frames++;
		GST_LOG_OBJECT(self, "frame %u: \"%s\"", info.sequence,
			       OverlayStage::text(info).c_str());
	} catch (const std::exception &e) {
		GST_ELEMENT_ERROR(self, STREAM, FAILED, ("overlay failed: %s", e.what()), (nullptr));
		ret = GST_FLOW_ERROR;
	}
	if (mapped)
		gst_video_frame_unmap(&frame);
	return ret;
}

static gboolean gst_dmapipe_overlay_start(GstBaseTransform *trans)
{
	GST_DMAPIPE_OVERLAY(trans)->priv->frames = 0;
	GST_DMAPIPE_OVERLAY(trans)->priv->copies = 0;
	return TRUE;
}

static gboolean gst_dmapipe_overlay_stop(GstBaseTransform *trans)
{
	GstDmapipeOverlay *self = GST_DMAPIPE_OVERLAY(trans);
	GST_INFO_OBJECT(self,
			"stopped after %" G_GUINT64_FORMAT " frames, %" G_GUINT64_FORMAT
			" of them copied first (shared memory)",
			self->priv->frames, self->priv->copies);
	self->priv->stage.reset();
	self->priv->sys = SysmemFrame();
	return TRUE;
}

static void gst_dmapipe_overlay_finalize(GObject *object)
{
	GstDmapipeOverlay *self = GST_DMAPIPE_OVERLAY(object);
	delete self->priv;
	G_OBJECT_CLASS(gst_dmapipe_overlay_parent_class)->finalize(object);
}

static void gst_dmapipe_overlay_init(GstDmapipeOverlay *self)
{
	self->priv = new Priv;
	gst_video_info_init(&self->priv->info);
}

static void gst_dmapipe_overlay_class_init(GstDmapipeOverlayClass *klass)
{
	GObjectClass *gobject = G_OBJECT_CLASS(klass);
	GstElementClass *element = GST_ELEMENT_CLASS(klass);
	GstBaseTransformClass *bt = GST_BASE_TRANSFORM_CLASS(klass);

	GST_DEBUG_CATEGORY_INIT(dmapipeoverlay_debug, "dmapipeoverlay", 0,
				"dmapipe frame number and timestamp overlay");

	gobject->set_property = gst_dmapipe_overlay_set_property;
	gobject->get_property = gst_dmapipe_overlay_get_property;
	gobject->finalize = gst_dmapipe_overlay_finalize;

	g_object_class_install_property(
		gobject, PROP_ENABLE,
		g_param_spec_boolean(
			"enable", "Enable",
			"Burn the frame number (GST_BUFFER_OFFSET, the V4L2 sequence from "
			"dmapipesrc) and the timestamp (PTS) into each frame; false = "
			"passthrough, the buffer is not touched",
			TRUE,
			GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
				    GST_PARAM_CONTROLLABLE | GST_PARAM_MUTABLE_PLAYING)));
	g_object_class_install_property(
		gobject, PROP_SCALE,
		g_param_spec_uint(
			"scale", "Scale",
			"Pixels per dot of the 5x7 font (the text box is 9 * scale lines high)", 1,
			16, defaultScale,
			GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
				    GST_PARAM_MUTABLE_PLAYING)));

	GstCaps *caps = stageCaps(acceptedFormats());
	gst_element_class_add_pad_template(
		element, gst_pad_template_new("sink", GST_PAD_SINK, GST_PAD_ALWAYS, caps));
	gst_element_class_add_pad_template(
		element, gst_pad_template_new("src", GST_PAD_SRC, GST_PAD_ALWAYS, caps));
	gst_caps_unref(caps);
	gst_element_class_set_static_metadata(
		element, "dmapipe frame overlay", "Filter/Effect/Video",
		"Burns the frame number and timestamp into the top-left corner of each frame in "
		"place (libdmapipe's OverlayStage), a read-write DMA_BUF_IOCTL_SYNC bracket per "
		"dma-buf frame",
		"dmapipe");

	bt->sink_event = gst_dmapipe_overlay_sink_event;
	bt->set_caps = gst_dmapipe_overlay_set_caps;
	bt->transform_ip = gst_dmapipe_overlay_transform_ip;
	bt->prepare_output_buffer = gst_dmapipe_overlay_prepare_output_buffer;
	/* enable=false: passthrough, transform_ip is not called. */
	bt->transform_ip_on_passthrough = FALSE;
	bt->start = gst_dmapipe_overlay_start;
	bt->stop = gst_dmapipe_overlay_stop;
}
