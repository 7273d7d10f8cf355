/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <dmapipe/buffer.h>
#include <dmapipe/format.h>

namespace dmapipe {

/* Where each plane of an image goes; what both importers agreed on. */
struct BufferLayout {
	struct PlaneLayout {
		unsigned buffer = 0; /* index into sizes: which dma-buf holds it */
		uint32_t offset = 0;
		uint32_t stride = 0;
		uint32_t length = 0;
	};

	PixelFormat format {};
	uint32_t width = 0;
	uint32_t height = 0;
	std::vector<PlaneLayout> planes;
	std::vector<size_t> sizes; /* bytes of each dma-buf */

	/* All planes in one dma-buf, back to back, strides aligned to strideAlign. */
	static BufferLayout contiguous(const PixelFormat &format, uint32_t width, uint32_t height,
				       uint32_t strideAlign = 1);
	/* From per-plane strides (V4L2 bytesperline), contiguous in one buffer. */
	static BufferLayout fromStrides(const PixelFormat &format, uint32_t width, uint32_t height,
					const std::vector<uint32_t> &strides, size_t minSize = 0);
	std::string describe() const;
};

/* A real dma-buf exporter that makes buffers for a layout. */
class Allocator
{
public:
	virtual ~Allocator() = default;
	/* "capbuf heap", "udmabuf", "cirrus dumb buffers", ... */
	virtual std::string name() const = 0;
	/* The layout this allocator will produce for a request (dumb buffers pick their pitch). */
	virtual BufferLayout adjust(const BufferLayout &request) const { return request; }
	virtual std::unique_ptr<DmaBuffer> allocate(const BufferLayout &layout) = 0;
};

/* A dma-heap by name ("capbuf", "system") or path; throws when it is absent. */
std::unique_ptr<Allocator> makeHeapAllocator(const std::string &heap);
/* memfd + /dev/udmabuf. */
std::unique_ptr<Allocator> makeUdmabufAllocator();
/* Names of the heaps under /dev/dma_heap, sorted. */
std::vector<std::string> listHeaps();
bool haveUdmabuf();

} /* namespace dmapipe */
