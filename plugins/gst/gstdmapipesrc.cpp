/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dmapipesrc: capture through libdmapipe's Source (V4l2Capture, or
 * LibcameraSource for "libcamera:" names) into dma-bufs (a dma-heap such as
 * capbuf, KMS dumb buffers, or the source's own exported buffers). Every
 * output GstBuffer wraps the dma-bufs of one capture buffer in
 * GstDmaBufAllocator memory with a GstVideoMeta; when the last reference to
 * it goes, the buffer is queued again. No copies.
 */
#include "common.h"
#include "elements.h"

#include <gst/allocators/allocators.h>
#include <gst/base/gstpushsrc.h>

#include <fcntl.h>
#include <linux/videodev2.h>
#include <time.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <vector>

#include <dmapipe/error.h>
#include <dmapipe/source.h>
#include <dmapipe/v4l2_capture.h>

GST_DEBUG_CATEGORY_STATIC(dmapipesrc_debug);
#define GST_CAT_DEFAULT dmapipesrc_debug

using namespace dmapipe;
using namespace dmapipe::gst;

namespace {

enum AllocMode { ALLOC_AUTO, ALLOC_CAPBUF, ALLOC_DUMB, ALLOC_V4L2 };

GType allocModeType()
{
	static GType type = 0;
	static const GEnumValue values[] = {
		{ ALLOC_AUTO, "capbuf if /dev/dma_heap/capbuf exists, else v4l2", "auto" },
		{ ALLOC_CAPBUF, "capbuf dma-heap buffers imported into V4L2 (V4L2_MEMORY_DMABUF)",
		  "capbuf" },
		{ ALLOC_DUMB, "KMS dumb buffers imported into V4L2 (V4L2_MEMORY_DMABUF)", "dumb" },
		{ ALLOC_V4L2,
		  "the capture device's own buffers (V4L2_MEMORY_MMAP + VIDIOC_EXPBUF; "
		  "libcamera: FrameBufferAllocator)",
		  "v4l2" },
		{ 0, nullptr, nullptr },
	};
	if (g_once_init_enter(&type)) {
		GType t = g_enum_register_static("GstDmapipeSrcAlloc", values);
		g_once_init_leave(&type, t);
	}
	return type;
}

const char *allocName(int mode)
{
	switch (mode) {
	case ALLOC_CAPBUF:
		return "capbuf";
	case ALLOC_DUMB:
		return "dumb";
	case ALLOC_V4L2:
		return "v4l2";
	default:
		return "auto";
	}
}

/*
 * What the memories of outstanding frames need after the element moved on:
 * the capture device (to queue their V4L2 buffer again) and the memories.
 *
 * A capture buffer goes back to the device when the last of its GstMemories
 * is disposed, not when the GstBuffer that carried it is freed: a shallow
 * copy (gst_buffer_copy, tee, videorate, make_writable) shares the memories
 * and must keep reading the same bytes (v4l2src and libcamerasrc recycle the
 * same way). While a memory is idle the element holds its one reference;
 * pushing it hands that reference to the GstBuffer, and its dispose takes it
 * back instead of freeing it.
 */
struct Shared {
	std::mutex lock;
	/* Signalled when a buffer went back to the device, on flush and on error. */
	std::condition_variable requeued;
	std::unique_ptr<Source> cap;
	std::vector<std::unique_ptr<DmaBuffer>> buffers;
	std::vector<std::vector<GstMemory *>> memories; /* per V4L2 buffer */
	std::vector<GstLayout> layouts;
	std::vector<unsigned> memoriesOut; /* per V4L2 buffer: its memories downstream */
	bool streaming = false;
	bool flushing = false;
	/* Stopped or reconfigured: returning memories are freed, not requeued. */
	bool retired = false;
	std::string error; /* a QBUF from a release that failed */

	/* Stops streaming and frees the V4L2 buffers; outstanding memories stay valid. */
	void stopLocked()
	{
		if (!cap)
			return;
		try {
			if (cap->streaming())
				cap->stop();
			cap->releaseBuffers();
		} catch (const std::exception &e) {
			GST_WARNING("stopping capture: %s", e.what());
		}
		streaming = false;
	}

	/*
	 * Stops and lets go of the memories: the idle ones now, the outstanding
	 * ones when downstream disposes them. Call with a reference to this held.
	 */
	void retire();
};

/* The qdata of each capture memory: whose and which buffer's it is. */
struct MemoryTag {
	std::shared_ptr<Shared> shared;
	unsigned index;
	bool out = false; /* downstream holds it (under shared->lock) */
};

GQuark memoryTagQuark()
{
	static GQuark q = g_quark_from_static_string("dmapipesrc-memory");
	return q;
}

MemoryTag *memoryTag(GstMemory *mem)
{
	return static_cast<MemoryTag *>(
		gst_mini_object_get_qdata(GST_MINI_OBJECT_CAST(mem), memoryTagQuark()));
}

void memoryTagFree(gpointer data)
{
	delete static_cast<MemoryTag *>(data);
}

/* GstMiniObject dispose of a capture memory: FALSE keeps it for the next frame. */
gboolean memoryDispose(GstMiniObject *obj)
{
	GstMemory *mem = GST_MEMORY_CAST(obj);
	MemoryTag *tag = memoryTag(mem);
	if (!tag)
		return TRUE;
	std::shared_ptr<Shared> shared = tag->shared;
	std::lock_guard<std::mutex> l(shared->lock);
	if (shared->retired)
		return TRUE; /* frees it; the qdata's notify drops the tag */
	gst_memory_ref(mem);
	tag->out = false;
	unsigned i = tag->index;
	if (shared->memoriesOut[i] > 0 && --shared->memoriesOut[i] == 0 && shared->streaming &&
	    shared->cap) {
		try {
			shared->cap->queue(i);
		} catch (const std::exception &e) {
			shared->error = e.what();
		}
		shared->requeued.notify_all();
	}
	return FALSE;
}

void Shared::retire()
{
	std::vector<GstMemory *> idle;
	{
		std::lock_guard<std::mutex> l(lock);
		stopLocked();
		retired = true;
		for (auto &mems : memories)
			for (GstMemory *m : mems)
				if (!memoryTag(m)->out)
					idle.push_back(m);
		memories.clear();
		requeued.notify_all();
	}
	for (GstMemory *m : idle) {
		GST_MINI_OBJECT_CAST(m)->dispose = nullptr;
		gst_memory_unref(m);
	}
}

uint64_t monotonicNs()
{
	timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return uint64_t(t.tv_sec) * 1000000000ull + uint64_t(t.tv_nsec);
}

struct Priv {
	/* properties (object lock) */
	std::string device;
	int alloc = ALLOC_AUTO;
	guint bufferCount = 6;

	std::shared_ptr<Shared> shared; /* replaced under the object lock */
	bool flushing = false; /* object lock */
	bool dmaDrm = false; /* the negotiated caps are DMA_DRM */
	/* Downstream reads the default layout, which the capture buffers do not have. */
	bool copyToDefault = false;
	uint64_t copied = 0;
	GstVideoInfo pendingInfo; /* set_caps() -> decide_allocation() */
	bool needConfigure = false;
	guint configuredCount = 0;
	GstCaps *probed = nullptr;
	GstAllocator *dmabufAllocator = nullptr;
	GstPoll *poll = nullptr;
	GstPollFD pollFd = GST_POLL_FD_INIT;
	GstVideoInfo info;
	bool configured = false;
	std::string allocUsed;
	uint64_t frames = 0;
};

} /* namespace */

struct _GstDmapipeSrc {
	GstPushSrc parent;
	Priv *priv;
};

G_DEFINE_TYPE(GstDmapipeSrc, gst_dmapipe_src, GST_TYPE_PUSH_SRC)
GST_ELEMENT_REGISTER_DEFINE(dmapipesrc, "dmapipesrc", GST_RANK_NONE, gst_dmapipe_src_get_type());

enum { PROP_0, PROP_DEVICE, PROP_ALLOC, PROP_BUFFER_COUNT };

static void gst_dmapipe_src_set_property(GObject *object, guint id, const GValue *value,
					 GParamSpec *pspec)
{
	GstDmapipeSrc *self = GST_DMAPIPE_SRC(object);
	GST_OBJECT_LOCK(self);
	switch (id) {
	case PROP_DEVICE: {
		const char *s = g_value_get_string(value);
		self->priv->device = s ? s : "";
		break;
	}
	case PROP_ALLOC:
		self->priv->alloc = g_value_get_enum(value);
		break;
	case PROP_BUFFER_COUNT:
		self->priv->bufferCount = g_value_get_uint(value);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
	}
	GST_OBJECT_UNLOCK(self);
}

static void gst_dmapipe_src_get_property(GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
	GstDmapipeSrc *self = GST_DMAPIPE_SRC(object);
	GST_OBJECT_LOCK(self);
	switch (id) {
	case PROP_DEVICE:
		g_value_set_string(value, self->priv->device.c_str());
		break;
	case PROP_ALLOC:
		g_value_set_enum(value, self->priv->alloc);
		break;
	case PROP_BUFFER_COUNT:
		g_value_set_uint(value, self->priv->bufferCount);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
	}
	GST_OBJECT_UNLOCK(self);
}

/* The caps of what the device captures that GStreamer and the framework both name. */
static GstCaps *probeCaps(Source &cap)
{
	GstCaps *dmabuf = gst_caps_new_empty();
	GstCaps *plain = gst_caps_new_empty();
	for (uint32_t fourcc : cap.formats()) {
		auto pf = formatFromV4l2(fourcc);
		if (!pf)
			continue;
		GstVideoFormat vf = videoFormatFromDrm(pf->drm);
		if (vf == GST_VIDEO_FORMAT_UNKNOWN)
			continue;
		for (const auto &size : cap.frameSizes(fourcc)) {
			GstStructure *s = gst_structure_new("video/x-raw", "format", G_TYPE_STRING,
							    gst_video_format_to_string(vf), "width",
							    G_TYPE_INT, gint(size.width), "height",
							    G_TYPE_INT, gint(size.height), nullptr);
			std::vector<double> rates;
			try {
				rates = cap.frameRates(fourcc, size.width, size.height);
			} catch (const std::exception &) {
			}
			if (rates.empty()) {
				gst_structure_set(s, "framerate", GST_TYPE_FRACTION_RANGE, 0, 1,
						  G_MAXINT, 1, nullptr);
			} else {
				GValue list = G_VALUE_INIT;
				g_value_init(&list, GST_TYPE_LIST);
				for (double r : rates) {
					gint n, d;
					gst_util_double_to_fraction(r, &n, &d);
					GValue v = G_VALUE_INIT;
					g_value_init(&v, GST_TYPE_FRACTION);
					gst_value_set_fraction(&v, n, d);
					gst_value_list_append_and_take_value(&list, &v);
				}
				if (rates.size() == 1)
					gst_structure_set_value(s, "framerate",
								gst_value_list_get_value(&list, 0));
				else
					gst_structure_set_value(s, "framerate", &list);
				g_value_unset(&list);
			}
			gst_caps_append_structure_full(
				dmabuf, gst_structure_copy(s),
				gst_caps_features_new(GST_CAPS_FEATURE_MEMORY_DMABUF, nullptr));
			gst_caps_append_structure(plain, s);
		}
	}
	gst_caps_append(dmabuf, plain);
	return dmabuf;
}

static gboolean gst_dmapipe_src_start(GstBaseSrc *bsrc)
{
	GstDmapipeSrc *self = GST_DMAPIPE_SRC(bsrc);
	Priv *p = self->priv;
	GST_OBJECT_LOCK(self);
	std::string device = p->device;
	GST_OBJECT_UNLOCK(self);
	try {
		auto shared = std::make_shared<Shared>();
		/* "libcamera:ID" / "libcamera:N" open a libcamera camera, anything else V4L2. */
		shared->cap = openSource(device);
		GST_INFO_OBJECT(self, "opened %s (%s)", shared->cap->path().c_str(),
				shared->cap->driver().c_str());
		GstCaps *internal = probeCaps(*shared->cap);
		p->probed = capsToExternal(internal);
		gst_caps_unref(internal);
		GST_LOG_OBJECT(self, "device caps %" GST_PTR_FORMAT, p->probed);
		GST_OBJECT_LOCK(self);
		shared->flushing = p->flushing;
		p->shared = shared;
		GST_OBJECT_UNLOCK(self);
	} catch (const std::exception &e) {
		/* A configuration error here is a device that was not found. */
		DMAPIPE_POST_ERROR(self, e, GST_RESOURCE_ERROR_NOT_FOUND);
		return FALSE;
	}
	p->dmabufAllocator = gst_dmabuf_allocator_new();
	p->poll = gst_poll_new(TRUE);
	gst_poll_fd_init(&p->pollFd);
	p->pollFd.fd = p->shared->cap->fd();
	gst_poll_add_fd(p->poll, &p->pollFd);
	gst_poll_fd_ctl_read(p->poll, &p->pollFd, TRUE);
	p->configured = false;
	p->frames = 0;
	return TRUE;
}

static gboolean gst_dmapipe_src_stop(GstBaseSrc *bsrc)
{
	GstDmapipeSrc *self = GST_DMAPIPE_SRC(bsrc);
	Priv *p = self->priv;
	if (p->shared) {
		p->shared->retire();
		/* Close the device now: the next start() must be able to set a format. */
		std::lock_guard<std::mutex> l(p->shared->lock);
		p->shared->cap.reset();
	}
	GST_OBJECT_LOCK(self);
	p->shared.reset();
	GST_OBJECT_UNLOCK(self);
	gst_clear_caps(&p->probed);
	if (p->poll) {
		gst_poll_free(p->poll);
		p->poll = nullptr;
	}
	if (p->dmabufAllocator) {
		gst_object_unref(p->dmabufAllocator);
		p->dmabufAllocator = nullptr;
	}
	p->configured = false;
	GST_INFO_OBJECT(self, "stopped after %" G_GUINT64_FORMAT " frames", p->frames);
	if (p->copied)
		GST_INFO_OBJECT(self, "%" G_GUINT64_FORMAT " of them copied to the default layout",
				p->copied);
	p->copied = 0;
	p->copyToDefault = false;
	return TRUE;
}

static GstCaps *gst_dmapipe_src_get_caps(GstBaseSrc *bsrc, GstCaps *filter)
{
	GstDmapipeSrc *self = GST_DMAPIPE_SRC(bsrc);
	GstCaps *caps = self->priv->probed ? gst_caps_ref(self->priv->probed)
					   : gst_pad_get_pad_template_caps(GST_BASE_SRC_PAD(bsrc));
	if (filter) {
		GstCaps *tmp = gst_caps_intersect_full(filter, caps, GST_CAPS_INTERSECT_FIRST);
		gst_caps_unref(caps);
		caps = tmp;
	}
	return caps;
}

/*
 * The colorimetry a V4L2 format reports (colorspace, ycbcr_enc, quantization)
 * as GStreamer's, for YUV formats; empty when the driver leaves it default.
 * As v4l2src's gst_v4l2_object_get_colorspace(), with V4L2's defaults for
 * the encoding and range of each colorspace.
 */
static std::string yuvColorimetry(const CaptureFormat &cf)
{
	GstVideoColorimetry c = {};
	c.range = GST_VIDEO_COLOR_RANGE_16_235;
	switch (cf.colorspace) {
	case V4L2_COLORSPACE_SMPTE170M:
		c.matrix = GST_VIDEO_COLOR_MATRIX_BT601;
		c.transfer = GST_VIDEO_TRANSFER_BT709;
		c.primaries = GST_VIDEO_COLOR_PRIMARIES_SMPTE170M;
		break;
	case V4L2_COLORSPACE_REC709:
		c.matrix = GST_VIDEO_COLOR_MATRIX_BT709;
		c.transfer = GST_VIDEO_TRANSFER_BT709;
		c.primaries = GST_VIDEO_COLOR_PRIMARIES_BT709;
		break;
	case V4L2_COLORSPACE_SRGB:
		c.matrix = GST_VIDEO_COLOR_MATRIX_BT601;
		c.transfer = GST_VIDEO_TRANSFER_SRGB;
		c.primaries = GST_VIDEO_COLOR_PRIMARIES_BT709;
		break;
	case V4L2_COLORSPACE_JPEG:
		c.matrix = GST_VIDEO_COLOR_MATRIX_BT601;
		c.transfer = GST_VIDEO_TRANSFER_SRGB;
		c.primaries = GST_VIDEO_COLOR_PRIMARIES_BT709;
		c.range = GST_VIDEO_COLOR_RANGE_0_255;
		break;
	case V4L2_COLORSPACE_BT2020:
		c.matrix = GST_VIDEO_COLOR_MATRIX_BT2020;
		c.transfer = GST_VIDEO_TRANSFER_BT2020_12;
		c.primaries = GST_VIDEO_COLOR_PRIMARIES_BT2020;
		break;
	default:
		return {};
	}
	switch (cf.ycbcrEnc) {
	case V4L2_YCBCR_ENC_601:
	case V4L2_YCBCR_ENC_XV601:
		c.matrix = GST_VIDEO_COLOR_MATRIX_BT601;
		break;
	case V4L2_YCBCR_ENC_709:
	case V4L2_YCBCR_ENC_XV709:
		c.matrix = GST_VIDEO_COLOR_MATRIX_BT709;
		break;
	case V4L2_YCBCR_ENC_BT2020:
		c.matrix = GST_VIDEO_COLOR_MATRIX_BT2020;
		break;
	default:
		break;
	}
	if (cf.quantization == V4L2_QUANTIZATION_FULL_RANGE)
		c.range = GST_VIDEO_COLOR_RANGE_0_255;
	else if (cf.quantization == V4L2_QUANTIZATION_LIM_RANGE)
		c.range = GST_VIDEO_COLOR_RANGE_16_235;
	gchar *str = gst_video_colorimetry_to_string(&c);
	std::string out = str ? str : "";
	g_free(str);
	return out;
}

/* Adds the device's colorimetry to fixed caps of a YUV format that do not name one. */
static void addColorimetry(Source &cap, GstCaps *caps)
{
	GstStructure *s = gst_caps_get_structure(caps, 0);
	const char *name = gst_structure_get_string(s, "format");
	gint w = 0, h = 0;
	if (!name || gst_structure_has_field(s, "colorimetry") ||
	    !gst_structure_get_int(s, "width", &w) || !gst_structure_get_int(s, "height", &h))
		return;
	GstVideoFormat vf = gst_video_format_from_string(name);
	if (!GST_VIDEO_FORMAT_INFO_IS_YUV(gst_video_format_get_info(vf)))
		return;
	auto pf = pixelFormatFromVideo(vf);
	if (!pf)
		return;
	for (uint32_t f : cap.formats()) {
		auto fp = formatFromV4l2(f);
		if (!fp || fp->drm != pf->drm)
			continue;
		/* What the device would deliver: S_FMT now, as configure() does again. */
		std::string c = yuvColorimetry(cap.setFormat(f, uint32_t(w), uint32_t(h)));
		if (!c.empty())
			gst_structure_set(s, "colorimetry", G_TYPE_STRING, c.c_str(), nullptr);
		return;
	}
}

/* Fixates internal (1.22-form) caps. */
static GstCaps *fixateInternal(GstDmapipeSrc *self, GstCaps *caps)
{
	GstBaseSrc *bsrc = GST_BASE_SRC(self);
	Priv *p = self->priv;
	caps = gst_caps_make_writable(caps);
	/* Prefer what the device is set to now, then the first structure. */
	if (p->shared && p->shared->cap) {
		try {
			CaptureFormat cur = p->shared->cap->currentFormat();
			GstVideoFormat vf = cur.format.name ? videoFormatFromDrm(cur.format.drm)
							    : GST_VIDEO_FORMAT_UNKNOWN;
			/* First the current format and size, then the current size in any format. */
			bool done = false;
			for (int pass = 0; pass < 2 && !done; pass++) {
				if (pass == 0 && vf == GST_VIDEO_FORMAT_UNKNOWN)
					continue;
				for (guint i = 0; i < gst_caps_get_size(caps); i++) {
					GstStructure *s = gst_caps_get_structure(caps, i);
					GstStructure *want = gst_structure_new(
						"video/x-raw", "width", G_TYPE_INT, gint(cur.width),
						"height", G_TYPE_INT, gint(cur.height), nullptr);
					if (pass == 0)
						gst_structure_set(want, "format", G_TYPE_STRING,
								  gst_video_format_to_string(vf),
								  nullptr);
					bool match = gst_structure_can_intersect(s, want);
					gst_structure_free(want);
					if (!match)
						continue;
					GstCaps *one = gst_caps_copy_nth(caps, i);
					gst_caps_unref(caps);
					caps = one;
					GstStructure *o = gst_caps_get_structure(caps, 0);
					if (pass == 0)
						gst_structure_fixate_field_string(
							o, "format", gst_video_format_to_string(vf));
					gst_structure_fixate_field_nearest_int(o, "width",
									       gint(cur.width));
					gst_structure_fixate_field_nearest_int(o, "height",
									       gint(cur.height));
					done = true;
					break;
				}
			}
		} catch (const std::exception &) {
		}
	}
	caps = gst_caps_truncate(caps);
	GstStructure *s = gst_caps_get_structure(caps, 0);
	if (gst_structure_has_field(s, "framerate"))
		gst_structure_fixate_field_nearest_fraction(s, "framerate", 30, 1);
	caps = GST_BASE_SRC_CLASS(gst_dmapipe_src_parent_class)->fixate(bsrc, caps);
	if (p->shared && p->shared->cap && !gst_caps_is_empty(caps)) {
		try {
			addColorimetry(*p->shared->cap, caps);
		} catch (const std::exception &e) {
			GST_DEBUG_OBJECT(self, "no colorimetry from the device: %s", e.what());
		}
	}
	return caps;
}

static GstCaps *gst_dmapipe_src_fixate(GstBaseSrc *bsrc, GstCaps *caps)
{
	bool dmaDrm = isDmaDrmCaps(caps);
	GstCaps *internal = capsToInternal(caps);
	gst_caps_unref(caps);
	if (gst_caps_is_empty(internal))
		return internal;
	GstCaps *fixed = fixateInternal(GST_DMAPIPE_SRC(bsrc), internal);
	/* Fixed: one structure, DMA_DRM when the peer asked for it. */
	GstCaps *external = gst_caps_truncate(capsToExternal(fixed, dmaDrm));
	gst_caps_unref(fixed);
	return external;
}

/* REQBUFS, the buffers of the chosen allocation, their GstMemories, QBUF all, STREAMON. */
static void configure(GstDmapipeSrc *self, const GstVideoInfo &info, guint count)
{
	Priv *p = self->priv;
	GST_OBJECT_LOCK(self);
	int alloc = p->alloc;
	GST_OBJECT_UNLOCK(self);

	auto old = p->shared;
	auto shared = std::make_shared<Shared>();
	{
		/* Buffers still downstream keep the old memories; the device moves on. */
		std::lock_guard<std::mutex> l(old->lock);
		old->stopLocked();
		shared->cap = std::move(old->cap);
	}
	old->retire();
	GST_OBJECT_LOCK(self);
	shared->flushing = p->flushing;
	p->shared = shared;
	GST_OBJECT_UNLOCK(self);
	Source &cap = *shared->cap;

	auto pf = pixelFormatFromVideo(GST_VIDEO_INFO_FORMAT(&info));
	if (!pf)
		throw Error(std::string("no framework format for ") +
			    gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&info)));
	uint32_t fourcc = 0;
	for (uint32_t f : cap.formats()) {
		auto fp = formatFromV4l2(f);
		if (fp && fp->drm == pf->drm) {
			fourcc = f;
			break;
		}
	}
	if (!fourcc)
		throw Error(cap.path() + " does not capture " + pf->name);
	uint32_t w = GST_VIDEO_INFO_WIDTH(&info), h = GST_VIDEO_INFO_HEIGHT(&info);

	if (alloc == ALLOC_AUTO)
		alloc = haveCapbufHeap() ? ALLOC_CAPBUF : ALLOC_V4L2;

	CaptureFormat cf = cap.setFormat(fourcc, w, h);
	if (cf.width != w || cf.height != h)
		throw Error(cap.path() + " captures " + std::to_string(cf.width) + "x" +
			    std::to_string(cf.height) + ", not " + std::to_string(w) + "x" +
			    std::to_string(h));
	if (GST_VIDEO_INFO_FPS_N(&info) > 0 && GST_VIDEO_INFO_FPS_D(&info) > 0) {
		double fps = double(GST_VIDEO_INFO_FPS_N(&info)) / GST_VIDEO_INFO_FPS_D(&info);
		double got = cap.setFrameRate(fps);
		GST_DEBUG_OBJECT(self, "frame rate %.3f, device set %.3f", fps, got);
	}

	std::string allocatorName;
	if (alloc == ALLOC_V4L2) {
		shared->buffers = cap.exportBuffers(count);
		allocatorName = cap.driver() +
			(dynamic_cast<V4l2Capture *>(&cap) ? " MMAP + EXPBUF"
							   : " FrameBufferAllocator");
	} else {
		std::unique_ptr<Allocator> a;
		BufferLayout layout;
		if (alloc == ALLOC_CAPBUF) {
			a = makeHeapAllocator("capbuf");
			std::vector<uint32_t> strides;
			for (unsigned i = 0; i < pf->planes; i++)
				strides.push_back(i ? pf->impliedStride(i, cf.strides[0])
						    : cf.strides[0]);
			layout = BufferLayout::fromStrides(cf.format, w, h, strides,
							   cf.sizes.empty() ? 0 : cf.sizes[0]);
		} else {
			a = makeDumbAllocator();
			layout = a->adjust(BufferLayout::contiguous(cf.format, w, h));
			cf = cap.setFormat(fourcc, w, h, { layout.planes[0].stride });
			if (cf.strides[0] != layout.planes[0].stride)
				throw Error(cap.path() + " does not take the dumb buffers' pitch " +
					    std::to_string(layout.planes[0].stride) +
					    " (it wants " + std::to_string(cf.strides[0]) + ")");
			if (!cf.sizes.empty() && cf.sizes[0] > layout.sizes[0])
				throw Error("dumb buffer of " + std::to_string(layout.sizes[0]) +
					    " bytes < sizeimage " + std::to_string(cf.sizes[0]));
		}
		allocatorName = a->name();
		std::vector<const DmaBuffer *> ptrs;
		for (guint i = 0; i < count; i++) {
			shared->buffers.push_back(a->allocate(layout));
			shared->buffers.back()->index = i;
			ptrs.push_back(shared->buffers.back().get());
		}
		cap.importBuffers(ptrs);
	}

	/* Each memory is in shared->memories as soon as it exists: retire() frees it on any error. */
	for (unsigned i = 0; i < shared->buffers.size(); i++) {
		const DmaBuffer &b = *shared->buffers[i];
		GstLayout gl = gstLayout(b);
		shared->memories.emplace_back();
		shared->layouts.push_back(gl);
		shared->memoriesOut.push_back(0);
		for (guint m = 0; m < gl.nMemories; m++) {
			int fd = fcntl(gl.memoryFd[m], F_DUPFD_CLOEXEC, 3);
			if (fd < 0)
				throwErrno("dup(dma-buf)", b.exporter());
			GstMemory *mem =
				gst_dmabuf_allocator_alloc(p->dmabufAllocator, fd, gl.memorySize[m]);
			gst_mini_object_set_qdata(GST_MINI_OBJECT_CAST(mem), memoryTagQuark(),
						  new MemoryTag { shared, i }, memoryTagFree);
			GST_MINI_OBJECT_CAST(mem)->dispose = memoryDispose;
			shared->memories.back().push_back(mem);
		}
	}
	{
		std::lock_guard<std::mutex> l(shared->lock);
		for (unsigned i = 0; i < shared->buffers.size(); i++)
			cap.queue(i);
		cap.start();
		shared->streaming = true;
	}
	p->info = info;
	p->configured = true;
	p->configuredCount = count;
	p->allocUsed = allocName(alloc);
	GST_INFO_OBJECT(self, "%s %ux%u stride %u from %s: %zu buffers of %s (exporter %s)",
			pf->name, w, h, cf.strides[0], cap.path().c_str(), shared->buffers.size(),
			allocatorName.c_str(), shared->buffers[0]->exporter().c_str());
}

static gboolean gst_dmapipe_src_set_caps(GstBaseSrc *bsrc, GstCaps *caps)
{
	GstDmapipeSrc *self = GST_DMAPIPE_SRC(bsrc);
	GstVideoInfo info;
	if (!videoInfoFromCaps(&info, caps)) {
		GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("unusable caps %" GST_PTR_FORMAT, caps),
				  (nullptr));
		return FALSE;
	}
	Priv *p = self->priv;
	p->dmaDrm = isDmaDrmCaps(caps);
	/* The buffers are made in decide_allocation(), which knows downstream's minimum. */
	p->pendingInfo = info;
	p->needConfigure = !p->configured || !gst_video_info_is_equal(&info, &p->info);
	return TRUE;
}

/* A copy of buf (dma-bufs with a GstVideoMeta) in system memory with info's default layout. */
static GstBuffer *copyToDefaultLayout(const GstVideoInfo &info, GstBuffer *buf)
{
	GstBuffer *copy = gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&info), nullptr);
	GstVideoFrame in, out;
	/* gst_video_frame_map reads the GstVideoMeta's strides; the dma-buf map brackets the read. */
	if (!gst_video_frame_map(&in, &info, buf, GST_MAP_READ)) {
		gst_buffer_unref(copy);
		return nullptr;
	}
	if (!gst_video_frame_map(&out, &info, copy, GST_MAP_WRITE)) {
		gst_video_frame_unmap(&in);
		gst_buffer_unref(copy);
		return nullptr;
	}
	gboolean ok = gst_video_frame_copy(&out, &in);
	gst_video_frame_unmap(&out);
	gst_video_frame_unmap(&in);
	if (!ok) {
		gst_buffer_unref(copy);
		return nullptr;
	}
	/* Flags and timestamps; not the GstVideoMeta, which describes the capture layout. */
	gst_buffer_copy_into(copy, buf,
			     GstBufferCopyFlags(GST_BUFFER_COPY_FLAGS | GST_BUFFER_COPY_TIMESTAMPS),
			     0, -1);
	return copy;
}

/* True when layout is GStreamer's default for info (what a peer without GstVideoMeta reads). */
static bool defaultLayout(const GstVideoInfo &info, const GstLayout &layout)
{
	for (guint i = 0; i < GST_VIDEO_INFO_N_PLANES(&info); i++)
		if (layout.strides[i] != GST_VIDEO_INFO_PLANE_STRIDE(&info, i) ||
		    layout.offsets[i] != GST_VIDEO_INFO_PLANE_OFFSET(&info, i))
			return false;
	return true;
}

static gboolean gst_dmapipe_src_decide_allocation(GstBaseSrc *bsrc, GstQuery *query)
{
	GstDmapipeSrc *self = GST_DMAPIPE_SRC(bsrc);
	/*
	 * As v4l2src: the frames downstream holds (a sink's on screen and
	 * pending one) come on top of the ones the device needs to capture.
	 */
	guint downstreamMin = 0;
	if (gst_query_get_n_allocation_pools(query) > 0)
		gst_query_parse_nth_allocation_pool(query, 0, nullptr, nullptr, &downstreamMin,
						    nullptr);
	Priv *p = self->priv;
	GST_OBJECT_LOCK(self);
	guint count = p->bufferCount + downstreamMin;
	GST_OBJECT_UNLOCK(self);
	count = std::min(count, 32u);
	if (p->needConfigure || count != p->configuredCount) {
		try {
			configure(self, p->pendingInfo, count);
		} catch (const std::exception &e) {
			DMAPIPE_POST_ERROR(self, e, GST_RESOURCE_ERROR_SETTINGS);
			return FALSE;
		}
		p->needConfigure = false;
		GST_DEBUG_OBJECT(self, "%u buffers: buffer-count plus downstream's minimum %u",
				 count, downstreamMin);
	}
	/* Buffers come from the capture device, never from a pool downstream offers. */
	while (gst_query_get_n_allocation_pools(query) > 0)
		gst_query_remove_nth_allocation_pool(query, 0);
	if (!gst_query_find_allocation_meta(query, GST_VIDEO_META_API_TYPE, nullptr)) {
		/*
		 * Without GstVideoMeta downstream reads the caps' default layout.
		 * DMA_DRM caps name no layout at all: the default is what a linear
		 * buffer of that drm-format means, so any other layout is refused.
		 */
		bool standard = defaultLayout(p->info, p->shared->layouts[0]);
		GST_INFO_OBJECT(bsrc, "downstream has no GstVideoMeta support; the layout is %s",
				standard ? "the default" : "not the default");
		p->copyToDefault = !standard && !p->dmaDrm;
		if (p->copyToDefault)
			GST_ELEMENT_WARNING(
				self, STREAM, FORMAT,
				("downstream takes no GstVideoMeta and the capture stride "
				 "is not GStreamer's default: copying every frame"),
				("stride %d, default %d", p->shared->layouts[0].strides[0],
				 GST_VIDEO_INFO_PLANE_STRIDE(&p->info, 0)));
		if (p->dmaDrm && !standard) {
			GST_ELEMENT_ERROR(
				self, CORE, NEGOTIATION,
				("downstream negotiated DMA_DRM caps without GstVideoMeta, and "
				 "the capture buffers' strides or offsets are not the default "
				 "for the format"),
				("stride %d, default %d", p->shared->layouts[0].strides[0],
				 GST_VIDEO_INFO_PLANE_STRIDE(&p->info, 0)));
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean gst_dmapipe_src_query(GstBaseSrc *bsrc, GstQuery *query)
{
	GstDmapipeSrc *self = GST_DMAPIPE_SRC(bsrc);
	Priv *p = self->priv;
	if (GST_QUERY_TYPE(query) == GST_QUERY_LATENCY) {
		if (!p->configured)
			return FALSE;
		GstClockTime frame = GST_VIDEO_INFO_FPS_N(&p->info) > 0
			? gst_util_uint64_scale_int(GST_SECOND, GST_VIDEO_INFO_FPS_D(&p->info),
						    GST_VIDEO_INFO_FPS_N(&p->info))
			: 0;
		GST_OBJECT_LOCK(self);
		guint count = p->bufferCount;
		GST_OBJECT_UNLOCK(self);
		gst_query_set_latency(query, TRUE, frame, frame * count);
		return TRUE;
	}
	return GST_BASE_SRC_CLASS(gst_dmapipe_src_parent_class)->query(bsrc, query);
}

/* unlock()/unlock_stop(): wakes create() from the device poll and from waiting for a buffer. */
static void setFlushing(GstDmapipeSrc *self, bool flushing)
{
	Priv *p = self->priv;
	if (p->poll)
		gst_poll_set_flushing(p->poll, flushing);
	GST_OBJECT_LOCK(self);
	std::shared_ptr<Shared> shared = p->shared;
	p->flushing = flushing;
	GST_OBJECT_UNLOCK(self);
	if (shared) {
		std::lock_guard<std::mutex> l(shared->lock);
		shared->flushing = flushing;
		shared->requeued.notify_all();
	}
}

static gboolean gst_dmapipe_src_unlock(GstBaseSrc *bsrc)
{
	GstDmapipeSrc *self = GST_DMAPIPE_SRC(bsrc);
	setFlushing(self, true);
	return TRUE;
}

static gboolean gst_dmapipe_src_unlock_stop(GstBaseSrc *bsrc)
{
	GstDmapipeSrc *self = GST_DMAPIPE_SRC(bsrc);
	setFlushing(self, false);
	return TRUE;
}

static GstFlowReturn gst_dmapipe_src_create(GstPushSrc *psrc, GstBuffer **out)
{
	GstDmapipeSrc *self = GST_DMAPIPE_SRC(psrc);
	Priv *p = self->priv;
	if (!p->configured || !p->shared)
		return GST_FLOW_NOT_NEGOTIATED;
	std::shared_ptr<Shared> shared = p->shared;
	FrameInfo frame;
	for (;;) {
		bool got = false, bad = false;
		try {
			std::lock_guard<std::mutex> l(shared->lock);
			if (!shared->error.empty())
				throw Error(shared->error);
			got = shared->cap->dequeue(frame, &bad);
			if (got && bad) {
				GST_DEBUG_OBJECT(self, "frame %u flagged as error, dropped",
						 frame.sequence);
				shared->cap->queue(frame.index);
				continue;
			}
		} catch (const std::exception &e) {
			DMAPIPE_POST_ERROR(self, e, GST_RESOURCE_ERROR_READ);
			return GST_FLOW_ERROR;
		}
		if (got)
			break;
		{
			/*
			 * Every buffer downstream: the device has nothing to fill
			 * (V4L2 polls POLLERR) until a memory dispose queues one.
			 */
			std::unique_lock<std::mutex> l(shared->lock);
			shared->requeued.wait(l, [&] {
				return shared->cap->queuedCount() > 0 || !shared->streaming ||
					shared->flushing || !shared->error.empty();
			});
			if (shared->flushing)
				return GST_FLOW_FLUSHING;
			if (!shared->error.empty())
				continue;
		}
		int ret = gst_poll_wait(p->poll, GST_CLOCK_TIME_NONE);
		if (ret < 0) {
			if (errno == EBUSY)
				return GST_FLOW_FLUSHING;
			if (errno == EINTR || errno == EAGAIN)
				continue;
			GST_ELEMENT_ERROR(self, RESOURCE, READ,
					  ("poll on the capture device: %s", g_strerror(errno)),
					  (nullptr));
			return GST_FLOW_ERROR;
		}
		if (gst_poll_fd_has_error(p->poll, &p->pollFd)) {
			/* Queued buffers and still an error: the device's (a disconnect). */
			std::lock_guard<std::mutex> l(shared->lock);
			if (shared->cap->queuedCount() > 0 || !shared->cap->streaming()) {
				GST_ELEMENT_ERROR(self, RESOURCE, READ,
						  ("the capture device reported an error (poll)"),
						  (nullptr));
				return GST_FLOW_ERROR;
			}
		}
	}

	unsigned i = frame.index;
	GstBuffer *buf = gst_buffer_new();
	{
		/* Our reference of each idle memory goes to the buffer; dispose takes it back. */
		std::lock_guard<std::mutex> l(shared->lock);
		for (GstMemory *m : shared->memories[i]) {
			memoryTag(m)->out = true;
			shared->memoriesOut[i]++;
			gst_buffer_append_memory(buf, m);
		}
	}
	const DmaBuffer &db = *shared->buffers[i];
	const GstLayout &gl = shared->layouts[i];
	gst_buffer_add_video_meta_full(buf, GST_VIDEO_FRAME_FLAG_NONE,
				       GST_VIDEO_INFO_FORMAT(&p->info), db.width(), db.height(),
				       guint(db.planes().size()), const_cast<gsize *>(gl.offsets),
				       const_cast<gint *>(gl.strides));

	/* Running time of the capture: now on the pipeline clock minus the age of the frame. */
	GstClock *clock = gst_element_get_clock(GST_ELEMENT(self));
	if (clock) {
		GstClockTime base = gst_element_get_base_time(GST_ELEMENT(self));
		GstClockTime now = gst_clock_get_time(clock);
		gst_object_unref(clock);
		uint64_t mono = monotonicNs();
		GstClockTime age =
			frame.timestampNs && mono > frame.timestampNs ? mono - frame.timestampNs : 0;
		if (now > base + age)
			GST_BUFFER_PTS(buf) = now - base - age;
		else
			GST_BUFFER_PTS(buf) = 0;
	}
	if (GST_VIDEO_INFO_FPS_N(&p->info) > 0)
		GST_BUFFER_DURATION(buf) = gst_util_uint64_scale_int(
			GST_SECOND, GST_VIDEO_INFO_FPS_D(&p->info), GST_VIDEO_INFO_FPS_N(&p->info));
	GST_BUFFER_OFFSET(buf) = frame.sequence;
	GST_BUFFER_OFFSET_END(buf) = frame.sequence + 1;
	p->frames++;
	GST_LOG_OBJECT(self, "frame %u in buffer %u (dma-buf %" G_GUINT64_FORMAT ")",
		       frame.sequence, i, db.id());
	if (p->copyToDefault) {
		/* As v4l2src without GstVideoMeta downstream: a system-memory frame of the default layout. */
		GstBuffer *copy = copyToDefaultLayout(p->info, buf);
		gst_buffer_unref(buf); /* the capture buffer goes back to the device */
		if (!copy) {
			GST_ELEMENT_ERROR(self, RESOURCE, READ, ("cannot copy a frame"), (nullptr));
			return GST_FLOW_ERROR;
		}
		buf = copy;
		p->copied++;
	}
	*out = buf;
	return GST_FLOW_OK;
}

static void gst_dmapipe_src_finalize(GObject *object)
{
	GstDmapipeSrc *self = GST_DMAPIPE_SRC(object);
	delete self->priv;
	G_OBJECT_CLASS(gst_dmapipe_src_parent_class)->finalize(object);
}

static void gst_dmapipe_src_init(GstDmapipeSrc *self)
{
	self->priv = new Priv;
	gst_video_info_init(&self->priv->info);
	gst_video_info_init(&self->priv->pendingInfo);
	gst_base_src_set_live(GST_BASE_SRC(self), TRUE);
	gst_base_src_set_format(GST_BASE_SRC(self), GST_FORMAT_TIME);
}

static void gst_dmapipe_src_class_init(GstDmapipeSrcClass *klass)
{
	GObjectClass *gobject = G_OBJECT_CLASS(klass);
	GstElementClass *element = GST_ELEMENT_CLASS(klass);
	GstBaseSrcClass *basesrc = GST_BASE_SRC_CLASS(klass);
	GstPushSrcClass *pushsrc = GST_PUSH_SRC_CLASS(klass);

	GST_DEBUG_CATEGORY_INIT(dmapipesrc_debug, "dmapipesrc", 0,
				"dmapipe V4L2/libcamera dma-buf source");

	gobject->set_property = gst_dmapipe_src_set_property;
	gobject->get_property = gst_dmapipe_src_get_property;
	gobject->finalize = gst_dmapipe_src_finalize;

	g_object_class_install_property(
		gobject, PROP_DEVICE,
		g_param_spec_string("device", "Device",
				    "V4L2 capture device: a path (/dev/video0), a driver or card name "
				    "(vivid), or empty for the first capture device; or a libcamera "
				    "camera: libcamera:ID (the id `cam -l` prints in parentheses), "
				    "libcamera:N (0-based index; `cam -l` counts from 1) or "
				    "libcamera:TEXT (the one camera whose id contains TEXT)",
				    "",
				    GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
						GST_PARAM_MUTABLE_READY)));
	g_object_class_install_property(
		gobject, PROP_ALLOC,
		g_param_spec_enum("alloc", "Allocation", "Who allocates the capture dma-bufs",
				  allocModeType(), ALLOC_AUTO,
				  GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
					      GST_PARAM_MUTABLE_READY)));
	g_object_class_install_property(
		gobject, PROP_BUFFER_COUNT,
		g_param_spec_uint("buffer-count", "Buffer count",
				  "V4L2 buffers the device captures into; downstream's minimum (the "
				  "frames a sink holds) is added to it, up to 32 in all",
				  2, 32, 6,
				  GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
					      GST_PARAM_MUTABLE_READY)));

	gst_type_mark_as_plugin_api(allocModeType(), GstPluginAPIFlags(0));

	GstCaps *caps = templateCaps();
	gst_element_class_add_pad_template(
		element, gst_pad_template_new("src", GST_PAD_SRC, GST_PAD_ALWAYS, caps));
	gst_caps_unref(caps);
	gst_element_class_set_static_metadata(
		element, "dmapipe V4L2/libcamera dma-buf source", "Source/Video",
		"Captures from a V4L2 device or a libcamera camera into dma-bufs (capbuf heap, KMS "
		"dumb buffers or the device's own) and pushes them without copying",
		"dmapipe");

	basesrc->start = gst_dmapipe_src_start;
	basesrc->stop = gst_dmapipe_src_stop;
	basesrc->get_caps = gst_dmapipe_src_get_caps;
	basesrc->fixate = gst_dmapipe_src_fixate;
	basesrc->set_caps = gst_dmapipe_src_set_caps;
	basesrc->decide_allocation = gst_dmapipe_src_decide_allocation;
	basesrc->query = gst_dmapipe_src_query;
	basesrc->unlock = gst_dmapipe_src_unlock;
	basesrc->unlock_stop = gst_dmapipe_src_unlock_stop;
	pushsrc->create = gst_dmapipe_src_create;
}
