/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dmapipeconvert: libdmapipe's ConvertStage (YUYV, UYVY, NV12, ... ->
 * XRGB8888 = GStreamer BGRx, or RGB565 = RGB16) as a GstBaseTransform. The input dma-buf is
 * mapped for reading and the output for writing, each once per dma-buf
 * (kept on the GstMemory), and every frame is bracketed with
 * DMA_BUF_IOCTL_SYNC exactly once per side through CpuAccess. Output
 * buffers come from downstream's pool when its buffers are dma-bufs
 * (dmapipesink's pool of scanout buffers: the converted frame is shown
 * without a copy), else from a pool of dma-bufs of our own. Equal caps on
 * both sides: passthrough.
 */
#include "common.h"
#include "elements.h"
#include "pool.h"
#include "stageframe.h"

#include <gst/allocators/allocators.h>
#include <gst/base/gstbasetransform.h>

#include <linux/videodev2.h>

#include <algorithm>
#include <mutex>
#include <optional>
#include <thread>

#include <dmapipe/convert.h>
#include <dmapipe/error.h>
#include <dmapipe/kms_display.h>
#include <dmapipe/stages.h>
#include <dmapipe/v4l2_capture.h>

GST_DEBUG_CATEGORY_STATIC(dmapipeconvert_debug);
#define GST_CAT_DEFAULT dmapipeconvert_debug

using namespace dmapipe;
using namespace dmapipe::gst;

namespace {

/* Every format of the table ConvertStage turns into one of its outputs. */
std::vector<uint32_t> acceptedFormats()
{
	std::vector<uint32_t> v;
	for (const auto &f : pixelFormats())
		for (uint32_t out : ConvertStage::outputs())
			if (f.drm != out && convertSupported(f.drm, out) &&
			    videoFormatFromDrm(f.drm) != GST_VIDEO_FORMAT_UNKNOWN &&
			    std::find(v.begin(), v.end(), f.drm) == v.end())
				v.push_back(f.drm);
	return v;
}

/* What it makes, in the pipeline's order of preference (BGRx, then RGB16). */
std::vector<uint32_t> producedFormats()
{
	return ConvertStage::outputs();
}

/* The GStreamer names of the formats in a structure's "format" field; empty = any. */
std::vector<GstVideoFormat> structureFormats(const GstStructure *s)
{
	std::vector<GstVideoFormat> v;
	const GValue *val = gst_structure_get_value(s, "format");
	if (!val)
		return v;
	if (G_VALUE_HOLDS_STRING(val)) {
		v.push_back(gst_video_format_from_string(g_value_get_string(val)));
	} else if (GST_VALUE_HOLDS_LIST(val)) {
		for (guint i = 0; i < gst_value_list_get_size(val); i++) {
			const GValue *e = gst_value_list_get_value(val, i);
			if (G_VALUE_HOLDS_STRING(e))
				v.push_back(gst_video_format_from_string(g_value_get_string(e)));
		}
	}
	return v;
}

bool anyIn(const std::vector<GstVideoFormat> &have, const std::vector<uint32_t> &drm)
{
	if (have.empty())
		return true;
	for (GstVideoFormat vf : have)
		for (uint32_t d : drm)
			if (videoFormatFromDrm(d) == vf)
				return true;
	return false;
}

void setFormats(GstStructure *s, const std::vector<uint32_t> &drm)
{
	GValue list = G_VALUE_INIT;
	g_value_init(&list, GST_TYPE_LIST);
	for (uint32_t d : drm) {
		GValue v = G_VALUE_INIT;
		g_value_init(&v, G_TYPE_STRING);
		g_value_set_string(&v, gst_video_format_to_string(videoFormatFromDrm(d)));
		gst_value_list_append_and_take_value(&list, &v);
	}
	if (gst_value_list_get_size(&list) == 1)
		gst_structure_set_value(s, "format", gst_value_list_get_value(&list, 0));
	else
		gst_structure_set_value(s, "format", &list);
	g_value_unset(&list);
}

/* GStreamer colorimetry as V4L2's, for yuvParamsFromV4l2 (via ConvertStage::configure). */
void v4l2Colorimetry(const GstVideoColorimetry &c, CaptureFormat &f)
{
	switch (c.matrix) {
	case GST_VIDEO_COLOR_MATRIX_BT601:
		f.ycbcrEnc = V4L2_YCBCR_ENC_601;
		break;
	case GST_VIDEO_COLOR_MATRIX_BT709:
		f.ycbcrEnc = V4L2_YCBCR_ENC_709;
		break;
	case GST_VIDEO_COLOR_MATRIX_BT2020:
		f.ycbcrEnc = V4L2_YCBCR_ENC_BT2020;
		break;
	case GST_VIDEO_COLOR_MATRIX_SMPTE240M:
		f.ycbcrEnc = V4L2_YCBCR_ENC_SMPTE240M;
		break;
	default:
		f.ycbcrEnc = V4L2_YCBCR_ENC_DEFAULT;
		break;
	}
	switch (c.range) {
	case GST_VIDEO_COLOR_RANGE_0_255:
		f.quantization = V4L2_QUANTIZATION_FULL_RANGE;
		break;
	case GST_VIDEO_COLOR_RANGE_16_235:
		f.quantization = V4L2_QUANTIZATION_LIM_RANGE;
		break;
	default:
		f.quantization = V4L2_QUANTIZATION_DEFAULT;
		break;
	}
	switch (c.primaries) {
	case GST_VIDEO_COLOR_PRIMARIES_BT709:
		f.colorspace = V4L2_COLORSPACE_REC709;
		break;
	case GST_VIDEO_COLOR_PRIMARIES_BT470BG:
	case GST_VIDEO_COLOR_PRIMARIES_SMPTE170M:
		f.colorspace = V4L2_COLORSPACE_SMPTE170M;
		break;
	case GST_VIDEO_COLOR_PRIMARIES_BT2020:
		f.colorspace = V4L2_COLORSPACE_BT2020;
		break;
	default:
		f.colorspace = V4L2_COLORSPACE_DEFAULT;
		break;
	}
}

/* Dma-bufs for our own pool, from the first allocator that works here. */
std::unique_ptr<Allocator> makeOwnAllocator(std::string &why)
{
	if (haveCapbufHeap()) {
		try {
			return makeHeapAllocator("capbuf");
		} catch (const Error &e) {
			why += std::string(e.what()) + "; ";
		}
	}
	try {
		return makeDumbAllocator();
	} catch (const Error &e) {
		why += std::string(e.what()) + "; ";
	}
	try {
		return makeHeapAllocator("system");
	} catch (const Error &e) {
		why += std::string(e.what()) + "; ";
	}
	if (haveUdmabuf())
		return makeUdmabufAllocator();
	throw Error("no dma-buf allocator for the output pool: " + why);
}

} /* namespace */

/* ---- the element ---- */

namespace {

struct Priv {
	/* properties (object lock) */
	guint threads = 0;
	gboolean exact = FALSE;

	std::unique_ptr<ConvertStage> stage;
	guint stageThreads = 0;
	gboolean stageExact = FALSE;
	GstVideoInfo inInfo, outInfo;
	SysmemFrame sysIn, sysOut;
	/* Our own pool's allocator, made once per READY -> PAUSED. */
	std::shared_ptr<Allocator> ownAllocator;
	bool downstreamPool = false;
	bool negotiationErrorPosted = false;
	uint64_t frames = 0, sysmemFrames = 0;
};

} /* namespace */

struct _GstDmapipeConvert {
	GstBaseTransform parent;
	Priv *priv;
};

G_DEFINE_TYPE(GstDmapipeConvert, gst_dmapipe_convert, GST_TYPE_BASE_TRANSFORM)
GST_ELEMENT_REGISTER_DEFINE(dmapipeconvert, "dmapipeconvert", GST_RANK_NONE,
			    gst_dmapipe_convert_get_type());

enum { PROP_0, PROP_THREADS, PROP_EXACT };

static guint defaultThreads()
{
	return std::min(4u, std::max(1u, std::thread::hardware_concurrency()));
}

static void gst_dmapipe_convert_set_property(GObject *object, guint id, const GValue *value,
					     GParamSpec *pspec)
{
	GstDmapipeConvert *self = GST_DMAPIPE_CONVERT(object);
	GST_OBJECT_LOCK(self);
	switch (id) {
	case PROP_THREADS:
		self->priv->threads = g_value_get_uint(value);
		break;
	case PROP_EXACT:
		self->priv->exact = g_value_get_boolean(value);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
	}
	GST_OBJECT_UNLOCK(self);
}

static void gst_dmapipe_convert_get_property(GObject *object, guint id, GValue *value,
					     GParamSpec *pspec)
{
	GstDmapipeConvert *self = GST_DMAPIPE_CONVERT(object);
	GST_OBJECT_LOCK(self);
	switch (id) {
	case PROP_THREADS:
		g_value_set_uint(value, self->priv->threads);
		break;
	case PROP_EXACT:
		g_value_set_boolean(value, self->priv->exact);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
	}
	GST_OBJECT_UNLOCK(self);
}

static GstCaps *gst_dmapipe_convert_transform_caps(GstBaseTransform *trans, GstPadDirection direction,
						   GstCaps *caps, GstCaps *filter)
{
	static const std::vector<uint32_t> accepted = acceptedFormats();
	static const std::vector<uint32_t> produced = producedFormats();
	GstCaps *external = caps;
	caps = capsToInternal(external); /* the 1.22 form inside, whatever the peer speaks */
	GstCaps *ret = gst_caps_new_empty();
	for (guint i = 0; i < gst_caps_get_size(caps); i++) {
		const GstStructure *s = gst_caps_get_structure(caps, i);
		GstCapsFeatures *f = gst_caps_get_features(caps, i);
		/* The same caps first: passthrough when the other side takes them. */
		ret = gst_caps_merge_structure_full(ret, gst_structure_copy(s),
						    f ? gst_caps_features_copy(f) : nullptr);
		/* Sink -> src: what the accepted formats become; src -> sink: what becomes them. */
		const auto &from = direction == GST_PAD_SINK ? accepted : produced;
		const auto &to = direction == GST_PAD_SINK ? produced : accepted;
		if (!anyIn(structureFormats(s), from))
			continue;
		GstStructure *t = gst_structure_copy(s);
		gst_structure_remove_fields(t, "format", "colorimetry", "chroma-site", nullptr);
		setFormats(t, to);
		/* Output is always dma-buf memory; input may be either. */
		ret = gst_caps_merge_structure_full(
			ret, gst_structure_copy(t),
			gst_caps_features_new(GST_CAPS_FEATURE_MEMORY_DMABUF, nullptr));
		ret = gst_caps_merge_structure(ret, t);
	}
	gst_caps_unref(caps);
	caps = external;
	GstCaps *out = capsToExternal(ret);
	gst_caps_unref(ret);
	ret = out;
	if (filter) {
		GstCaps *tmp = gst_caps_intersect_full(filter, ret, GST_CAPS_INTERSECT_FIRST);
		gst_caps_unref(ret);
		ret = tmp;
	}
	GST_DEBUG_OBJECT(trans, "%s %" GST_PTR_FORMAT " -> %" GST_PTR_FORMAT,
			 direction == GST_PAD_SINK ? "sink" : "src", caps, ret);
	return ret;
}

static gboolean gst_dmapipe_convert_get_unit_size(GstBaseTransform *, GstCaps *caps, gsize *size)
{
	GstVideoInfo info;
	if (!videoInfoFromCaps(&info, caps))
		return FALSE;
	*size = GST_VIDEO_INFO_SIZE(&info);
	return TRUE;
}

static gboolean gst_dmapipe_convert_set_caps(GstBaseTransform *trans, GstCaps *incaps,
					     GstCaps *outcaps)
{
	GstDmapipeConvert *self = GST_DMAPIPE_CONVERT(trans);
	Priv *p = self->priv;
	GstVideoInfo in, out;
	if (!videoInfoFromCaps(&in, incaps) || !videoInfoFromCaps(&out, outcaps)) {
		GST_ELEMENT_ERROR(self, CORE, NEGOTIATION,
				  ("cannot parse caps %" GST_PTR_FORMAT " -> %" GST_PTR_FORMAT,
				   incaps, outcaps),
				  (nullptr));
		return FALSE;
	}
	const char *inName = gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&in));
	const char *outName = gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&out));
	if (GST_VIDEO_INFO_WIDTH(&in) != GST_VIDEO_INFO_WIDTH(&out) ||
	    GST_VIDEO_INFO_HEIGHT(&in) != GST_VIDEO_INFO_HEIGHT(&out)) {
		GST_ELEMENT_ERROR(
			self, CORE, NEGOTIATION,
			("cannot convert %s %dx%d to %s %dx%d: dmapipeconvert does not scale",
			 inName, GST_VIDEO_INFO_WIDTH(&in), GST_VIDEO_INFO_HEIGHT(&in), outName,
			 GST_VIDEO_INFO_WIDTH(&out), GST_VIDEO_INFO_HEIGHT(&out)),
			(nullptr));
		return FALSE;
	}
	p->inInfo = in;
	p->outInfo = out;
	if (GST_VIDEO_INFO_FORMAT(&in) == GST_VIDEO_INFO_FORMAT(&out)) {
		GST_INFO_OBJECT(self, "%s in and out: passthrough", inName);
		return TRUE;
	}
	auto pin = pixelFormatFromVideo(GST_VIDEO_INFO_FORMAT(&in));
	auto pout = pixelFormatFromVideo(GST_VIDEO_INFO_FORMAT(&out));
	GST_OBJECT_LOCK(self);
	guint threads = p->threads ? p->threads : defaultThreads();
	const gboolean exact = p->exact;
	GST_OBJECT_UNLOCK(self);
	if (!p->stage || p->stageThreads != threads || p->stageExact != exact) {
		p->stage = std::make_unique<ConvertStage>(
			threads, 0, exact ? ConvertPrecision::Exact : ConvertPrecision::Fast);
		p->stageThreads = threads;
		p->stageExact = exact;
	}
	const auto outs = ConvertStage::outputs();
	bool makes = pout && std::find(outs.begin(), outs.end(), pout->drm) != outs.end();
	if (makes)
		p->stage->setOutput(pout->drm);
	if (!pin || !makes || !p->stage->accepts(*pin) || p->stage->produces(*pin) != pout->drm) {
		std::string why = !makes
			? std::string("ConvertStage makes BGRx or RGB16, not ") + outName
			: std::string("ConvertStage does not turn ") + inName + " into " + outName;
		p->negotiationErrorPosted = true;
		GST_ELEMENT_ERROR(self, CORE, NEGOTIATION,
				  ("cannot convert %s to %s", inName, outName), ("%s", why.c_str()));
		return FALSE;
	}
	CaptureFormat cf;
	cf.format = *pin;
	cf.width = GST_VIDEO_INFO_WIDTH(&in);
	cf.height = GST_VIDEO_INFO_HEIGHT(&in);
	v4l2Colorimetry(in.colorimetry, cf);
	p->stage->configure(cf);
	gchar *colorimetry = gst_video_colorimetry_to_string(&in.colorimetry);
	GST_INFO_OBJECT(self, "%s %dx%d (colorimetry %s) -> %s: %s %s range, %u thread(s), %s",
			inName, GST_VIDEO_INFO_WIDTH(&in), GST_VIDEO_INFO_HEIGHT(&in),
			colorimetry ? colorimetry : "unknown", outName,
			p->stage->encoding() == YuvEncoding::BT709            ? "BT.709"
				: p->stage->encoding() == YuvEncoding::BT2020 ? "BT.2020"
									      : "BT.601",
			p->stage->range() == YuvRange::Full ? "full" : "limited", threads,
			exact ? "exact" : convertIsaName(convertIsa()));
	g_free(colorimetry);
	return TRUE;
}

/* A CAPS event downstream cannot follow: an error naming both sides' formats. */
static gboolean gst_dmapipe_convert_sink_event(GstBaseTransform *trans, GstEvent *event)
{
	GstDmapipeConvert *self = GST_DMAPIPE_CONVERT(trans);
	std::string in;
	if (GST_EVENT_TYPE(event) == GST_EVENT_CAPS) {
		GstCaps *caps;
		gst_event_parse_caps(event, &caps);
		in = capsFormat(caps);
		self->priv->negotiationErrorPosted = false;
	}
	gboolean ret =
		GST_BASE_TRANSFORM_CLASS(gst_dmapipe_convert_parent_class)->sink_event(trans, event);
	if (!ret && !in.empty() && !self->priv->negotiationErrorPosted) {
		std::string out = peerFormats(GST_BASE_TRANSFORM_SRC_PAD(trans));
		GST_ELEMENT_ERROR(self, CORE, NEGOTIATION,
				  ("cannot convert %s to any format downstream takes (%s)",
				   in.c_str(), out.c_str()),
				  ("ConvertStage makes BGRx (DRM XRGB8888) or RGB16 (DRM RGB565) of the "
				   "formats in the sink template; other formats only pass through"));
	}
	return ret;
}

static gboolean gst_dmapipe_convert_propose_allocation(GstBaseTransform *trans,
						       GstQuery *decide_query, GstQuery *query)
{
	/* Passthrough: the base class forwards the query downstream. */
	if (!decide_query)
		return GST_BASE_TRANSFORM_CLASS(gst_dmapipe_convert_parent_class)
			->propose_allocation(trans, decide_query, query);
	/* Upstream may write any strides: we read the GstVideoMeta. */
	gst_query_add_allocation_meta(query, GST_VIDEO_META_API_TYPE, nullptr);
	return TRUE;
}

/* Configures and activates pool; true when its buffers are dma-bufs with a usable layout. */
static bool tryPool(GstDmapipeConvert *self, GstBufferPool *pool, GstCaps *caps, guint &size,
		    guint min, guint max)
{
	GstStructure *config = gst_buffer_pool_get_config(pool);
	gst_buffer_pool_config_set_params(config, caps, size, min, max);
	if (gst_buffer_pool_has_option(pool, GST_BUFFER_POOL_OPTION_VIDEO_META))
		gst_buffer_pool_config_add_option(config, GST_BUFFER_POOL_OPTION_VIDEO_META);
	if (!gst_buffer_pool_set_config(pool, config)) {
		config = gst_buffer_pool_get_config(pool);
		if (!gst_buffer_pool_config_validate_params(config, caps, size, min, max) ||
		    !gst_buffer_pool_set_config(pool, config)) {
			GST_DEBUG_OBJECT(self, "%" GST_PTR_FORMAT " refused its config", pool);
			return false;
		}
	}
	config = gst_buffer_pool_get_config(pool);
	gst_buffer_pool_config_get_params(config, nullptr, &size, nullptr, nullptr);
	gst_structure_free(config);
	if (!gst_buffer_pool_set_active(pool, TRUE)) {
		GST_DEBUG_OBJECT(self, "%" GST_PTR_FORMAT " cannot be activated", pool);
		return false;
	}
	GstBuffer *buf = nullptr;
	if (gst_buffer_pool_acquire_buffer(pool, &buf, nullptr) != GST_FLOW_OK || !buf) {
		gst_buffer_pool_set_active(pool, FALSE);
		return false;
	}
	bool ok = true;
	try {
		ok = stageBuffer(buf, self->priv->outInfo, Access::Write) != nullptr;
	} catch (const Error &e) {
		GST_DEBUG_OBJECT(self, "%s", e.what());
		ok = false;
	}
	gst_buffer_unref(buf);
	if (!ok)
		gst_buffer_pool_set_active(pool, FALSE);
	return ok;
}

static gboolean gst_dmapipe_convert_decide_allocation(GstBaseTransform *trans, GstQuery *query)
{
	GstDmapipeConvert *self = GST_DMAPIPE_CONVERT(trans);
	Priv *p = self->priv;
	GstCaps *caps = nullptr;
	gst_query_parse_allocation(query, &caps, nullptr);
	if (!caps)
		return FALSE;
	guint size = guint(GST_VIDEO_INFO_SIZE(&p->outInfo)), min = 0, max = 0;
	GstBufferPool *pool = nullptr;
	bool have = gst_query_get_n_allocation_pools(query) > 0;
	if (have)
		gst_query_parse_nth_allocation_pool(query, 0, &pool, &size, &min, &max);
	/* Frames downstream holds (on screen, flip pending) plus the one being written. */
	min = std::max(min, 3u);
	if (max && max < min)
		max = min;
	p->downstreamPool = false;
	if (pool) {
		if (tryPool(self, pool, caps, size, min, max)) {
			p->downstreamPool = true;
			GST_INFO_OBJECT(self,
					"output buffers from downstream's pool %s (dma-buf memory): "
					"converted frames go downstream without a copy",
					GST_OBJECT_NAME(pool));
		} else {
			GST_INFO_OBJECT(self,
					"downstream's pool %s has no dma-buf memory: not using it",
					GST_OBJECT_NAME(pool));
			gst_object_unref(pool);
			pool = nullptr;
		}
	}
	if (!pool) {
		try {
			if (!p->ownAllocator) {
				std::string why;
				p->ownAllocator = makeOwnAllocator(why);
			}
		} catch (const Error &e) {
			GST_ELEMENT_ERROR(self, RESOURCE, NO_SPACE_LEFT, ("%s", e.what()), (nullptr));
			return FALSE;
		}
		auto source = std::make_shared<PoolSource>();
		source->allocator = p->ownAllocator;
		pool = dmabufPoolNew(std::move(source));
		if (!tryPool(self, pool, caps, size, min, max)) {
			gst_object_unref(pool);
			GST_ELEMENT_ERROR(self, RESOURCE, NO_SPACE_LEFT,
					  ("cannot allocate output dma-bufs from %s",
					   p->ownAllocator->name().c_str()),
					  (nullptr));
			return FALSE;
		}
		GST_INFO_OBJECT(self, "output buffers from a pool of our own: %s",
				p->ownAllocator->name().c_str());
	}
	if (have)
		gst_query_set_nth_allocation_pool(query, 0, pool, size, min, max);
	else
		gst_query_add_allocation_pool(query, pool, size, min, max);
	gst_object_unref(pool);
	return TRUE;
}

static GstFlowReturn gst_dmapipe_convert_transform(GstBaseTransform *trans, GstBuffer *inbuf,
						   GstBuffer *outbuf)
{
	GstDmapipeConvert *self = GST_DMAPIPE_CONVERT(trans);
	Priv *p = self->priv;
	if (!p->stage)
		return GST_FLOW_NOT_NEGOTIATED;
	GstVideoFrame inFrame, outFrame;
	bool inMapped = false, outMapped = false;
	GstFlowReturn ret = GST_FLOW_OK;
	try {
		FrameInfo info = frameInfo(inbuf, p->frames);
		auto in = stageBuffer(inbuf, p->inInfo, Access::Read);
		auto out = stageBuffer(outbuf, p->outInfo, Access::Write);
		const DmaBuffer *inDb, *outDb;
		std::vector<uint8_t *> inPlanes, outPlanes;
		if (in) {
			inDb = in->buffer.get();
			inPlanes = in->planes();
		} else {
			if (!gst_video_frame_map(&inFrame, &p->inInfo, inbuf, GST_MAP_READ))
				throw Error("cannot map the input frame");
			inMapped = true;
			inDb = &p->sysIn.describe(inFrame);
			inPlanes = SysmemFrame::planes(inFrame);
			p->sysmemFrames++;
		}
		if (out) {
			outDb = out->buffer.get();
			outPlanes = out->planes();
		} else {
			if (!gst_video_frame_map(&outFrame, &p->outInfo, outbuf, GST_MAP_WRITE))
				throw Error("cannot map the output frame");
			outMapped = true;
			outDb = &p->sysOut.describe(outFrame);
			outPlanes = SysmemFrame::planes(outFrame);
		}
		const Frame inView = stageFrame(*inDb, info, inPlanes);
		WritableFrame outView = stageFrame(*outDb, info, outPlanes);
		{
			std::optional<StageAccess> inBracket, outBracket;
			if (in)
				inBracket.emplace(*in);
			if (out)
				outBracket.emplace(*out);
			p->stage->convert(inView, outView);
		}
		p->frames++;
		GST_LOG_OBJECT(self, "converted frame %u into dma-buf %" G_GUINT64_FORMAT,
			       info.sequence, outDb->id());
	} catch (const std::exception &e) {
		GST_ELEMENT_ERROR(self, STREAM, FAILED, ("conversion failed: %s", e.what()),
				  (nullptr));
		ret = GST_FLOW_ERROR;
	}
	if (inMapped)
		gst_video_frame_unmap(&inFrame);
	if (outMapped)
		gst_video_frame_unmap(&outFrame);
	return ret;
}

static gboolean gst_dmapipe_convert_start(GstBaseTransform *trans)
{
	GstDmapipeConvert *self = GST_DMAPIPE_CONVERT(trans);
	self->priv->frames = self->priv->sysmemFrames = 0;
	return TRUE;
}

static gboolean gst_dmapipe_convert_stop(GstBaseTransform *trans)
{
	GstDmapipeConvert *self = GST_DMAPIPE_CONVERT(trans);
	Priv *p = self->priv;
	GST_INFO_OBJECT(self,
			"stopped after %" G_GUINT64_FORMAT " frames converted (%" G_GUINT64_FORMAT
			" from system memory)%s",
			p->frames, p->sysmemFrames,
			p->frames == 0              ? ""
				: p->downstreamPool ? ", into downstream's pool"
						    : ", into a pool of our own");
	p->stage.reset();
	p->ownAllocator.reset();
	p->sysIn = SysmemFrame();
	p->sysOut = SysmemFrame();
	return TRUE;
}

static void gst_dmapipe_convert_finalize(GObject *object)
{
	GstDmapipeConvert *self = GST_DMAPIPE_CONVERT(object);
	delete self->priv;
	G_OBJECT_CLASS(gst_dmapipe_convert_parent_class)->finalize(object);
}

static void gst_dmapipe_convert_init(GstDmapipeConvert *self)
{
	/* As GstVideoFilter elements do: late frames are dropped before converting. */
	gst_base_transform_set_qos_enabled(GST_BASE_TRANSFORM(self), TRUE);
	self->priv = new Priv;
	gst_video_info_init(&self->priv->inInfo);
	gst_video_info_init(&self->priv->outInfo);
}

static void gst_dmapipe_convert_class_init(GstDmapipeConvertClass *klass)
{
	GObjectClass *gobject = G_OBJECT_CLASS(klass);
	GstElementClass *element = GST_ELEMENT_CLASS(klass);
	GstBaseTransformClass *bt = GST_BASE_TRANSFORM_CLASS(klass);

	GST_DEBUG_CATEGORY_INIT(dmapipeconvert_debug, "dmapipeconvert", 0,
				"dmapipe dma-buf colour conversion");

	gobject->set_property = gst_dmapipe_convert_set_property;
	gobject->get_property = gst_dmapipe_convert_get_property;
	gobject->finalize = gst_dmapipe_convert_finalize;

	g_object_class_install_property(
		gobject, PROP_THREADS,
		g_param_spec_uint("threads", "Threads",
				  "Threads converting the rows of a frame; 0 = the CPU count, at "
				  "most 4 (taken at negotiation)",
				  0, 64, 0,
				  GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
					      GST_PARAM_MUTABLE_READY)));
	g_object_class_install_property(
		gobject, PROP_EXACT,
		g_param_spec_boolean("exact", "Exact",
				     "Every byte the exactly rounded BT.601/709/2020 result "
				     "(slower); by default SIMD within 1 of it (taken at negotiation)",
				     FALSE,
				     GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
						 GST_PARAM_MUTABLE_READY)));

	std::vector<uint32_t> formats = acceptedFormats();
	for (uint32_t f : producedFormats())
		if (std::find(formats.begin(), formats.end(), f) == formats.end())
			formats.push_back(f);
	GstCaps *caps = stageCaps(formats);
	gst_element_class_add_pad_template(
		element, gst_pad_template_new("sink", GST_PAD_SINK, GST_PAD_ALWAYS, caps));
	gst_element_class_add_pad_template(
		element, gst_pad_template_new("src", GST_PAD_SRC, GST_PAD_ALWAYS, caps));
	gst_caps_unref(caps);
	gst_element_class_set_static_metadata(
		element, "dmapipe dma-buf colour converter", "Filter/Converter/Video",
		"Converts YUYV, UYVY, NV12, I420, GRAY8 (and whatever else libdmapipe's ConvertStage "
		"takes) to BGRx (DRM XRGB8888) or RGB16 (DRM RGB565), BT.601/709/2020 and range "
		"from the caps, reading and writing "
		"dma-bufs with DMA_BUF_IOCTL_SYNC brackets; writes into downstream's dma-buf pool "
		"when it offers one (dmapipesink's scanout buffers)",
		"dmapipe");

	bt->passthrough_on_same_caps = TRUE;
	bt->sink_event = gst_dmapipe_convert_sink_event;
	bt->transform_caps = gst_dmapipe_convert_transform_caps;
	bt->get_unit_size = gst_dmapipe_convert_get_unit_size;
	bt->set_caps = gst_dmapipe_convert_set_caps;
	bt->propose_allocation = gst_dmapipe_convert_propose_allocation;
	bt->decide_allocation = gst_dmapipe_convert_decide_allocation;
	bt->transform = gst_dmapipe_convert_transform;
	bt->start = gst_dmapipe_convert_start;
	bt->stop = gst_dmapipe_convert_stop;
}
