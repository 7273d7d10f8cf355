/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dmapipe/kms_display.h"
#include "dmapipe/error.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <drm_fourcc.h>
#include <fcntl.h>
#include <poll.h>
#include <set>
#include <sstream>
#include <unistd.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

namespace dmapipe {

/* ---- layout choice (pure, unit-tested) ---- */

std::string DisplayLayout::describe(uint32_t frameW, uint32_t frameH) const
{
	std::ostringstream s;
	s << "mode " << modeWidth << 'x' << modeHeight << (customMode ? " (made for the frame)" : "");
	if (x == 0 && y == 0 && w == modeWidth && h == modeHeight && !scaled(frameW, frameH))
		s << ", full screen";
	else
		s << ", frame at " << x << ',' << y << ' ' << w << 'x' << h
		  << (scaled(frameW, frameH) ? " scaled" : " unscaled");
	return s.str();
}

bool DisplayLayout::operator==(const DisplayLayout &o) const
{
	return modeWidth == o.modeWidth && modeHeight == o.modeHeight &&
		customMode == o.customMode && x == o.x && y == o.y && w == o.w && h == o.h;
}

std::vector<DisplayLayout> layoutCandidates(uint32_t fw, uint32_t fh,
					    const std::vector<ModeSize> &modes)
{
	std::vector<DisplayLayout> out;
	if (!fw || !fh)
		return out;
	auto add = [&](DisplayLayout l) {
		if (std::find(out.begin(), out.end(), l) == out.end())
			out.push_back(l);
	};
	bool listed = false;
	for (const auto &m : modes) {
		if (m.width == fw && m.height == fh) {
			add({ fw, fh, false, 0, 0, fw, fh });
			listed = true;
		}
	}
	if (!listed)
		add({ fw, fh, true, 0, 0, fw, fh });
	if (modes.empty())
		return out;
	auto pref = std::find_if(modes.begin(), modes.end(),
				 [](const ModeSize &m) { return m.preferred; });
	const ModeSize &m = pref != modes.end() ? *pref : modes.front();
	if (fw <= m.width && fh <= m.height)
		add({ m.width, m.height, false, int32_t((m.width - fw) / 2),
		      int32_t((m.height - fh) / 2), fw, fh });
	/* Fit keeping the aspect ratio, then fill. */
	uint64_t sw = m.width, sh = uint64_t(fh) * m.width / fw;
	if (sh > m.height) {
		sh = m.height;
		sw = uint64_t(fw) * m.height / fh;
	}
	add({ m.width, m.height, false, int32_t((m.width - sw) / 2), int32_t((m.height - sh) / 2),
	      uint32_t(sw), uint32_t(sh) });
	add({ m.width, m.height, false, 0, 0, m.width, m.height });
	return out;
}

std::vector<DisplayLayout> layoutCandidates(uint32_t fw, uint32_t fh,
					    const std::vector<ModeSize> &modes,
					    const LayoutRequest &req)
{
	if (req.scaling == Scaling::Auto && !req.w)
		return layoutCandidates(fw, fh, modes);
	std::vector<DisplayLayout> out;
	if (!fw || !fh || modes.empty())
		return out;
	auto pref = std::find_if(modes.begin(), modes.end(),
				 [](const ModeSize &m) { return m.preferred; });
	const ModeSize &m = pref != modes.end() ? *pref : modes.front();
	if (req.w && req.h) {
		out.push_back({ m.width, m.height, false, req.x, req.y, req.w, req.h });
		return out;
	}
	switch (req.scaling) {
	case Scaling::None:
		for (const auto &l : layoutCandidates(fw, fh, modes))
			if (!l.scaled(fw, fh))
				out.push_back(l);
		break;
	case Scaling::Fit:
	case Scaling::Fill: {
		/* Fit: the smaller scale of the two axes; fill: the larger (centred, clipped). */
		bool widthLimits = uint64_t(fh) * m.width <= uint64_t(fw) * m.height;
		if (req.scaling == Scaling::Fill)
			widthLimits = !widthLimits;
		uint64_t sw = widthLimits ? m.width : uint64_t(fw) * m.height / fh;
		uint64_t sh = widthLimits ? uint64_t(fh) * m.width / fw : m.height;
		out.push_back({ m.width, m.height, false,
				int32_t((int64_t(m.width) - int64_t(sw)) / 2),
				int32_t((int64_t(m.height) - int64_t(sh)) / 2), uint32_t(sw),
				uint32_t(sh) });
		break;
	}
	case Scaling::Stretch:
	case Scaling::Auto:
		out.push_back({ m.width, m.height, false, 0, 0, m.width, m.height });
		break;
	}
	return out;
}

/* A 60 Hz mode with reduced blanking for sizes no connector lists. */
static drmModeModeInfo makeMode(uint32_t w, uint32_t h)
{
	drmModeModeInfo mode = {};
	mode.hdisplay = uint16_t(w);
	mode.hsync_start = uint16_t(w + 48);
	mode.hsync_end = uint16_t(w + 80);
	mode.htotal = uint16_t(w + 160);
	mode.vdisplay = uint16_t(h);
	mode.vsync_start = uint16_t(h + 3);
	mode.vsync_end = uint16_t(h + 8);
	mode.vtotal = uint16_t(h + 30);
	mode.vrefresh = 60;
	mode.clock = uint32_t(uint64_t(mode.htotal) * mode.vtotal * 60 / 1000);
	mode.flags = DRM_MODE_FLAG_PHSYNC | DRM_MODE_FLAG_NVSYNC;
	mode.type = DRM_MODE_TYPE_USERDEF;
	snprintf(mode.name, sizeof(mode.name), "%ux%u", w, h);
	return mode;
}

/* ---- properties ---- */

struct KmsDisplay::Props {
	uint32_t connCrtcId = 0;
	uint32_t crtcModeId = 0, crtcActive = 0, crtcOutFence = 0;
	uint32_t fbId = 0, crtcId = 0, srcX = 0, srcY = 0, srcW = 0, srcH = 0;
	uint32_t crtcX = 0, crtcY = 0, crtcW = 0, crtcH = 0;
};

struct KmsDisplay::Saved {
	uint64_t connCrtcId = 0, modeId = 0, active = 0;
	uint64_t fbId = 0, crtcId = 0, srcX = 0, srcY = 0, srcW = 0, srcH = 0;
	uint64_t crtcX = 0, crtcY = 0, crtcW = 0, crtcH = 0;
	uint64_t zpos = 0;
};

static uint32_t propId(int fd, uint32_t obj, uint32_t type, const char *name,
		       uint64_t *value = nullptr)
{
	drmModeObjectProperties *props = drmModeObjectGetProperties(fd, obj, type);
	uint32_t id = 0;
	for (uint32_t i = 0; props && i < props->count_props && !id; i++) {
		drmModePropertyRes *p = drmModeGetProperty(fd, props->props[i]);
		if (p && strcmp(p->name, name) == 0) {
			id = p->prop_id;
			if (value)
				*value = props->prop_values[i];
		}
		drmModeFreeProperty(p);
	}
	drmModeFreeObjectProperties(props);
	return id;
}

static uint64_t propValue(int fd, uint32_t obj, uint32_t type, const char *name)
{
	uint64_t v = 0;
	propId(fd, obj, type, name, &v);
	return v;
}

/* ---- device ---- */

static std::vector<std::string> cardNodes()
{
	std::vector<std::string> nodes;
	DIR *dir = opendir("/dev/dri");
	if (!dir)
		return nodes;
	while (struct dirent *e = readdir(dir))
		if (strncmp(e->d_name, "card", 4) == 0)
			nodes.push_back(std::string("/dev/dri/") + e->d_name);
	closedir(dir);
	std::sort(nodes.begin(), nodes.end());
	return nodes;
}

static std::string driverName(int fd)
{
	drmVersion *v = drmGetVersion(fd);
	std::string name = v ? v->name : "";
	drmFreeVersion(v);
	return name;
}

static std::string connectorLabel(uint32_t type, uint32_t typeId)
{
	const char *name = drmModeGetConnectorTypeName(type);
	return std::string(name ? name : "Unknown") + "-" + std::to_string(typeId);
}

std::vector<DisplayDeviceInfo> listDisplayDevices()
{
	std::vector<DisplayDeviceInfo> out;
	for (const auto &node : cardNodes()) {
		UniqueFd fd(::open(node.c_str(), O_RDWR | O_CLOEXEC));
		if (!fd)
			continue;
		DisplayDeviceInfo info { node, driverName(fd.get()), {} };
		drmModeRes *res = drmModeGetResources(fd.get());
		for (int i = 0; res && i < res->count_connectors; i++) {
			drmModeConnector *c = drmModeGetConnector(fd.get(), res->connectors[i]);
			if (!c)
				continue;
			info.connectors.push_back(
				connectorLabel(c->connector_type, c->connector_type_id) +
				(c->connection == DRM_MODE_CONNECTED ? " (connected)"
								     : " (disconnected)"));
			drmModeFreeConnector(c);
		}
		drmModeFreeResources(res);
		if (res)
			out.push_back(info);
	}
	return out;
}

bool KmsDisplay::open(const std::string &path, bool needConnected)
{
	fd_.reset(::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NONBLOCK));
	if (!fd_)
		throwErrno("open", path);
	path_ = path;
	driver_ = driverName(fd_.get());
	if (drmSetClientCap(fd_.get(), DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1) < 0 ||
	    drmSetClientCap(fd_.get(), DRM_CLIENT_CAP_ATOMIC, 1) < 0) {
		if (needConnected) {
			fd_.reset();
			return false;
		}
		throwErrno("DRM_CLIENT_CAP_ATOMIC", path_ + " (" + driver_ + ")",
			   "the driver has no atomic modesetting");
	}
	if (!pickPipe()) {
		if (needConnected) {
			/* Said when no other device fits either. */
			unfit_ += "; " + path_ + " (" + driver_ + "): " + selectionProblem();
			fd_.reset();
			return false;
		}
		throw Error(path_ + " (" + driver_ + "): " + selectionProblem());
	}
	return true;
}

KmsDisplay::KmsDisplay(const std::string &pathOrDriver, const DisplaySelect &select)
	: props_(std::make_unique<Props>()), select_(select)
{
	if (select.fd >= 0) {
		/* The caller's device (a lease): used as it is, never reopened. */
		fd_.reset(fcntl(select.fd, F_DUPFD_CLOEXEC, 3));
		if (!fd_)
			throwErrno("dup", "the DRM fd given");
		path_ = "fd " + std::to_string(select.fd);
		driver_ = driverName(fd_.get());
		if (drmSetClientCap(fd_.get(), DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1) < 0 ||
		    drmSetClientCap(fd_.get(), DRM_CLIENT_CAP_ATOMIC, 1) < 0)
			throwErrno("DRM_CLIENT_CAP_ATOMIC", path_ + " (" + driver_ + ")",
				   "the driver has no atomic modesetting");
		if (!pickPipe())
			throw Error(path_ + " (" + driver_ + "): " + selectionProblem());
	} else if (!pathOrDriver.empty() && pathOrDriver[0] == '/') {
		open(pathOrDriver, false);
	} else {
		/* Nodes that could not be asked (ENOMEM, EACCES): said, not passed over in silence. */
		std::string unasked;
		for (const auto &node : cardNodes()) {
			UniqueFd probe(::open(node.c_str(), O_RDWR | O_CLOEXEC));
			if (!probe) {
				unasked += "; " + node + ": " + std::strerror(errno);
				continue;
			}
			std::string name = driverName(probe.get());
			if (name.empty())
				unasked += "; " + node + ": drmGetVersion: " + std::strerror(errno);
			if (!pathOrDriver.empty() && name != pathOrDriver)
				continue;
			probe.reset();
			if (open(node, true))
				break;
		}
		if (!fd_)
			throw Error((pathOrDriver.empty()
					     ? "no KMS device with a connected display under /dev/dri"
					     : "no KMS device of driver \"" + pathOrDriver +
						     "\" with a connected display (`dmapipe-cam --list` "
						     "lists them)") +
				    unfit_ + unasked);
	}
	/* A lease's fd is master of its objects already; drmIsMaster says so. */
	if (!drmIsMaster(fd_.get()) && drmSetMaster(fd_.get()) < 0)
		throwErrno("drmSetMaster", path_ + " (" + driver_ + ")",
			   "no DRM master: stop the compositor or the other display client, or use "
			   "--display with another device");
	uint64_t cap = 0;
	if (drmGetCap(fd_.get(), DRM_CAP_TIMESTAMP_MONOTONIC, &cap) < 0 || !cap)
		throw Error(path_ + ": page-flip timestamps are not CLOCK_MONOTONIC");
	save();
}

KmsDisplay::~KmsDisplay()
{
	try {
		restore();
	} catch (const Error &) {
	}
	for (const auto &fb : fbs_)
		drmModeRmFB(fd_.get(), fb.second);
	if (modeBlob_)
		drmModeDestroyPropertyBlob(fd_.get(), modeBlob_);
}

std::string KmsDisplay::connectorName() const
{
	return connectorLabel(connectorType_, connectorTypeId_);
}

/* A connector by its name ("HDMI-A-1") or id ("42"); empty matches any. */
static bool connectorMatches(const drmModeConnector *c, const std::string &want)
{
	if (want.empty())
		return true;
	if (want == std::to_string(c->connector_id))
		return true;
	return want == connectorLabel(c->connector_type, c->connector_type_id);
}

/* Why pickPipe() found nothing, with what the device has. */
std::string KmsDisplay::selectionProblem() const
{
	int fd = fd_.get();
	std::string connectors, planes;
	if (drmModeRes *res = drmModeGetResources(fd)) {
		for (int i = 0; i < res->count_connectors; i++) {
			drmModeConnector *c = drmModeGetConnector(fd, res->connectors[i]);
			if (!c)
				continue;
			connectors += (connectors.empty() ? "" : ", ") +
				connectorLabel(c->connector_type, c->connector_type_id) + " (id " +
				std::to_string(c->connector_id) +
				(c->connection == DRM_MODE_CONNECTED ? ", connected)" : ")");
			drmModeFreeConnector(c);
		}
		drmModeFreeResources(res);
	}
	if (drmModePlaneRes *pr = drmModeGetPlaneResources(fd)) {
		for (uint32_t i = 0; i < pr->count_planes; i++) {
			uint64_t type = propValue(fd, pr->planes[i], DRM_MODE_OBJECT_PLANE, "type");
			planes += (planes.empty() ? "" : ", ") + std::to_string(pr->planes[i]) +
				(type == DRM_PLANE_TYPE_PRIMARY           ? " (primary)"
					 : type == DRM_PLANE_TYPE_OVERLAY ? " (overlay)"
									  : " (cursor)");
		}
		drmModeFreePlaneResources(pr);
	}
	std::string want;
	if (!select_.connector.empty())
		want += "connector " + select_.connector;
	if (select_.plane)
		want += (want.empty() ? "plane " : " with plane ") + std::to_string(select_.plane);
	return (want.empty() ? std::string("no connected connector with a usable CRTC and plane")
			     : "nothing usable for " + want +
				" (a connected connector, a CRTC it reaches, a plane on that CRTC)") +
		"; connectors: " + (connectors.empty() ? "none" : connectors) +
		"; planes: " + (planes.empty() ? "none" : planes);
}

bool KmsDisplay::pickPipe()
{
	int fd = fd_.get();
	drmModeRes *res = drmModeGetResources(fd);
	drmModePlaneRes *planes = drmModeGetPlaneResources(fd);
	bool found = false;
	planes_.clear();
	for (int i = 0; res && planes && i < res->count_connectors && !found; i++) {
		drmModeConnector *c = drmModeGetConnector(fd, res->connectors[i]);
		if (!c)
			continue;
		/* Writeback connectors are not displays. */
		if (c->connection != DRM_MODE_CONNECTED ||
		    c->connector_type == DRM_MODE_CONNECTOR_WRITEBACK || !c->count_modes ||
		    !connectorMatches(c, select_.connector)) {
			drmModeFreeConnector(c);
			continue;
		}
		uint32_t possible = 0;
		for (int e = 0; e < c->count_encoders; e++) {
			drmModeEncoder *enc = drmModeGetEncoder(fd, c->encoders[e]);
			if (enc)
				possible |= enc->possible_crtcs;
			drmModeFreeEncoder(enc);
		}
		for (int k = 0; k < res->count_crtcs && !found; k++) {
			if (!(possible & (1u << k)))
				continue;
			for (uint32_t p = 0; p < planes->count_planes; p++) {
				drmModePlane *pl = drmModeGetPlane(fd, planes->planes[p]);
				if (!pl)
					continue;
				uint64_t type =
					propValue(fd, pl->plane_id, DRM_MODE_OBJECT_PLANE, "type");
				if ((pl->possible_crtcs & (1u << k)) && type != DRM_PLANE_TYPE_CURSOR)
					planes_.push_back(
						{ pl->plane_id, type == DRM_PLANE_TYPE_PRIMARY,
						  std::vector<uint32_t>(
							  pl->formats, pl->formats + pl->count_formats),
						  propValue(fd, pl->plane_id, DRM_MODE_OBJECT_PLANE,
							    "zpos") });
				bool wanted = select_.plane ? pl->plane_id == select_.plane
							    : type == DRM_PLANE_TYPE_PRIMARY;
				if ((pl->possible_crtcs & (1u << k)) && wanted && !found) {
					connector_ = c->connector_id;
					connectorType_ = c->connector_type;
					connectorTypeId_ = c->connector_type_id;
					crtc_ = res->crtcs[k];
					crtcIndex_ = unsigned(k);
					plane_ = pl->plane_id;
					formats_.assign(pl->formats, pl->formats + pl->count_formats);
					modes_.clear();
					for (int m = 0; m < c->count_modes; m++)
						modes_.push_back({ c->modes[m].hdisplay,
								   c->modes[m].vdisplay,
								   bool(c->modes[m].type &
									DRM_MODE_TYPE_PREFERRED) });
					found = true;
				}
				drmModeFreePlane(pl);
			}
			/* The list is the CRTC's; keep it for the CRTC chosen only. */
			if (!found)
				planes_.clear();
		}
		drmModeFreeConnector(c);
	}
	drmModeFreePlaneResources(planes);
	drmModeFreeResources(res);
	if (!found)
		return false;

	Props &p = *props_;
	p.connCrtcId = propId(fd, connector_, DRM_MODE_OBJECT_CONNECTOR, "CRTC_ID");
	p.crtcModeId = propId(fd, crtc_, DRM_MODE_OBJECT_CRTC, "MODE_ID");
	p.crtcActive = propId(fd, crtc_, DRM_MODE_OBJECT_CRTC, "ACTIVE");
	p.crtcOutFence = propId(fd, crtc_, DRM_MODE_OBJECT_CRTC, "OUT_FENCE_PTR");
	const char *names[] = { "FB_ID", "CRTC_ID", "SRC_X",  "SRC_Y",  "SRC_W",
				"SRC_H", "CRTC_X",  "CRTC_Y", "CRTC_W", "CRTC_H" };
	uint32_t *ids[] = { &p.fbId, &p.crtcId, &p.srcX,  &p.srcY,  &p.srcW,
			    &p.srcH, &p.crtcX,  &p.crtcY, &p.crtcW, &p.crtcH };
	for (size_t i = 0; i < std::size(names); i++)
		*ids[i] = propId(fd, plane_, DRM_MODE_OBJECT_PLANE, names[i]);
	haveOutFence_ = p.crtcOutFence != 0;
	zposProp_ = propId(fd, plane_, DRM_MODE_OBJECT_PLANE, "zpos");
	return p.connCrtcId && p.crtcModeId && p.crtcActive && p.fbId && p.crtcId;
}

void KmsDisplay::usePlane(uint32_t id)
{
	if (id == plane_)
		return;
	if (modeSet_)
		throw Error(path_ + " (" + driver_ + "): the plane is chosen before the first commit");
	auto it = std::find_if(planes_.begin(), planes_.end(),
			       [&](const DisplayPlane &p) { return p.id == id; });
	if (it == planes_.end())
		throw Error(path_ + " (" + driver_ + "): plane " + std::to_string(id) +
			    " is not one the CRTC of " + connectorName() + " can use");
	/* Same connector and CRTC: pickPipe() finds them again, with this plane. */
	DisplaySelect previous = select_;
	select_.plane = id;
	select_.connector = std::to_string(connector_);
	if (!pickPipe()) {
		select_ = previous;
		pickPipe();
		throw Error(path_ + " (" + driver_ + "): plane " + std::to_string(id) +
			    " has no atomic properties to scan out with");
	}
	zpos_ = -1;
	save();
}

void KmsDisplay::save()
{
	int fd = fd_.get();
	saved_ = std::make_unique<Saved>();
	Saved &s = *saved_;
	s.connCrtcId = propValue(fd, connector_, DRM_MODE_OBJECT_CONNECTOR, "CRTC_ID");
	s.modeId = propValue(fd, crtc_, DRM_MODE_OBJECT_CRTC, "MODE_ID");
	s.active = propValue(fd, crtc_, DRM_MODE_OBJECT_CRTC, "ACTIVE");
	const char *names[] = { "FB_ID", "CRTC_ID", "SRC_X",  "SRC_Y",  "SRC_W",
				"SRC_H", "CRTC_X",  "CRTC_Y", "CRTC_W", "CRTC_H" };
	uint64_t *vals[] = { &s.fbId, &s.crtcId, &s.srcX,  &s.srcY,  &s.srcW,
			     &s.srcH, &s.crtcX,  &s.crtcY, &s.crtcW, &s.crtcH };
	for (size_t i = 0; i < std::size(names); i++)
		*vals[i] = propValue(fd, plane_, DRM_MODE_OBJECT_PLANE, names[i]);
	s.zpos = propValue(fd, plane_, DRM_MODE_OBJECT_PLANE, "zpos");
}

void KmsDisplay::restore()
{
	if (!saved_ || !modeSet_)
		return;
	/* A pending flip must land before the state can be replaced. */
	for (int i = 0; pending_ && i < 100; i++) {
		handleEvents([](uint64_t) {});
		if (pending_)
			usleep(10000);
	}
	const Saved &s = *saved_;
	const Props &p = *props_;
	drmModeAtomicReq *req = drmModeAtomicAlloc();
	drmModeAtomicAddProperty(req, connector_, p.connCrtcId, s.connCrtcId);
	drmModeAtomicAddProperty(req, crtc_, p.crtcModeId, s.modeId);
	drmModeAtomicAddProperty(req, crtc_, p.crtcActive, s.active);
	uint32_t ids[] = { p.fbId, p.crtcId, p.srcX,  p.srcY,  p.srcW,
			   p.srcH, p.crtcX,  p.crtcY, p.crtcW, p.crtcH };
	uint64_t vals[] = { s.fbId, s.crtcId, s.srcX,  s.srcY,  s.srcW,
			    s.srcH, s.crtcX,  s.crtcY, s.crtcW, s.crtcH };
	for (size_t i = 0; i < std::size(ids); i++)
		if (ids[i])
			drmModeAtomicAddProperty(req, plane_, ids[i], vals[i]);
	if (zpos_ >= 0)
		drmModeAtomicAddProperty(req, plane_, zposProp_, s.zpos);
	int ret = drmModeAtomicCommit(fd_.get(), req, DRM_MODE_ATOMIC_ALLOW_MODESET, nullptr);
	int err = errno;
	drmModeAtomicFree(req);
	modeSet_ = false;
	if (ret < 0) {
		/* The saved framebuffer may be gone (its owner closed); switch off instead. */
		drmModeAtomicReq *off = drmModeAtomicAlloc();
		drmModeAtomicAddProperty(off, plane_, p.fbId, 0);
		drmModeAtomicAddProperty(off, plane_, p.crtcId, 0);
		drmModeAtomicAddProperty(off, connector_, p.connCrtcId, 0);
		drmModeAtomicAddProperty(off, crtc_, p.crtcModeId, 0);
		drmModeAtomicAddProperty(off, crtc_, p.crtcActive, 0);
		drmModeAtomicCommit(fd_.get(), off, DRM_MODE_ATOMIC_ALLOW_MODESET, nullptr);
		drmModeAtomicFree(off);
		errno = err;
		throwErrno("atomic commit (restore)", path_);
	}
}

void KmsDisplay::writeback(const DmaBuffer &target)
{
	int fd = fd_.get();
	drmSetClientCap(fd, DRM_CLIENT_CAP_WRITEBACK_CONNECTORS, 1);
	drmModeRes *res = drmModeGetResources(fd);
	uint32_t wb = 0;
	for (int i = 0; res && i < res->count_connectors && !wb; i++) {
		drmModeConnector *c = drmModeGetConnector(fd, res->connectors[i]);
		if (c && c->connector_type == DRM_MODE_CONNECTOR_WRITEBACK) {
			for (int e = 0; e < c->count_encoders; e++) {
				drmModeEncoder *enc = drmModeGetEncoder(fd, c->encoders[e]);
				if (enc && (enc->possible_crtcs & (1u << crtcIndex_)))
					wb = c->connector_id;
				drmModeFreeEncoder(enc);
			}
		}
		drmModeFreeConnector(c);
	}
	drmModeFreeResources(res);
	if (!wb)
		throw Error(path_ + " (" + driver_ + ") has no writeback connector for its CRTC");

	for (int i = 0; pending_ && i < 100; i++) {
		handleEvents([](uint64_t) {});
		if (pending_)
			usleep(10000);
	}
	uint32_t crtcProp = propId(fd, wb, DRM_MODE_OBJECT_CONNECTOR, "CRTC_ID");
	uint32_t fbProp = propId(fd, wb, DRM_MODE_OBJECT_CONNECTOR, "WRITEBACK_FB_ID");
	uint32_t fenceProp = propId(fd, wb, DRM_MODE_OBJECT_CONNECTOR, "WRITEBACK_OUT_FENCE_PTR");
	uint32_t fb = framebuffer(target);
	int32_t fence = -1;
	drmModeAtomicReq *req = drmModeAtomicAlloc();
	/* vkms cannot clone its encoders: the writeback connector drives the CRTC alone. */
	drmModeAtomicAddProperty(req, connector_, props_->connCrtcId, 0);
	drmModeAtomicAddProperty(req, wb, crtcProp, crtc_);
	drmModeAtomicAddProperty(req, wb, fbProp, fb);
	drmModeAtomicAddProperty(req, wb, fenceProp, uint64_t(uintptr_t(&fence)));
	int ret = drmModeAtomicCommit(fd, req, DRM_MODE_ATOMIC_ALLOW_MODESET, nullptr);
	int err = errno;
	drmModeAtomicFree(req);
	if (ret == 0 && fence >= 0) {
		pollfd p = { fence, POLLIN, 0 };
		poll(&p, 1, 5000);
		close(fence);
	}
	/* Detach the writeback connector again (it takes one job per commit). */
	drmModeAtomicReq *off = drmModeAtomicAlloc();
	drmModeAtomicAddProperty(off, wb, crtcProp, 0);
	drmModeAtomicAddProperty(off, connector_, props_->connCrtcId, crtc_);
	drmModeAtomicCommit(fd, off, DRM_MODE_ATOMIC_ALLOW_MODESET, nullptr);
	drmModeAtomicFree(off);
	releaseFramebuffer(target);
	if (ret < 0) {
		errno = err;
		throwErrno("atomic commit (writeback)", path_ + " (" + driver_ + ")");
	}
}

/* ---- buffers ---- */

KmsDisplay::FbKey KmsDisplay::fbKey(const DmaBuffer &buf)
{
	FbKey k { buf.id(), buf.format().drm, buf.width(), buf.height(), {}, {} };
	const auto &planes = buf.planes();
	for (size_t i = 0; i < planes.size() && i < 4; i++) {
		k.offsets[i] = planes[i].offset;
		k.pitches[i] = planes[i].stride;
	}
	return k;
}

uint32_t KmsDisplay::framebuffer(const DmaBuffer &buf)
{
	auto it = fbs_.find(fbKey(buf));
	if (it != fbs_.end())
		return it->second;

	uint32_t handles[4] = {}, pitches[4] = {}, offsets[4] = {};
	uint64_t modifiers[4] = {};
	std::set<uint32_t> unique;
	const auto &planes = buf.planes();
	for (size_t i = 0; i < planes.size() && i < 4; i++) {
		if (drmPrimeFDToHandle(fd_.get(), planes[i].fd.get(), &handles[i]) < 0) {
			int err = errno;
			for (uint32_t h : unique) {
				struct drm_gem_close c = { h, 0 };
				drmIoctl(fd_.get(), DRM_IOCTL_GEM_CLOSE, &c);
			}
			errno = err;
			throwErrno("drmPrimeFDToHandle(" + buf.exporter() + " dma-buf)",
				   path_ + " (" + driver_ + ")");
		}
		unique.insert(handles[i]);
		pitches[i] = planes[i].stride;
		offsets[i] = planes[i].offset;
		modifiers[i] = buf.modifier();
	}
	uint32_t fb = 0;
	int ret;
	if (buf.modifier())
		ret = drmModeAddFB2WithModifiers(fd_.get(), buf.width(), buf.height(),
						 buf.format().drm, handles, pitches, offsets,
						 modifiers, &fb, DRM_MODE_FB_MODIFIERS);
	else
		ret = drmModeAddFB2(fd_.get(), buf.width(), buf.height(), buf.format().drm, handles,
				    pitches, offsets, &fb, 0);
	int err = errno;
	/* The framebuffer holds the GEM objects; the handles are not needed any more. */
	for (uint32_t h : unique) {
		struct drm_gem_close c = { h, 0 };
		drmIoctl(fd_.get(), DRM_IOCTL_GEM_CLOSE, &c);
	}
	if (ret < 0) {
		errno = err;
		throwErrno(std::string("drmModeAddFB2(") + buf.format().name + " " +
				   std::to_string(buf.width()) + "x" + std::to_string(buf.height()) +
				   " stride " + std::to_string(planes[0].stride) + ")",
			   path_ + " (" + driver_ + ")",
			   err == EINVAL || err == ENOSPC || err == ERANGE
				   ? "the display cannot scan out this size, format or layout of "
				     "buffer: try a smaller --size or another --format"
				   : std::string());
	}
	fbs_[fbKey(buf)] = fb;
	return fb;
}

void KmsDisplay::releaseFramebuffer(const DmaBuffer &buf)
{
	auto it = fbs_.find(fbKey(buf));
	if (it == fbs_.end())
		return;
	drmModeRmFB(fd_.get(), it->second);
	fbs_.erase(it);
}

namespace {

class DumbAllocator : public Allocator
{
public:
	/* Borrows a display's fd. */
	DumbAllocator(int fd, std::string driver) : fd_(fd), driver_(std::move(driver)) { }
	/* Owns a card opened only to make buffers. */
	DumbAllocator(UniqueFd fd, std::string driver)
		: fd_(fd.get()), owned_(std::move(fd)), driver_(std::move(driver))
	{
	}

	std::string name() const override { return driver_ + " dumb buffers"; }

	BufferLayout adjust(const BufferLayout &request) const override
	{
		uint32_t pitch = 0;
		uint64_t size = 0;
		uint32_t handle = create(request, &pitch, &size);
		destroy(handle);
		return layoutFor(request, pitch, size);
	}

	std::unique_ptr<DmaBuffer> allocate(const BufferLayout &request) override
	{
		uint32_t pitch = 0;
		uint64_t size = 0;
		uint32_t handle = create(request, &pitch, &size);
		int dmabuf = -1;
		int ret = drmPrimeHandleToFD(fd_, handle, DRM_CLOEXEC | DRM_RDWR, &dmabuf);
		int err = errno;
		/* The dma-buf keeps the object alive; the handle is not needed. */
		destroy(handle);
		if (ret < 0) {
			errno = err;
			throwErrno("drmPrimeHandleToFD", driver_);
		}
		BufferLayout l = layoutFor(request, pitch, size);
		UniqueFd fd(dmabuf);
		std::vector<Plane> planes;
		for (const auto &pl : l.planes) {
			Plane p;
			p.fd = fd.dup();
			p.offset = pl.offset;
			p.stride = pl.stride;
			p.length = pl.length;
			planes.push_back(std::move(p));
		}
		return std::make_unique<DmaBuffer>(l.format, l.width, l.height, std::move(planes),
						   driver_);
	}

private:
	static BufferLayout layoutFor(const BufferLayout &request, uint32_t pitch, uint64_t size)
	{
		const PixelFormat &f = request.format;
		std::vector<uint32_t> strides;
		for (unsigned p = 0; p < f.planes; p++)
			strides.push_back(f.impliedStride(p, pitch));
		return BufferLayout::fromStrides(f, request.width, request.height, strides, size);
	}

	uint32_t create(const BufferLayout &request, uint32_t *pitch, uint64_t *size) const
	{
		const PixelFormat &f = request.format;
		struct drm_mode_create_dumb c = {};
		/* Multi-planar formats: one byte-wide image tall enough for all planes. */
		c.bpp = f.planes == 1 ? f.cpp[0] * 8 : 8;
		c.width = f.planes == 1 ? request.width : f.minStride(0, request.width);
		uint64_t rows = request.height;
		for (unsigned p = 1; p < f.planes; p++)
			rows += (uint64_t(f.impliedStride(p, c.width)) *
					 f.planeHeight(p, request.height) +
				 c.width - 1) /
				c.width;
		/*
		 * At least the bytes asked for: a camera's sizeimage can exceed
		 * its planes (vivid's multi-planar API puts a data offset before
		 * plane 0, and QBUF refuses a shorter buffer).
		 */
		const uint64_t rowBytes = uint64_t(c.width) * c.bpp / 8;
		const size_t want = request.sizes.empty() ? 0 : request.sizes[0];
		rows = std::max<uint64_t>(rows, (want + rowBytes - 1) / rowBytes);
		c.height = uint32_t(rows);
		if (drmIoctl(fd_, DRM_IOCTL_MODE_CREATE_DUMB, &c) < 0)
			throwErrno("DRM_IOCTL_MODE_CREATE_DUMB(" + std::to_string(c.width) + "x" +
					   std::to_string(c.height) + "x" + std::to_string(c.bpp) +
					   ")",
				   driver_);
		*pitch = c.pitch;
		*size = c.size;
		return c.handle;
	}

	void destroy(uint32_t handle) const
	{
		struct drm_mode_destroy_dumb d = { handle };
		drmIoctl(fd_, DRM_IOCTL_MODE_DESTROY_DUMB, &d);
	}

	int fd_;
	UniqueFd owned_;
	std::string driver_;
};

bool makesDumbBuffers(int fd)
{
	uint64_t dumb = 0, prime = 0;
	return drmGetCap(fd, DRM_CAP_DUMB_BUFFER, &dumb) == 0 && dumb &&
		drmGetCap(fd, DRM_CAP_PRIME, &prime) == 0 && (prime & DRM_PRIME_CAP_EXPORT);
}

} /* namespace */

std::unique_ptr<Allocator> makeDumbAllocator(const std::string &pathOrDriver)
{
	for (const auto &node : cardNodes()) {
		if (!pathOrDriver.empty() && pathOrDriver[0] == '/' && node != pathOrDriver)
			continue;
		UniqueFd fd(::open(node.c_str(), O_RDWR | O_CLOEXEC));
		if (!fd)
			continue;
		/* The first opener of a card becomes master: leave that to the display. */
		if (drmIsMaster(fd.get()))
			drmDropMaster(fd.get());
		std::string driver = driverName(fd.get());
		if (!pathOrDriver.empty() && pathOrDriver[0] != '/' && driver != pathOrDriver)
			continue;
		if (makesDumbBuffers(fd.get()))
			return std::make_unique<DumbAllocator>(std::move(fd), driver);
	}
	throw Error(pathOrDriver.empty() ? "no KMS device under /dev/dri makes dumb buffers to export"
					 : pathOrDriver + " makes no dumb buffers to export");
}

std::unique_ptr<Allocator> KmsDisplay::dumbAllocator()
{
	uint64_t cap = 0;
	if (drmGetCap(fd_.get(), DRM_CAP_DUMB_BUFFER, &cap) < 0 || !cap)
		throw Error(path_ + " (" + driver_ + ") has no dumb buffers");
	if (drmGetCap(fd_.get(), DRM_CAP_PRIME, &cap) < 0 || !(cap & DRM_PRIME_CAP_EXPORT))
		throw Error(path_ + " (" + driver_ + ") cannot export dma-bufs (no PRIME export)");
	return std::make_unique<DumbAllocator>(fd_.get(), driver_);
}

/* ---- commits ---- */

int KmsDisplay::atomicCommit(const DmaBuffer &buf, const DisplayLayout &l, uint32_t flags)
{
	const Props &p = *props_;
	uint32_t fb = framebuffer(buf);
	drmModeAtomicReq *req = drmModeAtomicAlloc();
	uint32_t blob = 0;
	if (flags & DRM_MODE_ATOMIC_ALLOW_MODESET) {
		drmModeModeInfo mode = {};
		if (l.customMode) {
			mode = makeMode(l.modeWidth, l.modeHeight);
		} else {
			drmModeConnector *c = drmModeGetConnector(fd_.get(), connector_);
			for (int i = 0; c && i < c->count_modes; i++) {
				if (c->modes[i].hdisplay == l.modeWidth &&
				    c->modes[i].vdisplay == l.modeHeight) {
					mode = c->modes[i];
					if (c->modes[i].type & DRM_MODE_TYPE_PREFERRED)
						break;
				}
			}
			drmModeFreeConnector(c);
		}
		if (drmModeCreatePropertyBlob(fd_.get(), &mode, sizeof(mode), &blob) < 0) {
			drmModeAtomicFree(req);
			throwErrno("drmModeCreatePropertyBlob(mode)", path_);
		}
		drmModeAtomicAddProperty(req, connector_, p.connCrtcId, crtc_);
		drmModeAtomicAddProperty(req, crtc_, p.crtcModeId, blob);
		drmModeAtomicAddProperty(req, crtc_, p.crtcActive, 1);
	}
	int32_t fence = -1;
	bool wantFence = haveOutFence_ && wantOutFence_ && !(flags & DRM_MODE_ATOMIC_TEST_ONLY);
	if (wantFence)
		drmModeAtomicAddProperty(req, crtc_, p.crtcOutFence, uint64_t(uintptr_t(&fence)));
	drmModeAtomicAddProperty(req, plane_, p.fbId, fb);
	drmModeAtomicAddProperty(req, plane_, p.crtcId, crtc_);
	drmModeAtomicAddProperty(req, plane_, p.srcX, 0);
	drmModeAtomicAddProperty(req, plane_, p.srcY, 0);
	drmModeAtomicAddProperty(req, plane_, p.srcW, uint64_t(buf.width()) << 16);
	drmModeAtomicAddProperty(req, plane_, p.srcH, uint64_t(buf.height()) << 16);
	drmModeAtomicAddProperty(req, plane_, p.crtcX, uint64_t(int64_t(l.x)));
	drmModeAtomicAddProperty(req, plane_, p.crtcY, uint64_t(int64_t(l.y)));
	drmModeAtomicAddProperty(req, plane_, p.crtcW, l.w);
	drmModeAtomicAddProperty(req, plane_, p.crtcH, l.h);
	if (zpos_ >= 0)
		drmModeAtomicAddProperty(req, plane_, zposProp_, uint64_t(zpos_));
	int ret = drmModeAtomicCommit(fd_.get(), req, flags, this);
	int err = errno;
	drmModeAtomicFree(req);
	if (ret == 0 && wantFence)
		outFence_.reset(fence);
	if (flags & DRM_MODE_ATOMIC_ALLOW_MODESET) {
		if (ret == 0 && !(flags & DRM_MODE_ATOMIC_TEST_ONLY)) {
			if (modeBlob_)
				drmModeDestroyPropertyBlob(fd_.get(), modeBlob_);
			modeBlob_ = blob;
		} else {
			drmModeDestroyPropertyBlob(fd_.get(), blob);
		}
	}
	errno = err;
	return ret;
}

DisplayLayout KmsDisplay::configure(const DmaBuffer &sample, const LayoutRequest &request)
{
	if (std::find(formats_.begin(), formats_.end(), sample.format().drm) == formats_.end()) {
		std::string have;
		for (uint32_t f : formats_)
			have += (have.empty() ? "" : ", ") + fourccToString(f);
		throw Error(path_ + " (" + driver_ + ") cannot scan out " + sample.format().name +
			    "; its plane takes " + have);
	}
	auto candidates = layoutCandidates(sample.width(), sample.height(), modes_, request);
	std::string tried;
	for (const auto &l : candidates) {
		if (atomicCommit(sample, l,
				 DRM_MODE_ATOMIC_TEST_ONLY | DRM_MODE_ATOMIC_ALLOW_MODESET) == 0) {
			layout_ = l;
			/* A new layout may need another mode: the next commit may set it. */
			modesetNext_ = true;
			return l;
		}
		if (errno == EACCES || errno == EPERM)
			throwErrno(
				"atomic TEST_ONLY commit", path_ + " (" + driver_ + ")",
				"no DRM master: stop the compositor or use --display with another device");
		tried += "\n  " + l.describe(sample.width(), sample.height()) + ": " +
			strerror(errno);
	}
	std::string modes;
	for (const auto &m : modes_)
		modes += (modes.empty() ? "" : " ") + std::to_string(m.width) + "x" +
			std::to_string(m.height);
	throw Error(path_ + " (" + driver_ + ", " + connectorName() + ") accepts no layout for a " +
		    std::to_string(sample.width()) + "x" + std::to_string(sample.height()) +
		    " frame; modes: " + modes + "; tried:" + tried);
}

void KmsDisplay::setZpos(uint64_t zpos)
{
	if (!zposProp_)
		throw Error(path_ + " (" + driver_ + "): plane " + std::to_string(plane_) +
			    " has no zpos property");
	drmModePropertyRes *p = drmModeGetProperty(fd_.get(), zposProp_);
	bool immutable = p && (p->flags & DRM_MODE_PROP_IMMUTABLE);
	uint64_t lo = p && p->count_values >= 2 ? p->values[0] : 0;
	uint64_t hi = p && p->count_values >= 2 ? p->values[1] : UINT64_MAX;
	drmModeFreeProperty(p);
	if (immutable)
		throw Error(path_ + " (" + driver_ + "): the zpos of plane " +
			    std::to_string(plane_) + " is fixed by the driver");
	if (zpos < lo || zpos > hi)
		throw Error(path_ + " (" + driver_ + "): zpos " + std::to_string(zpos) +
			    " is outside plane " + std::to_string(plane_) + "'s range " +
			    std::to_string(lo) + ".." + std::to_string(hi));
	zpos_ = int64_t(zpos);
}

ModeSize KmsDisplay::currentMode() const
{
	if (layout_.modeWidth)
		return { layout_.modeWidth, layout_.modeHeight, false };
	for (const auto &m : modes_)
		if (m.preferred)
			return m;
	return modes_.empty() ? ModeSize { 0, 0, false } : modes_.front();
}

void KmsDisplay::commit(const DmaBuffer &buf)
{
	if (pending_)
		throw Error("commit while a flip is pending on " + path_);
	uint32_t flags = DRM_MODE_ATOMIC_NONBLOCK | DRM_MODE_PAGE_FLIP_EVENT;
	if (!modeSet_ || modesetNext_)
		flags |= DRM_MODE_ATOMIC_ALLOW_MODESET;
	if (atomicCommit(buf, layout_, flags) < 0)
		throwErrno("atomic commit", path_ + " (" + driver_ + ")",
			   errno == EACCES           ? "lost DRM master"
				   : errno == ENODEV ? "the display device was removed"
						     : "");
	modeSet_ = true;
	modesetNext_ = false;
	pending_ = true;
}

namespace {
struct EventContext {
	KmsDisplay *display;
	const std::function<void(uint64_t)> *onFlip;
	bool *pending;
};
} /* namespace */

static void flipHandler(int, unsigned int, unsigned int sec, unsigned int usec, unsigned int,
			void *data)
{
	auto *ctx = static_cast<EventContext *>(data);
	*ctx->pending = false;
	(*ctx->onFlip)(uint64_t(sec) * 1000000000ull + uint64_t(usec) * 1000ull);
}

void KmsDisplay::handleEvents(const std::function<void(uint64_t)> &onFlip)
{
	/* libdrm hands our commit's user data through; wrap it to reach the callback. */
	char buf[1024];
	ssize_t len = read(fd_.get(), buf, sizeof(buf));
	if (len < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		throwErrno("read(DRM events)", path_);
	}
	EventContext ctx { this, &onFlip, &pending_ };
	for (ssize_t i = 0; i + ssize_t(sizeof(drm_event)) <= len;) {
		auto *e = reinterpret_cast<drm_event *>(buf + i);
		if (e->type == DRM_EVENT_FLIP_COMPLETE) {
			auto *v = reinterpret_cast<drm_event_vblank *>(e);
			flipHandler(fd_.get(), v->sequence, v->tv_sec, v->tv_usec, v->crtc_id, &ctx);
		}
		i += e->length;
	}
}

} /* namespace dmapipe */
