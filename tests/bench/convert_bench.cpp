/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ns/pixel of convertToXrgb8888 for each source format at 640x480 and
 * 1920x1080, single thread, frames in cache-cold-ish buffers (one source and
 * one destination frame, reused). Reports "ns_per_px" and bytes/s.
 *
 *   convert_bench --benchmark_min_time=1
 */

#include "dmapipe/convert.h"

#include <random>
#include <vector>

#include <benchmark/benchmark.h>
#include <drm_fourcc.h>

using namespace dmapipe;

static void BM_Convert(benchmark::State &state, uint32_t fourcc, YuvEncoding enc, YuvRange range)
{
	const uint32_t w = uint32_t(state.range(0)), h = uint32_t(state.range(1));
	const bool nv12 = fourcc == DRM_FORMAT_NV12;
	std::vector<uint8_t> p0(nv12 ? size_t(w) * h : size_t(w) * 2 * h);
	std::vector<uint8_t> p1(nv12 ? size_t(w) * h / 2 : 1);
	std::mt19937 rng(1);
	for (auto &b : p0)
		b = uint8_t(rng());
	for (auto &b : p1)
		b = uint8_t(rng());
	const ConstPlane planes[2] = { { p0.data(), nv12 ? w : w * 2 }, { p1.data(), w } };
	std::vector<uint8_t> dst(size_t(w) * 4 * h);

	for (auto _ : state) {
		convertToXrgb8888(fourcc, planes, nv12 ? 2 : 1, dst.data(), w * 4, w, h, enc, range,
				  0, h);
		benchmark::DoNotOptimize(dst.data());
		benchmark::ClobberMemory();
	}
	const double px = double(w) * h;
	state.counters["ns_per_px"] =
		benchmark::Counter(px * double(state.iterations()) * 1e-9,
				   benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
	state.SetItemsProcessed(int64_t(px) * state.iterations());
}

#define SIZES ->Args({ 640, 480 })->Args({ 1920, 1080 })->Unit(benchmark::kMicrosecond)

BENCHMARK_CAPTURE(BM_Convert, YUYV_601L, DRM_FORMAT_YUYV, YuvEncoding::BT601, YuvRange::Limited)
SIZES;
BENCHMARK_CAPTURE(BM_Convert, UYVY_601L, DRM_FORMAT_UYVY, YuvEncoding::BT601, YuvRange::Limited)
SIZES;
BENCHMARK_CAPTURE(BM_Convert, NV12_601L, DRM_FORMAT_NV12, YuvEncoding::BT601, YuvRange::Limited)
SIZES;
BENCHMARK_CAPTURE(BM_Convert, YUYV_709F, DRM_FORMAT_YUYV, YuvEncoding::BT709, YuvRange::Full) SIZES;
BENCHMARK_CAPTURE(BM_Convert, NV12_709F, DRM_FORMAT_NV12, YuvEncoding::BT709, YuvRange::Full) SIZES;

BENCHMARK_MAIN();
