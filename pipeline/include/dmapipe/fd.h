/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file fd.h
 * @brief An owning file descriptor.
 */
#pragma once

#include <utility>

#include <dmapipe/export.h>

namespace dmapipe {

/** @brief Sole owner of a file descriptor; closes it on destruction. */
class DMAPIPE_EXPORT UniqueFd
{
public:
	/** @brief No descriptor. */
	UniqueFd() = default;
	/** @brief Takes ownership of @p fd (-1: none). */
	explicit UniqueFd(int fd) : fd_(fd) { }
	/** @brief Takes the other's descriptor, leaving it empty. */
	UniqueFd(UniqueFd &&other) noexcept : fd_(other.release()) { }
	/** @brief Closes the own descriptor, then takes the other's. */
	UniqueFd &operator=(UniqueFd &&other) noexcept
	{
		reset(other.release());
		return *this;
	}
	UniqueFd(const UniqueFd &) = delete;
	UniqueFd &operator=(const UniqueFd &) = delete;
	/** @brief Closes the descriptor. */
	~UniqueFd() { reset(); }

	/** @brief The descriptor, still owned; -1 when none. */
	int get() const { return fd_; }
	/** @brief Whether a descriptor is owned. */
	bool isValid() const { return fd_ >= 0; }
	/** @brief Same as isValid(). */
	explicit operator bool() const { return isValid(); }
	/** @brief Gives up ownership: the caller closes the returned descriptor. */
	int release() { return std::exchange(fd_, -1); }
	/** @brief Closes the owned descriptor and takes @p fd. */
	void reset(int fd = -1);
	/** @brief A new descriptor for the same open file (F_DUPFD_CLOEXEC). */
	UniqueFd dup() const;

private:
	int fd_ = -1;
};

} /* namespace dmapipe */
