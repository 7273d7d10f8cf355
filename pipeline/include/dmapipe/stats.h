/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dmapipe {

/* Frame counts and capture -> scanout latency of a running pipeline. */
class Stats
{
public:
	void start(uint64_t nowNs);
	void captured() { captured_++; }
	void displayed(uint64_t latencyNs);
	void stop(uint64_t nowNs) { stopNs_ = nowNs; }

	uint64_t capturedFrames() const { return captured_; }
	uint64_t displayedFrames() const { return displayed_; }
	/* Frames captured but replaced before the display could take them. */
	uint64_t displayDrops = 0;
	/* Frames superseded by a newer one before the stages got to them. */
	uint64_t lateDrops = 0;
	/* Frames the camera skipped (sequence gaps). */
	uint64_t captureDrops = 0;
	/* Frames the device flagged as bad or a stage failed on. */
	uint64_t errorFrames = 0;

	double fps(uint64_t nowNs) const;
	/* Latency percentile in milliseconds over the kept samples (0 when none). */
	double latencyMs(double percentile) const;
	double latencyMaxMs() const { return maxNs_ / 1e6; }

	uint64_t drops() const { return displayDrops + lateDrops + captureDrops; }
	/* "displayed: 300 dropped: 2 (display 2, late 0, capture 0) fps: 29.9 latency p50 21.0 ms p99 34.1 ms max 40.2 ms" */
	std::string summary(uint64_t nowNs) const;

private:
	/*
	 * The latency percentiles are over the latest 4096 frames (2 min at
	 * 30 fps): a window a status line means, and a fixed footprint. A
	 * 64 Ki ring grew RSS by 1.8 MiB over the first 23 minutes of a soak.
	 */
	static constexpr size_t kMaxSamples = 4096;
	uint64_t startNs_ = 0, stopNs_ = 0;
	uint64_t captured_ = 0, displayed_ = 0;
	uint64_t maxNs_ = 0;
	std::vector<uint64_t> samples_; /* ring of the latest kMaxSamples */
	size_t next_ = 0;
};

uint64_t monotonicNs();

} /* namespace dmapipe */
