/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dmapipe/error.h"
#include "dmapipe/pipeline_private.h"
#include "dmapipe/stages.h"
#include "log_internal.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <drm_fourcc.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

namespace dmapipe {

const char *allocStrategyName(AllocStrategy s)
{
	switch (s) {
	case AllocStrategy::Auto:
		return "auto";
	case AllocStrategy::Capbuf:
		return "capbuf";
	case AllocStrategy::Heap:
		return "heap";
	case AllocStrategy::Udmabuf:
		return "udmabuf";
	case AllocStrategy::V4l2:
		return "v4l2";
	case AllocStrategy::Dumb:
		return "dumb";
	}
	return "?";
}

std::optional<AllocStrategy> allocStrategyFromString(const std::string &s)
{
	for (auto a : { AllocStrategy::Auto, AllocStrategy::Capbuf, AllocStrategy::Heap,
			AllocStrategy::Udmabuf, AllocStrategy::V4l2, AllocStrategy::Dumb })
		if (s == allocStrategyName(a))
			return a;
	return std::nullopt;
}

static bool have(const std::vector<uint32_t> &v, uint32_t x)
{
	return std::find(v.begin(), v.end(), x) != v.end();
}

PipelinePrivate::PipelinePrivate(const PipelineConfig &config) : framesWanted_(config.frames)
{
	if (config.buffers < 4)
		throw Error(
			"buffers: " + std::to_string(config.buffers) +
			" is too few (one on screen, one flipping, one waiting, one capturing: at least 4)");
	stopFd_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
	if (!stopFd_)
		throwErrno("eventfd", "pipeline");
	epollFd_.reset(epoll_create1(EPOLL_CLOEXEC));
	timerFd_.reset(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
	if (!epollFd_ || !timerFd_)
		throwErrno("epoll_create1/timerfd_create", "pipeline");
	for (int fd : { stopFd_.get(), timerFd_.get() }) {
		epoll_event ev = { EPOLLIN, { .fd = fd } };
		if (epoll_ctl(epollFd_.get(), EPOLL_CTL_ADD, fd, &ev))
			throwErrno("epoll_ctl", "pipeline");
	}

	capture_ = openSource(config.camera);
	display_ = std::make_unique<KmsDisplay>(config.display);

	/*
	 * A converting stage is one that takes and converts a format this camera
	 * offers (or the one asked for): a fixed probe list would miss converters
	 * of other inputs, e.g. RGB888 from libcamera.
	 */
	std::vector<uint32_t> camFormats = capture_->formats();
	std::vector<PixelFormat> probe;
	if (!config.format.empty())
		if (auto f = formatFromString(config.format))
			probe.push_back(*f);
	for (uint32_t code : camFormats)
		if (auto f = formatFromV4l2(code))
			probe.push_back(*f);
	stages_ = config.stages;
	for (size_t i = 0; i < stages_.size(); i++) {
		if (!stages_[i])
			throw Error("stage " + std::to_string(i) + " is null");
		const Stage &st = *stages_[i];
		bool converts = std::any_of(probe.begin(), probe.end(), [&](const PixelFormat &f) {
			return st.accepts(f) && st.produces(f);
		});
		if (converts) {
			if (converter_ >= 0)
				throw Error("two converting stages (" +
					    stages_[size_t(converter_)]->name() + ", " +
					    stages_[i]->name() + "): one is enough");
			converter_ = int(i);
		}
	}

	std::optional<PixelFormat> wanted;
	if (!config.format.empty()) {
		wanted = formatFromString(config.format);
		if (!wanted)
			throw Error("unknown pixel format \"" + config.format + "\"");
	}
	negotiate(config, camFormats, wanted);
	for (const auto &st : stages_)
		st->configure(format_);

	double fps = config.fps;
	if (fps <= 0) {
		fps = 30;
		auto rates = capture_->frameRates(format_.v4l2Fourcc, format_.width, format_.height);
		if (!rates.empty()) {
			double best = 0;
			for (double r : rates)
				if (r <= 30.01 && r > best)
					best = r;
			fps = best > 0 ? best : *std::min_element(rates.begin(), rates.end());
		}
	}
	frameRate_ = capture_->setFrameRate(fps);

	chooseStrategy(config);
	allocate(config);

	if (converter_ >= 0)
		allocateDisplayPool();
	frames_.resize(displayBuffers().size());

	/* Layout, and every framebuffer up front: the steady state adds none. */
	display_->configure(*displayBuffers()[0]);
	for (const auto &b : displayBuffers())
		display_->framebuffer(*b);

	/* Last: nothing after it can throw, so the destructor always joins it. */
	if (config.stageThread && !stages_.empty()) {
		doneFd_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
		if (!doneFd_)
			throwErrno("eventfd", "pipeline");
		epoll_event ev = { EPOLLIN, { .fd = doneFd_.get() } };
		if (epoll_ctl(epollFd_.get(), EPOLL_CTL_ADD, doneFd_.get(), &ev))
			throwErrno("epoll_ctl", "pipeline");
		stageThread_ = true;
		worker_ = std::thread([this] { workerMain(); });
	}
}

/*
 * Phase two of the negotiation: the routes proposeRoutes() ranks, tried in
 * turn against the devices. The camera settles its format and size (S_FMT);
 * the display imports a probe buffer of what it would scan out and checks
 * the plane with TEST_ONLY commits. When the display refuses a size the
 * user did not ask for, smaller sizes the camera offers are tried (cirrus
 * cannot scan out 1920x1080: its pitch limit is 4088 bytes).
 */
void PipelinePrivate::negotiate(const PipelineConfig &config, const std::vector<uint32_t> &camFormats,
				const std::optional<PixelFormat> &wanted)
{
	const std::string cam = capture_->path() + " (" + capture_->driver() + ")";
	const std::string disp = display_->path() + " (" + display_->driver() + ")";
	std::vector<Route> routes =
		proposeRoutes(camFormats, stages_, converter_, display_->planes(), wanted);
	if (routes.empty())
		throw Error(noRouteReason(camFormats, stages_, converter_, display_->planes(),
					  wanted, cam, disp));
	negotiated_ = {};
	for (const Route &r : routes) {
		std::vector<std::string> adjusted;
		std::string why;
		if (validateRoute(config, camFormats, r, adjusted, why)) {
			negotiated_.status = adjusted.empty() ? Validity::Valid : Validity::Adjusted;
			negotiated_.route = r;
			negotiated_.adjustments = adjusted;
			return;
		}
		negotiated_.rejected.push_back(r.describe() + ": " + why);
	}
	std::string all;
	for (const auto &r : negotiated_.rejected)
		all += "\n  " + r;
	throw Error("nothing from " + cam + " reaches " + disp + "; tried:" + all);
}

static std::string sizeName(uint32_t w, uint32_t h)
{
	return std::to_string(w) + "x" + std::to_string(h);
}

bool PipelinePrivate::displayTakes(const PixelFormat &f, uint32_t width, uint32_t height,
				   std::string &why)
{
	std::unique_ptr<Allocator> probe;
	try {
		probe = display_->dumbAllocator();
	} catch (const Error &) {
		return true; /* nothing to probe with: the real buffers are checked later */
	}
	std::unique_ptr<DmaBuffer> buf;
	try {
		buf = probe->allocate(probe->adjust(BufferLayout::contiguous(f, width, height, 64)));
		display_->configure(*buf);
		display_->releaseFramebuffer(*buf);
		return true;
	} catch (const Error &e) {
		why = e.what();
		if (buf)
			display_->releaseFramebuffer(*buf);
		return false;
	}
}

bool PipelinePrivate::validateRoute(const PipelineConfig &config,
				    const std::vector<uint32_t> &camFormats, const Route &r,
				    std::vector<std::string> &adjusted, std::string &why)
{
	if (r.converter >= 0)
		if (auto *cs = dynamic_cast<ConvertStage *>(stages_[size_t(r.converter)].get()))
			cs->setOutput(r.scanout.drm);
	uint32_t code = have(camFormats, r.capture.v4l2) ? r.capture.v4l2 : r.capture.v4l2Mplane;
	CaptureFormat f = capture_->setFormat(code, config.width, config.height);
	if ((config.width && f.width != config.width) || (config.height && f.height != config.height))
		adjusted.push_back("size " + sizeName(config.width, config.height) + " -> " +
				   sizeName(f.width, f.height) + ": the nearest " +
				   capture_->path() + " captures");
	display_->usePlane(r.plane.id);
	if (displayTakes(r.scanout, f.width, f.height, why)) {
		format_ = f;
		displayFormat_ = r.scanout;
		return true;
	}
	/* A size the user asked for is theirs: the route fails instead. */
	if (config.width || config.height)
		return false;
	FrameSize screen { 0, 0 };
	for (const ModeSize &m : display_->modes())
		if (m.preferred || !screen.width)
			screen = { m.width, m.height };
	std::string refusal = why;
	for (FrameSize s : smallerSizes(capture_->frameSizes(code), { f.width, f.height }, screen)) {
		CaptureFormat g = capture_->setFormat(code, s.width, s.height);
		if (g.width != s.width || g.height != s.height)
			continue;
		if (displayTakes(r.scanout, g.width, g.height, why)) {
			adjusted.push_back("size " + sizeName(f.width, f.height) + " -> " +
					   sizeName(g.width, g.height) + ": the display refused " +
					   sizeName(f.width, f.height) + " (" + refusal + ")");
			format_ = g;
			displayFormat_ = r.scanout;
			return true;
		}
	}
	why = refusal;
	return false;
}

void PipelinePrivate::allocateDisplayPool()
{
	/* One on screen, one flipping, one waiting, one being written. */
	const unsigned count = 4;
	std::vector<std::string> heaps = listHeaps();
	if (std::find(heaps.begin(), heaps.end(), "capbuf") != heaps.end())
		outAllocator_ = makeHeapAllocator("capbuf");
	else
		outAllocator_ = display_->dumbAllocator();
	BufferLayout l = outAllocator_->adjust(
		BufferLayout::contiguous(displayFormat_, format_.width, format_.height, 64));
	for (unsigned i = 0; i < count; i++) {
		outBuffers_.push_back(outAllocator_->allocate(l));
		outBuffers_.back()->index = i;
		outFree_.push_back(count - 1 - i);
	}
}

PipelinePrivate::~PipelinePrivate()
{
	if (worker_.joinable()) {
		{
			std::lock_guard<std::mutex> lock(workLock_);
			quit_ = true;
		}
		workCv_.notify_all();
		worker_.join();
	}
	if (capture_ && capture_->streaming())
		stopCaptureQuietly();
	scheduler_.drain();
	mappings_.clear();
	outBuffers_.clear();
	display_.reset(); /* restores the previous CRTC state, removes our framebuffers */
	buffers_.clear();
	capture_.reset();
}

void PipelinePrivate::chooseStrategy(const PipelineConfig &config)
{
	strategy_ = config.alloc;
	bool camImports = capture_->supportsDmabufImport();
	if (strategy_ != AllocStrategy::Auto) {
		allocReason_ = std::string("asked for ") + allocStrategyName(strategy_);
		if (strategy_ != AllocStrategy::V4l2 && !camImports)
			throw Error(
				capture_->path() + " (" + capture_->driver() +
				") cannot import dma-bufs (no V4L2_MEMORY_DMABUF): use --alloc v4l2");
		return;
	}
	std::vector<std::string> heaps = listHeaps();
	if (camImports && std::find(heaps.begin(), heaps.end(), "capbuf") != heaps.end()) {
		strategy_ = AllocStrategy::Capbuf;
		allocReason_ = "capbuf is loaded: a neutral exporter both devices import, with "
			       "CPU access that follows the dma-buf sync protocol";
	} else if (camImports) {
		strategy_ = AllocStrategy::Dumb;
		allocReason_ = "no capbuf heap; the display exports dumb buffers and " +
			capture_->driver() + " imports them";
	} else {
		strategy_ = AllocStrategy::V4l2;
		allocReason_ = capture_->driver() + " cannot import dma-bufs; it exports its own";
	}
}

void PipelinePrivate::allocate(const PipelineConfig &config)
{
	const PixelFormat &pf = format_.format;
	if (strategy_ == AllocStrategy::V4l2) {
		buffers_ = capture_->exportBuffers(config.buffers);
		if (buffers_.size() < 4)
			throw Error(capture_->path() + " gave only " +
				    std::to_string(buffers_.size()) + " buffers");
		return;
	}
	switch (strategy_) {
	case AllocStrategy::Capbuf:
		allocator_ = makeHeapAllocator("capbuf");
		break;
	case AllocStrategy::Heap:
		allocator_ = makeHeapAllocator(config.heap);
		break;
	case AllocStrategy::Udmabuf:
		allocator_ = makeUdmabufAllocator();
		break;
	case AllocStrategy::Dumb:
		allocator_ = display_->dumbAllocator();
		break;
	default:
		break;
	}

	/* The camera's strides; an exporter with its own pitch (dumb) must get the camera to agree. */
	std::vector<uint32_t> strides;
	if (format_.multiplanar && format_.strides.size() == pf.planes)
		strides = format_.strides;
	else
		for (unsigned p = 0; p < pf.planes; p++)
			strides.push_back(pf.impliedStride(p, format_.strides[0]));
	size_t minSize = 0;
	for (uint32_t s : format_.sizes)
		minSize += s;
	BufferLayout want =
		BufferLayout::fromStrides(pf, format_.width, format_.height, strides, minSize);
	BufferLayout got = allocator_->adjust(want);
	if (got.planes[0].stride != want.planes[0].stride) {
		CaptureFormat f = capture_->setFormat(format_.v4l2Fourcc, format_.width,
						      format_.height, { got.planes[0].stride });
		if (f.strides[0] != got.planes[0].stride)
			throw Error(allocator_->name() + " have a pitch of " +
				    std::to_string(got.planes[0].stride) + " bytes but " +
				    capture_->driver() + " writes lines of " +
				    std::to_string(f.strides[0]) +
				    " bytes: use --alloc capbuf or v4l2");
		format_ = f;
	}
	size_t sizeNeeded = 0;
	for (uint32_t s : format_.sizes)
		sizeNeeded += s;
	if (got.sizes[0] < sizeNeeded)
		got.sizes[0] = sizeNeeded;
	try {
		allocateAndImport(got, config.buffers);
	} catch (const Error &e) {
		if (e.call() != "VIDIOC_PREPARE_BUF" || e.errnum() != EFAULT)
			throw;
		if (config.alloc != AllocStrategy::Auto)
			throw Error(e.call(), e.device(), e.errnum(),
				    "it needs physically contiguous buffers: use --alloc "
				    "heap:capbuf-contig or --alloc v4l2");
		fallBackToContiguous(got, config, e);
	}
}

void PipelinePrivate::allocateAndImport(const BufferLayout &layout, unsigned count)
{
	buffers_.clear();
	for (unsigned i = 0; i < count; i++) {
		try {
			buffers_.push_back(allocator_->allocate(layout));
		} catch (const Error &e) {
			if (e.errnum() != ENOMEM)
				throw;
			size_t each = 0;
			for (size_t s : layout.sizes)
				each += s;
			/* Say how much the whole set needs: the limit must hold all of it. */
			throw Error(e.call(), e.device(), e.errnum(),
				    e.hint() + (e.hint().empty() ? "" : "; ") + "buffer " +
					    std::to_string(i + 1) + " of " + std::to_string(count) +
					    ", " + std::to_string(count) + " x " +
					    std::to_string(each) + " bytes needed");
		}
		buffers_.back()->index = i;
	}
	std::vector<const DmaBuffer *> raw;
	for (const auto &b : buffers_)
		raw.push_back(b.get());
	capture_->importBuffers(raw);
}

/*
 * A camera without an IOMMU (vb2-dma-contig) maps only physically contiguous
 * memory and refuses capbuf's scattered pages. capbuf-contig is the same
 * exporter with contiguous buffers (CMA); where it is missing or out of
 * memory, the camera's own buffers are contiguous by construction.
 */
void PipelinePrivate::fallBackToContiguous(const BufferLayout &layout, const PipelineConfig &config,
					   const Error &refusal)
{
	std::string why = capture_->driver() + " refused " + allocator_->name() +
		"'s scattered pages (" + std::strerror(refusal.errnum()) +
		" at VIDIOC_PREPARE_BUF): it needs physically contiguous buffers";
	buffers_.clear();
	std::vector<std::string> heaps = listHeaps();
	if (std::find(heaps.begin(), heaps.end(), "capbuf-contig") != heaps.end()) {
		try {
			allocator_ = makeHeapAllocator("capbuf-contig");
			allocateAndImport(layout, config.buffers);
			strategy_ = AllocStrategy::Heap;
			allocReason_ = why + ", so capbuf-contig";
			return;
		} catch (const Error &e) {
			why += "; capbuf-contig failed too (" + std::string(e.what()) + ")";
			buffers_.clear();
		}
	} else {
		why += "; no capbuf-contig heap";
	}
	allocator_.reset();
	strategy_ = AllocStrategy::V4l2;
	allocReason_ = why + ", so the camera exports its own";
	buffers_ = capture_->exportBuffers(config.buffers);
	if (buffers_.size() < 4)
		throw Error(capture_->path() + " gave only " + std::to_string(buffers_.size()) +
			    " buffers");
}

std::string PipelinePrivate::pathDescription() const
{
	std::string exporter = buffers_.empty() ? "?" : buffers_[0]->exporter();
	std::string s = "zero-copy: " + exporter + " \u2192 " + capture_->driver();
	for (size_t i = 0; i < stages_.size(); i++) {
		const auto &st = stages_[i];
		s += " \u2192 " + st->name() + " (" + accessName(st->access()) + ")";
		if (int(i) == converter_ && !outBuffers_.empty())
			s += " \u2192 " + outBuffers_[0]->exporter() + " " + displayFormat_.name;
	}
	s += " \u2192 " + display_->driver();
	return s;
}

void PipelinePrivate::addStage(std::shared_ptr<Stage> stage)
{
	if (!stage || stage->produces(displayFormat_))
		throw Error(
			"addStage takes in-place stages; put converting stages in PipelineConfig::stages");
	if (!stage->accepts(displayFormat_))
		throw Error("stage " + stage->name() + " does not take " + displayFormat_.name);
	stage->configure(format_);
	stages_.push_back(std::move(stage));
}

void PipelinePrivate::stop()
{
	uint64_t one = 1;
	/* write() on an eventfd is async-signal-safe. */
	ssize_t r = write(stopFd_.get(), &one, sizeof(one));
	(void)r;
}

const DmaBufMapping &PipelinePrivate::mapping(const DmaBuffer &buffer, unsigned plane, Access access)
{
	/*
	 * One mapping per dma-buf and access, made on first use and kept. Planes
	 * sharing a dma-buf (NV12 in one buffer) share its mapping; a camera
	 * that exports one dma-buf per plane (NV12M) gets one mapping each.
	 */
	unsigned owner = plane;
	for (unsigned q = 0; q < plane; q++)
		if (buffer.planeInode(q) == buffer.planeInode(plane))
			owner = q;
	auto key = std::make_tuple(&buffer, owner, int(access));
	auto it = mappings_.find(key);
	if (it == mappings_.end())
		it = mappings_
			     .emplace(key,
				      DmaBufMapping(buffer.planes()[owner].fd.get(),
						    buffer.dmabufSize(owner), access))
			     .first;
	return it->second;
}

namespace {

/* The CPU view of a buffer's planes, from their mappings. */
struct Mapped {
	uint8_t *data[Frame::kMaxPlanes] = {};
	uint32_t strides[Frame::kMaxPlanes] = {};
};

/* DMA_BUF_IOCTL_SYNC brackets on each distinct dma-buf of a buffer; no allocation per frame. */
class BufferAccess
{
public:
	BufferAccess(const DmaBuffer &buffer, Access access)
	{
		for (unsigned p = 0; p < buffer.planes().size() && p < Frame::kMaxPlanes; p++) {
			bool seen = false;
			for (unsigned q = 0; q < p; q++)
				seen |= buffer.planeInode(q) == buffer.planeInode(p);
			if (!seen)
				brackets_[p].emplace(buffer.planes()[p].fd.get(), access);
		}
	}

private:
	std::optional<CpuAccess> brackets_[Frame::kMaxPlanes];
};

} /* namespace */

bool PipelinePrivate::runStage(Stage &stage, const DmaBuffer &in, const DmaBuffer *out,
			       const FrameInfo &info)
{
	auto mapAll = [&](const DmaBuffer &b, Access access) {
		Mapped m;
		for (unsigned p = 0; p < b.planes().size() && p < Frame::kMaxPlanes; p++) {
			m.data[p] = mapping(b, p, access).data() + b.planes()[p].offset;
			m.strides[p] = b.planes()[p].stride;
		}
		return m;
	};
	try {
		Access access = stage.access();
		Mapped inMap = mapAll(in, access);
		BufferAccess inBracket(in, access);
		if (out) {
			Mapped outMap = mapAll(*out, Access::Write);
			BufferAccess outBracket(*out, Access::Write);
			const Frame inFrame(in.format(), in.width(), in.height(), inMap.data,
					    inMap.strides, info, in.id());
			WritableFrame outFrame(out->format(), out->width(), out->height(),
					       outMap.data, outMap.strides, info, out->id());
			stage.convert(inFrame, outFrame);
		} else if (access == Access::Read) {
			const Frame frame(in.format(), in.width(), in.height(), inMap.data,
					  inMap.strides, info, in.id());
			stage.inspect(frame);
		} else {
			WritableFrame frame(in.format(), in.width(), in.height(), inMap.data,
					    inMap.strides, info, in.id());
			stage.process(frame);
		}
		return true;
	} catch (const std::exception &e) {
		updateStats([](Stats &s) { s.errorFrames++; });
		if (!stageErrorLogged_) {
			logMessage(LogLevel::Warning,
				   "stage " + stage.name() +
					   " failed, dropping the frame (reported once): " + e.what());
			stageErrorLogged_ = true;
		}
		return false;
	}
}

void PipelinePrivate::apply(const FrameScheduler::Actions &a)
{
	for (unsigned i : a.requeue) {
		if (!outBuffers_.empty())
			outFree_.push_back(i);
		else if (capture_->streaming())
			capture_->queue(i);
	}
	if (a.commit) {
		try {
			display_->commit(*displayBuffers()[*a.commit]);
			noMemorySinceNs_ = 0;
		} catch (const Error &e) {
			/*
			 * The kernel could not allocate the commit's state: memory
			 * pressure that usually passes. Drop this frame and try the
			 * next; refusals for two seconds on end are not transient.
			 */
			uint64_t now = monotonicNs();
			bool first = e.errnum() == ENOMEM && noMemorySinceNs_ == 0;
			if (first)
				noMemorySinceNs_ = now;
			bool transient =
				e.errnum() == ENOMEM && now - noMemorySinceNs_ < 2'000'000'000;
			if (first)
				logMessage(LogLevel::Warning,
					   std::string(e.what()) +
						   ": dropping frames until it passes");
			if (transient)
				updateStats([](Stats &s) { s.errorFrames++; });
			apply(scheduler_.commitFailed());
			if (!transient)
				throw;
		}
	}
}

void PipelinePrivate::onCapture()
{
	FrameInfo info;
	bool error = false;
	/* The flip the loop did not wake for: its buffer goes back to the camera first. */
	if (display_->flipPending())
		display_->handleEvents([this](uint64_t ts) { onFlip(ts); });
	/* That flip may have shown the last frame wanted: nothing more goes on screen. */
	if (framesWanted_ && stats_.displayedFrames() >= framesWanted_)
		return;
	/*
	 * Take every frame that is ready but work only on the newest: when the
	 * stages or the display fall behind, older frames go straight back to
	 * the camera (counted as drops) instead of queueing up latency.
	 */
	std::optional<FrameInfo> newest;
	/* Without stages a frame costs nothing to hold: take one per wake-up, no EAGAIN probe. */
	bool drain = !stages_.empty();
	for (bool more = true; more && capture_->dequeue(info, &error); more = drain) {
		updateStats([](Stats &s) { s.captured(); });
		if (error || info.index >= buffers_.size()) {
			updateStats([](Stats &s) { s.errorFrames++; });
			capture_->queue(info.index);
			continue;
		}
		if (newest) {
			capture_->queue(newest->index);
			updateStats([](Stats &s) { s.lateDrops++; });
		}
		newest = info;
	}
	if (newest) {
		if (!stageThread_) {
			unsigned shown = takeOutput(*newest);
			completeFrame(*newest, shown, processFrame(*newest, shown));
		} else if (workerBusy_) {
			/* The worker is on a frame: this one waits, replacing an older waiting one. */
			if (waiting_) {
				capture_->queue(waiting_->index);
				updateStats([](Stats &s) { s.lateDrops++; });
			}
			waiting_ = newest;
		} else {
			submit(*newest);
		}
	}
	updateStats([this](Stats &s) {
		s.captureDrops = capture_->sequenceGaps();
		s.displayDrops = scheduler_.dropped();
	});
}

unsigned PipelinePrivate::takeOutput(const FrameInfo &info)
{
	if (converter_ < 0)
		return info.index;
	if (outFree_.empty())
		throw Error("conversion pool exhausted: scheduler holds every buffer");
	unsigned shown = outFree_.back();
	outFree_.pop_back();
	return shown;
}

bool PipelinePrivate::processFrame(const FrameInfo &info, unsigned shown)
{
	/* Only stages, mappings and brackets: this may run on the stage worker. */
	const DmaBuffer &captured = *buffers_[info.index];
	size_t firstAfter = converter_ >= 0 ? size_t(converter_) + 1 : stages_.size();
	bool ok = true;
	for (size_t i = 0; ok && i < std::min(firstAfter, stages_.size()); i++)
		if (int(i) != converter_)
			ok = runStage(*stages_[i], captured, nullptr, info);
	if (ok && converter_ >= 0) {
		ok = runStage(*stages_[size_t(converter_)], captured, outBuffers_[shown].get(), info);
		for (size_t i = firstAfter; ok && i < stages_.size(); i++)
			ok = runStage(*stages_[i], *outBuffers_[shown], nullptr, info);
	}
	return ok;
}

void PipelinePrivate::completeFrame(const FrameInfo &info, unsigned shown, bool ok)
{
	if (converter_ >= 0) {
		/* The camera's buffer is free again once it is converted. */
		capture_->queue(info.index);
		if (!ok)
			outFree_.push_back(shown);
	} else if (!ok) {
		capture_->queue(info.index);
	}
	if (ok) {
		frames_[shown] = info;
		apply(scheduler_.captured(shown));
	}
}

void PipelinePrivate::submit(const FrameInfo &info)
{
	unsigned shown = takeOutput(info);
	{
		std::lock_guard<std::mutex> lock(workLock_);
		job_ = Job { info, shown, false };
		workerBusy_ = true;
	}
	workCv_.notify_one();
}

void PipelinePrivate::workerMain()
{
	std::unique_lock<std::mutex> lock(workLock_);
	for (;;) {
		workCv_.wait(lock, [this] { return quit_ || (job_ && !jobDone_); });
		if (quit_)
			return;
		Job job = *job_;
		lock.unlock();
		job.ok = processFrame(job.info, job.shown);
		lock.lock();
		job_ = job;
		jobDone_ = true;
		workCv_.notify_all();
		uint64_t one = 1;
		ssize_t r = write(doneFd_.get(), &one, sizeof(one));
		(void)r;
	}
}

void PipelinePrivate::onWorkerDone()
{
	uint64_t n;
	if (read(doneFd_.get(), &n, sizeof(n)) < 0)
		return;
	Job job;
	{
		std::lock_guard<std::mutex> lock(workLock_);
		if (!job_ || !jobDone_)
			return;
		job = *job_;
		job_.reset();
		jobDone_ = false;
		workerBusy_ = false;
	}
	completeFrame(job.info, job.shown, job.ok);
	if (waiting_ && !(framesWanted_ && stats_.displayedFrames() >= framesWanted_)) {
		FrameInfo next = *waiting_;
		waiting_.reset();
		submit(next);
	}
}

void PipelinePrivate::waitForWorker()
{
	/* Before streaming stops: the worker finishes the frame it is on. */
	if (!stageThread_)
		return;
	std::unique_lock<std::mutex> lock(workLock_);
	workCv_.wait(lock, [this] { return !job_ || jobDone_; });
	job_.reset();
	jobDone_ = false;
	workerBusy_ = false;
	waiting_.reset();
	uint64_t n;
	while (read(doneFd_.get(), &n, sizeof(n)) > 0) {
	}
}

void PipelinePrivate::onFlip(uint64_t timestampNs)
{
	/* The last wanted frame stays on screen: nothing more is committed after it. */
	bool more = !framesWanted_ || stats_.displayedFrames() + 1 < framesWanted_;
	FrameScheduler::Actions a = scheduler_.flipped(more);
	if (a.displayed) {
		const FrameInfo &info = frames_[*a.displayed];
		/*
		 * From the capture timestamp; drivers that stamp the end of a frame
		 * they deliver early (vivid) are clamped to when we got the frame.
		 */
		uint64_t captured = std::min(info.timestampNs, info.dequeuedNs);
		updateStats([&](Stats &s) {
			s.displayed(timestampNs > captured ? timestampNs - captured : 0);
		});
		if (onDisplayed)
			onDisplayed(*displayBuffers()[*a.displayed], info);
	}
	apply(a);
	updateStats([this](Stats &s) { s.displayDrops = scheduler_.dropped(); });
}

void PipelinePrivate::stopCaptureQuietly()
{
	/* On a path that already fails or ends: a second error would hide the first. */
	try {
		capture_->stop();
	} catch (const Error &) {
	}
}

bool PipelinePrivate::capturing() const
{
	/* vb2 flags POLLERR while nothing is queued: the camera's fd is left out then. */
	return capture_->queuedCount() > 0;
}

bool PipelinePrivate::finished() const
{
	return framesWanted_ && stats_.displayedFrames() >= framesWanted_;
}

bool PipelinePrivate::wantFlip() const
{
	/*
	 * A completed flip is worth a wake-up of its own only when a frame
	 * waits for it, the camera has nothing queued, or it is the last frame
	 * wanted. Otherwise onCapture() collects it with one read when the next
	 * frame arrives: one wake-up per frame instead of two, and the event's
	 * kernel timestamp keeps the latency exact.
	 */
	return display_->flipPending() &&
		(scheduler_.waiting() || !capturing() ||
		 (framesWanted_ && stats_.displayedFrames() + 1 >= framesWanted_));
}

void PipelinePrivate::start()
{
	if (streaming_)
		throw Error("start: the pipeline is already streaming");
	uint64_t drain;
	while (read(stopFd_.get(), &drain, sizeof(drain)) > 0) {
	}
	try {
		for (const auto &b : buffers_)
			capture_->queue(b->index);
		updateStats([](Stats &s) { s.start(monotonicNs()); });
		capture_->start();
	} catch (...) {
		stopCaptureQuietly();
		throw;
	}
	streaming_ = true;
	pollErrors_ = 0;
	lastWakeNs_ = monotonicNs();
	nextStatsNs_ = statsIntervalNs ? lastWakeNs_ + statsIntervalNs : 0;
	timerArmedNs_ = 0;
	updateEpoll();
}

bool PipelinePrivate::handle(const Ready &r)
{
	bool capturing = this->capturing();
	if (r.idle && capturing)
		capture_->checkAlive();
	/*
	 * vb2 also answers POLLERR when a signal interrupts its wait for the
	 * queue lock (SIGINT arriving mid-poll): ask the device, and give up
	 * only when the error persists.
	 */
	if ((r.capture & (POLLERR | POLLHUP | POLLNVAL)) && !(r.capture & POLLIN)) {
		capture_->checkAlive();
		if (++pollErrors_ < 10)
			return true;
		throw Error(capture_->path() + " (" + capture_->driver() +
			    "): the device stopped streaming with an error (poll reports POLLERR; "
			    "a fatal driver error or a vanished device)");
	}
	pollErrors_ = 0;
	if (r.workerDone)
		onWorkerDone();
	if (!capturing && !display_->flipPending() && !workerBusy_)
		throw Error("every buffer is held and no flip is pending: scheduler stuck");
	if (r.capture & POLLIN)
		onCapture();
	if (r.flip)
		display_->handleEvents([this](uint64_t ts) { onFlip(ts); });
	if (nextStatsNs_ && monotonicNs() >= nextStatsNs_) {
		if (onStats)
			onStats(stats()); /* a copy: the stage worker may count an error meanwhile */
		nextStatsNs_ += statsIntervalNs;
	}
	return !finished();
}

void PipelinePrivate::finish(bool graceful)
{
	if (!streaming_)
		return;
	streaming_ = false;
	waitForWorker();
	try {
		/* A flip still in flight lands before we return: the screen shows what was reported. */
		for (int i = 0; graceful && i < 50 && display_->flipPending(); i++) {
			pollfd pfd = { display_->fd(), POLLIN, 0 };
			if (poll(&pfd, 1, 100) > 0)
				display_->handleEvents([this](uint64_t ts) { onFlip(ts); });
		}
		updateStats([](Stats &s) { s.stop(monotonicNs()); });
		capture_->stop();
	} catch (...) {
		stopCaptureQuietly();
		scheduler_.drain();
		updateEpoll();
		if (graceful)
			throw;
		return;
	}
	scheduler_.drain();
	updateEpoll();
}

/*
 * run() is the loop an application would write around fd() and dispatch():
 * it blocks in epoll_wait on the pipeline's own epoll set.  It must not
 * poll() the raw fds each iteration: poll on a V4L2 fd is vb2_fop_poll,
 * which takes the queue's mutex, and a driver that fills frames on the CPU
 * (vivid) holds that mutex for the whole fill, so every wake-up for a flip
 * or a stage spun on it (docs/benchmarks.md, the steady-state profile).
 * epoll asks the camera's poll only when its wait queue wakes.
 */
void PipelinePrivate::run()
{
	start();
	while (dispatchWait(-1)) {
	}
}

bool PipelinePrivate::dispatch()
{
	return dispatchWait(0);
}

bool PipelinePrivate::dispatchWait(int timeoutMs)
{
	if (!streaming_)
		return false;
	epoll_event events[4];
	int n = epoll_wait(epollFd_.get(), events, 4, timeoutMs);
	if (n < 0 && errno != EINTR) {
		int err = errno;
		finish(false);
		errno = err;
		throwErrno("epoll_wait", "pipeline");
	}
	Ready r;
	bool timer = false;
	for (int i = 0; i < n; i++) {
		int fd = events[i].data.fd;
		if (fd == stopFd_.get())
			r.stop = true;
		else if (fd == timerFd_.get())
			timer = true;
		else if (fd == doneFd_.get())
			r.workerDone = true;
		else if (epollCapture_ && fd == capture_->fd())
			/* EPOLLIN/ERR/HUP have poll()'s values. */
			r.capture = short(events[i].events & (POLLIN | POLLERR | POLLHUP));
		else if (epollFlip_ && fd == display_->fd())
			r.flip = events[i].events & EPOLLIN;
	}
	if (r.stop) {
		finish(true);
		return false;
	}
	uint64_t now = monotonicNs();
	if (timer) {
		uint64_t expirations;
		ssize_t got = read(timerFd_.get(), &expirations, sizeof(expirations));
		(void)got;
		timerArmedNs_ = 0;
	}
	if (r.capture || r.flip || r.workerDone)
		lastWakeNs_ = now;
	r.idle = timer && now - lastWakeNs_ >= 1'000'000'000;
	if (r.idle)
		lastWakeNs_ = now;
	bool more;
	try {
		more = handle(r);
	} catch (...) {
		finish(false);
		throw;
	}
	if (!more) {
		finish(true);
		return false;
	}
	updateEpoll();
	return true;
}

void PipelinePrivate::updateEpoll()
{
	bool streaming = streaming_;
	auto watch = [this](int fd, bool want, bool &watched) {
		if (want == watched)
			return;
		/* Removed rather than masked: epoll reports EPOLLERR even for an empty mask. */
		epoll_event ev = { EPOLLIN, { .fd = fd } };
		if (epoll_ctl(epollFd_.get(), want ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &ev))
			throwErrno("epoll_ctl", "pipeline");
		watched = want;
	};
	watch(capture_->fd(), streaming && capturing(), epollCapture_);
	watch(display_->fd(), streaming && wantFlip(), epollFlip_);

	/* The timer: the health check a second after the last event, and the stats interval. */
	uint64_t deadline = 0;
	if (streaming) {
		deadline = lastWakeNs_ + 1'000'000'000;
		if (nextStatsNs_)
			deadline = std::min(deadline, nextStatsNs_);
	}
	/* Re-armed only when it fired, is off, or must fire sooner: no syscall per frame. */
	if (deadline && timerArmedNs_ && timerArmedNs_ <= deadline)
		return;
	if (!deadline && !timerArmedNs_)
		return;
	itimerspec its = {};
	its.it_value.tv_sec = time_t(deadline / 1'000'000'000);
	its.it_value.tv_nsec = long(deadline % 1'000'000'000);
	if (timerfd_settime(timerFd_.get(), TFD_TIMER_ABSTIME, &its, nullptr))
		throwErrno("timerfd_settime", "pipeline");
	timerArmedNs_ = deadline;
}

Stats PipelinePrivate::stats() const
{
	std::lock_guard<std::mutex> lock(statsLock_);
	return stats_;
}

/* The public Pipeline: the ABI boundary, every call forwarded. */

Pipeline::Pipeline(const PipelineConfig &config) : d_(std::make_unique<PipelinePrivate>(config))
{
}
Pipeline::~Pipeline() = default;
void Pipeline::addStage(std::shared_ptr<Stage> stage)
{
	d_->addStage(std::move(stage));
}
void Pipeline::run()
{
	d_->run();
}
void Pipeline::start()
{
	d_->start();
}
int Pipeline::fd() const
{
	return d_->fd();
}
bool Pipeline::dispatch()
{
	return d_->dispatch();
}
bool Pipeline::streaming() const
{
	return d_->streaming();
}
void Pipeline::stop()
{
	d_->stop();
}
Stats Pipeline::stats() const
{
	return d_->stats();
}
std::string Pipeline::pathDescription() const
{
	return d_->pathDescription();
}
std::string Pipeline::allocReason() const
{
	return d_->allocReason();
}
AllocStrategy Pipeline::allocStrategy() const
{
	return d_->allocStrategy();
}
CaptureFormat Pipeline::captureFormat() const
{
	return d_->captureFormat();
}
PixelFormat Pipeline::displayFormat() const
{
	return d_->displayFormat();
}
double Pipeline::frameRate() const
{
	return d_->frameRate();
}
std::string Pipeline::cameraName() const
{
	return d_->capture().path() + " (" + d_->capture().driver() + ")";
}
std::string Pipeline::displayName() const
{
	return d_->display().path() + " (" + d_->display().driver() + ") " +
		d_->display().connectorName();
}
void Pipeline::setDisplayedCallback(std::function<void(const FrameInfo &, uint64_t)> callback)
{
	if (!callback) {
		d_->onDisplayed = nullptr;
		return;
	}
	d_->onDisplayed = [cb = std::move(callback)](const DmaBuffer &b, const FrameInfo &info) {
		cb(info, b.id());
	};
}
void Pipeline::setStatsCallback(std::function<void(const Stats &)> callback, uint64_t intervalNs)
{
	d_->onStats = std::move(callback);
	d_->statsIntervalNs = d_->onStats ? intervalNs : 0;
}

} /* namespace dmapipe */
