/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dmapipe/allocator.h"
#include "dmapipe/error.h"

#include <algorithm>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <linux/dma-heap.h>
#include <linux/udmabuf.h>
#include <optional>
#include <sstream>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace dmapipe {

static uint32_t alignUp(uint32_t v, uint32_t a)
{
	return a <= 1 ? v : (v + a - 1) / a * a;
}

static size_t pageAlign(size_t v)
{
	size_t page = size_t(sysconf(_SC_PAGESIZE));
	return (v + page - 1) / page * page;
}

/* The first line of @path as a number; nullopt when absent or not a number ("max"). */
static std::optional<uint64_t> readNumber(const std::string &path)
{
	std::ifstream in(path);
	std::string word;
	if (!(in >> word) || word.empty() || !std::all_of(word.begin(), word.end(), ::isdigit))
		return std::nullopt;
	return std::stoull(word);
}

static std::string mib(uint64_t bytes)
{
	char text[32];
	snprintf(text, sizeof(text), "%.1f MiB", double(bytes) / (1 << 20));
	return text;
}

/*
 * Why an allocation of @request bytes got ENOMEM, when a limit says so: a
 * memory cgroup of this process (capbuf charges its pages to it) whose
 * memory.max leaves less than @request, or capbuf's max_total_size. capbuf's
 * live bytes are in debugfs (root only); without them the limit is named as
 * one possible cause.
 */
/* The value of @key in a file of "key value" lines (memory.events, capbuf's stats). */
static std::optional<uint64_t> readKeyedNumber(const std::string &path, const std::string &key)
{
	std::ifstream in(path);
	uint64_t value;
	for (std::string k; in >> k >> value;)
		if (k == key)
			return value;
	return std::nullopt;
}

static std::string memoryLimitHint(size_t request, bool capbuf)
{
	std::ifstream cgroups("/proc/self/cgroup");
	std::string line, path;
	while (std::getline(cgroups, line))
		if (line.rfind("0::", 0) == 0)
			path = line.substr(3);
	for (; !path.empty(); path = path.substr(0, path.rfind('/'))) {
		std::string dir = "/sys/fs/cgroup" + (path == "/" ? "" : path);
		auto max = readNumber(dir + "/memory.max");
		auto current = readNumber(dir + "/memory.current");
		/*
		 * By the time this runs, reclaim may have brought memory.current
		 * back under the limit: memory.events' "max" counts the times the
		 * cgroup hit it, which says so even then.
		 */
		auto hits = readKeyedNumber(dir + "/memory.events", "max");
		if (max && current && (*current + request > *max || (hits && *hits > 0)))
			return "the memory cgroup " + dir + " has memory.max " + mib(*max) + ", " +
				mib(*current) +
				" in use: raise its memory.max (MemoryMax= in a "
				"systemd unit) or use fewer or smaller buffers";
		if (path == "/")
			break;
	}
	if (!capbuf)
		return "";
	auto limit = readNumber("/sys/module/capbuf/parameters/max_total_size");
	auto live = readKeyedNumber("/sys/kernel/debug/capbuf/stats", "live_bytes");
	const std::string param = " (/sys/module/capbuf/parameters/max_total_size)";
	if (limit && live && *live + request > *limit)
		return "capbuf's max_total_size is " + mib(*limit) + ", " + mib(*live) +
			" of it in use" + param + ": raise it, or use fewer or smaller buffers";
	if (limit && !live)
		return "the system is short of memory, or capbuf's max_total_size of " + mib(*limit) +
			param + " is reached (its use: /sys/kernel/debug/capbuf/stats)";
	return "";
}

BufferLayout BufferLayout::contiguous(const PixelFormat &format, uint32_t width, uint32_t height,
				      uint32_t strideAlign)
{
	std::vector<uint32_t> strides;
	for (unsigned p = 0; p < format.planes; p++)
		strides.push_back(alignUp(format.minStride(p, width), strideAlign));
	return fromStrides(format, width, height, strides);
}

BufferLayout BufferLayout::fromStrides(const PixelFormat &format, uint32_t width, uint32_t height,
				       const std::vector<uint32_t> &strides, size_t minSize)
{
	if (strides.size() != format.planes)
		throw Error("layout: " + std::to_string(format.planes) + " planes of " +
			    format.name + " but " + std::to_string(strides.size()) + " strides");
	BufferLayout l;
	l.format = format;
	l.width = width;
	l.height = height;
	uint32_t offset = 0;
	for (unsigned p = 0; p < format.planes; p++) {
		if (strides[p] < format.minStride(p, width))
			throw Error("layout: stride " + std::to_string(strides[p]) + " of plane " +
				    std::to_string(p) + " is below the " +
				    std::to_string(format.minStride(p, width)) + " bytes " +
				    format.name + " needs at width " + std::to_string(width));
		PlaneLayout pl;
		pl.offset = offset;
		pl.stride = strides[p];
		pl.length = strides[p] * format.planeHeight(p, height);
		offset += pl.length;
		l.planes.push_back(pl);
	}
	l.sizes.push_back(std::max<size_t>(offset, minSize));
	return l;
}

std::string BufferLayout::describe() const
{
	std::ostringstream s;
	s << format.name << ' ' << width << 'x' << height;
	for (unsigned p = 0; p < planes.size(); p++)
		s << " plane" << p << "{buf " << planes[p].buffer << " off " << planes[p].offset
		  << " stride " << planes[p].stride << '}';
	return s.str();
}

/* Wraps dma-buf fds, one per layout.sizes entry, into a DmaBuffer. */
static std::unique_ptr<DmaBuffer> wrap(const BufferLayout &layout, std::vector<UniqueFd> fds,
				       const std::string &exporter)
{
	std::vector<Plane> planes;
	for (const auto &pl : layout.planes) {
		Plane p;
		p.fd = fds.at(pl.buffer).dup();
		p.offset = pl.offset;
		p.stride = pl.stride;
		p.length = pl.length;
		planes.push_back(std::move(p));
	}
	return std::make_unique<DmaBuffer>(layout.format, layout.width, layout.height,
					   std::move(planes), exporter);
}

namespace {

class HeapAllocator : public Allocator
{
public:
	explicit HeapAllocator(const std::string &heap)
	{
		path_ = heap.find('/') == std::string::npos ? "/dev/dma_heap/" + heap : heap;
		name_ = path_.substr(path_.rfind('/') + 1);
		heap_.reset(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
		if (!heap_)
			throwErrno("open", path_,
				   errno == ENOENT ? "no such dma-heap: load capbuf (insmod capbuf.ko) "
						     "or pick another with --alloc"
						   : "");
	}

	std::string name() const override { return name_ + " heap"; }

	std::unique_ptr<DmaBuffer> allocate(const BufferLayout &layout) override
	{
		std::vector<UniqueFd> fds;
		for (size_t size : layout.sizes) {
			struct dma_heap_allocation_data data = {};
			data.len = pageAlign(size);
			data.fd_flags = O_RDWR | O_CLOEXEC;
			if (ioctl(heap_.get(), DMA_HEAP_IOCTL_ALLOC, &data) < 0) {
				int err = errno;
				throw Error("DMA_HEAP_IOCTL_ALLOC(" + std::to_string(data.len) +
						    " bytes)",
					    path_, err,
					    err == ENOMEM
						    ? memoryLimitHint(data.len,
								      name_.rfind("capbuf", 0) == 0)
						    : "");
			}
			fds.emplace_back(int(data.fd));
		}
		return wrap(layout, std::move(fds), name_);
	}

private:
	std::string path_, name_;
	UniqueFd heap_;
};

class UdmabufAllocator : public Allocator
{
public:
	UdmabufAllocator()
	{
		dev_.reset(::open("/dev/udmabuf", O_RDWR | O_CLOEXEC));
		if (!dev_)
			throwErrno("open", "/dev/udmabuf", "the kernel needs CONFIG_UDMABUF");
	}

	std::string name() const override { return "udmabuf"; }

	std::unique_ptr<DmaBuffer> allocate(const BufferLayout &layout) override
	{
		std::vector<UniqueFd> fds;
		for (size_t size : layout.sizes) {
			size = pageAlign(size);
			UniqueFd memfd(
				memfd_create("dmapipe-udmabuf", MFD_CLOEXEC | MFD_ALLOW_SEALING));
			if (!memfd)
				throwErrno("memfd_create", "udmabuf");
			if (ftruncate(memfd.get(), off_t(size)) < 0)
				throwErrno("ftruncate", "memfd");
			/* udmabuf refuses memfds that could shrink under it. */
			if (fcntl(memfd.get(), F_ADD_SEALS, F_SEAL_SHRINK) < 0)
				throwErrno("F_ADD_SEALS", "memfd");
			struct udmabuf_create create = {};
			create.memfd = uint32_t(memfd.get());
			create.flags = UDMABUF_FLAGS_CLOEXEC;
			create.size = size;
			int fd = ioctl(dev_.get(), UDMABUF_CREATE, &create);
			if (fd < 0)
				throwErrno("UDMABUF_CREATE", "/dev/udmabuf");
			fds.emplace_back(fd);
		}
		return wrap(layout, std::move(fds), "udmabuf");
	}

private:
	UniqueFd dev_;
};

} /* namespace */

std::unique_ptr<Allocator> makeHeapAllocator(const std::string &heap)
{
	return std::make_unique<HeapAllocator>(heap);
}

std::unique_ptr<Allocator> makeUdmabufAllocator()
{
	return std::make_unique<UdmabufAllocator>();
}

std::vector<std::string> listHeaps()
{
	std::vector<std::string> heaps;
	DIR *dir = opendir("/dev/dma_heap");
	if (!dir)
		return heaps;
	while (struct dirent *e = readdir(dir))
		if (e->d_name[0] != '.')
			heaps.emplace_back(e->d_name);
	closedir(dir);
	std::sort(heaps.begin(), heaps.end());
	return heaps;
}

bool haveUdmabuf()
{
	return access("/dev/udmabuf", R_OK | W_OK) == 0;
}

} /* namespace dmapipe */
