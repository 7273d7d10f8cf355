/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Size strings (--size WxH) and counts (--buffers, --frames): accepted only
 * in the documented shape, and then in range.
 */
#include "cam_options.h"

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

static bool digits(const std::string &s)
{
	if (s.empty())
		return false;
	for (unsigned char c : s)
		if (!isdigit(c))
			return false;
	return true;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	std::string input(reinterpret_cast<const char *>(data), size);
	std::string s(input.c_str()); /* what a C string argument holds */
	uint32_t w = 0, h = 0;
	if (parseSize(s.c_str(), &w, &h)) {
		size_t x = s.find_first_of("xX");
		if (x == std::string::npos || !digits(s.substr(0, x)) || !digits(s.substr(x + 1)))
			abort();
		if (w < 1 || w > 16384 || h < 1 || h > 16384)
			abort();
	}
	uint64_t n;
	if (parseCount(s.c_str(), &n) && !digits(s))
		abort();
	return 0;
}
