#!/bin/sh
# v4l2src io-mode=MODE ! dmapipesink: vivid's dma-bufs (dmabuf) or our own
# scanout buffers (dmabuf-import) go to the screen without a copy.
. "$(dirname "$0")/lib.sh"
mode=${1:-dmabuf}
display=${2:-cirrus}
frames=${3:-90}
dev=$(vivid_dev)
[ -n "$dev" ] || { echo "FAIL: no vivid capture node"; exit 1; }
export GST_DEBUG=dmapipesink:4,dmapipepool:4,v4l2src:3
run gst-launch-1.0 v4l2src device="$dev" io-mode="$mode" num-buffers="$frames" \
	! 'video/x-raw,format=BGRx,width=640,height=480' \
	! dmapipesink driver-name="$display"
must "stopped after [0-9]+ frames, 0 of them copied" "dmapipesink copied frames"
must_not "copying" "dmapipesink warned about copies"
if [ "$mode" = dmabuf-import ]; then
	must "allocated XRGB8888 640x480" "v4l2src did not capture into dmapipesink's pool"
fi
echo "PASS: v4l2src io-mode=$mode ! dmapipesink on $display, no copies"
