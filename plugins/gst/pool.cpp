/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pool.h"

#include "common.h"

#include <gst/allocators/allocators.h>
#include <gst/video/gstvideopool.h>

#include <dmapipe/error.h>

GST_DEBUG_CATEGORY_STATIC(dmapipepool_debug);
#define GST_CAT_DEFAULT dmapipepool_debug

using namespace dmapipe;
using namespace dmapipe::gst;

struct GstDmapipeDmaBufPool {
	GstBufferPool parent;
	std::shared_ptr<PoolSource> *source;
	GstAllocator *dmabufAllocator;
	GstVideoInfo info;
	guint size;
};

struct GstDmapipeDmaBufPoolClass {
	GstBufferPoolClass parent_class;
};

G_DEFINE_TYPE_WITH_CODE(GstDmapipeDmaBufPool, gst_dmapipe_dmabuf_pool, GST_TYPE_BUFFER_POOL,
			GST_DEBUG_CATEGORY_INIT(dmapipepool_debug, "dmapipepool", 0,
						"dmapipe dma-buf buffer pool"))

namespace {

GstDmapipeDmaBufPool *fromPool(GstBufferPool *pool)
{
	return reinterpret_cast<GstDmapipeDmaBufPool *>(pool);
}

/* The layout the allocator makes for info; call with source.lock held. */
BufferLayout layoutFor(Allocator &allocator, const GstVideoInfo &info)
{
	auto pf = pixelFormatFromVideo(GST_VIDEO_INFO_FORMAT(&info));
	if (!pf)
		throw Error(std::string("no dma-buf layout for ") +
			    gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&info)));
	return allocator.adjust(BufferLayout::contiguous(*pf, GST_VIDEO_INFO_WIDTH(&info),
							 GST_VIDEO_INFO_HEIGHT(&info)));
}

} /* namespace */

static const gchar **gst_dmapipe_dmabuf_pool_get_options(GstBufferPool *)
{
	static const gchar *options[] = { GST_BUFFER_POOL_OPTION_VIDEO_META, nullptr };
	return options;
}

static gboolean gst_dmapipe_dmabuf_pool_set_config(GstBufferPool *bpool, GstStructure *config)
{
	GstDmapipeDmaBufPool *pool = fromPool(bpool);
	GstCaps *caps = nullptr;
	guint min = 0, max = 0;
	if (!gst_buffer_pool_config_get_params(config, &caps, nullptr, &min, &max) || !caps ||
	    !videoInfoFromCaps(&pool->info, caps))
		return FALSE;
	pool->size = dmabufPoolSize(**pool->source, caps);
	if (!pool->size)
		return FALSE;
	/* The size of the real dma-buf, whatever upstream asked for. */
	gst_buffer_pool_config_set_params(config, caps, pool->size, min, max);
	return GST_BUFFER_POOL_CLASS(gst_dmapipe_dmabuf_pool_parent_class)->set_config(bpool, config);
}

static GstFlowReturn gst_dmapipe_dmabuf_pool_alloc_buffer(GstBufferPool *bpool, GstBuffer **out,
							  GstBufferPoolAcquireParams *)
{
	GstDmapipeDmaBufPool *pool = fromPool(bpool);
	try {
		std::unique_ptr<DmaBuffer> db;
		{
			PoolSource &src = **pool->source;
			std::lock_guard<std::mutex> l(src.lock);
			if (!src.allocator)
				throw Error("the element that made this pool has stopped");
			db = src.allocator->allocate(layoutFor(*src.allocator, pool->info));
		}
		*out = wrapDmaBuffer(pool->dmabufAllocator, *db);
		/*
		 * The exporter may round up further (dumb buffers to pages): every
		 * buffer leaves at the configured size, or the pool discards it.
		 */
		gsize got = gst_buffer_get_size(*out);
		if (got < pool->size) {
			gst_buffer_unref(*out);
			*out = nullptr;
			throw Error("allocated " + std::to_string(got) + " bytes, configured for " +
				    std::to_string(pool->size));
		}
		if (got > pool->size)
			gst_buffer_resize(*out, 0, pool->size);
		GST_INFO_OBJECT(pool,
				"allocated %s %ux%u stride %u (%s dma-buf %" G_GUINT64_FORMAT ")",
				db->format().name, db->width(), db->height(),
				db->planes()[0].stride, db->exporter().c_str(), db->id());
	} catch (const Error &e) {
		GST_ERROR_OBJECT(pool, "%s", e.what());
		return GST_FLOW_ERROR;
	}
	return GST_FLOW_OK;
}

static void gst_dmapipe_dmabuf_pool_finalize(GObject *object)
{
	GstDmapipeDmaBufPool *pool = fromPool(GST_BUFFER_POOL(object));
	delete pool->source;
	gst_object_unref(pool->dmabufAllocator);
	G_OBJECT_CLASS(gst_dmapipe_dmabuf_pool_parent_class)->finalize(object);
}

static void gst_dmapipe_dmabuf_pool_init(GstDmapipeDmaBufPool *pool)
{
	pool->source = new std::shared_ptr<PoolSource>();
	pool->dmabufAllocator = gst_dmabuf_allocator_new();
	pool->size = 0;
	gst_video_info_init(&pool->info);
}

static void gst_dmapipe_dmabuf_pool_class_init(GstDmapipeDmaBufPoolClass *klass)
{
	G_OBJECT_CLASS(klass)->finalize = gst_dmapipe_dmabuf_pool_finalize;
	GstBufferPoolClass *pool = GST_BUFFER_POOL_CLASS(klass);
	pool->get_options = gst_dmapipe_dmabuf_pool_get_options;
	pool->set_config = gst_dmapipe_dmabuf_pool_set_config;
	pool->alloc_buffer = gst_dmapipe_dmabuf_pool_alloc_buffer;
}

namespace dmapipe::gst {

GstBufferPool *dmabufPoolNew(std::shared_ptr<PoolSource> source)
{
	auto *pool = static_cast<GstDmapipeDmaBufPool *>(
		g_object_new(gst_dmapipe_dmabuf_pool_get_type(), nullptr));
	gst_object_ref_sink(pool);
	*pool->source = std::move(source);
	return GST_BUFFER_POOL(pool);
}

guint dmabufPoolSize(PoolSource &source, GstCaps *caps)
{
	GstVideoInfo info;
	if (!caps || !videoInfoFromCaps(&info, caps))
		return 0;
	std::lock_guard<std::mutex> l(source.lock);
	if (!source.allocator)
		return 0;
	try {
		BufferLayout layout = layoutFor(*source.allocator, info);
		size_t total = 0;
		for (size_t s : layout.sizes)
			total += s;
		return guint(total);
	} catch (const Error &e) {
		GST_DEBUG("%s", e.what());
		return 0;
	}
}

} /* namespace dmapipe::gst */
