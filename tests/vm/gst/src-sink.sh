#!/bin/sh
# dmapipesrc alloc=ALLOC ! dmapipesink: the whole path through the plugin.
. "$(dirname "$0")/lib.sh"
alloc=${1:-auto}
display=${2:-cirrus}
frames=${3:-90}
export GST_DEBUG=dmapipesrc:4,dmapipesink:4
run gst-launch-1.0 dmapipesrc num-buffers="$frames" alloc="$alloc" \
	! 'video/x-raw(memory:DMABuf),format=BGRx,width=640,height=480' \
	! dmapipesink driver-name="$display"
must 'dmapipesrc.*stopped after '"$frames"' frames' "the source did not push $frames frames"
must "stopped after [0-9]+ frames, 0 of them copied" "dmapipesink copied frames"
echo "PASS: dmapipesrc alloc=$alloc ! dmapipesink on $display, no copies"
