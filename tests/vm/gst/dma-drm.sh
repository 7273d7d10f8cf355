#!/bin/sh
# GStreamer 1.24+'s dma-buf caps (format=DMA_DRM, drm-format=XR24) through
# every element, on Debian 13's GStreamer (the Debian 13 userspace tier):
#   dmapipesrc ! DMA_DRM ! kmssink             stock kmssink takes nothing else
#   v4l2src io-mode=dmabuf ! DMA_DRM ! dmapipesink
#   dmapipesrc ! DMA_DRM ! dmapipeconvert ! DMA_DRM ! dmapipeoverlay ! dmapipesink
#   a drm-format with a modifier other than linear: refused, with the reason
# usage: dma-drm.sh ALLOC FRAMES
. "$(dirname "$0")/lib.sh"
alloc=${1:-v4l2}
frames=${2:-60}
dev=$(vivid_dev)
[ -n "$dev" ] || { echo "FAIL: no vivid capture node"; exit 1; }
drm='video/x-raw(memory:DMABuf),format=DMA_DRM,drm-format=XR24,width=640,height=480'
gst-launch-1.0 --version | head -n 1

export GST_DEBUG=PERFORMANCE:5,dmapipesrc:4,kmssink:4
run gst-launch-1.0 dmapipesrc device="$dev" alloc="$alloc" num-buffers="$frames" ! "$drm" \
	! kmssink driver-name=cirrus force-modesetting=true
must 'dmapipesrc.*stopped after '"$frames"' frames' "dmapipesrc did not push $frames frames to kmssink"
must_not 'frame copy|PERFORMANCE.*[Cc]op(y|ied)' "kmssink copied frames"
echo "ok: dmapipesrc alloc=$alloc ! DMA_DRM XR24 ! kmssink, no copy"

export GST_DEBUG=dmapipesink:4,v4l2src:3
run gst-launch-1.0 v4l2src device="$dev" io-mode=dmabuf num-buffers="$frames" ! "$drm" \
	! dmapipesink driver-name=cirrus
must "stopped after [0-9]+ frames, 0 of them copied" "dmapipesink copied v4l2src's frames"
echo "ok: v4l2src io-mode=dmabuf ! DMA_DRM XR24 ! dmapipesink, no copy"

export GST_DEBUG=dmapipesrc:4,dmapipesink:4,dmapipeconvert:4,dmapipeoverlay:4
run gst-launch-1.0 dmapipesrc device="$dev" alloc="$alloc" num-buffers="$frames" \
	! 'video/x-raw(memory:DMABuf),format=DMA_DRM,drm-format=YUYV,width=640,height=480' \
	! dmapipeconvert ! 'video/x-raw(memory:DMABuf),format=DMA_DRM,drm-format=XR24' \
	! dmapipeoverlay ! dmapipesink driver-name=cirrus
must 'dmapipesrc.*stopped after '"$frames"' frames' "the converting line did not run"
must "stopped after [0-9]+ frames, 0 of them copied" "dmapipesink copied converted frames"
echo "ok: dmapipesrc ! DMA_DRM YUYV ! dmapipeconvert ! DMA_DRM XR24 ! dmapipeoverlay ! dmapipesink"

# Tiled (a vendor modifier): the framework maps and scans out linear only.
status=0
"$gst_env" -- gst-launch-1.0 dmapipesrc device="$dev" num-buffers=5 \
	! 'video/x-raw(memory:DMABuf),format=DMA_DRM,drm-format=XR24:0x0100000000000001,width=640,height=480' \
	! fakesink >"$log" 2>&1 || status=$?
tail -n 5 "$log"
[ "$status" -ne 0 ] || { echo "FAIL: a non-linear modifier was accepted"; exit 1; }
must "not-negotiated|not negotiated|could not link|No common|could not parse" "a non-linear modifier did not fail negotiation"
echo "ok: drm-format XR24:0x0100000000000001 refused"
echo "PASS: DMA_DRM caps through dmapipesrc, kmssink, v4l2src, dmapipeconvert, dmapipeoverlay, dmapipesink"
