/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dmapipe/v4l2_capture.h"
#include "dmapipe/config.h"
#include "dmapipe/error.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <dirent.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace dmapipe {

static int retryIoctl(int fd, unsigned long request, void *arg)
{
	int ret;
	do {
		ret = ioctl(fd, request, arg);
	} while (ret < 0 && errno == EINTR);
	return ret;
}

static bool queryCap(int fd, v4l2_capability &cap)
{
	memset(&cap, 0, sizeof(cap));
	if (retryIoctl(fd, VIDIOC_QUERYCAP, &cap) < 0)
		return false;
	uint32_t caps =
		(cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities;
	return (caps & (V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_VIDEO_CAPTURE_MPLANE)) &&
		(caps & V4L2_CAP_STREAMING);
}

static std::vector<std::string> videoNodes()
{
	std::vector<std::string> nodes;
	DIR *dir = opendir("/dev");
	if (!dir)
		return nodes;
	while (struct dirent *e = readdir(dir))
		if (strncmp(e->d_name, "video", 5) == 0)
			nodes.push_back(std::string("/dev/") + e->d_name);
	closedir(dir);
	/* /dev/video2 before /dev/video10 */
	std::sort(nodes.begin(), nodes.end(), [](const std::string &a, const std::string &b) {
		return a.size() != b.size() ? a.size() < b.size() : a < b;
	});
	return nodes;
}

std::vector<CaptureDeviceInfo> listCaptureDevices()
{
	std::vector<CaptureDeviceInfo> out;
	for (const auto &node : videoNodes()) {
		UniqueFd fd(::open(node.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
		v4l2_capability cap;
		if (fd && queryCap(fd.get(), cap))
			out.push_back({ node, reinterpret_cast<const char *>(cap.driver),
					reinterpret_cast<const char *>(cap.card) });
	}
	return out;
}

bool V4l2Capture::open(const std::string &path)
{
	fd_.reset(::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
	if (!fd_)
		throwErrno("open", path);
	v4l2_capability cap;
	if (!queryCap(fd_.get(), cap)) {
		fd_.reset();
		return false;
	}
	uint32_t caps =
		(cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities;
	mplane_ = !(caps & V4L2_CAP_VIDEO_CAPTURE);
	path_ = path;
	driver_ = reinterpret_cast<const char *>(cap.driver);
	card_ = reinterpret_cast<const char *>(cap.card);
	return true;
}

V4l2Capture::V4l2Capture(const std::string &pathOrName)
{
	if (!pathOrName.empty() && pathOrName[0] == '/') {
		if (!open(pathOrName))
			throw Error(pathOrName +
				    " is not a V4L2 video capture device with streaming I/O");
	} else {
		for (const auto &d : listCaptureDevices()) {
			if (pathOrName.empty() ||
			    strcasecmp(d.driver.c_str(), pathOrName.c_str()) == 0 ||
			    strcasestr(d.card.c_str(), pathOrName.c_str())) {
				if (open(d.path))
					break;
			}
		}
		if (!fd_)
			throw Error(pathOrName.empty()
					    ? "no V4L2 capture device found under /dev/video*"
					    : "no V4L2 capture device with driver or card \"" +
						    pathOrName +
						    "\" (`dmapipe-cam --list` lists them)");
	}
	format_ = currentFormat();
}

V4l2Capture::~V4l2Capture()
{
	try {
		if (streaming_)
			stop();
		if (count_)
			releaseBuffers();
	} catch (const Error &) {
		/* The device may be gone; closing the fd releases everything. */
	}
}

uint32_t V4l2Capture::bufType() const
{
	return mplane_ ? V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE : V4L2_BUF_TYPE_VIDEO_CAPTURE;
}

void V4l2Capture::xioctl(unsigned long request, void *arg, const char *name) const
{
	if (retryIoctl(fd_.get(), request, arg) < 0) {
		/* Whichever call meets the unplug first says so (QBUF from a flip, on 6.12). */
		int err = errno;
		throw Error(name, path_ + " (" + driver_ + ")", err,
			    err == ENODEV ? "the device was disconnected" : "");
	}
}

std::vector<uint32_t> V4l2Capture::formats() const
{
	std::vector<uint32_t> out;
	for (uint32_t i = 0;; i++) {
		v4l2_fmtdesc d = {};
		d.index = i;
		d.type = bufType();
		if (retryIoctl(fd_.get(), VIDIOC_ENUM_FMT, &d) < 0)
			break;
		out.push_back(d.pixelformat);
	}
	return out;
}

std::vector<FrameSize> V4l2Capture::frameSizes(uint32_t fourcc) const
{
	std::vector<FrameSize> out;
	for (uint32_t i = 0;; i++) {
		v4l2_frmsizeenum s = {};
		s.index = i;
		s.pixel_format = fourcc;
		if (retryIoctl(fd_.get(), VIDIOC_ENUM_FRAMESIZES, &s) < 0)
			break;
		if (s.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
			out.push_back({ s.discrete.width, s.discrete.height });
		} else {
			out.push_back({ s.stepwise.min_width, s.stepwise.min_height });
			out.push_back({ s.stepwise.max_width, s.stepwise.max_height });
			break;
		}
	}
	return out;
}

std::vector<double> V4l2Capture::frameRates(uint32_t fourcc, uint32_t width, uint32_t height) const
{
	std::vector<double> out;
	for (uint32_t i = 0;; i++) {
		v4l2_frmivalenum f = {};
		f.index = i;
		f.pixel_format = fourcc;
		f.width = width;
		f.height = height;
		if (retryIoctl(fd_.get(), VIDIOC_ENUM_FRAMEINTERVALS, &f) < 0)
			break;
		const v4l2_fract &t =
			f.type == V4L2_FRMIVAL_TYPE_DISCRETE ? f.discrete : f.stepwise.min;
		if (t.numerator)
			out.push_back(double(t.denominator) / t.numerator);
		if (f.type != V4L2_FRMIVAL_TYPE_DISCRETE)
			break;
	}
	return out;
}

static CaptureFormat fromV4l2(const v4l2_format &f, bool mplane)
{
	CaptureFormat c;
	c.multiplanar = mplane;
	if (mplane) {
		const auto &p = f.fmt.pix_mp;
		c.v4l2Fourcc = p.pixelformat;
		c.width = p.width;
		c.height = p.height;
		for (unsigned i = 0; i < p.num_planes; i++) {
			c.strides.push_back(p.plane_fmt[i].bytesperline);
			c.sizes.push_back(p.plane_fmt[i].sizeimage);
		}
		c.colorspace = p.colorspace;
		c.ycbcrEnc = p.ycbcr_enc;
		c.quantization = p.quantization;
	} else {
		const auto &p = f.fmt.pix;
		c.v4l2Fourcc = p.pixelformat;
		c.width = p.width;
		c.height = p.height;
		c.strides.push_back(p.bytesperline);
		c.sizes.push_back(p.sizeimage);
		c.colorspace = p.colorspace;
		c.ycbcrEnc = p.ycbcr_enc;
		c.quantization = p.quantization;
	}
	if (auto pf = formatFromV4l2(c.v4l2Fourcc))
		c.format = *pf;
	return c;
}

CaptureFormat V4l2Capture::currentFormat() const
{
	v4l2_format f = {};
	f.type = bufType();
	xioctl(VIDIOC_G_FMT, &f, "VIDIOC_G_FMT");
	return fromV4l2(f, mplane_);
}

CaptureFormat V4l2Capture::setFormat(uint32_t fourcc, uint32_t width, uint32_t height,
				     const std::vector<uint32_t> &strides)
{
	v4l2_format f = {};
	f.type = bufType();
	xioctl(VIDIOC_G_FMT, &f, "VIDIOC_G_FMT");
	if (mplane_) {
		auto &p = f.fmt.pix_mp;
		p.pixelformat = fourcc;
		if (width && height) {
			p.width = width;
			p.height = height;
		}
		p.field = V4L2_FIELD_NONE;
		for (unsigned i = 0; i < VIDEO_MAX_PLANES; i++) {
			p.plane_fmt[i].bytesperline = i < strides.size() ? strides[i] : 0;
			p.plane_fmt[i].sizeimage = 0;
		}
	} else {
		auto &p = f.fmt.pix;
		p.pixelformat = fourcc;
		if (width && height) {
			p.width = width;
			p.height = height;
		}
		p.field = V4L2_FIELD_NONE;
		p.bytesperline = strides.empty() ? 0 : strides[0];
		p.sizeimage = 0;
	}
	xioctl(VIDIOC_S_FMT, &f, "VIDIOC_S_FMT");
	CaptureFormat c = fromV4l2(f, mplane_);
	if (c.v4l2Fourcc != fourcc)
		throw Error(path_ + " (" + driver_ + ") does not capture " +
			    fourccToString(fourcc) + "; it offered " + fourccToString(c.v4l2Fourcc));
	if (!c.format.name)
		throw Error("format " + fourccToString(fourcc) + " has no DRM equivalent");
	format_ = c;
	return c;
}

bool V4l2Capture::supportsDmabufImport() const
{
	if (count_)
		return memory_ == V4L2_MEMORY_DMABUF;
	/* REQBUFS with count 0 frees nothing and fails when the memory type is unsupported. */
	v4l2_requestbuffers req = {};
	req.type = bufType();
	req.memory = V4L2_MEMORY_DMABUF;
	return retryIoctl(fd_.get(), VIDIOC_REQBUFS, &req) == 0;
}

double V4l2Capture::setFrameRate(double fps)
{
	v4l2_streamparm parm = {};
	parm.type = bufType();
	if (retryIoctl(fd_.get(), VIDIOC_G_PARM, &parm) < 0 ||
	    !(parm.parm.capture.capability & V4L2_CAP_TIMEPERFRAME))
		return 0;
	parm.parm.capture.timeperframe.numerator = 1000;
	parm.parm.capture.timeperframe.denominator = uint32_t(fps * 1000 + 0.5);
	xioctl(VIDIOC_S_PARM, &parm, "VIDIOC_S_PARM");
	const v4l2_fract &t = parm.parm.capture.timeperframe;
	return t.numerator ? double(t.denominator) / t.numerator : 0;
}

void V4l2Capture::importBuffers(const std::vector<const DmaBuffer *> &buffers)
{
	if (count_)
		releaseBuffers();
	v4l2_requestbuffers req = {};
	req.count = uint32_t(buffers.size());
	req.type = bufType();
	req.memory = V4L2_MEMORY_DMABUF;
	xioctl(VIDIOC_REQBUFS, &req, "VIDIOC_REQBUFS(DMABUF)");
	memory_ = V4L2_MEMORY_DMABUF;
	count_ = req.count;
	if (req.count < buffers.size()) {
		releaseBuffers();
		throw Error(path_ + " took " + std::to_string(req.count) + " of " +
			    std::to_string(buffers.size()) + " DMABUF buffers");
	}
	imported_ = buffers;

	/*
	 * vb2 maps an imported dma-buf when the buffer is first prepared: do it
	 * now, so that memory the device cannot reach (scattered pages on a
	 * device without an IOMMU) fails here, where the caller can choose
	 * another exporter, and not at the first QBUF of streaming.
	 */
	for (unsigned i = 0; i < count_; i++) {
		v4l2_buffer b = {};
		v4l2_plane planes[VIDEO_MAX_PLANES] = {};
		fillBuffer(b, planes, i);
		if (retryIoctl(fd_.get(), VIDIOC_PREPARE_BUF, &b) == 0)
			continue;
		int err = errno;
		if (err == ENOTTY)
			break; /* the driver has no PREPARE_BUF: QBUF maps */
		releaseBuffers();
		throw Error("VIDIOC_PREPARE_BUF", path_ + " (" + driver_ + ")", err,
			    "it cannot map buffer " + std::to_string(i) + " from " +
				    buffers[i]->exporter() +
				    (err == EFAULT ? "; a device without an IOMMU needs physically "
						     "contiguous buffers"
						   : ""));
	}
}

std::vector<std::unique_ptr<DmaBuffer>> V4l2Capture::exportBuffers(unsigned count)
{
	if (count_)
		releaseBuffers();
	v4l2_requestbuffers req = {};
	req.count = count;
	req.type = bufType();
	req.memory = V4L2_MEMORY_MMAP;
	xioctl(VIDIOC_REQBUFS, &req, "VIDIOC_REQBUFS(MMAP)");
	memory_ = V4L2_MEMORY_MMAP;
	count_ = req.count;

	std::vector<std::unique_ptr<DmaBuffer>> out;
	try {
		unsigned nplanes = mplane_ ? unsigned(format_.strides.size()) : 1;
		for (unsigned i = 0; i < count_; i++) {
			std::vector<UniqueFd> fds;
			for (unsigned p = 0; p < nplanes; p++) {
				v4l2_exportbuffer e = {};
				e.type = bufType();
				e.index = i;
				e.plane = p;
				e.flags = O_RDWR | O_CLOEXEC;
				xioctl(VIDIOC_EXPBUF, &e, "VIDIOC_EXPBUF");
				fds.emplace_back(e.fd);
			}
			/* One V4L2 plane holds all colour planes unless the API is multi-planar per plane. */
			std::vector<Plane> planes;
			const PixelFormat &pf = format_.format;
			uint32_t offset = 0;
			for (unsigned p = 0; p < pf.planes; p++) {
				Plane pl;
				bool perPlane = nplanes == pf.planes && nplanes > 1;
				pl.fd = fds[perPlane ? p : 0].dup();
				pl.stride = perPlane ? format_.strides[p]
						     : pf.impliedStride(p, format_.strides[0]);
				pl.offset = perPlane ? 0 : offset;
				pl.length = pl.stride * pf.planeHeight(p, format_.height);
				offset += pl.length;
				planes.push_back(std::move(pl));
			}
			auto buf = std::make_unique<DmaBuffer>(pf, format_.width, format_.height,
							       std::move(planes), driver_);
			buf->index = i;
			out.push_back(std::move(buf));
		}
	} catch (...) {
		out.clear();
		releaseBuffers();
		throw;
	}
	return out;
}

void V4l2Capture::releaseBuffers()
{
	v4l2_requestbuffers req = {};
	req.count = 0;
	req.type = bufType();
	req.memory = memory_ ? memory_ : uint32_t(V4L2_MEMORY_MMAP);
	count_ = 0;
	queued_ = 0;
	imported_.clear();
	xioctl(VIDIOC_REQBUFS, &req, "VIDIOC_REQBUFS(0)");
}

void V4l2Capture::fillBuffer(v4l2_buffer &b, v4l2_plane *planes, unsigned index) const
{
	b.type = bufType();
	b.memory = memory_;
	b.index = index;
	if (memory_ == V4L2_MEMORY_DMABUF) {
		const DmaBuffer *buf = imported_[index];
		if (mplane_) {
			unsigned n = unsigned(format_.strides.size());
			bool perPlane = n == buf->planes().size() && n > 1;
			for (unsigned p = 0; p < n; p++) {
				const Plane &pl = buf->planes()[perPlane ? p : 0];
				planes[p].m.fd = pl.fd.get();
				planes[p].length = uint32_t(buf->dmabufSize(perPlane ? p : 0));
				planes[p].data_offset = 0;
			}
			b.m.planes = planes;
			b.length = n;
		} else {
			b.m.fd = buf->planes()[0].fd.get();
			b.length = uint32_t(buf->dmabufSize(0));
		}
	} else if (mplane_) {
		b.m.planes = planes;
		b.length = unsigned(format_.strides.size());
	}
}

void V4l2Capture::queue(unsigned index)
{
	if (index >= count_)
		throw Error("queue: buffer " + std::to_string(index) + " of " +
			    std::to_string(count_) + " on " + path_);
	v4l2_buffer b = {};
	v4l2_plane planes[VIDEO_MAX_PLANES] = {};
	fillBuffer(b, planes, index);
	xioctl(VIDIOC_QBUF, &b, "VIDIOC_QBUF");
	queued_++;
}

bool V4l2Capture::dequeue(FrameInfo &info, bool *error)
{
	v4l2_buffer b = {};
	v4l2_plane planes[VIDEO_MAX_PLANES] = {};
	b.type = bufType();
	b.memory = memory_;
	if (mplane_) {
		b.m.planes = planes;
		b.length = VIDEO_MAX_PLANES;
	}
	if (retryIoctl(fd_.get(), VIDIOC_DQBUF, &b) < 0) {
		if (errno == EAGAIN)
			return false;
		throwErrno("VIDIOC_DQBUF", path_ + " (" + driver_ + ")",
			   errno == ENODEV ? "the device was disconnected" : "");
	}
	queued_--;
	info.index = b.index;
	info.sequence = b.sequence;
	info.timestampNs = uint64_t(b.timestamp.tv_sec) * 1000000000ull +
		uint64_t(b.timestamp.tv_usec) * 1000ull;
	info.bytesused = mplane_ ? planes[0].bytesused : b.bytesused;
	timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	info.dequeuedNs = uint64_t(now.tv_sec) * 1000000000ull + uint64_t(now.tv_nsec);
	if (haveLastSeq_ && b.sequence > lastSeq_ + 1)
		gaps_ += b.sequence - lastSeq_ - 1;
	haveLastSeq_ = true;
	lastSeq_ = b.sequence;
	if (error)
		*error = b.flags & V4L2_BUF_FLAG_ERROR;
	return true;
}

void V4l2Capture::checkAlive() const
{
	v4l2_capability cap;
	memset(&cap, 0, sizeof(cap));
	if (retryIoctl(fd_.get(), VIDIOC_QUERYCAP, &cap) < 0 && errno == ENODEV)
		throwErrno("VIDIOC_QUERYCAP", path_ + " (" + driver_ + ")",
			   "the device was disconnected");
}

void V4l2Capture::start()
{
	uint32_t type = bufType();
	xioctl(VIDIOC_STREAMON, &type, "VIDIOC_STREAMON");
	streaming_ = true;
	haveLastSeq_ = false;
}

void V4l2Capture::stop()
{
	uint32_t type = bufType();
	streaming_ = false;
	queued_ = 0;
	xioctl(VIDIOC_STREAMOFF, &type, "VIDIOC_STREAMOFF");
}

} /* namespace dmapipe */

namespace dmapipe {

#if !DMAPIPE_HAVE_LIBCAMERA
std::unique_ptr<Source> openSource(const std::string &name)
{
	if (name.rfind("libcamera:", 0) == 0)
		throw Error("\"" + name + "\": this build of libdmapipe has no libcamera support");
	return std::make_unique<V4l2Capture>(name);
}
#endif

} /* namespace dmapipe */
