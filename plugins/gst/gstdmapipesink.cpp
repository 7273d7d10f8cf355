/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dmapipesink: scanout of dma-bufs with KMS atomic commits through
 * libdmapipe's KmsDisplay. Incoming GstDmaBufMemory (with its GstVideoMeta
 * strides and offsets) becomes a dmapipe::DmaBuffer wrapping dup'ed fds,
 * cached on the memory, so the display's framebuffer cache (keyed by the
 * dma-buf's inode) imports each buffer once. Upstream is offered a pool of
 * the display's own dumb buffers, so v4l2src io-mode=dmabuf-import captures
 * straight into scanout memory. System memory is copied into scanout
 * buffers, with a warning.
 */
#include "common.h"
#include "elements.h"
#include "pool.h"

#include <gst/allocators/allocators.h>
#include <gst/video/gstvideosink.h>

#include <fcntl.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <vector>

#include <dmapipe/cpu_access.h>
#include <dmapipe/error.h>
#include <dmapipe/kms_display.h>
#include <dmapipe/negotiation.h>

GST_DEBUG_CATEGORY_STATIC(dmapipesink_debug);
#define GST_CAT_DEFAULT dmapipesink_debug

using namespace dmapipe;
using namespace dmapipe::gst;

namespace {

/* What the pool and the memory qdata share with the element, beyond its states. */
struct Shared {
	std::mutex lock;
	/* DmaBuffers whose GstMemory went away: their framebuffers can go. */
	std::vector<std::unique_ptr<DmaBuffer>> gone;
};

/* A DmaBuffer made for a GstMemory by one sink, with what it was made for. */
struct Cached {
	std::shared_ptr<Shared> shared; /* the sink's: who made it */
	std::unique_ptr<DmaBuffer> buffer;
	GstVideoFormat format;
	guint width, height, nplanes;
	gsize offsets[GST_VIDEO_MAX_PLANES];
	gint strides[GST_VIDEO_MAX_PLANES];
	GstMemory *memories[GST_VIDEO_MAX_PLANES];

	/* The framebuffer of a DmaBuffer that is no longer used goes with the sink's next frame. */
	~Cached()
	{
		if (buffer) {
			std::lock_guard<std::mutex> l(shared->lock);
			shared->gone.push_back(std::move(buffer));
		}
	}
};

/*
 * The Cached entries of one GstMemory, one per sink: behind a tee two sinks
 * (two displays) see the same memory, and neither may drop the other's
 * entry, whose framebuffer may be on its screen. Taken under cacheLock.
 */
struct SinkCache {
	std::vector<std::unique_ptr<Cached>> entries;
};

std::mutex cacheLock;

void sinkCacheFree(gpointer data)
{
	delete static_cast<SinkCache *>(data);
}

GQuark cacheQuark()
{
	static GQuark q = g_quark_from_static_string("dmapipesink-dmabuffers");
	return q;
}

/* The memory's cache, made on first use; call with cacheLock held. */
SinkCache &sinkCache(GstMemory *mem)
{
	auto *c = static_cast<SinkCache *>(
		gst_mini_object_get_qdata(GST_MINI_OBJECT_CAST(mem), cacheQuark()));
	if (!c) {
		c = new SinkCache;
		gst_mini_object_set_qdata(GST_MINI_OBJECT_CAST(mem), cacheQuark(), c, sinkCacheFree);
	}
	return *c;
}

struct Priv {
	/* properties (object lock) */
	std::string device, driverName, connector;
	bool offerPool = true;
	std::string connectorWanted;
	guint planeId = 0, planeInUse = 0;
	gint zpos = -1, fd = -1;
	Scaling scaling = Scaling::Auto;
	LayoutRequest render; /* GstVideoOverlay's render rectangle; w = 0: none */
	gint displayWidth = 0, displayHeight = 0;

	std::shared_ptr<Shared> shared = std::make_shared<Shared>();
	/* The pool's scanout allocator, while the display is open. */
	std::shared_ptr<PoolSource> poolSource = std::make_shared<PoolSource>();
	std::unique_ptr<KmsDisplay> display;
	GstCaps *probed = nullptr;
	GstPoll *poll = nullptr;
	GstPollFD pollFd = GST_POLL_FD_INIT;
	GstAllocator *dmabufAllocator = nullptr;
	GstVideoInfo info;
	bool haveInfo = false;
	bool configured = false;

	/* The input buffer on screen and the one whose flip is pending, referenced. */
	GstBuffer *onScreen = nullptr, *pending = nullptr;
	/* Copy path: our own scanout buffers, and which are on screen / pending. */
	std::vector<std::unique_ptr<DmaBuffer>> copies;
	std::vector<DmaBufMapping> copyMaps;
	int onScreenCopy = -1, pendingCopy = -1;
	/* Copy buffers of the caps before a renegotiation; one may still be on screen. */
	std::vector<std::unique_ptr<DmaBuffer>> oldCopies;
	int oldCopyFlips = 0; /* flips to complete before no old copy is on screen */
	bool warnedCopy = false;

	uint64_t frames = 0, copied = 0;
};

} /* namespace */

/* ---- the sink ---- */

struct _GstDmapipeSink {
	GstVideoSink parent;
	Priv *priv;
};

static void gst_dmapipe_sink_overlay_init(GstVideoOverlayInterface *iface);

G_DEFINE_TYPE_WITH_CODE(GstDmapipeSink, gst_dmapipe_sink, GST_TYPE_VIDEO_SINK,
			G_IMPLEMENT_INTERFACE(GST_TYPE_VIDEO_OVERLAY, gst_dmapipe_sink_overlay_init))
GST_ELEMENT_REGISTER_DEFINE(dmapipesink, "dmapipesink", GST_RANK_NONE, gst_dmapipe_sink_get_type());

enum {
	PROP_0,
	PROP_DEVICE,
	PROP_DRIVER_NAME,
	PROP_CONNECTOR,
	PROP_POOL,
	PROP_PLANE_ID,
	PROP_ZPOS,
	PROP_SCALING,
	PROP_FD,
	PROP_DISPLAY_WIDTH,
	PROP_DISPLAY_HEIGHT,
	PROP_OVERLAY, /* GstVideoOverlay's render-rectangle */
};

GType scalingType()
{
	static GType type = 0;
	static const GEnumValue values[] = {
		{ int(Scaling::Auto),
		  "a mode of the frame's size (listed or made), else centred, fit or fill", "auto" },
		{ int(Scaling::None), "a mode of the frame's size, else centred; never scaled",
		  "none" },
		{ int(Scaling::Fit), "scaled to fit the preferred mode, aspect ratio kept", "fit" },
		{ int(Scaling::Fill), "scaled to cover the preferred mode, aspect ratio kept",
		  "fill" },
		{ int(Scaling::Stretch), "scaled to the preferred mode exactly", "stretch" },
		{ 0, nullptr, nullptr },
	};
	if (g_once_init_enter(&type)) {
		GType t = g_enum_register_static("GstDmapipeSinkScaling", values);
		g_once_init_leave(&type, t);
	}
	return type;
}

/* GstVideoOverlay: the render rectangle is the plane's destination in the mode. */
static void gst_dmapipe_sink_set_render_rectangle(GstVideoOverlay *overlay, gint x, gint y,
						  gint width, gint height)
{
	GstDmapipeSink *self = GST_DMAPIPE_SINK(overlay);
	GST_OBJECT_LOCK(self);
	Priv *p = self->priv;
	if (width > 0 && height > 0)
		p->render = { Scaling::Auto, x, y, guint(width), guint(height) };
	else
		p->render = {};
	p->configured = false; /* the next frame takes the new layout */
	GST_OBJECT_UNLOCK(self);
	GST_DEBUG_OBJECT(self, "render rectangle %d,%d %dx%d", x, y, width, height);
}

static void gst_dmapipe_sink_expose(GstVideoOverlay *)
{
}

static void gst_dmapipe_sink_overlay_init(GstVideoOverlayInterface *iface)
{
	iface->set_render_rectangle = gst_dmapipe_sink_set_render_rectangle;
	iface->expose = gst_dmapipe_sink_expose;
}

static void gst_dmapipe_sink_set_property(GObject *object, guint id, const GValue *value,
					  GParamSpec *pspec)
{
	GstDmapipeSink *self = GST_DMAPIPE_SINK(object);
	const char *s;
	if (gst_video_overlay_set_property(object, PROP_OVERLAY, id, value))
		return;
	GST_OBJECT_LOCK(self);
	switch (id) {
	case PROP_DEVICE:
		s = g_value_get_string(value);
		self->priv->device = s ? s : "";
		break;
	case PROP_DRIVER_NAME:
		s = g_value_get_string(value);
		self->priv->driverName = s ? s : "";
		break;
	case PROP_POOL:
		self->priv->offerPool = g_value_get_boolean(value);
		break;
	case PROP_CONNECTOR:
		s = g_value_get_string(value);
		self->priv->connectorWanted = s ? s : "";
		break;
	case PROP_PLANE_ID:
		self->priv->planeId = g_value_get_uint(value);
		break;
	case PROP_ZPOS:
		self->priv->zpos = g_value_get_int(value);
		break;
	case PROP_SCALING:
		self->priv->scaling = Scaling(g_value_get_enum(value));
		self->priv->configured = false;
		break;
	case PROP_FD:
		self->priv->fd = g_value_get_int(value);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
	}
	GST_OBJECT_UNLOCK(self);
}

static void gst_dmapipe_sink_get_property(GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
	GstDmapipeSink *self = GST_DMAPIPE_SINK(object);
	GST_OBJECT_LOCK(self);
	switch (id) {
	case PROP_DEVICE:
		g_value_set_string(value, self->priv->device.c_str());
		break;
	case PROP_DRIVER_NAME:
		g_value_set_string(value, self->priv->driverName.c_str());
		break;
	case PROP_CONNECTOR:
		/* The one in use while running, else the one asked for. */
		g_value_set_string(value,
				   !self->priv->connector.empty()
					   ? self->priv->connector.c_str()
					   : self->priv->connectorWanted.c_str());
		break;
	case PROP_POOL:
		g_value_set_boolean(value, self->priv->offerPool);
		break;
	case PROP_PLANE_ID:
		g_value_set_uint(
			value, self->priv->planeInUse ? self->priv->planeInUse : self->priv->planeId);
		break;
	case PROP_ZPOS:
		g_value_set_int(value, self->priv->zpos);
		break;
	case PROP_SCALING:
		g_value_set_enum(value, int(self->priv->scaling));
		break;
	case PROP_FD:
		g_value_set_int(value, self->priv->fd);
		break;
	case PROP_DISPLAY_WIDTH:
		g_value_set_int(value, self->priv->displayWidth);
		break;
	case PROP_DISPLAY_HEIGHT:
		g_value_set_int(value, self->priv->displayHeight);
		break;
	default:
		G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
	}
	GST_OBJECT_UNLOCK(self);
}

/* What any plane takes, unless plane-id chose one: set_info() then picks the plane. */
static GstCaps *displayCaps(const KmsDisplay &display, bool planeChosen)
{
	return capsForFormats(planeChosen ? display.formats() : scanoutFormats(display.planes()),
			      8192);
}

static gboolean gst_dmapipe_sink_start(GstBaseSink *bsink)
{
	GstDmapipeSink *self = GST_DMAPIPE_SINK(bsink);
	Priv *p = self->priv;
	GST_OBJECT_LOCK(self);
	std::string which = !p->device.empty() ? p->device : p->driverName;
	DisplaySelect select;
	select.connector = p->connectorWanted;
	select.plane = p->planeId;
	select.fd = p->fd;
	gint zpos = p->zpos;
	GST_OBJECT_UNLOCK(self);
	try {
		p->display = std::make_unique<KmsDisplay>(which, select);
		if (zpos >= 0)
			p->display->setZpos(uint64_t(zpos));
		std::unique_ptr<Allocator> scanout;
		try {
			scanout = p->display->dumbAllocator();
		} catch (const Error &e) {
			GST_WARNING_OBJECT(self, "%s; offering capbuf buffers instead", e.what());
			if (haveCapbufHeap())
				scanout = makeHeapAllocator("capbuf");
		}
		{
			std::lock_guard<std::mutex> l(p->poolSource->lock);
			p->poolSource->allocator = std::move(scanout);
		}
	} catch (const std::exception &e) {
		p->display.reset();
		/* A configuration error here is a display that was not found. */
		DMAPIPE_POST_ERROR(self, e, GST_RESOURCE_ERROR_NOT_FOUND);
		return FALSE;
	}
	GST_OBJECT_LOCK(self);
	p->connector = p->display->connectorName();
	p->planeInUse = p->display->planeId();
	ModeSize mode = p->display->currentMode();
	p->displayWidth = gint(mode.width);
	p->displayHeight = gint(mode.height);
	GST_OBJECT_UNLOCK(self);
	/* Properties the element changed itself: notify, as kmssink does. */
	g_object_notify(G_OBJECT(self), "connector");
	g_object_notify(G_OBJECT(self), "display-width");
	g_object_notify(G_OBJECT(self), "display-height");
	GST_INFO_OBJECT(self, "display %s (%s), connector %s", p->display->path().c_str(),
			p->display->driver().c_str(), p->display->connectorName().c_str());
	p->probed = displayCaps(*p->display, select.plane != 0);
	GST_DEBUG_OBJECT(self, "display caps %" GST_PTR_FORMAT, p->probed);
	p->dmabufAllocator = gst_dmabuf_allocator_new();
	p->poll = gst_poll_new(TRUE);
	gst_poll_fd_init(&p->pollFd);
	p->pollFd.fd = p->display->fd();
	gst_poll_add_fd(p->poll, &p->pollFd);
	gst_poll_fd_ctl_read(p->poll, &p->pollFd, TRUE);
	p->configured = false;
	p->warnedCopy = false;
	p->frames = p->copied = 0;
	return TRUE;
}

/* A completed flip: what was pending is on screen, what was on screen is free. */
static void flipped(Priv *p)
{
	if (p->onScreen)
		gst_buffer_unref(p->onScreen);
	p->onScreen = p->pending;
	p->pending = nullptr;
	p->onScreenCopy = p->pendingCopy;
	p->pendingCopy = -1;
	if (p->oldCopyFlips > 0)
		p->oldCopyFlips--;
}

/* Waits for the pending flip. FLUSHING when unlocked, ERROR after timeout. */
static GstFlowReturn waitFlip(GstDmapipeSink *self, GstClockTime timeout, bool flushable)
{
	Priv *p = self->priv;
	gint64 deadline = g_get_monotonic_time() + gint64(timeout / 1000);
	while (p->display->flipPending()) {
		gint64 left = deadline - g_get_monotonic_time();
		if (left <= 0) {
			GST_ELEMENT_ERROR(self, RESOURCE, WRITE,
					  ("page flip on %s did not complete within %.1f s",
					   p->display->path().c_str(), double(timeout) / GST_SECOND),
					  (nullptr));
			return GST_FLOW_ERROR;
		}
		int ret;
		if (flushable) {
			ret = gst_poll_wait(p->poll, GstClockTime(left) * 1000);
		} else {
			GPollFD pfd = { p->display->fd(), G_IO_IN, 0 };
			ret = g_poll(&pfd, 1, gint(left / 1000) + 1);
		}
		if (ret < 0) {
			if (errno == EBUSY)
				return GST_FLOW_FLUSHING;
			if (errno == EINTR || errno == EAGAIN)
				continue;
			GST_ELEMENT_ERROR(self, RESOURCE, WRITE,
					  ("poll on the display: %s", g_strerror(errno)), (nullptr));
			return GST_FLOW_ERROR;
		}
		if (ret == 0)
			continue;
		try {
			p->display->handleEvents([p](uint64_t) { flipped(p); });
		} catch (const std::exception &e) {
			DMAPIPE_POST_ERROR(self, e, GST_RESOURCE_ERROR_WRITE);
			return GST_FLOW_ERROR;
		}
	}
	return GST_FLOW_OK;
}

static void drainGone(Priv *p)
{
	std::vector<std::unique_ptr<DmaBuffer>> gone;
	{
		std::lock_guard<std::mutex> l(p->shared->lock);
		gone.swap(p->shared->gone);
	}
	if (p->display)
		for (const auto &b : gone)
			p->display->releaseFramebuffer(*b);
}

static gboolean gst_dmapipe_sink_stop(GstBaseSink *bsink)
{
	GstDmapipeSink *self = GST_DMAPIPE_SINK(bsink);
	Priv *p = self->priv;
	if (p->display && p->display->flipPending())
		waitFlip(self, GST_SECOND, false);
	if (p->onScreen)
		gst_buffer_unref(p->onScreen);
	if (p->pending)
		gst_buffer_unref(p->pending);
	p->onScreen = p->pending = nullptr;
	p->onScreenCopy = p->pendingCopy = -1;
	drainGone(p);
	{
		std::lock_guard<std::mutex> l(p->poolSource->lock);
		p->poolSource->allocator.reset();
	}
	/* Puts back what was on the display (KmsDisplay restores on destruction). */
	p->display.reset();
	p->copyMaps.clear();
	p->copies.clear();
	p->oldCopies.clear();
	p->oldCopyFlips = 0;
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
	p->haveInfo = false;
	GST_OBJECT_LOCK(self);
	p->connector.clear();
	p->planeInUse = 0;
	GST_OBJECT_UNLOCK(self);
	GST_INFO_OBJECT(self,
			"stopped after %" G_GUINT64_FORMAT " frames, %" G_GUINT64_FORMAT
			" of them copied",
			p->frames, p->copied);
	return TRUE;
}

static GstCaps *gst_dmapipe_sink_get_caps(GstBaseSink *bsink, GstCaps *filter)
{
	GstDmapipeSink *self = GST_DMAPIPE_SINK(bsink);
	GstCaps *caps = self->priv->probed ? gst_caps_ref(self->priv->probed)
					   : gst_pad_get_pad_template_caps(GST_BASE_SINK_PAD(bsink));
	if (filter) {
		GstCaps *tmp = gst_caps_intersect_full(filter, caps, GST_CAPS_INTERSECT_FIRST);
		gst_caps_unref(caps);
		caps = tmp;
	}
	return caps;
}

/*
 * New caps: the copy buffers of the old ones go, with their framebuffers;
 * the one on screen stays until the next frame replaced it (dropOldCopies).
 */
static void retireCopies(Priv *p)
{
	if (p->copies.empty())
		return;
	/* A pending old copy goes on screen at the next flip and off at the one after. */
	p->oldCopyFlips = p->pendingCopy >= 0 ? 2 : p->onScreenCopy >= 0 ? 1 : 0;
	p->onScreenCopy = p->pendingCopy = -1;
	p->copyMaps.clear();
	for (auto &b : p->copies)
		p->oldCopies.push_back(std::move(b));
	p->copies.clear();
}

static void dropOldCopies(Priv *p)
{
	if (p->oldCopyFlips > 0 || p->oldCopies.empty())
		return;
	if (p->display)
		for (const auto &b : p->oldCopies)
			p->display->releaseFramebuffer(*b);
	p->oldCopies.clear();
}

static gboolean gst_dmapipe_sink_set_info(GstVideoSink *vsink, GstCaps *caps, const GstVideoInfo *info)
{
	GstDmapipeSink *self = GST_DMAPIPE_SINK(vsink);
	Priv *p = self->priv;
	/* GStreamer 1.24+ parses DMA_DRM caps as format DMA_DRM: the real one is in drm-format. */
	GstVideoInfo real;
	if (isDmaDrmCaps(caps)) {
		std::string why;
		GstCaps *internal = capsToInternal(caps, &why);
		bool ok = internal && !gst_caps_is_empty(internal) &&
			gst_video_info_from_caps(&real, internal);
		if (internal)
			gst_caps_unref(internal);
		if (!ok) {
			GST_ELEMENT_ERROR(
				self, CORE, NEGOTIATION, ("cannot scan out %" GST_PTR_FORMAT, caps),
				("%s", why.empty() ? "unusable DMA_DRM caps" : why.c_str()));
			return FALSE;
		}
		info = &real;
	}
	if (!pixelFormatFromVideo(GST_VIDEO_INFO_FORMAT(info))) {
		GST_ELEMENT_ERROR(self, CORE, NEGOTIATION,
				  ("no scanout format for %" GST_PTR_FORMAT, caps), (nullptr));
		return FALSE;
	}
	/*
	 * The plane, by the pipeline's ranking (the primary first, then the
	 * topmost overlay that takes the format), unless plane-id chose one.
	 */
	GST_OBJECT_LOCK(self);
	bool planeChosen = p->planeId != 0;
	GST_OBJECT_UNLOCK(self);
	uint32_t drm = pixelFormatFromVideo(GST_VIDEO_INFO_FORMAT(info))->drm;
	if (!planeChosen && p->display) {
		auto plane = scanoutPlane(p->display->planes(), drm);
		if (plane && plane->id != p->display->planeId()) {
			try {
				p->display->usePlane(plane->id);
				GST_OBJECT_LOCK(self);
				gint zpos = p->zpos;
				GST_OBJECT_UNLOCK(self);
				if (zpos >= 0)
					p->display->setZpos(uint64_t(zpos));
			} catch (const std::exception &e) {
				GST_ELEMENT_ERROR(self, CORE, NEGOTIATION,
						  ("cannot move to plane %u for %" GST_PTR_FORMAT,
						   plane->id, caps),
						  ("%s", e.what()));
				return FALSE;
			}
			GST_OBJECT_LOCK(self);
			p->planeInUse = plane->id;
			GST_OBJECT_UNLOCK(self);
			GST_INFO_OBJECT(self, "plane %u (%s): the primary plane does not take %s",
					plane->id, plane->primary ? "primary" : "overlay",
					fourccToString(drm).c_str());
		}
	}
	if (p->haveInfo &&
	    (GST_VIDEO_INFO_FORMAT(info) != GST_VIDEO_INFO_FORMAT(&p->info) ||
	     GST_VIDEO_INFO_WIDTH(info) != GST_VIDEO_INFO_WIDTH(&p->info) ||
	     GST_VIDEO_INFO_HEIGHT(info) != GST_VIDEO_INFO_HEIGHT(&p->info))) {
		/* A new size or format: choose the layout again, new copy buffers. */
		p->configured = false;
		retireCopies(p);
	}
	p->info = *info;
	p->haveInfo = true;
	GST_DEBUG_OBJECT(self, "caps %" GST_PTR_FORMAT, caps);
	return TRUE;
}

static gboolean gst_dmapipe_sink_propose_allocation(GstBaseSink *bsink, GstQuery *query)
{
	GstDmapipeSink *self = GST_DMAPIPE_SINK(bsink);
	Priv *p = self->priv;
	GstCaps *caps = nullptr;
	gboolean needPool = FALSE;
	gst_query_parse_allocation(query, &caps, &needPool);
	/* As kmssink: any stride and offset, and crops shown without a copy. */
	gst_query_add_allocation_meta(query, GST_VIDEO_META_API_TYPE, nullptr);
	gst_query_add_allocation_meta(query, GST_VIDEO_CROP_META_API_TYPE, nullptr);
	if (!caps)
		return TRUE;
	GstVideoInfo info;
	if (!videoInfoFromCaps(&info, caps) || !pixelFormatFromVideo(GST_VIDEO_INFO_FORMAT(&info)))
		return TRUE;
	GST_OBJECT_LOCK(self);
	bool offer = p->offerPool;
	GST_OBJECT_UNLOCK(self);
	guint size = dmabufPoolSize(*p->poolSource, caps);
	if (!needPool || !offer || !size) {
		/*
		 * No pool, still the minimum: the sink holds the frame on screen
		 * and the pending one, which upstream's own pool must cover.
		 */
		gst_query_add_allocation_pool(query, nullptr, size ? size : guint(info.size), 2, 0);
		return TRUE;
	}
	GstBufferPool *pool = dmabufPoolNew(p->poolSource);
	GstStructure *config = gst_buffer_pool_get_config(pool);
	gst_buffer_pool_config_set_params(config, caps, size, 2, 0);
	gst_buffer_pool_config_add_option(config, GST_BUFFER_POOL_OPTION_VIDEO_META);
	if (!gst_buffer_pool_set_config(pool, config)) {
		gst_object_unref(pool);
		gst_query_add_allocation_pool(query, nullptr, size, 2, 0);
		return TRUE;
	}
	gst_query_add_allocation_pool(query, pool, size, 2, 0);
	GST_DEBUG_OBJECT(self, "proposed a pool of scanout dma-bufs for %" GST_PTR_FORMAT, caps);
	gst_object_unref(pool);
	return TRUE;
}

/*
 * The visible rectangle of buf (GstVideoCropMeta, which the sink advertises
 * as VA decoders and v4l2 codecs need), aligned down to the format's chroma
 * subsampling; the whole frame without one.
 */
struct Crop {
	guint x = 0, y = 0, width = 0, height = 0;
};
static Crop cropOf(GstBuffer *buf, GstVideoFormat vf, guint w, guint h)
{
	Crop c { 0, 0, w, h };
	GstVideoCropMeta *m = gst_buffer_get_video_crop_meta(buf);
	if (!m || !m->width || !m->height || m->x >= w || m->y >= h)
		return c;
	const GstVideoFormatInfo *fi = gst_video_format_get_info(vf);
	guint ax = 1, ay = 1;
	for (guint comp = 0; comp < GST_VIDEO_FORMAT_INFO_N_COMPONENTS(fi); comp++) {
		ax = std::max(ax, 1u << GST_VIDEO_FORMAT_INFO_W_SUB(fi, comp));
		ay = std::max(ay, 1u << GST_VIDEO_FORMAT_INFO_H_SUB(fi, comp));
	}
	/* Packed 4:2:2 (YUY2, UYVY) keeps a pixel pair in one macropixel. */
	if (GST_VIDEO_FORMAT_INFO_N_PLANES(fi) == 1 && GST_VIDEO_FORMAT_INFO_IS_YUV(fi))
		ax = std::max(ax, 2u);
	c.x = m->x / ax * ax;
	c.y = m->y / ay * ay;
	c.width = std::min(m->width + (m->x - c.x), w - c.x);
	c.height = std::min(m->height + (m->y - c.y), h - c.y);
	return c;
}

/* The DmaBuffer of a GstBuffer of dma-buf memories, made once per memory. */
static const DmaBuffer *importBuffer(GstDmapipeSink *self, GstBuffer *buf)
{
	Priv *p = self->priv;
	guint n = gst_buffer_n_memory(buf);
	if (n == 0 || n > GST_VIDEO_MAX_PLANES)
		return nullptr;
	for (guint i = 0; i < n; i++)
		if (!gst_is_dmabuf_memory(gst_buffer_peek_memory(buf, i)))
			return nullptr;
	const GstVideoInfo &info = p->info;
	GstVideoMeta *meta = gst_buffer_get_video_meta(buf);
	GstVideoFormat vf = meta ? meta->format : GST_VIDEO_INFO_FORMAT(&info);
	guint w = meta ? meta->width : GST_VIDEO_INFO_WIDTH(&info);
	guint h = meta ? meta->height : GST_VIDEO_INFO_HEIGHT(&info);
	guint nplanes = meta ? meta->n_planes : GST_VIDEO_INFO_N_PLANES(&info);
	gsize offsets[GST_VIDEO_MAX_PLANES];
	gint strides[GST_VIDEO_MAX_PLANES];
	for (guint i = 0; i < nplanes; i++) {
		offsets[i] = meta ? meta->offset[i] : GST_VIDEO_INFO_PLANE_OFFSET(&info, i);
		strides[i] = meta ? meta->stride[i] : GST_VIDEO_INFO_PLANE_STRIDE(&info, i);
	}
	auto pf = pixelFormatFromVideo(vf);
	if (!pf || pf->planes != nplanes)
		return nullptr;
	/* A crop scans out from the first visible pixel: the planes' offsets move there. */
	Crop crop = cropOf(buf, vf, w, h);
	for (guint i = 0; i < nplanes; i++)
		offsets[i] += gsize(pf->planeHeight(i, crop.y)) * gsize(strides[i]) +
			pf->minStride(i, crop.x);
	w = crop.width;
	h = crop.height;
	GstMemory *first = gst_buffer_peek_memory(buf, 0);
	Cached *c = nullptr;
	{
		/* Only this sink's streaming thread replaces its entry: c stays valid. */
		std::lock_guard<std::mutex> l(cacheLock);
		for (auto &e : sinkCache(first).entries)
			if (e->shared == p->shared)
				c = e.get();
	}
	if (c && c->buffer && c->format == vf && c->width == w && c->height == h &&
	    c->nplanes == nplanes && !memcmp(c->offsets, offsets, nplanes * sizeof(gsize)) &&
	    !memcmp(c->strides, strides, nplanes * sizeof(gint))) {
		bool same = true;
		for (guint i = 0; i < n; i++)
			same = same && c->memories[i] == gst_buffer_peek_memory(buf, i);
		if (same)
			return c->buffer.get();
	}

	std::vector<Plane> planes =
		dmaPlanesOf(buf, *pf, h, nplanes, offsets, strides, "dmapipesink");
	auto db = std::make_unique<DmaBuffer>(*pf, w, h, std::move(planes), std::string());
	auto entry = std::make_unique<Cached>();
	c = entry.get();
	c->shared = p->shared;
	c->format = vf;
	c->width = w;
	c->height = h;
	c->nplanes = nplanes;
	memcpy(c->offsets, offsets, sizeof(offsets));
	memcpy(c->strides, strides, sizeof(strides));
	for (guint i = 0; i < n; i++)
		c->memories[i] = gst_buffer_peek_memory(buf, i);
	GST_DEBUG_OBJECT(self, "imported %s dma-buf %" G_GUINT64_FORMAT " (%s %ux%u stride %d)",
			 db->exporter().c_str(), db->id(), pf->name, w, h, strides[0]);
	c->buffer = std::move(db);
	const DmaBuffer *ret = c->buffer.get();
	std::unique_ptr<Cached> outdated;
	{
		std::lock_guard<std::mutex> l(cacheLock);
		auto &entries = sinkCache(first).entries;
		for (auto &e : entries)
			if (e->shared == p->shared)
				outdated = std::move(e);
		entries.erase(std::remove(entries.begin(), entries.end(), nullptr), entries.end());
		entries.push_back(std::move(entry));
	}
	return ret;
}

/* Copies a system-memory frame into a free scanout buffer of our own; returns its index. */
static int copyFrame(GstDmapipeSink *self, GstBuffer *buf)
{
	Priv *p = self->priv;
	auto pf = pixelFormatFromVideo(GST_VIDEO_INFO_FORMAT(&p->info));
	Crop crop = cropOf(buf, GST_VIDEO_INFO_FORMAT(&p->info), GST_VIDEO_INFO_WIDTH(&p->info),
			   GST_VIDEO_INFO_HEIGHT(&p->info));
	uint32_t w = crop.width, h = crop.height;
	if (p->copies.empty() || p->copies[0]->format().drm != pf->drm ||
	    p->copies[0]->width() != w || p->copies[0]->height() != h) {
		retireCopies(p);
		std::unique_ptr<Allocator> alloc = p->display->dumbAllocator();
		BufferLayout layout = alloc->adjust(BufferLayout::contiguous(*pf, w, h));
		for (int i = 0; i < 3; i++) {
			p->copies.push_back(alloc->allocate(layout));
			p->copyMaps.emplace_back(p->copies.back()->planes()[0].fd.get(),
						 p->copies.back()->dmabufSize(0), Access::Write);
		}
		GST_INFO_OBJECT(self, "3 scanout buffers from %s for copies: %s",
				alloc->name().c_str(), layout.describe().c_str());
	}
	int idx = 0;
	while (idx == p->onScreenCopy || idx == p->pendingCopy)
		idx++;
	const DmaBuffer &dst = *p->copies[idx];
	GstVideoFrame frame;
	if (!gst_video_frame_map(&frame, &p->info, buf, GST_MAP_READ))
		throw Error("cannot map the input frame for reading");
	{
		CpuAccess access(dst.planes()[0].fd.get(), Access::Write);
		uint8_t *base = p->copyMaps[idx].data();
		for (unsigned pl = 0; pl < pf->planes; pl++) {
			const Plane &d = dst.planes()[pl];
			gint sstride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, pl);
			const uint8_t *src =
				static_cast<const uint8_t *>(GST_VIDEO_FRAME_PLANE_DATA(&frame, pl)) +
				size_t(pf->planeHeight(pl, crop.y)) * size_t(sstride) +
				pf->minStride(pl, crop.x);
			uint32_t bytes = pf->minStride(pl, w);
			for (uint32_t y = 0; y < pf->planeHeight(pl, h); y++)
				memcpy(base + d.offset + size_t(y) * d.stride,
				       src + size_t(y) * sstride, bytes);
		}
	}
	gst_video_frame_unmap(&frame);
	p->copied++;
	return idx;
}

static GstFlowReturn gst_dmapipe_sink_show_frame(GstVideoSink *vsink, GstBuffer *buf)
{
	GstDmapipeSink *self = GST_DMAPIPE_SINK(vsink);
	Priv *p = self->priv;
	if (!p->display || !p->haveInfo)
		return GST_FLOW_NOT_NEGOTIATED;
	GstFlowReturn ret = waitFlip(self, 5 * GST_SECOND, true);
	if (ret != GST_FLOW_OK)
		return ret;
	/* After the flip: a framebuffer that goes is not on screen (a layout change of one memory). */
	drainGone(p);
	dropOldCopies(p);
	try {
		const DmaBuffer *scan = nullptr;
		int copy = -1;
		try {
			scan = importBuffer(self, buf);
			if (scan)
				p->display->framebuffer(*scan);
		} catch (const Error &e) {
			if (!p->warnedCopy)
				GST_ELEMENT_WARNING(self, RESOURCE, WRITE,
						    ("cannot scan out the dma-buf (%s): copying frames "
						     "into scanout buffers",
						     e.what()),
						    (nullptr));
			p->warnedCopy = true;
			scan = nullptr;
		}
		if (!scan) {
			if (!p->warnedCopy) {
				GST_ELEMENT_WARNING(
					self, RESOURCE, WRITE,
					("copying system memory frames into scanout buffers"),
					("input memory is %s, not dma-buf; offer "
					 "video/x-raw(memory:DMABuf) or use our pool to avoid it",
					 gst_buffer_n_memory(buf)
						 ? gst_buffer_peek_memory(buf, 0)->allocator
							 ? gst_buffer_peek_memory(buf, 0)->allocator->mem_type
							 : "unknown"
						 : "empty"));
				p->warnedCopy = true;
			}
			copy = copyFrame(self, buf);
			scan = p->copies[copy].get();
		}
		if (!p->configured) {
			GST_OBJECT_LOCK(self);
			LayoutRequest request = p->render;
			if (!request.w)
				request.scaling = p->scaling;
			GST_OBJECT_UNLOCK(self);
			DisplayLayout l = p->display->configure(*scan, request);
			GST_OBJECT_LOCK(self);
			bool modeChanged = gint(l.modeWidth) != p->displayWidth ||
				gint(l.modeHeight) != p->displayHeight;
			p->displayWidth = gint(l.modeWidth);
			p->displayHeight = gint(l.modeHeight);
			GST_OBJECT_UNLOCK(self);
			if (modeChanged) {
				g_object_notify(G_OBJECT(self), "display-width");
				g_object_notify(G_OBJECT(self), "display-height");
			}
			GST_INFO_OBJECT(self, "layout %s",
					l.describe(scan->width(), scan->height()).c_str());
			p->configured = true;
		}
		p->display->commit(*scan);
		p->pending = copy < 0 ? gst_buffer_ref(buf) : nullptr;
		p->pendingCopy = copy;
		p->frames++;
		GST_LOG_OBJECT(self, "committed %s dma-buf %" G_GUINT64_FORMAT,
			       copy < 0 ? "input" : "copy", scan->id());
	} catch (const std::exception &e) {
		DMAPIPE_POST_ERROR(self, e, GST_RESOURCE_ERROR_WRITE);
		return GST_FLOW_ERROR;
	}
	return GST_FLOW_OK;
}

static gboolean gst_dmapipe_sink_unlock(GstBaseSink *bsink)
{
	GstDmapipeSink *self = GST_DMAPIPE_SINK(bsink);
	if (self->priv->poll)
		gst_poll_set_flushing(self->priv->poll, TRUE);
	return TRUE;
}

static gboolean gst_dmapipe_sink_unlock_stop(GstBaseSink *bsink)
{
	GstDmapipeSink *self = GST_DMAPIPE_SINK(bsink);
	if (self->priv->poll)
		gst_poll_set_flushing(self->priv->poll, FALSE);
	return TRUE;
}

static void gst_dmapipe_sink_finalize(GObject *object)
{
	GstDmapipeSink *self = GST_DMAPIPE_SINK(object);
	delete self->priv;
	G_OBJECT_CLASS(gst_dmapipe_sink_parent_class)->finalize(object);
}

static void gst_dmapipe_sink_init(GstDmapipeSink *self)
{
	self->priv = new Priv;
	gst_video_info_init(&self->priv->info);
}

static void gst_dmapipe_sink_class_init(GstDmapipeSinkClass *klass)
{
	GObjectClass *gobject = G_OBJECT_CLASS(klass);
	GstElementClass *element = GST_ELEMENT_CLASS(klass);
	GstBaseSinkClass *basesink = GST_BASE_SINK_CLASS(klass);
	GstVideoSinkClass *videosink = GST_VIDEO_SINK_CLASS(klass);

	GST_DEBUG_CATEGORY_INIT(dmapipesink_debug, "dmapipesink", 0, "dmapipe KMS dma-buf sink");

	gobject->set_property = gst_dmapipe_sink_set_property;
	gobject->get_property = gst_dmapipe_sink_get_property;
	gobject->finalize = gst_dmapipe_sink_finalize;

	g_object_class_install_property(
		gobject, PROP_DEVICE,
		g_param_spec_string("device", "Device",
				    "KMS device path (/dev/dri/card0); overrides driver-name", "",
				    GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
						GST_PARAM_MUTABLE_READY)));
	g_object_class_install_property(
		gobject, PROP_DRIVER_NAME,
		g_param_spec_string("driver-name", "Driver name",
				    "KMS driver to use (cirrus, vkms, ...); empty = the first KMS "
				    "device with a connected display",
				    "",
				    GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
						GST_PARAM_MUTABLE_READY)));
	g_object_class_install_property(
		gobject, PROP_CONNECTOR,
		g_param_spec_string("connector", "Connector",
				    "Connector by name (VGA-1, HDMI-A-1, Virtual-1) or id; empty = "
				    "the first connected one. Reads the one in use while running",
				    "",
				    GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
						GST_PARAM_MUTABLE_READY)));
	g_object_class_install_property(
		gobject, PROP_PLANE_ID,
		g_param_spec_uint("plane-id", "Plane id",
				  "KMS plane to scan out on (primary or overlay); 0 = the CRTC's "
				  "primary plane. Reads the one in use while running",
				  0, G_MAXUINT32, 0,
				  GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
					      GST_PARAM_MUTABLE_READY)));
	g_object_class_install_property(
		gobject, PROP_ZPOS,
		g_param_spec_int("zpos", "Z position",
				 "The plane's zpos, where the driver lets it change; -1 = as it is",
				 -1, G_MAXINT, -1,
				 GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
					     GST_PARAM_MUTABLE_READY)));
	g_object_class_install_property(
		gobject, PROP_SCALING,
		g_param_spec_enum("scaling", "Scaling",
				  "How a frame is placed on the display (scaled layouts need a "
				  "plane that scales); a render rectangle overrides it",
				  scalingType(), int(Scaling::Auto),
				  GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
					      GST_PARAM_MUTABLE_PLAYING)));
	g_object_class_install_property(
		gobject, PROP_FD,
		g_param_spec_int("fd", "File descriptor",
				 "An open DRM device fd to use (a DRM lease, or a device the "
				 "application opened); dup'ed; -1 = open the device",
				 -1, G_MAXINT, -1,
				 GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
					     GST_PARAM_MUTABLE_READY)));
	g_object_class_install_property(
		gobject, PROP_DISPLAY_WIDTH,
		g_param_spec_int("display-width", "Display width",
				 "Width of the display mode in use (the preferred one before the "
				 "first frame)",
				 0, G_MAXINT, 0,
				 GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
	g_object_class_install_property(
		gobject, PROP_DISPLAY_HEIGHT,
		g_param_spec_int("display-height", "Display height",
				 "Height of the display mode in use (the preferred one before the "
				 "first frame)",
				 0, G_MAXINT, 0,
				 GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
	gst_type_mark_as_plugin_api(scalingType(), GstPluginAPIFlags(0));
	gst_video_overlay_install_properties(gobject, PROP_OVERLAY);

	g_object_class_install_property(
		gobject, PROP_POOL,
		g_param_spec_boolean("pool", "Offer a pool",
				     "Offer upstream a buffer pool of scanout dma-bufs (the display's "
				     "dumb buffers), so producers write or capture straight into them",
				     TRUE,
				     GParamFlags(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
						 GST_PARAM_MUTABLE_READY)));

	GstCaps *caps = templateCaps();
	gst_element_class_add_pad_template(
		element, gst_pad_template_new("sink", GST_PAD_SINK, GST_PAD_ALWAYS, caps));
	gst_caps_unref(caps);
	gst_element_class_set_static_metadata(
		element, "dmapipe KMS dma-buf sink", "Sink/Video",
		"Scans dma-bufs out with KMS atomic commits, without copying; offers a pool of "
		"scanout buffers upstream and copies system memory into them",
		"dmapipe");

	basesink->start = gst_dmapipe_sink_start;
	basesink->stop = gst_dmapipe_sink_stop;
	basesink->get_caps = gst_dmapipe_sink_get_caps;
	basesink->propose_allocation = gst_dmapipe_sink_propose_allocation;
	basesink->unlock = gst_dmapipe_sink_unlock;
	basesink->unlock_stop = gst_dmapipe_sink_unlock_stop;
	videosink->set_info = gst_dmapipe_sink_set_info;
	videosink->show_frame = gst_dmapipe_sink_show_frame;
}
