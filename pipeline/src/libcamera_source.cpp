/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dmapipe/libcamera_source.h"
#include "dmapipe/error.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <libcamera/camera.h>
#include <libcamera/camera_manager.h>
#include <libcamera/control_ids.h>
#include <libcamera/controls.h>
#include <libcamera/framebuffer.h>
#include <libcamera/framebuffer_allocator.h>
#include <libcamera/request.h>
#include <libcamera/stream.h>

namespace dmapipe {

namespace lc = libcamera;

/*
 * libcamera allows one CameraManager per process: every source shares it,
 * and the last one to go stops it.
 */
static std::shared_ptr<lc::CameraManager> sharedManager()
{
	static std::mutex lock;
	static std::weak_ptr<lc::CameraManager> current;
	std::lock_guard<std::mutex> guard(lock);
	if (auto m = current.lock())
		return m;
	auto *cm = new lc::CameraManager();
	int ret = cm->start();
	if (ret < 0) {
		delete cm;
		throw Error("CameraManager::start", "libcamera", -ret);
	}
	std::shared_ptr<lc::CameraManager> m(cm, [](lc::CameraManager *c) {
		c->stop();
		delete c;
	});
	current = m;
	return m;
}

static uint64_t nowNs()
{
	timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

static bool allDigits(const std::string &s)
{
	return !s.empty() &&
		std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/* "platform/vimc.0 Sensor B" -> "vimc"; other ids name no driver. */
static std::string driverFromId(const std::string &id)
{
	const std::string platform = "platform/";
	if (id.rfind(platform, 0) == 0) {
		size_t end = id.find_first_of(". ", platform.size());
		return id.substr(platform.size(),
				 end == std::string::npos ? std::string::npos
							  : end - platform.size());
	}
	return "libcamera";
}

static std::string cameraList(const std::vector<std::shared_ptr<lc::Camera>> &cameras)
{
	std::string s;
	for (size_t i = 0; i < cameras.size(); i++)
		s += (s.empty() ? "" : ", ") + std::to_string(i) + ": \"" + cameras[i]->id() + "\"";
	return s;
}

LibcameraSource::LibcameraSource(const std::string &idOrIndex)
{
	manager_ = sharedManager();
	auto cameras = manager_->cameras();
	if (cameras.empty())
		throw Error(
			"libcamera found no camera (vimc needs udev running to be enumerated; `cam -l` lists them)");
	if (idOrIndex.empty()) {
		camera_ = cameras[0];
	} else if (allDigits(idOrIndex)) {
		size_t n = *parseSourceSpec("libcamera:" + idOrIndex).index;
		if (n >= cameras.size())
			throw Error("libcamera:" + idOrIndex + ": there are " +
				    std::to_string(cameras.size()) + " cameras (" +
				    cameraList(cameras) + ")");
		camera_ = cameras[n];
	} else {
		camera_ = manager_->get(idOrIndex);
		/* Part of an id ("vimc", "Sensor B") when it names exactly one camera. */
		if (!camera_) {
			std::shared_ptr<lc::Camera> match;
			unsigned matches = 0;
			for (const auto &c : cameras)
				if (c->id().find(idOrIndex) != std::string::npos) {
					match = c;
					matches++;
				}
			if (matches == 1)
				camera_ = match;
		}
		if (!camera_)
			throw Error("libcamera:" + idOrIndex + ": no such camera (" +
				    cameraList(cameras) + ")");
	}
	id_ = camera_->id();
	path_ = "libcamera:" + id_;
	driver_ = driverFromId(id_);

	int ret = camera_->acquire();
	if (ret < 0) {
		camera_.reset();
		throw Error("Camera::acquire", path_, -ret,
			    "another process or source holds the camera");
	}
	acquired_ = true;

	eventFd_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (!eventFd_) {
		camera_->release();
		throwErrno("eventfd", path_);
	}

	config_ = camera_->generateConfiguration({ lc::StreamRole::Viewfinder });
	if (!config_ || config_->empty()) {
		camera_->release();
		throw Error(path_ + ": no configuration for the viewfinder role");
	}
	config_->validate();
	const lc::StreamConfiguration &cfg = config_->at(0);
	if (auto pf = formatFromDrm(cfg.pixelFormat.fourcc())) {
		format_.format = *pf;
		format_.v4l2Fourcc = pf->v4l2;
	}
	format_.width = cfg.size.width;
	format_.height = cfg.size.height;
	format_.strides = { cfg.stride };
	format_.sizes = { cfg.frameSize };

	camera_->requestCompleted.connect(this, &LibcameraSource::onRequestCompleted);
	camera_->disconnected.connect(this, &LibcameraSource::onDisconnected);
}

LibcameraSource::~LibcameraSource()
{
	try {
		if (streaming_)
			stop();
	} catch (const Error &) {
	}
	if (camera_) {
		camera_->requestCompleted.disconnect(this, &LibcameraSource::onRequestCompleted);
		camera_->disconnected.disconnect(this, &LibcameraSource::onDisconnected);
		releaseBuffers();
		if (acquired_)
			camera_->release();
	}
	config_.reset();
	camera_.reset();
	/* The manager goes when the last source lets go of it. */
	manager_.reset();
}

std::vector<uint32_t> LibcameraSource::formats() const
{
	std::vector<uint32_t> out;
	auto add = [&](const lc::PixelFormat &f) {
		if (f.modifier())
			return;
		auto pf = formatFromDrm(f.fourcc());
		if (pf && std::find(out.begin(), out.end(), pf->v4l2) == out.end())
			out.push_back(pf->v4l2);
	};
	const lc::StreamConfiguration &cfg = config_->at(0);
	/* The camera's default first: its preference. */
	add(cfg.pixelFormat);
	for (const lc::PixelFormat &f : cfg.formats().pixelformats())
		add(f);
	return out;
}

std::vector<FrameSize> LibcameraSource::frameSizes(uint32_t v4l2Fourcc) const
{
	auto pf = formatFromV4l2(v4l2Fourcc);
	if (!pf)
		return {};
	const lc::PixelFormat want(pf->drm);
	/* A fresh configuration to validate on: config_ is the one in use. */
	std::unique_ptr<lc::CameraConfiguration> probe =
		camera_->generateConfiguration({ lc::StreamRole::Viewfinder });
	if (!probe || probe->empty())
		return {};
	lc::StreamConfiguration &cfg = probe->at(0);
	std::vector<lc::Size> candidates = { cfg.size };
	for (const lc::Size &s : cfg.formats().sizes(want))
		candidates.push_back(s);
	const lc::SizeRange range = cfg.formats().range(want);
	candidates.push_back(range.min);
	candidates.push_back(range.max);

	/* Only sizes validate() leaves alone: anything else would fail at setFormat. */
	std::vector<FrameSize> out;
	for (const lc::Size &s : candidates) {
		if (s.isNull())
			continue;
		cfg.pixelFormat = want;
		cfg.size = s;
		if (probe->validate() == lc::CameraConfiguration::Invalid ||
		    cfg.pixelFormat != want || cfg.size != s)
			continue;
		bool dup = std::any_of(out.begin(), out.end(), [&](const FrameSize &f) {
			return f.width == s.width && f.height == s.height;
		});
		if (!dup)
			out.push_back({ s.width, s.height });
	}
	return out;
}

std::vector<double> LibcameraSource::frameRates(uint32_t, uint32_t, uint32_t) const
{
	const lc::ControlInfoMap &ctrls = camera_->controls();
	auto it = ctrls.find(&lc::controls::FrameDurationLimits);
	if (it == ctrls.end())
		return {};
	int64_t minUs = it->second.min().get<int64_t>();
	int64_t maxUs = it->second.max().get<int64_t>();
	std::vector<double> out;
	if (maxUs > 0)
		out.push_back(1e6 / double(maxUs));
	if (minUs > 0 && minUs != maxUs)
		out.push_back(1e6 / double(minUs));
	return out;
}

double LibcameraSource::setFrameRate(double fps)
{
	const lc::ControlInfoMap &ctrls = camera_->controls();
	auto it = ctrls.find(&lc::controls::FrameDurationLimits);
	if (it == ctrls.end() || fps <= 0) {
		frameDurationUs_ = 0;
		fps_ = 0;
		return 0;
	}
	int64_t minUs = it->second.min().get<int64_t>();
	int64_t maxUs = it->second.max().get<int64_t>();
	int64_t us = int64_t(std::llround(1e6 / fps));
	if (minUs > 0)
		us = std::max(us, minUs);
	if (maxUs > 0)
		us = std::min(us, maxUs);
	frameDurationUs_ = us;
	fps_ = 1e6 / double(us);
	return fps_;
}

CaptureFormat LibcameraSource::setFormat(uint32_t v4l2Fourcc, uint32_t width, uint32_t height,
					 const std::vector<uint32_t> &strides)
{
	if (streaming_)
		throw Error(path_ + ": setFormat while streaming");
	auto pf = formatFromV4l2(v4l2Fourcc);
	if (!pf)
		throw Error("format " + fourccToString(v4l2Fourcc) +
			    " has no DRM (libcamera) equivalent");
	/* Asked again for what is configured (a stride check): nothing to redo. */
	if (configured_ && format_.v4l2Fourcc == pf->v4l2 && (!width || width == format_.width) &&
	    (!height || height == format_.height) &&
	    (strides.empty() || strides[0] == format_.strides[0]))
		return format_;

	lc::StreamConfiguration &cfg = config_->at(0);
	lc::PixelFormat want(pf->drm);
	cfg.pixelFormat = want;
	if (width && height)
		cfg.size = lc::Size(width, height);
	lc::CameraConfiguration::Status status = config_->validate();
	if (status == lc::CameraConfiguration::Invalid)
		throw Error(path_ + ": libcamera rejects " + std::string(pf->name) + " " +
			    cfg.size.toString() + " as invalid");
	if (cfg.pixelFormat != want)
		throw Error(path_ + " (" + driver_ + ") does not capture " + pf->name +
			    " (libcamera " + want.toString() + "); it offered " +
			    cfg.pixelFormat.toString());

	/* New buffers are needed after reconfiguring: drop the old ones first. */
	releaseBuffers();
	int ret = camera_->configure(config_.get());
	if (ret < 0)
		throw Error("Camera::configure(" + cfg.toString() + ")", path_, -ret);
	stream_ = cfg.stream();
	configured_ = true;
	limit_ = std::max(1u, cfg.bufferCount);

	CaptureFormat c;
	c.format = *pf;
	c.v4l2Fourcc = pf->v4l2;
	c.width = cfg.size.width;
	c.height = cfg.size.height;
	/* libcamera gives plane 0's stride and the whole frame's size, like a single-buffer V4L2 format. */
	c.strides = { cfg.stride };
	c.sizes = { cfg.frameSize };
	c.multiplanar = false;
	format_ = c;
	return c;
}

void LibcameraSource::releaseBuffers()
{
	if (streaming_)
		throw Error(path_ + ": buffers released while streaming");
	requests_.clear();
	frameBuffers_.clear();
	imported_.clear();
	if (allocator_) {
		if (stream_)
			allocator_->free(stream_);
		allocator_.reset();
	}
	pending_.clear();
	owned_.clear();
	queued_ = 0;
	std::lock_guard<std::mutex> guard(lock_);
	completed_.clear();
	inflight_ = 0;
}

void LibcameraSource::makeRequests()
{
	requests_.clear();
	for (size_t i = 0; i < frameBuffers_.size(); i++) {
		std::unique_ptr<lc::Request> r = camera_->createRequest(i);
		if (!r)
			throw Error(path_ + ": Camera::createRequest failed");
		int ret = r->addBuffer(stream_, frameBuffers_[i]);
		if (ret < 0)
			throw Error("Request::addBuffer", path_, -ret);
		requests_.push_back(std::move(r));
	}
	owned_.assign(requests_.size(), false);
}

void LibcameraSource::importBuffers(const std::vector<const DmaBuffer *> &buffers)
{
	if (!configured_)
		throw Error(path_ + ": importBuffers before setFormat");
	releaseBuffers();
	try {
		for (size_t i = 0; i < buffers.size(); i++) {
			const DmaBuffer &b = *buffers[i];
			std::vector<lc::FrameBuffer::Plane> planes;
			for (const Plane &p : b.planes()) {
				lc::FrameBuffer::Plane lp;
				lp.fd = lc::SharedFD(p.fd.get()); /* dups: libcamera owns its copy */
				if (!lp.fd.isValid())
					throwErrno("dup", path_);
				lp.offset = p.offset;
				lp.length = p.length;
				planes.push_back(std::move(lp));
			}
			if (planes[0].length < format_.sizes[0] && planes.size() == 1)
				planes[0].length = format_.sizes[0];
			auto fb = std::make_unique<lc::FrameBuffer>(planes, unsigned(i));
			frameBuffers_.push_back(fb.get());
			imported_.push_back(std::move(fb));
		}
		makeRequests();
	} catch (...) {
		releaseBuffers();
		throw;
	}
}

std::vector<std::unique_ptr<DmaBuffer>> LibcameraSource::exportBuffers(unsigned count)
{
	(void)count; /* the pipeline handler decides: StreamConfiguration::bufferCount */
	if (!configured_)
		throw Error(path_ + ": exportBuffers before setFormat");
	releaseBuffers();
	allocator_ = std::make_unique<lc::FrameBufferAllocator>(camera_);
	int ret = allocator_->allocate(stream_);
	if (ret < 0) {
		allocator_.reset();
		throw Error("FrameBufferAllocator::allocate", path_, -ret);
	}
	std::vector<std::unique_ptr<DmaBuffer>> out;
	try {
		const PixelFormat &pf = format_.format;
		const auto &fbs = allocator_->buffers(stream_);
		for (size_t i = 0; i < fbs.size(); i++) {
			lc::FrameBuffer *fb = fbs[i].get();
			fb->setCookie(i);
			const auto &lps = fb->planes();
			std::vector<Plane> planes;
			uint32_t offset = 0;
			for (unsigned p = 0; p < pf.planes; p++) {
				/* One libcamera plane per colour plane, or one holding them all. */
				bool perPlane = lps.size() == pf.planes;
				const lc::FrameBuffer::Plane &lp = lps[perPlane ? p : 0];
				Plane pl;
				pl.fd = UniqueFd(fcntl(lp.fd.get(), F_DUPFD_CLOEXEC, 0));
				if (!pl.fd)
					throwErrno("F_DUPFD_CLOEXEC", path_);
				pl.stride = pf.impliedStride(p, format_.strides[0]);
				pl.offset = perPlane ? lp.offset : lp.offset + offset;
				pl.length = perPlane ? lp.length
						     : pl.stride * pf.planeHeight(p, format_.height);
				offset += pl.stride * pf.planeHeight(p, format_.height);
				planes.push_back(std::move(pl));
			}
			auto buf = std::make_unique<DmaBuffer>(pf, format_.width, format_.height,
							       std::move(planes), "");
			buf->index = unsigned(i);
			frameBuffers_.push_back(fb);
			out.push_back(std::move(buf));
		}
		makeRequests();
	} catch (...) {
		out.clear();
		releaseBuffers();
		throw;
	}
	return out;
}

/* libcamera's thread: the next dequeue() reports it. */
void LibcameraSource::onDisconnected()
{
	std::lock_guard<std::mutex> guard(lock_);
	disconnected_ = true;
	uint64_t one = 1;
	ssize_t r = write(eventFd_.get(), &one, sizeof(one));
	(void)r;
}

/* libcamera's thread: never blocks on the pipeline. */
void LibcameraSource::onRequestCompleted(lc::Request *request)
{
	std::lock_guard<std::mutex> guard(lock_);
	if (inflight_)
		inflight_--;
	if (request->status() == lc::Request::RequestCancelled)
		cancelled_++;
	completed_.push_back(request);
	uint64_t one = 1;
	ssize_t r = write(eventFd_.get(), &one, sizeof(one));
	(void)r;
}

void LibcameraSource::submitPending()
{
	while (streaming_ && !pending_.empty()) {
		{
			std::lock_guard<std::mutex> guard(lock_);
			if (inflight_ >= limit_)
				return;
			inflight_++;
		}
		unsigned index = pending_.front();
		pending_.pop_front();
		lc::Request *r = requests_[index].get();
		r->reuse(lc::Request::ReuseBuffers);
		int ret = camera_->queueRequest(r);
		if (ret < 0) {
			{
				std::lock_guard<std::mutex> guard(lock_);
				inflight_--;
			}
			queued_--;
			owned_[index] = false;
			throw Error("Camera::queueRequest", path_, -ret);
		}
	}
}

void LibcameraSource::queue(unsigned index)
{
	if (index >= requests_.size())
		throw Error("queue: buffer " + std::to_string(index) + " of " +
			    std::to_string(requests_.size()) + " on " + path_);
	if (owned_[index])
		throw Error("queue: buffer " + std::to_string(index) + " is already queued on " +
			    path_);
	owned_[index] = true;
	pending_.push_back(index);
	queued_++;
	submitPending();
}

bool LibcameraSource::dequeue(FrameInfo &info, bool *error)
{
	lc::Request *r;
	{
		std::lock_guard<std::mutex> guard(lock_);
		if (completed_.empty()) {
			if (disconnected_)
				throw Error(path_ + " (" + driver_ + "): the camera was disconnected");
			return false;
		}
		r = completed_.front();
		completed_.pop_front();
		/* Readable while frames wait (one dequeue per wake-up is fine) or after a disconnect. */
		if (completed_.empty() && !disconnected_) {
			uint64_t n;
			ssize_t ret = read(eventFd_.get(), &n, sizeof(n));
			(void)ret;
		}
	}
	queued_--;
	unsigned index = unsigned(r->cookie());
	owned_.at(index) = false;
	const lc::FrameBuffer *fb = frameBuffers_.at(index);
	const lc::FrameMetadata &md = fb->metadata();
	info.index = index;
	info.sequence = md.sequence;
	info.timestampNs = md.timestamp;
	info.bytesused = 0;
	for (const auto &p : md.planes())
		info.bytesused += p.bytesused;
	info.dequeuedNs = nowNs();
	bool failed = r->status() != lc::Request::RequestComplete ||
		md.status != lc::FrameMetadata::FrameSuccess;
	if (!failed) {
		if (haveLastSeq_ && md.sequence > lastSeq_ + 1)
			gaps_ += md.sequence - lastSeq_ - 1;
		haveLastSeq_ = true;
		lastSeq_ = md.sequence;
	}
	if (error)
		*error = failed;
	/* A slot in the pipeline handler is free: give it what waits here. */
	submitPending();
	return true;
}

void LibcameraSource::start()
{
	if (!configured_ || requests_.empty())
		throw Error(path_ + ": start before setFormat and buffers");
	int ret;
	if (frameDurationUs_) {
		lc::ControlList controls(lc::controls::controls);
		int64_t d[2] = { frameDurationUs_, frameDurationUs_ };
		controls.set(lc::controls::FrameDurationLimits, lc::Span<const int64_t, 2>(d));
		ret = camera_->start(&controls);
	} else {
		ret = camera_->start();
	}
	if (ret < 0)
		throw Error("Camera::start", path_, -ret);
	streaming_ = true;
	haveLastSeq_ = false;
	submitPending();
}

void LibcameraSource::stop()
{
	bool wasStreaming = streaming_;
	streaming_ = false;
	int ret = 0;
	/* Blocks until libcamera has completed (cancelled) every queued request. */
	if (wasStreaming)
		ret = camera_->stop();
	pending_.clear();
	owned_.assign(owned_.size(), false);
	queued_ = 0;
	{
		std::lock_guard<std::mutex> guard(lock_);
		completed_.clear();
		inflight_ = 0;
		uint64_t n;
		ssize_t r = read(eventFd_.get(), &n, sizeof(n));
		(void)r;
	}
	if (ret < 0)
		throw Error("Camera::stop", path_, -ret);
}

std::unique_ptr<Source> openSource(const std::string &name)
{
	SourceSpec spec = parseSourceSpec(name);
	if (spec.libcamera)
		return std::make_unique<LibcameraSource>(spec.name);
	return std::make_unique<V4l2Capture>(name);
}

} /* namespace dmapipe */
