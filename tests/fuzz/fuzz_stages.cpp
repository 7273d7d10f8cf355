/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Stage specs (--stage, makeStages()): any string gives stages or a
 * dmapipe::Error; any other exception escapes the app's handler.
 */
#include <dmapipe/error.h>
#include <dmapipe/stages.h>

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	std::string s(reinterpret_cast<const char *>(data), size);
	try {
		auto stages = dmapipe::makeStages(s);
		if (stages.empty())
			__builtin_trap();
	} catch (const dmapipe::Error &) {
	}
	return 0;
}
