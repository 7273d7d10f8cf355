/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include <dmapipe/allocator.h>
#include <dmapipe/buffer.h>
#include <dmapipe/fd.h>

namespace dmapipe {

/* A display mode size as the connector lists it. */
struct ModeSize {
	uint32_t width, height;
	bool preferred = false;
};

/* Where a frame goes on screen: the mode, and the plane's destination rectangle. */
struct DisplayLayout {
	uint32_t modeWidth = 0, modeHeight = 0;
	bool customMode = false; /* a mode we made with the frame's size */
	int32_t x = 0, y = 0;
	uint32_t w = 0, h = 0; /* destination; the source is always the whole frame */

	bool scaled(uint32_t frameW, uint32_t frameH) const { return w != frameW || h != frameH; }
	std::string describe(uint32_t frameW, uint32_t frameH) const;
	bool operator==(const DisplayLayout &o) const;
};

/*
 * Layouts to try, best first: a listed mode of the frame's size; a mode we
 * make with the frame's size; the preferred mode with the frame centred;
 * the preferred mode with the frame scaled to fit (aspect kept), then to
 * fill. The display's TEST_ONLY commit picks the first it accepts.
 */
std::vector<DisplayLayout> layoutCandidates(uint32_t frameW, uint32_t frameH,
					    const std::vector<ModeSize> &modes);

/* How a frame is placed when the caller chooses (kmssink-style sinks). */
enum class Scaling {
	Auto, /* layoutCandidates(): a mode of the frame's size first, then centred, fit, fill */
	None, /* a mode of the frame's size, else centred in the preferred mode, never scaled */
	Fit, /* the preferred mode, scaled to fit with the aspect ratio kept (letterbox) */
	Fill, /* the preferred mode, scaled to cover it with the aspect ratio kept (cropped) */
	Stretch, /* the preferred mode, scaled to cover it exactly */
};
struct LayoutRequest {
	Scaling scaling = Scaling::Auto;
	/* A destination rectangle in the preferred mode (GstVideoOverlay's render rectangle); w = 0: none. */
	int32_t x = 0, y = 0;
	uint32_t w = 0, h = 0;
};
std::vector<DisplayLayout> layoutCandidates(uint32_t frameW, uint32_t frameH,
					    const std::vector<ModeSize> &modes,
					    const LayoutRequest &request);

/* A plane the display's CRTC can scan out on (cursor planes left out). */
struct DisplayPlane {
	uint32_t id = 0;
	bool primary = false;
	std::vector<uint32_t> formats; /* DRM fourccs */
	uint64_t zpos = 0; /* as the driver reports it (0 when it has none) */
};

/* Which connector and plane of the device, and whose fd. */
struct DisplaySelect {
	/* A connector name ("VGA-1", "HDMI-A-1", "Virtual-1") or id; empty: the first connected. */
	std::string connector;
	/* A plane id the connector's CRTC can use (primary or overlay); 0: its primary plane. */
	uint32_t plane = 0;
	/* An open DRM fd to use (a DRM lease, a device opened by the caller), dup'ed; -1: open one. */
	int fd = -1;
};

/*
 * A KMS device driven with atomic commits: one connector, its CRTC and a
 * primary plane that scans out dma-bufs imported through PRIME. The state
 * it found is put back when it is destroyed.
 */
class KmsDisplay
{
public:
	/* A path ("/dev/dri/card0"), a driver name ("cirrus", "vkms"), or "" for the first with a connected display. */
	explicit KmsDisplay(const std::string &pathOrDriver, const DisplaySelect &select = {});
	~KmsDisplay();
	KmsDisplay(const KmsDisplay &) = delete;
	KmsDisplay &operator=(const KmsDisplay &) = delete;

	const std::string &path() const { return path_; }
	const std::string &driver() const { return driver_; }
	int fd() const { return fd_.get(); }
	/* "Virtual-1", "VGA-1" */
	std::string connectorName() const;
	/* DRM fourccs the chosen plane scans out. */
	const std::vector<uint32_t> &formats() const { return formats_; }
	const std::vector<ModeSize> &modes() const { return modes_; }
	/* Every primary and overlay plane of the chosen CRTC, the one in use among them. */
	const std::vector<DisplayPlane> &planes() const { return planes_; }
	/*
	 * Scans out on another plane of the same CRTC from now on (before the
	 * first commit only: the saved state is that plane's). Throws when the
	 * CRTC cannot use it.
	 */
	void usePlane(uint32_t id);

	/* Dumb buffers exported with PRIME: the display is the exporter. */
	std::unique_ptr<Allocator> dumbAllocator();

	/*
	 * Chooses the layout for frames like sample with TEST_ONLY commits.
	 * Throws with what the display accepts when nothing fits.
	 */
	DisplayLayout configure(const DmaBuffer &sample, const LayoutRequest &request = {});
	/* The plane's zpos from the next commit on; throws when the plane has no mutable zpos. */
	void setZpos(uint64_t zpos);
	uint32_t planeId() const { return plane_; }
	uint32_t connectorId() const { return connector_; }
	/* The mode a layout is for (the preferred mode before configure()). */
	ModeSize currentMode() const;
	const DisplayLayout &layout() const { return layout_; }

	/* The framebuffer for a buffer, imported on first use and cached by its identity. */
	uint32_t framebuffer(const DmaBuffer &buffer);
	void releaseFramebuffer(const DmaBuffer &buffer);
	size_t framebufferCount() const { return fbs_.size(); }

	/* Non-blocking page flip to buffer; its completion comes through handleEvents(). */
	void commit(const DmaBuffer &buffer);
	bool flipPending() const { return pending_; }
	/* Reads DRM events; onFlip(CLOCK_MONOTONIC ns) for each completed flip. */
	void handleEvents(const std::function<void(uint64_t)> &onFlip);
	/*
	 * Ask each commit for an out-fence (OUT_FENCE_PTR, where the CRTC has it)
	 * for callers that hand scanout completion to other devices. Off by
	 * default: the page-flip event already tells the pipeline, and the fence
	 * costs a close() per frame.
	 */
	void requestOutFences(bool on) { wantOutFence_ = on; }
	/* Sync file of the last commit's scanout start, -1 if none. */
	int lastOutFence() const { return outFence_.get(); }

	/*
	 * What the CRTC puts out, written into target (a buffer of the mode's
	 * size) through a writeback connector, as vkms has. Blocks until done;
	 * throws when the device has no writeback connector for this CRTC.
	 */
	void writeback(const DmaBuffer &target);

	/* Puts the saved CRTC, plane and connector state back (also done by the destructor). */
	void restore();

private:
	struct Saved;
	struct Props;

	bool open(const std::string &path, bool needConnected);
	bool pickPipe();
	std::string selectionProblem() const;
	int atomicCommit(const DmaBuffer &buffer, const DisplayLayout &layout, uint32_t flags);
	void save();

	UniqueFd fd_;
	std::string path_, driver_;
	uint32_t connector_ = 0, crtc_ = 0, plane_ = 0;
	uint32_t connectorType_ = 0, connectorTypeId_ = 0;
	unsigned crtcIndex_ = 0;
	std::vector<uint32_t> formats_;
	std::vector<ModeSize> modes_;
	std::vector<DisplayPlane> planes_;
	std::unique_ptr<Props> props_;
	std::unique_ptr<Saved> saved_;
	DisplayLayout layout_;
	uint32_t modeBlob_ = 0;
	bool modeSet_ = false;
	bool modesetNext_ = false; /* configure() chose a layout that may need a new mode */
	DisplaySelect select_;
	std::string unfit_; /* devices passed over while opening, and why */
	uint32_t zposProp_ = 0;
	int64_t zpos_ = -1;
	bool pending_ = false;
	/*
	 * A framebuffer is the dma-buf and how it is read (format, size, each
	 * plane's offset and pitch): the same memory under another layout (a
	 * renegotiation, a crop by offsets) is another framebuffer.
	 */
	struct FbKey {
		uint64_t id;
		uint32_t format, width, height;
		std::array<uint32_t, 4> offsets, pitches;
		bool operator<(const FbKey &o) const
		{
			return std::tie(id, format, width, height, offsets, pitches) <
				std::tie(o.id, o.format, o.width, o.height, o.offsets, o.pitches);
		}
	};
	static FbKey fbKey(const DmaBuffer &buffer);
	std::map<FbKey, uint32_t> fbs_; /* -> fb id */
	UniqueFd outFence_;
	bool haveOutFence_ = false;
	bool wantOutFence_ = false;
};

/*
 * Dumb buffers exported with PRIME from a KMS device opened only for that,
 * without DRM master (for a sink that is not the display itself, or before
 * the display is opened). "" = the first card that makes them.
 */
std::unique_ptr<Allocator> makeDumbAllocator(const std::string &pathOrDriver = {});

struct DisplayDeviceInfo {
	std::string path, driver;
	std::vector<std::string> connectors; /* "VGA-1 (connected)" */
};
std::vector<DisplayDeviceInfo> listDisplayDevices();

} /* namespace dmapipe */
