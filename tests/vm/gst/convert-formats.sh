#!/bin/sh
# dmapipeconvert's formats through GStreamer's own negotiation: every input
# layout it offers (GRAY8 included) into BGRx (DRM XRGB8888), and a few into
# RGB16 (DRM RGB565, which cirrus's primary plane takes). One gst-launch
# runs every pair as its own chain (a process each costs ~10 s of start-up
# under TCG); the last chain ends on dmapipesink, the others on fakesink
# (dmapipeconvert then writes into dma-bufs of its own pool). The run must
# end with status 0 after every chain's frames, and the element must say it
# converted each pair (its INFO line), not passed through.
# usage: convert-formats.sh DISPLAY
. "$(dirname "$0")/lib.sh"
display=${1:-cirrus}
export GST_DEBUG=dmapipeconvert:4
pairs="I420:BGRx YV12:BGRx NV12:BGRx NV21:BGRx NV16:BGRx Y42B:BGRx YUY2:BGRx YVYU:BGRx
UYVY:BGRx GRAY8:BGRx RGB:BGRx BGR:BGRx RGB16:BGRx NV12:RGB16 YUY2:RGB16 GRAY8:RGB16 BGRx:RGB16"
set --
for p in $pairs; do
	set -- "$@" videotestsrc num-buffers=5 ! "video/x-raw,format=${p%:*},width=320,height=240" \
		! dmapipeconvert ! "video/x-raw,format=${p#*:}" ! fakesink
done
set -- "$@" videotestsrc num-buffers=5 ! "video/x-raw,format=NV12,width=320,height=240" \
	! dmapipeconvert ! "video/x-raw,format=RGB16" ! dmapipesink driver-name="$display"
run gst-launch-1.0 "$@"
for p in $pairs NV12:RGB16; do
	must "dmapipeconvert.* ${p%:*} 320x240 \\(colorimetry [^)]*\\) -> ${p#*:}: " \
		"${p%:*} was not converted into ${p#*:}"
	echo "ok: ${p%:*} -> ${p#*:}"
done
echo "PASS: dmapipeconvert's formats onto $display"
