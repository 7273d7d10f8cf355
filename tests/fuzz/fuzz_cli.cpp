/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dmapipe-cam's command line: the input is split at NUL bytes into argv.
 * Parsing must not crash or throw, BadUsage must say something, and what is
 * accepted must be in the documented ranges.
 */
#include "cam_options.h"

#include <cstdint>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	std::vector<std::string> args { "dmapipe-cam" };
	std::string cur;
	for (size_t i = 0; i < size; i++) {
		if (data[i] == '\0') {
			args.push_back(cur);
			cur.clear();
		} else {
			cur += char(data[i]);
		}
	}
	if (!cur.empty())
		args.push_back(cur);
	if (args.size() > 64)
		return 0;
	std::vector<char *> argv;
	for (auto &a : args)
		argv.push_back(&a[0]);
	argv.push_back(nullptr);

	CamOptions opts;
	std::string error;
	CamAction action = parseCamOptions(int(args.size()), argv.data(), opts, error);
	if (action == CamAction::BadUsage && error.rfind("dmapipe-cam: ", 0) != 0)
		__builtin_trap();
	if (action == CamAction::Run || action == CamAction::List) {
		const auto &c = opts.cfg;
		/* main() turns it into nanoseconds: NaN or a huge value would be UB there. */
		if (!(opts.statsInterval >= 0 && opts.statsInterval <= 3600))
			__builtin_trap();
		if (c.buffers < 4 || c.buffers > 32)
			__builtin_trap();
		if ((c.width == 0) != (c.height == 0) || c.width > 16384 || c.height > 16384)
			__builtin_trap();
		if (!opts.check.empty() && opts.check != "off" && opts.check != "warn" &&
		    opts.check != "strict")
			__builtin_trap();
	}
	return 0;
}
