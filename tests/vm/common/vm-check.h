/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the library's VM tests share: a non-fatal CHECK and readers of kernel state. */
#pragma once

#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <sstream>
#include <string>

namespace vmcheck {

inline int failures;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			vmcheck::failures++;                                                       \
		}                                                                                  \
	} while (0)

inline int countFds()
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

inline std::string slurp(const std::string &path)
{
	std::ifstream in(path);
	std::stringstream s;
	s << in.rdbuf();
	return s.str();
}

/* The number after key in text, -1 when absent. */
inline long field(const std::string &text, const std::string &key)
{
	auto pos = text.find(key);
	return pos == std::string::npos ? -1 : atol(text.c_str() + pos + key.size());
}

inline long capbufLive()
{
	return field(slurp("/sys/kernel/debug/capbuf/stats"), "live_buffers");
}

/* DRM framebuffers on every card, from debugfs (the fbdev console's included). */
inline int drmFramebuffers()
{
	int n = 0;
	for (int card = 0; card < 4; card++) {
		std::string s =
			slurp("/sys/kernel/debug/dri/" + std::to_string(card) + "/framebuffer");
		for (size_t pos = 0; (pos = s.find("framebuffer[", pos)) != std::string::npos; pos++)
			n++;
	}
	return n;
}

} /* namespace vmcheck */
