/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Source names (--camera, openSource()): "libcamera:ID", "libcamera:N" or a
 * V4L2 path or name; the parse must throw nothing but dmapipe::Error.
 */
#include <dmapipe/error.h>
#include <dmapipe/source.h>

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	std::string s(reinterpret_cast<const char *>(data), size);
	try {
		dmapipe::SourceSpec spec = dmapipe::parseSourceSpec(s);
		if (spec.libcamera != (s.rfind("libcamera:", 0) == 0))
			__builtin_trap();
		if (spec.index &&
		    (!spec.libcamera || spec.name.empty() ||
		     std::to_string(*spec.index).size() > spec.name.size()))
			__builtin_trap();
	} catch (const dmapipe::Error &) {
	}
	return 0;
}
