/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dmapipe/cpu_access.h"
#include "dmapipe/error.h"

#include <cerrno>
#include <linux/dma-buf.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <utility>

namespace dmapipe {

const char *accessName(Access access)
{
	switch (access) {
	case Access::Read:
		return "read";
	case Access::Write:
		return "write";
	case Access::ReadWrite:
		return "read-write";
	}
	return "?";
}

uint64_t syncDirection(Access access)
{
	switch (access) {
	case Access::Read:
		return DMA_BUF_SYNC_READ;
	case Access::Write:
		return DMA_BUF_SYNC_WRITE;
	case Access::ReadWrite:
		break;
	}
	return DMA_BUF_SYNC_RW;
}

static int protFor(Access access)
{
	switch (access) {
	case Access::Read:
		return PROT_READ;
	case Access::Write:
		return PROT_WRITE;
	case Access::ReadWrite:
		break;
	}
	return PROT_READ | PROT_WRITE;
}

DmaBufMapping::DmaBufMapping(int fd, size_t size, Access access) : size_(size), access_(access)
{
	void *p = mmap(nullptr, size, protFor(access), MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		throwErrno(std::string("mmap(") + accessName(access) + ", " + std::to_string(size) +
				   " bytes)",
			   "dma-buf fd " + std::to_string(fd));
	data_ = static_cast<uint8_t *>(p);
}

DmaBufMapping::DmaBufMapping(DmaBufMapping &&o) noexcept
	: data_(std::exchange(o.data_, nullptr)), size_(o.size_), access_(o.access_)
{
}

DmaBufMapping &DmaBufMapping::operator=(DmaBufMapping &&o) noexcept
{
	unmap();
	data_ = std::exchange(o.data_, nullptr);
	size_ = o.size_;
	access_ = o.access_;
	return *this;
}

DmaBufMapping::~DmaBufMapping()
{
	unmap();
}

void DmaBufMapping::unmap()
{
	if (data_)
		munmap(data_, size_);
	data_ = nullptr;
}

static void sync(int fd, uint64_t flags)
{
	struct dma_buf_sync s = { flags };
	int ret;
	do {
		ret = ioctl(fd, DMA_BUF_IOCTL_SYNC, &s);
	} while (ret < 0 && (errno == EINTR || errno == EAGAIN));
	if (ret < 0)
		throwErrno(std::string("DMA_BUF_IOCTL_SYNC(") +
				   ((flags & DMA_BUF_SYNC_END) ? "END" : "START") + ")",
			   "dma-buf fd " + std::to_string(fd));
}

CpuAccess::CpuAccess(int fd, Access access) : fd_(fd), access_(access)
{
	sync(fd_, DMA_BUF_SYNC_START | syncDirection(access_));
}

CpuAccess::~CpuAccess()
{
	try {
		sync(fd_, DMA_BUF_SYNC_END | syncDirection(access_));
	} catch (const Error &) {
		/* Nothing to do from a destructor; the exporter logs. */
	}
}

} /* namespace dmapipe */
