/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Format names (--format, PipelineConfig::format): formatFromString() must
 * take any string, and what it returns must round-trip by name.
 */
#include <dmapipe/format.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

using namespace dmapipe;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	std::string s(reinterpret_cast<const char *>(data), size);
	if (auto f = formatFromString(s)) {
		auto again = formatFromString(f->name);
		if (!again || again->drm != f->drm)
			abort();
		if (!formatFromDrm(f->drm) || !formatFromV4l2(f->v4l2))
			abort();
		/* Strides and plane sizes of any width must not trap (UBSan). */
		if (size >= 4) {
			uint32_t w;
			memcpy(&w, data, 4);
			w %= 65536;
			for (unsigned p = 0; p < f->planes; p++) {
				volatile uint32_t v = f->minStride(p, w) + f->planeHeight(p, w) +
					f->impliedStride(p, f->minStride(0, w));
				(void)v;
			}
		}
	}
	if (size >= 4) {
		uint32_t code;
		memcpy(&code, data, 4);
		std::string name = fourccToString(code);
		if (name.size() != 4)
			abort();
		formatFromDrm(code);
		formatFromV4l2(code);
	}
	return 0;
}
