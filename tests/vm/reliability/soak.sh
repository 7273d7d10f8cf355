#!/bin/sh
# Soak: dmapipe-cam runs FRAMES frames of vivid YUYV through convert and
# overlay onto the display, and what it holds is sampled every few seconds:
# its open fds, its RSS, capbuf's live buffers and the DRM framebuffers.
# After the warm-up each must stay flat (RSS: within a small allowance for
# allocator noise); any growth is a leak that a months-long run would die of.
# usage: soak.sh DMAPIPE-CAM [FRAMES] [DISPLAY] [FPS]
# FPS is the capture rate (dmapipe-cam --fps; vivid's webcam input offers up
# to 60 fps at 320x180): 60 halves the wall time of the long soak.
set -u
cam=$1
frames=${2:-5000}
display=${3:-cirrus}
fps=${4:-}
interval=5
rss_allowance_kib=1024

dev=$(for d in /sys/class/video4linux/video*; do
	[ "$(cat "$d/name")" = vivid-000-vid-cap ] && echo "/dev/${d##*/}"; done | head -n 1)
[ -n "$dev" ] || { echo "FAIL: no vivid capture node"; exit 1; }
live_buffers() { sed -n 's/^live_buffers //p' /sys/kernel/debug/capbuf/stats; }
framebuffers() { cat /sys/kernel/debug/dri/*/framebuffer 2>/dev/null | grep -c '^framebuffer'; }

log=/tmp/soak.log
"$cam" --camera "$dev" --display "$display" --size 320x180 --format YUYV \
	--alloc capbuf --stage convert,overlay --frames "$frames" --stats-interval 30 ${fps:+--fps $fps} \
	>"$log" 2>&1 &
pid=$!

samples=/tmp/soak.samples
: >"$samples"
t=0
while kill -0 "$pid" 2>/dev/null; do
	sleep "$interval"
	t=$((t + interval))
	[ -d "/proc/$pid/fd" ] || break
	fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
	[ -n "$rss" ] || break
	echo "$t $fds $rss $(live_buffers) $(framebuffers)" >>"$samples"
	# Streamed as taken too, so a run cut short still leaves its figures.
	[ -n "${SOAK_STREAM:-}" ] && echo "sample $t $fds $rss $(live_buffers) $(framebuffers)"
done
wait "$pid"
status=$?
cat "$log"

fail=0
[ "$status" = 0 ] || { echo "FAIL: dmapipe-cam exited with $status"; fail=1; }
grep -q "displayed: $frames" "$log" || { echo "FAIL: not $frames frames displayed"; fail=1; }

echo "   t/s  fds  rss/KiB  capbuf  fbs"
awk '{ printf "%6d %4d %8d %7d %4d\n", $1, $2, $3, $4, $5 }' "$samples"
n=$(wc -l <"$samples")
# The first two samples are warm-up (pools filling, first mappings, TCG);
# the last may have caught the teardown.
if [ "$n" -lt 5 ]; then
	echo "FAIL: only $n samples: the run was too short to judge"
	exit 1
fi
tail -n +3 "$samples" | head -n -1 | awk -v allow="$rss_allowance_kib" '
	NR == 1 { fds = $2; rss = $3; live = $4; fbs = $5; next }
	$2 != fds { printf "FAIL: open fds went from %d to %d at %d s\n", fds, $2, $1; bad = 1 }
	$4 != live { printf "FAIL: capbuf live buffers went from %d to %d at %d s\n", live, $4, $1; bad = 1 }
	$5 != fbs { printf "FAIL: DRM framebuffers went from %d to %d at %d s\n", fbs, $5, $1; bad = 1 }
	$3 > rss + allow { printf "FAIL: RSS grew from %d to %d KiB at %d s\n", rss, $3, $1; bad = 1 }
	END { exit bad }' || fail=1
after=$(live_buffers)
[ "$after" = 0 ] || { echo "FAIL: $after capbuf buffers live after the run"; fail=1; }
[ "$fail" = 0 ] && echo "PASS: $frames frames through convert+overlay, fds, RSS, buffers and framebuffers flat over $n samples"
exit "$fail"
