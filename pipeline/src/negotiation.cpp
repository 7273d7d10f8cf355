/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dmapipe/negotiation.h"
#include "dmapipe/stages.h"

#include <algorithm>
#include <drm_fourcc.h>

namespace dmapipe {

const char *validityName(Validity v)
{
	switch (v) {
	case Validity::Valid:
		return "valid";
	case Validity::Adjusted:
		return "adjusted";
	case Validity::Invalid:
		return "invalid";
	}
	return "?";
}

static bool takes(const DisplayPlane &p, uint32_t drm)
{
	return std::find(p.formats.begin(), p.formats.end(), drm) != p.formats.end();
}

static std::string planeName(const DisplayPlane &p)
{
	return "plane " + std::to_string(p.id) +
		(p.primary ? " (primary)" : " (overlay, zpos " + std::to_string(p.zpos) + ")");
}

std::string Route::describe() const
{
	std::string s = converter < 0
		? std::string("direct scanout of ") + capture.name
		: std::string("convert ") + capture.name + " -> " + scanout.name;
	s += " on " + planeName(plane);
	if (!plane.primary)
		s += std::string(": the primary plane does not take ") + scanout.name;
	return s;
}

/* The primary first (it covers the screen, needs no layer under it), then the topmost overlay. */
static std::vector<DisplayPlane> planeOrder(const std::vector<DisplayPlane> &planes)
{
	std::vector<DisplayPlane> order = planes;
	std::stable_sort(order.begin(), order.end(), [](const DisplayPlane &a, const DisplayPlane &b) {
		if (a.primary != b.primary)
			return a.primary;
		return a.zpos > b.zpos;
	});
	return order;
}

std::optional<DisplayPlane> scanoutPlane(const std::vector<DisplayPlane> &planes, uint32_t drm)
{
	for (const DisplayPlane &p : planeOrder(planes))
		if (takes(p, drm))
			return p;
	return std::nullopt;
}

std::vector<uint32_t> scanoutFormats(const std::vector<DisplayPlane> &planes)
{
	std::vector<uint32_t> all;
	for (const DisplayPlane &p : planeOrder(planes))
		for (uint32_t f : p.formats)
			if (std::find(all.begin(), all.end(), f) == all.end())
				all.push_back(f);
	return all;
}

/* What a converting stage can make of f, in its order of preference. */
static std::vector<uint32_t> outputsOf(const Stage &st, const PixelFormat &f)
{
	if (dynamic_cast<const ConvertStage *>(&st)) {
		std::vector<uint32_t> outs;
		for (uint32_t out : ConvertStage::outputs())
			if (f.drm != out && convertSupported(f.drm, out))
				outs.push_back(out);
		return outs;
	}
	uint32_t out = st.accepts(f) ? st.produces(f) : 0;
	return out ? std::vector<uint32_t> { out } : std::vector<uint32_t> {};
}

static bool stagesTake(const std::vector<std::shared_ptr<Stage>> &stages, int converter,
		       const PixelFormat &capture, const PixelFormat &scanout)
{
	for (size_t i = 0; i < stages.size(); i++) {
		if (int(i) == converter)
			continue;
		const PixelFormat &f = converter >= 0 && int(i) > converter ? scanout : capture;
		if (!stages[i]->accepts(f))
			return false;
	}
	return true;
}

std::vector<Route> proposeRoutes(const std::vector<uint32_t> &cameraFormats,
				 const std::vector<std::shared_ptr<Stage>> &stages, int converter,
				 const std::vector<DisplayPlane> &planes,
				 const std::optional<PixelFormat> &wanted)
{
	std::vector<PixelFormat> capture;
	for (uint32_t code : cameraFormats) {
		auto f = formatFromV4l2(code);
		if (!f || (wanted && f->drm != wanted->drm))
			continue;
		/* NV12 and NV12M are one format to the pipeline. */
		if (std::none_of(capture.begin(), capture.end(),
				 [&](const PixelFormat &c) { return c.drm == f->drm; }))
			capture.push_back(*f);
	}
	std::vector<Route> routes;
	const std::vector<DisplayPlane> order = planeOrder(planes);
	for (bool primary : { true, false }) {
		for (const DisplayPlane &plane : order) {
			if (plane.primary != primary)
				continue;
			for (const PixelFormat &f : capture) {
				if (converter < 0) {
					if (takes(plane, f.drm) && stagesTake(stages, -1, f, f))
						routes.push_back({ f, f, plane, -1 });
					continue;
				}
				const Stage &conv = *stages[size_t(converter)];
				for (uint32_t out : outputsOf(conv, f)) {
					auto o = formatFromDrm(out);
					if (o && takes(plane, out) &&
					    stagesTake(stages, converter, f, *o))
						routes.push_back({ f, *o, plane, converter });
				}
			}
		}
	}
	return routes;
}

static std::string names(const std::vector<uint32_t> &codes)
{
	std::string s;
	for (uint32_t c : codes)
		s += (s.empty() ? "" : " ") + fourccToString(c);
	return s.empty() ? "nothing" : s;
}

std::string noRouteReason(const std::vector<uint32_t> &cameraFormats,
			  const std::vector<std::shared_ptr<Stage>> &stages, int converter,
			  const std::vector<DisplayPlane> &planes,
			  const std::optional<PixelFormat> &wanted, const std::string &cameraName,
			  const std::string &displayName)
{
	std::string display;
	for (const DisplayPlane &p : planeOrder(planes))
		display +=
			(display.empty() ? "" : "; ") + planeName(p) + " takes " + names(p.formats);
	if (wanted) {
		bool has = std::any_of(cameraFormats.begin(), cameraFormats.end(), [&](uint32_t c) {
			return c == wanted->v4l2 || (wanted->v4l2Mplane && c == wanted->v4l2Mplane);
		});
		if (!has)
			return cameraName + " does not capture " + wanted->name + "; it offers " +
				names(cameraFormats);
		if (converter >= 0 && !stages[size_t(converter)]->accepts(*wanted))
			return "stage " + stages[size_t(converter)]->name() + " does not take " +
				wanted->name;
		for (size_t i = 0; i < stages.size(); i++)
			if (int(i) != converter && converter < 0 && !stages[i]->accepts(*wanted))
				return "stage " + stages[i]->name() + " does not take " +
					wanted->name;
		if (converter < 0)
			return displayName + " cannot scan out " + wanted->name + " on any plane (" +
				display + "); add a conversion stage: --stage convert";
		return displayName + " takes nothing " + stages[size_t(converter)]->name() +
			" makes of " + wanted->name + " (" + display + ")";
	}
	if (converter >= 0)
		return "stage " + stages[size_t(converter)]->name() +
			" takes none of the formats " + cameraName + " offers (" +
			names(cameraFormats) + ") into one the display takes (" + display + ")";
	for (size_t i = 0; i < stages.size(); i++)
		for (uint32_t code : cameraFormats)
			if (auto f = formatFromV4l2(code); f && !stages[i]->accepts(*f))
				return "no pixel format that camera, stages and display all take: " +
					cameraName + " offers " + names(cameraFormats) + "; " +
					displayName + ": " + display + "; stage " +
					stages[i]->name() + " takes some of them only";
	return "no pixel format both ends take: " + cameraName + " offers " + names(cameraFormats) +
		"; " + displayName + ": " + display + " (add a conversion stage: --stage convert)";
}

std::vector<FrameSize> smallerSizes(const std::vector<FrameSize> &cameraSizes, FrameSize refused,
				    FrameSize screen)
{
	std::vector<FrameSize> sizes;
	auto add = [&](FrameSize s) {
		if (s.width && s.height && s.width <= refused.width && s.height <= refused.height &&
		    (s.width < refused.width || s.height < refused.height) &&
		    std::none_of(sizes.begin(), sizes.end(), [&](const FrameSize &o) {
			    return o.width == s.width && o.height == s.height;
		    }))
			sizes.push_back(s);
	};
	for (const FrameSize &s : cameraSizes)
		add(s);
	/* A range (or nothing listed): the screen, then halvings of the refused size. */
	if (sizes.size() < 2) {
		add(screen);
		for (FrameSize s = refused; s.width >= 32 && s.height >= 32;
		     s = { s.width / 2 & ~1u, s.height / 2 & ~1u })
			add(s);
	}
	auto fits = [&](const FrameSize &s) {
		return !screen.width || (s.width <= screen.width && s.height <= screen.height);
	};
	std::stable_sort(sizes.begin(), sizes.end(), [&](const FrameSize &a, const FrameSize &b) {
		if (fits(a) != fits(b))
			return fits(a);
		return uint64_t(a.width) * a.height > uint64_t(b.width) * b.height;
	});
	return sizes;
}

std::string Negotiated::summary() const
{
	std::string s = std::string(validityName(status)) + ": " + route.describe();
	for (const auto &a : adjustments)
		s += "; " + a;
	return s;
}

} /* namespace dmapipe */
