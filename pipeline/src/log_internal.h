/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <string>

#include <dmapipe/log.h>

namespace dmapipe {

/* To the handler set with setLogHandler(), or stderr; dropped below the log level. */
void logMessage(LogLevel level, const std::string &message);

} /* namespace dmapipe */
