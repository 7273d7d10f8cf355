/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "dmapipe/convert.h"

namespace dmapipe {

/*
 * The Y'CbCr -> R'G'B' equations of convert.h as real factors on the 8-bit
 * samples, shared by the exact and the fast kernels:
 *     R = ys (Y' - yo) + rv (Cr - 128)
 *     G = ys (Y' - yo) + gu (Cb - 128) + gv (Cr - 128)
 *     B = ys (Y' - yo) + bu (Cb - 128)
 */
struct YuvMatrix {
	double ys, yo, rv, gu, gv, bu;
};

constexpr YuvMatrix yuvMatrix(YuvEncoding enc, YuvRange range)
{
	const double kr = enc == YuvEncoding::BT709 ? 0.2126
		: enc == YuvEncoding::BT2020        ? 0.2627
						    : 0.299;
	const double kb = enc == YuvEncoding::BT709 ? 0.0722
		: enc == YuvEncoding::BT2020        ? 0.0593
						    : 0.114;
	const double kg = 1.0 - kr - kb;
	const bool full = range == YuvRange::Full;
	const double cs = full ? 1.0 : 255.0 / 224.0;
	return { full ? 1.0 : 255.0 / 219.0,
		 full ? 0.0 : 16.0,
		 2.0 * (1.0 - kr) * cs,
		 -kb * 2.0 * (1.0 - kb) / kg * cs,
		 -kr * 2.0 * (1.0 - kr) / kg * cs,
		 2.0 * (1.0 - kb) * cs };
}

} /* namespace dmapipe */
