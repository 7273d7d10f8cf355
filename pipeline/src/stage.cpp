/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dmapipe/stage.h"
#include "dmapipe/error.h"

namespace dmapipe {

/* Out of line: the vtable and typeinfo live in the library, once. */
Stage::~Stage() = default;

uint32_t Stage::produces(const PixelFormat &) const
{
	return 0;
}

void Stage::configure(const CaptureFormat &)
{
}

/*
 * Reached only when access() and the overridden method disagree: an error
 * naming both, rather than a frame passed through untouched.
 */
void Stage::inspect(const Frame &)
{
	throw Error("stage " + name() + " declares " + accessName(access()) +
		    " access but does not override inspect(const Frame &)");
}

void Stage::process(WritableFrame &)
{
	throw Error("stage " + name() + " declares " + accessName(access()) +
		    " access but does not override process(WritableFrame &)");
}

void Stage::convert(const Frame &, WritableFrame &)
{
	throw Error("stage " + name() + " produces a format but does not override convert()");
}

} /* namespace dmapipe */
