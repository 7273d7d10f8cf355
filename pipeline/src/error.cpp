/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dmapipe/error.h"
#include "dmapipe/fd.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace dmapipe {

static std::string describe(const std::string &call, const std::string &device, int err,
			    const std::string &hint)
{
	std::string s = call;
	if (!device.empty())
		s += " on " + device;
	s += ": ";
	s += std::strerror(err);
	if (!hint.empty())
		s += " (" + hint + ")";
	return s;
}

Error::Error(const std::string &call, const std::string &device, int err, const std::string &hint)
	: std::runtime_error(describe(call, device, err, hint)), call_(call), device_(device),
	  hint_(hint), errno_(err)
{
}

Error::Error(const std::string &message) : std::runtime_error(message)
{
}

Error::~Error() = default;

void throwErrno(const std::string &call, const std::string &device, const std::string &hint)
{
	throw Error(call, device, errno, hint);
}

void UniqueFd::reset(int fd)
{
	if (fd_ >= 0)
		::close(fd_);
	fd_ = fd;
}

UniqueFd UniqueFd::dup() const
{
	if (fd_ < 0)
		return UniqueFd();
	int fd = ::fcntl(fd_, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		throwErrno("F_DUPFD_CLOEXEC", "fd " + std::to_string(fd_));
	return UniqueFd(fd);
}

} /* namespace dmapipe */
