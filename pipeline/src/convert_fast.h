/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The fast Y'CbCr -> R'G'B' rows behind ConvertPrecision::Fast (convert.h):
 * one integer arithmetic, evaluated by a scalar reference and by explicit
 * SIMD for SSE2, AVX2 and NEON that must equal it bit for bit.
 *
 *     acc = cy * Y' + k0 * C0 + k1 * C1 + o     (32-bit, no overflow)
 *     out = clamp(acc >> 13, 0, 255)
 *
 * cy, k0, k1 are the matrix's coefficients with 13 fractional bits (the
 * most a signed 16-bit lane holds for BT.2020 limited's 2.14); C0 and C1 are
 * the pixel pair's two chroma samples in memory order (so YVYU, VYUY, NV21
 * and NV61 differ from their siblings only in k0/k1), o folds in the
 * centring and the +1/2 of rounding. 16-bit inputs and coefficients with
 * 32-bit sums are what every SIMD ISA multiplies natively (pmaddwd,
 * vpmaddwd, smlal); the clamp is the saturating narrowing (packssdw +
 * packuswb, sqshrn + sqxtun). The coefficients' rounding error is at most
 * 0.03 of an output step, so a result differs from the exact one
 * (convert.cpp) by at most 1, which the unit suite checks for all 2^24
 * inputs.
 */

#include <cstdint>

#include "dmapipe/convert.h"

namespace dmapipe::fastconv {

constexpr int kFracBits = 13;

struct Coeffs {
	int16_t cy;
	int16_t k[3][2]; /* R, G, B: factors of the first and second chroma sample */
	int32_t o[3];
};

/* swapChroma: Cr is the first sample of a pair in memory (YVYU, VYUY, NV21, NV61). */
Coeffs makeCoeffs(YuvEncoding enc, YuvRange range, bool swapChroma);

enum class Layout : uint8_t {
	PackedY0, /* Y' C0 Y' C1 (YUYV, YVYU) */
	PackedY1, /* C0 Y' C1 Y' (UYVY, VYUY) */
	SemiPlanar, /* y: Y' row; c0: C0 C1 pairs */
	Planar, /* y: Y' row; c0: Cb row; c1: Cr row */
	Grey, /* y: Y' row; chroma 128 */
};

struct Row {
	Layout layout;
	bool rgb565; /* else XRGB8888 */
	const uint8_t *y, *c0, *c1;
	uint8_t *d;
	uint32_t width;
};

/* Pixels [begin, width) of a row; begin even. The reference. */
void rowScalar(const Row &r, const Coeffs &k, uint32_t begin);

/*
 * A SIMD ISA's rows: converts a leading run of the row (whole vector
 * blocks) and returns its length in pixels (even); rowScalar does the rest.
 */
typedef uint32_t (*RowFn)(const Row &r, const Coeffs &k);

/* The row function of isa, nullptr for Scalar or an ISA this build or CPU lacks. */
RowFn rowFunction(ConvertIsa isa);

} /* namespace dmapipe::fastconv */
