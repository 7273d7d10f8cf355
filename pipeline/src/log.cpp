/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log_internal.h"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace dmapipe {

namespace {

std::mutex handlerLock;
LogHandler handler; /* empty: stderr */
std::atomic<int> minLevel { int(LogLevel::Warning) };

} /* namespace */

void setLogHandler(LogHandler h)
{
	std::lock_guard<std::mutex> lock(handlerLock);
	handler = std::move(h);
}

void setLogLevel(LogLevel level)
{
	minLevel = int(level);
}

void logMessage(LogLevel level, const std::string &message)
{
	if (int(level) < minLevel)
		return;
	/* A copy, so a handler may replace itself and slow handlers do not block setLogHandler(). */
	LogHandler h;
	{
		std::lock_guard<std::mutex> lock(handlerLock);
		h = handler;
	}
	if (h)
		h(level, message);
	else
		fprintf(stderr, "dmapipe: %s\n", message.c_str());
}

} /* namespace dmapipe */
