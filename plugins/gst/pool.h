/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one GstBufferPool of the plugin: video frames in dma-bufs of a
 * dmapipe::Allocator (the display's dumb buffers for dmapipesink, a heap or
 * dumb buffers for dmapipeconvert's own output), each with a GstVideoMeta.
 */
#pragma once

#include <gst/gst.h>

#include <memory>
#include <mutex>

#include <dmapipe/allocator.h>

namespace dmapipe::gst {

/*
 * Where a pool's dma-bufs come from. The element owning it may stop while
 * upstream still holds the pool: it then clears allocator and the pool
 * fails allocations instead of reaching into a closed display.
 */
struct PoolSource {
	std::mutex lock;
	std::shared_ptr<Allocator> allocator;
};

/*
 * A new pool (not floating) over source. Its configured size is the size of
 * the dma-buf the allocator really makes for the caps (page-rounded):
 * GstBufferPool discards a released buffer of any other size, so a frame
 * size that is not a page multiple would allocate a new dma-buf, and a new
 * framebuffer on the display, for every buffer the pool pre-allocates.
 */
GstBufferPool *dmabufPoolNew(std::shared_ptr<PoolSource> source);

/* The buffer size of a dmabufPoolNew() pool for caps, or 0 when it cannot make them. */
guint dmabufPoolSize(PoolSource &source, GstCaps *caps);

} /* namespace dmapipe::gst */
