/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cstddef>
#include <cstdint>

#include <dmapipe/frame.h>

namespace dmapipe {

/* DMA_BUF_SYNC_READ / _WRITE / _RW for an access. */
uint64_t syncDirection(Access access);

/*
 * A CPU mapping of a whole dma-buf with the protection the access needs
 * (PROT_READ, PROT_WRITE or both). Kept per buffer, not per frame: the
 * exporter faults pages in lazily and the mapping stays valid across
 * device use, so only the sync bracket is per frame.
 */
class DmaBufMapping
{
public:
	DmaBufMapping() = default;
	DmaBufMapping(int fd, size_t size, Access access);
	DmaBufMapping(DmaBufMapping &&other) noexcept;
	DmaBufMapping &operator=(DmaBufMapping &&other) noexcept;
	DmaBufMapping(const DmaBufMapping &) = delete;
	DmaBufMapping &operator=(const DmaBufMapping &) = delete;
	~DmaBufMapping();

	uint8_t *data() const { return data_; }
	size_t size() const { return size_; }
	Access access() const { return access_; }
	bool isValid() const { return data_ != nullptr; }

private:
	void unmap();

	uint8_t *data_ = nullptr;
	size_t size_ = 0;
	Access access_ = Access::Read;
};

/*
 * One CPU access bracket: DMA_BUF_IOCTL_SYNC START|dir now, END|dir when it
 * goes out of scope (also when the stage throws). EINTR and EAGAIN are
 * retried, as the dma-buf documentation asks.
 */
class CpuAccess
{
public:
	CpuAccess(int dmabuf, Access access);
	~CpuAccess();
	CpuAccess(const CpuAccess &) = delete;
	CpuAccess &operator=(const CpuAccess &) = delete;

private:
	int fd_;
	Access access_;
};

} /* namespace dmapipe */
