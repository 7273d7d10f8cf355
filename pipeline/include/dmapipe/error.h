/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdexcept>
#include <string>

namespace dmapipe {

/*
 * Every failure the library reports: what was being done, on which device,
 * and the errno in words. what() reads like
 * "VIDIOC_S_FMT on /dev/video0: Invalid argument".
 */
class Error : public std::runtime_error
{
public:
	Error(const std::string &call, const std::string &device, int err,
	      const std::string &hint = {});
	explicit Error(const std::string &message);

	const std::string &call() const { return call_; }
	const std::string &device() const { return device_; }
	int errnum() const { return errno_; }
	const std::string &hint() const { return hint_; }

private:
	std::string call_;
	std::string device_;
	std::string hint_;
	int errno_ = 0;
};

/* Throws Error(call, device, errno) with the current errno. */
[[noreturn]] void throwErrno(const std::string &call, const std::string &device,
			     const std::string &hint = {});

} /* namespace dmapipe */
