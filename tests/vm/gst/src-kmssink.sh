#!/bin/sh
# dmapipesrc alloc=ALLOC ! kmssink: stock kmssink scans the source's dma-bufs
# out without a copy (its PERFORMANCE category reports "frame copy" otherwise).
. "$(dirname "$0")/lib.sh"
alloc=${1:-auto}
frames=${2:-90}
export GST_DEBUG=PERFORMANCE:5,dmapipesrc:4,kmssink:4
run gst-launch-1.0 dmapipesrc num-buffers="$frames" alloc="$alloc" \
	! 'video/x-raw,format=BGRx,width=640,height=480' \
	! kmssink driver-name=cirrus force-modesetting=true
must 'dmapipesrc.*stopped after '"$frames"' frames' "the source did not push $frames frames"
must_not 'frame copy|PERFORMANCE.*[Cc]op(y|ied)' "kmssink copied frames"
echo "PASS: $frames frames of dmapipesrc alloc=$alloc scanned out by kmssink without a copy"
