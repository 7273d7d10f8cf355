#!/bin/sh
# videotestsrc ! dmapipesink pool=false: system memory is copied into
# scanout buffers, and the sink says so exactly once.  With the default
# pool=true videotestsrc draws straight into the sink's scanout buffers.
. "$(dirname "$0")/lib.sh"
pool=${1:-false}
display=${2:-cirrus}
frames=${3:-60}
export GST_DEBUG=dmapipesink:4,dmapipepool:4
run gst-launch-1.0 videotestsrc num-buffers="$frames" \
	! 'video/x-raw,format=BGRx,width=640,height=480,framerate=30/1' \
	! dmapipesink driver-name="$display" pool="$pool" sync=false
if [ "$pool" = true ]; then
	must "allocated XRGB8888 640x480" "videotestsrc did not draw into dmapipesink's pool"
	must "stopped after [0-9]+ frames, 0 of them copied" "dmapipesink copied frames"
	must_not "copying" "dmapipesink warned about copies"
	echo "PASS: $frames videotestsrc frames drawn into scanout buffers, no copies"
	exit 0
fi
# sync=false: under TCG basesink would drop late frames (and warn about it),
# which is not what this test is about.  Only the copy warning is counted.
n=$(grep -c "^WARNING: from element .*dmapipesink.*: copying" "$log" || true)
[ "$n" -eq 1 ] || { echo "FAIL: $n copy warnings from dmapipesink, expected 1"; exit 1; }
must "copying system memory frames into scanout buffers" "no copy warning"
must "stopped after ([0-9]+) frames, \\1 of them copied" "not every frame was copied"
# The preroll frame is shown too: $frames buffers give $frames + 1 frames.
shown=$(sed -n 's/.*stopped after \([0-9]*\) frames.*/\1/p' "$log" | tail -n 1)
[ "$shown" -ge "$frames" ] || { echo "FAIL: $shown of $frames frames shown"; exit 1; }
echo "PASS: $frames system-memory frames copied and shown, one warning"
