/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file log.h
 * @brief Where libdmapipe's messages go.
 */
#pragma once

#include <functional>
#include <string>

#include <dmapipe/export.h>

namespace dmapipe {

/** @brief How much a message matters. */
enum class LogLevel {
	Debug, /**< details for developers */
	Info, /**< what the pipeline chose */
	Warning, /**< something went wrong and the pipeline carries on (frames dropped) */
	Error, /**< something went wrong and the pipeline stops (an Error is also thrown) */
};

/** @brief Receives each message: its level and one line of text, without a newline. */
using LogHandler = std::function<void(LogLevel level, const std::string &message)>;

/**
 * @brief Sends the library's messages to @p handler instead of stderr.
 *
 * The handler is called from whichever thread logs (usually the one running
 * the pipeline) and must not call back into the pipeline. An empty handler
 * restores the default: "dmapipe: message" on stderr.
 * Thread-safe; affects every pipeline of the process.
 */
DMAPIPE_EXPORT void setLogHandler(LogHandler handler);

/** @brief Messages below @p level are not produced (default: LogLevel::Warning). */
DMAPIPE_EXPORT void setLogLevel(LogLevel level);

} /* namespace dmapipe */
