/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dmapipe/frame_scheduler.h"
#include "dmapipe/error.h"

namespace dmapipe {

FrameScheduler::Actions FrameScheduler::captured(unsigned index)
{
	Actions a;
	if (index == onScreen_ || index == committed_ || index == waiting_)
		throw Error("scheduler: buffer " + std::to_string(index) +
			    " captured while the display holds it");
	if (!committed_) {
		committed_ = index;
		a.commit = index;
	} else {
		/* The display is busy: keep only the newest frame. */
		if (waiting_) {
			a.requeue.push_back(*waiting_);
			dropped_++;
		}
		waiting_ = index;
	}
	return a;
}

FrameScheduler::Actions FrameScheduler::flipped(bool commitWaiting)
{
	Actions a;
	if (!committed_)
		throw Error("scheduler: flip completed with no commit pending");
	if (onScreen_)
		a.requeue.push_back(*onScreen_);
	onScreen_ = committed_;
	a.displayed = committed_;
	committed_.reset();
	if (waiting_ && commitWaiting) {
		committed_ = waiting_;
		a.commit = waiting_;
		waiting_.reset();
	}
	return a;
}

FrameScheduler::Actions FrameScheduler::commitFailed()
{
	Actions a;
	if (committed_) {
		a.requeue.push_back(*committed_);
		dropped_++;
		committed_.reset();
	}
	if (waiting_) {
		committed_ = waiting_;
		a.commit = waiting_;
		waiting_.reset();
	}
	return a;
}

std::vector<unsigned> FrameScheduler::drain()
{
	std::vector<unsigned> out;
	for (auto *slot : { &waiting_, &committed_, &onScreen_ }) {
		if (*slot)
			out.push_back(**slot);
		slot->reset();
	}
	return out;
}

} /* namespace dmapipe */
