/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One negotiation over camera, stages and display, in two phases as
 * libcamera's CameraConfiguration: proposeRoutes() lists every way through
 * (camera format, conversion, display plane and format), best first, from
 * what each side says it takes; the pipeline then validates the first
 * routes against the devices themselves (the camera's S_FMT, the display's
 * framebuffer import and TEST_ONLY commit), each ending Valid, Adjusted
 * (with what changed and why) or Invalid (with the reason).
 */

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <dmapipe/format.h>
#include <dmapipe/kms_display.h>
#include <dmapipe/source.h>
#include <dmapipe/stage.h>

namespace dmapipe {

enum class Validity { Valid, Adjusted, Invalid };
const char *validityName(Validity v);

/* One way through: what the camera delivers, what a plane scans out. */
struct Route {
	PixelFormat capture {};
	PixelFormat scanout {};
	DisplayPlane plane;
	int converter = -1; /* index in the stages of the converting one, -1: direct scanout */
	/* "direct scanout on plane 40 (overlay, zpos 1): the primary plane does not take ARGB8888" */
	std::string describe() const;
};

/*
 * Phase one. Without a converting stage: direct scanout, every primary-plane
 * route in the camera's order of formats, then overlay routes (the topmost
 * overlay first). With one: each camera format it takes, into each format
 * it can make (XRGB8888 before RGB565 for ConvertStage), on the planes that
 * take that, the primary first. In-place stages must take the format they
 * see. @p wanted restricts the camera format.
 */
std::vector<Route> proposeRoutes(const std::vector<uint32_t> &cameraFormats,
				 const std::vector<std::shared_ptr<Stage>> &stages, int converter,
				 const std::vector<DisplayPlane> &planes,
				 const std::optional<PixelFormat> &wanted = {});

/*
 * The plane a format goes to, by the same ranking as proposeRoutes() (the
 * primary first, then the topmost overlay): for sinks handed a format
 * (dmapipesink), which do not choose the camera's.
 */
std::optional<DisplayPlane> scanoutPlane(const std::vector<DisplayPlane> &planes, uint32_t drm);
/* Every format some plane takes, the primary's first (a sink's caps). */
std::vector<uint32_t> scanoutFormats(const std::vector<DisplayPlane> &planes);

/* Why proposeRoutes() found nothing, naming what each side takes. */
std::string noRouteReason(const std::vector<uint32_t> &cameraFormats,
			  const std::vector<std::shared_ptr<Stage>> &stages, int converter,
			  const std::vector<DisplayPlane> &planes,
			  const std::optional<PixelFormat> &wanted, const std::string &cameraName,
			  const std::string &displayName);

/*
 * Sizes to fall back to when the display refuses the camera's: those the
 * camera lists that are smaller than @p refused in both dimensions, the
 * largest first, the ones that fit @p screen (the preferred mode) ahead of
 * the rest. A camera listing a range gets the screen size and halvings.
 */
std::vector<FrameSize> smallerSizes(const std::vector<FrameSize> &cameraSizes, FrameSize refused,
				    FrameSize screen);

/* The outcome of phase two, as the pipeline reports it. */
struct Negotiated {
	Validity status = Validity::Invalid;
	Route route;
	std::vector<std::string> adjustments; /* "size 1920x1080 -> 960x540: ..." */
	std::vector<std::string> rejected; /* routes tried first and why each failed */
	std::string summary() const;
};

} /* namespace dmapipe */
