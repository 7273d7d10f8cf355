/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace dmapipe {

/*
 * Who holds which buffer between capture and scanout. Pure logic, no I/O:
 * the pipeline feeds it events and carries out the actions it returns.
 *
 *   captured --(display idle)--> committed --(flip done)--> on screen
 *       \--(display busy)--> waiting (newer capture replaces it: drop)
 *
 * A buffer goes back to capture only when the flip that replaced it on
 * screen has completed, so the display never scans out memory the camera
 * is writing.
 */
class FrameScheduler
{
public:
	struct Actions {
		std::optional<unsigned> commit; /* commit this buffer now */
		std::vector<unsigned> requeue; /* give these back to capture */
		std::optional<unsigned> displayed; /* this buffer just reached the screen */
	};

	/* A frame was captured into buffer index. */
	Actions captured(unsigned index);
	/* The pending flip completed; commitWaiting = false keeps a waiting frame uncommitted (stopping). */
	Actions flipped(bool commitWaiting = true);
	/* The commit of the pending buffer failed: it goes back to capture. */
	Actions commitFailed();
	/* Everything back (stop): the buffers the display no longer needs. */
	std::vector<unsigned> drain();

	std::optional<unsigned> onScreen() const { return onScreen_; }
	std::optional<unsigned> committed() const { return committed_; }
	std::optional<unsigned> waiting() const { return waiting_; }
	uint64_t dropped() const { return dropped_; }

private:
	std::optional<unsigned> onScreen_, committed_, waiting_;
	uint64_t dropped_ = 0;
};

} /* namespace dmapipe */
