/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file frame.h
 * @brief A frame as a CPU stage sees it: mapped planes with their geometry.
 */
#pragma once

#include <cstddef>
#include <cstdint>

#include <dmapipe/export.h>
#include <dmapipe/format.h>

namespace dmapipe {

/** @brief How a CPU stage touches its buffer. */
enum class Access {
	Read, /**< reads only: mapped PROT_READ, synced DMA_BUF_SYNC_READ */
	Write, /**< overwrites every byte it cares about: PROT_WRITE, DMA_BUF_SYNC_WRITE */
	ReadWrite, /**< reads and modifies: PROT_READ | PROT_WRITE, DMA_BUF_SYNC_RW */
};
/** @brief "read", "write" or "read-write". */
DMAPIPE_EXPORT const char *accessName(Access access);

/** @brief Metadata of one captured frame. */
struct FrameInfo {
	unsigned index = 0; /**< buffer index in the camera's pool */
	uint32_t sequence = 0; /**< the camera's frame counter (V4L2 sequence) */
	uint64_t timestampNs = 0; /**< capture time, CLOCK_MONOTONIC, from the driver */
	uint64_t dequeuedNs = 0; /**< CLOCK_MONOTONIC when the pipeline got the frame */
	uint32_t bytesused = 0; /**< bytes the driver filled in plane 0 */
};

/**
 * @brief A read-only view of a mapped frame.
 *
 * The pointers are valid only during the Stage call that received the
 * frame: they lie inside the CPU access bracket the framework opened for it
 * (DMA_BUF_IOCTL_SYNC START/END). Keep no pointer past the call.
 *
 * A Frame can also be made over plain memory, to test a stage without a
 * device.
 */
class Frame
{
public:
	/** @brief At most this many planes (Y, Cb, Cr, and one spare). */
	static constexpr unsigned kMaxPlanes = 4;

	/**
	 * @brief A view over memory the caller owns.
	 * @param format  the pixel format; planes are format.planes
	 * @param width   pixels per line
	 * @param height  lines
	 * @param data    first byte of each plane
	 * @param strides bytes per line of each plane
	 * @param info    the frame's metadata
	 * @param bufferId the dma-buf's inode, or 0
	 */
	Frame(const PixelFormat &format, uint32_t width, uint32_t height, const uint8_t *const *data,
	      const uint32_t *strides, const FrameInfo &info = {}, uint64_t bufferId = 0)
		: format_(format), width_(width), height_(height), info_(info), bufferId_(bufferId)
	{
		for (unsigned p = 0; p < format.planes && p < kMaxPlanes; p++) {
			data_[p] = const_cast<uint8_t *>(data[p]);
			strides_[p] = strides[p];
		}
	}

	/** @brief The pixel format. */
	const PixelFormat &format() const { return format_; }
	/** @brief Pixels per line of plane 0. */
	uint32_t width() const { return width_; }
	/** @brief Lines of plane 0. */
	uint32_t height() const { return height_; }
	/** @brief Number of planes (1 for packed formats, 2 for NV12, 3 for YUV420). */
	unsigned planeCount() const { return format_.planes; }
	/** @brief Pixels per line of plane @p p (chroma planes are subsampled). */
	uint32_t planeWidth(unsigned p) const { return format_.planeWidth(p, width_); }
	/** @brief Lines of plane @p p. */
	uint32_t planeHeight(unsigned p) const { return format_.planeHeight(p, height_); }
	/** @brief Bytes from one line of plane @p p to the next (at least the line's bytes). */
	uint32_t stride(unsigned p) const { return strides_[p]; }
	/** @brief First byte of plane @p p, read-only. */
	const uint8_t *data(unsigned p) const { return data_[p]; }
	/** @brief First byte of line @p y of plane @p p, read-only. */
	const uint8_t *line(unsigned p, uint32_t y) const
	{
		return data_[p] + size_t(y) * strides_[p];
	}
	/** @brief Sequence number, timestamps and buffer index of the frame. */
	const FrameInfo &info() const { return info_; }
	/** @brief The dma-buf's inode: the same number wherever the buffer travels; 0 for plain memory. */
	uint64_t bufferId() const { return bufferId_; }

protected:
	/** @brief The planes; writable only through WritableFrame. */
	uint8_t *data_[kMaxPlanes] = {};

private:
	PixelFormat format_;
	uint32_t width_, height_;
	uint32_t strides_[kMaxPlanes] = {};
	FrameInfo info_;
	uint64_t bufferId_;
};

/**
 * @brief A frame the stage may write: what Stage::process() and the output
 * of Stage::convert() receive. Mapped with PROT_WRITE; the framework syncs
 * it for the stage's access (Write or ReadWrite).
 */
class WritableFrame : public Frame
{
public:
	/** @brief A writable view over memory the caller owns; see Frame::Frame(). */
	WritableFrame(const PixelFormat &format, uint32_t width, uint32_t height,
		      uint8_t *const *data, const uint32_t *strides, const FrameInfo &info = {},
		      uint64_t bufferId = 0)
		: Frame(format, width, height, const_cast<const uint8_t *const *>(data), strides,
			info, bufferId)
	{
	}

	/** @brief First byte of plane @p p, writable. */
	uint8_t *data(unsigned p) const { return data_[p]; }
	/** @brief First byte of line @p y of plane @p p, writable. */
	uint8_t *line(unsigned p, uint32_t y) const { return data_[p] + size_t(y) * stride(p); }
};

} /* namespace dmapipe */
