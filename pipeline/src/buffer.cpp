/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dmapipe/buffer.h"
#include "dmapipe/error.h"

#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

namespace dmapipe {

uint64_t dmabufInode(int fd)
{
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return 0;
	return st.st_ino;
}

std::string dmabufExporter(int fd)
{
	std::ifstream in("/proc/self/fdinfo/" + std::to_string(fd));
	std::string line;
	while (std::getline(in, line)) {
		if (line.rfind("exp_name:", 0) == 0) {
			auto pos = line.find_first_not_of(" \t", 9);
			return pos == std::string::npos ? "" : line.substr(pos);
		}
	}
	return "";
}

bool isDmabuf(int fd)
{
	return !dmabufExporter(fd).empty();
}

DmaBuffer::DmaBuffer(PixelFormat format, uint32_t width, uint32_t height, std::vector<Plane> planes,
		     std::string exporter, uint64_t modifier)
	: format_(format), width_(width), height_(height), modifier_(modifier),
	  planes_(std::move(planes)), exporter_(std::move(exporter))
{
	if (planes_.empty() || !planes_[0].fd)
		throw Error("DmaBuffer: no planes");
	id_ = dmabufInode(planes_[0].fd.get());
	if (exporter_.empty())
		exporter_ = dmabufExporter(planes_[0].fd.get());
	for (const auto &p : planes_) {
		off_t size = lseek(p.fd.get(), 0, SEEK_END);
		sizes_.push_back(size < 0 ? 0 : size_t(size));
		inodes_.push_back(dmabufInode(p.fd.get()));
	}
}

} /* namespace dmapipe */
