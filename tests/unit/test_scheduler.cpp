/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dmapipe/error.h>
#include <dmapipe/frame_scheduler.h>

#include <gtest/gtest.h>
#include <random>
#include <set>

using namespace dmapipe;

TEST(FrameScheduler, IdleDisplayTakesTheFrameAtOnce)
{
	FrameScheduler s;
	auto a = s.captured(0);
	EXPECT_EQ(a.commit, 0u);
	EXPECT_TRUE(a.requeue.empty());
	a = s.flipped();
	EXPECT_EQ(a.displayed, 0u);
	EXPECT_TRUE(a.requeue.empty()) << "nothing was on screen before";
	EXPECT_EQ(s.onScreen(), 0u);
}

TEST(FrameScheduler, BufferReturnsOnlyAfterTheFlipThatReplacedIt)
{
	FrameScheduler s;
	s.captured(0);
	s.flipped(); /* 0 on screen */
	auto a = s.captured(1);
	EXPECT_EQ(a.commit, 1u);
	EXPECT_TRUE(a.requeue.empty()) << "0 is still scanned out until 1's flip lands";
	a = s.flipped();
	EXPECT_EQ(a.requeue, std::vector<unsigned> { 0 });
	EXPECT_EQ(s.onScreen(), 1u);
}

TEST(FrameScheduler, BusyDisplayKeepsOnlyTheNewestFrame)
{
	FrameScheduler s;
	s.captured(0); /* committed */
	EXPECT_FALSE(s.captured(1).commit);
	auto a = s.captured(2); /* 1 was waiting: dropped */
	EXPECT_EQ(a.requeue, std::vector<unsigned> { 1 });
	EXPECT_EQ(s.dropped(), 1u);
	a = s.flipped();
	EXPECT_EQ(a.displayed, 0u);
	EXPECT_EQ(a.commit, 2u);
	EXPECT_TRUE(a.requeue.empty());
}

TEST(FrameScheduler, CommitFailureReturnsTheBuffer)
{
	FrameScheduler s;
	s.captured(3);
	s.captured(4);
	auto a = s.commitFailed();
	EXPECT_EQ(a.requeue, std::vector<unsigned> { 3 });
	EXPECT_EQ(a.commit, 4u);
	EXPECT_EQ(s.dropped(), 1u);
}

TEST(FrameScheduler, ProtocolErrorsThrow)
{
	FrameScheduler s;
	EXPECT_THROW(s.flipped(), Error);
	s.captured(0);
	EXPECT_THROW(s.captured(0), Error) << "a buffer the display holds cannot come from capture";
}

TEST(FrameScheduler, DrainReturnsEverythingHeld)
{
	FrameScheduler s;
	s.captured(0);
	s.flipped();
	s.captured(1);
	s.captured(2);
	auto d = s.drain();
	EXPECT_EQ(std::set<unsigned>(d.begin(), d.end()), (std::set<unsigned> { 0, 1, 2 }));
	EXPECT_FALSE(s.onScreen());
}

/* Random interleavings: no buffer is ever both with capture and with the display. */
TEST(FrameScheduler, ConservesBuffersUnderRandomEvents)
{
	std::mt19937 rng(1234);
	const unsigned n = 6;
	FrameScheduler s;
	std::set<unsigned> atCapture = { 0, 1, 2, 3, 4, 5 };
	for (int step = 0; step < 100000; step++) {
		FrameScheduler::Actions a;
		if (rng() % 2 && !atCapture.empty()) {
			unsigned b = *std::next(atCapture.begin(), long(rng() % atCapture.size()));
			atCapture.erase(b);
			a = s.captured(b);
		} else if (s.committed()) {
			a = s.flipped();
		} else {
			continue;
		}
		for (unsigned r : a.requeue)
			EXPECT_TRUE(atCapture.insert(r).second) << "requeued twice: " << r;
		std::set<unsigned> held;
		for (auto o : { s.onScreen(), s.committed(), s.waiting() }) {
			if (o) {
				EXPECT_TRUE(held.insert(*o).second);
			}
		}
		EXPECT_EQ(held.size() + atCapture.size(), n)
			<< "a buffer went missing at step " << step;
		for (unsigned h : held)
			EXPECT_FALSE(atCapture.count(h));
		ASSERT_FALSE(HasFailure());
	}
}
