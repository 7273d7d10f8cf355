/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file error.h
 * @brief The one exception type libdmapipe throws.
 */
#pragma once

#include <stdexcept>
#include <string>

#include <dmapipe/export.h>

namespace dmapipe {

/**
 * @brief Every failure the library reports: what was being done, on which
 * device, and the errno in words.
 *
 * what() reads like "VIDIOC_S_FMT on /dev/video0: Invalid argument", followed
 * by the hint in parentheses when there is one. Errors of configuration (no
 * such camera, no common format) have a message and no errno.
 */
class DMAPIPE_EXPORT Error : public std::runtime_error
{
public:
	/**
	 * @brief A failed call.
	 * @param call   the system call or ioctl ("VIDIOC_S_FMT")
	 * @param device the device or object it was made on ("/dev/video0")
	 * @param err    the errno it failed with
	 * @param hint   what the user can do about it, or empty
	 */
	Error(const std::string &call, const std::string &device, int err,
	      const std::string &hint = {});
	/** @brief A configuration error without an errno. */
	explicit Error(const std::string &message);
	/** @brief Out of line: keeps the class's vtable and typeinfo in the library. */
	~Error() override;

	/** @brief The failed call, empty for configuration errors. */
	const std::string &call() const { return call_; }
	/** @brief The device or object of the call, empty for configuration errors. */
	const std::string &device() const { return device_; }
	/** @brief The errno of the call, 0 for configuration errors. */
	int errnum() const { return errno_; }
	/** @brief What the user can do about it, or empty. */
	const std::string &hint() const { return hint_; }

private:
	std::string call_;
	std::string device_;
	std::string hint_;
	int errno_ = 0;
};

/**
 * @brief Throws Error(call, device, errno) with the current errno.
 * @param call   the failed call
 * @param device the device it was made on
 * @param hint   what the user can do about it, or empty
 */
[[noreturn]] DMAPIPE_EXPORT void throwErrno(const std::string &call, const std::string &device,
					    const std::string &hint = {});

} /* namespace dmapipe */
