/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <utility>

namespace dmapipe {

/* Sole owner of a file descriptor; closes it on destruction. */
class UniqueFd
{
public:
	UniqueFd() = default;
	explicit UniqueFd(int fd) : fd_(fd) { }
	UniqueFd(UniqueFd &&other) noexcept : fd_(other.release()) { }
	UniqueFd &operator=(UniqueFd &&other) noexcept
	{
		reset(other.release());
		return *this;
	}
	UniqueFd(const UniqueFd &) = delete;
	UniqueFd &operator=(const UniqueFd &) = delete;
	~UniqueFd() { reset(); }

	int get() const { return fd_; }
	bool isValid() const { return fd_ >= 0; }
	explicit operator bool() const { return isValid(); }
	int release() { return std::exchange(fd_, -1); }
	void reset(int fd = -1);
	/* A new descriptor for the same open file (F_DUPFD_CLOEXEC). */
	UniqueFd dup() const;

private:
	int fd_ = -1;
};

} /* namespace dmapipe */
