/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <dmapipe/fd.h>
#include <dmapipe/format.h>
#include <dmapipe/frame.h>

namespace dmapipe {

/* One colour plane: where it lives in which dma-buf. */
struct Plane {
	UniqueFd fd; /* the dma-buf; planes may share one (dup'ed fds) */
	uint32_t offset = 0;
	uint32_t stride = 0;
	uint32_t length = 0; /* bytes of this plane from offset */
};

/*
 * An image in dma-buf memory, exported by whichever allocator made it. Its
 * identity is the dma-buf's inode: it is the same buffer wherever the fd
 * travels (V4L2, KMS, another process), so "no copy" can be checked.
 */
class DmaBuffer
{
public:
	DmaBuffer(PixelFormat format, uint32_t width, uint32_t height, std::vector<Plane> planes,
		  std::string exporter, uint64_t modifier = 0);
	virtual ~DmaBuffer() = default;
	DmaBuffer(const DmaBuffer &) = delete;
	DmaBuffer &operator=(const DmaBuffer &) = delete;

	const PixelFormat &format() const { return format_; }
	uint32_t width() const { return width_; }
	uint32_t height() const { return height_; }
	uint64_t modifier() const { return modifier_; }
	const std::vector<Plane> &planes() const { return planes_; }
	/* Inode of plane 0's dma-buf. */
	uint64_t id() const { return id_; }
	/* Who exported it: "capbuf", "vivid", "cirrus", ... (the dma-buf's exp_name) */
	const std::string &exporter() const { return exporter_; }
	/* Total bytes of the dma-buf behind plane p (read once, at construction). */
	size_t dmabufSize(unsigned p) const { return sizes_.at(p); }
	/* Inode of plane p's dma-buf: planes with the same one share a dma-buf. */
	uint64_t planeInode(unsigned p) const { return inodes_.at(p); }

	/* Index in its pool, set by whoever hands buffers out. */
	unsigned index = 0;

private:
	PixelFormat format_;
	uint32_t width_, height_;
	uint64_t modifier_;
	std::vector<Plane> planes_;
	std::string exporter_;
	uint64_t id_ = 0;
	std::vector<size_t> sizes_;
	std::vector<uint64_t> inodes_;
};

/* Inode of a dma-buf fd, 0 when it is not one. */
uint64_t dmabufInode(int fd);
/* The exporter's name from /proc/self/fdinfo ("exp_name:"), or "". */
std::string dmabufExporter(int fd);
/* True when fd is a dma-buf (it has an exp_name in fdinfo). */
bool isDmabuf(int fd);

} /* namespace dmapipe */
