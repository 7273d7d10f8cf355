/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dmapipe/source.h"

#include "dmapipe/error.h"

#include <cerrno>
#include <cstdlib>

namespace dmapipe {

SourceSpec parseSourceSpec(const std::string &name)
{
	static const std::string prefix = "libcamera:";
	SourceSpec spec;
	if (name.rfind(prefix, 0) != 0) {
		spec.name = name;
		return spec;
	}
	spec.libcamera = true;
	spec.name = name.substr(prefix.size());
	const std::string &id = spec.name;
	if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos)
		return spec;
	/* std::stoul would throw std::out_of_range, which is not an Error. */
	errno = 0;
	char *end;
	unsigned long long n = strtoull(id.c_str(), &end, 10);
	if (errno == ERANGE || *end || n > SIZE_MAX)
		throw Error(name + ": camera index out of range");
	spec.index = size_t(n);
	return spec;
}

} /* namespace dmapipe */
