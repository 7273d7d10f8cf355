/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "dmapipe/stats.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace dmapipe {

uint64_t monotonicNs()
{
	timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

void Stats::start(uint64_t nowNs)
{
	*this = Stats();
	startNs_ = nowNs;
}

void Stats::displayed(uint64_t latencyNs)
{
	displayed_++;
	maxNs_ = std::max(maxNs_, latencyNs);
	if (samples_.size() < kMaxSamples) {
		if (samples_.empty())
			samples_.reserve(kMaxSamples);
		samples_.push_back(latencyNs);
	} else {
		samples_[next_] = latencyNs;
		next_ = (next_ + 1) % kMaxSamples;
	}
}

double Stats::fps(uint64_t nowNs) const
{
	uint64_t end = stopNs_ ? stopNs_ : nowNs;
	if (end <= startNs_ || !displayed_)
		return 0;
	return double(displayed_) * 1e9 / double(end - startNs_);
}

double Stats::latencyMs(double percentile) const
{
	if (samples_.empty())
		return 0;
	std::vector<uint64_t> s(samples_);
	size_t k = std::min(s.size() - 1, size_t(percentile / 100.0 * double(s.size() - 1) + 0.5));
	std::nth_element(s.begin(), s.begin() + long(k), s.end());
	return double(s[k]) / 1e6;
}

std::string Stats::summary(uint64_t nowNs) const
{
	char buf[256];
	snprintf(buf, sizeof(buf),
		 "displayed: %llu dropped: %llu (display %llu, late %llu, capture %llu) errors: %llu "
		 "fps: %.1f "
		 "latency p50 %.1f ms p99 %.1f ms max %.1f ms",
		 (unsigned long long)displayed_, (unsigned long long)drops(),
		 (unsigned long long)displayDrops, (unsigned long long)lateDrops,
		 (unsigned long long)captureDrops, (unsigned long long)errorFrames, fps(nowNs),
		 latencyMs(50), latencyMs(99), latencyMaxMs());
	return buf;
}

} /* namespace dmapipe */
