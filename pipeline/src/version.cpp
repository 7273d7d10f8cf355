/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dmapipe/version.h"

namespace dmapipe {

const char *version()
{
	return DMAPIPE_VERSION_STRING;
}

} /* namespace dmapipe */
