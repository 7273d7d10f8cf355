#!/bin/sh
# GStreamer's buffer contracts, each checked where a straight pipeline does
# not reach (issue 15):
# 1. dmapipesrc: a shallow copy of a frame keeps its bytes after the original
#    died (the capture buffer goes back to the device from the memory's
#    dispose), for each allocation.
# 2. dmapipesink's pool keeps its buffers: a frame size that is not a page
#    multiple (RGB16 640x360, 460,800 bytes) allocates and imports no more
#    dma-bufs than a page-multiple one (BGRx 640x360), from videotestsrc and
#    from v4l2src in both dma-buf io-modes.
# 3. dmapipesink shows GstVideoCropMeta crops without a copy; dmapipesrc adds
#    downstream's minimum to its buffers.
# 4. dmapipeoverlay behind a tee does not draw into the other branch's frames.
# 5. dmapipeconvert drops late frames before converting (QoS).
# 6. Errors posted with the right domain (NOT_FOUND, BUSY).
# 8. A caps change mid-stream (size, format) through every element, also
#    while dmapipesink shows a copied frame.
# usage: contracts.sh DISPLAY GST-HOLD-COPY GST-RENEGOTIATE ALLOCS...
. "$(dirname "$0")/lib.sh"
display=$1
hold=$2
renegotiate=$3
shift 3
dev=$(vivid_dev)
[ -n "$dev" ] || { echo "FAIL: no vivid capture node"; exit 1; }

for alloc in "$@"; do
	run "$hold" 12 "dmapipesrc device=$dev alloc=$alloc buffer-count=4 num-buffers=40 \
		! video/x-raw(memory:DMABuf),format=BGRx,width=640,height=480 \
		! fakesink name=sink sync=false"
	must "held copy unchanged" "dmapipesrc alloc=$alloc: the held copy was not checked"
	echo "ok: dmapipesrc alloc=$alloc keeps a shallow copy's frame"
done

# 4. dmapipeoverlay draws in place only into memory nobody else sees: behind
# a tee it draws into a copy, and the other branch's frames stay untouched.
# The frames are dma-bufs (dmapipeconvert's pool), which the overlay maps
# itself: system memory is protected by gst_buffer_map's copy-on-write.
export GST_DEBUG=dmapipeoverlay:4
run "$hold" --uniform "videotestsrc pattern=solid-color foreground-color=0xff204060 num-buffers=20 \
	! video/x-raw,format=YUY2,width=320,height=240 ! dmapipeconvert \
	! video/x-raw(memory:DMABuf),format=BGRx ! tee name=t \
	t. ! queue ! dmapipeoverlay ! fakesink sync=false \
	t. ! queue ! fakesink name=sink sync=false"
must "untouched" "the tee check did not run"
must "20 frames, 20 of them copied first" "dmapipeoverlay did not copy the shared frames"

# 6. Errors carry v4l2src's domains: a missing device is RESOURCE NOT_FOUND
# (also a missing display), a device another element streams from BUSY.
errors() {
	echo "+ (must fail) $2"
	"$gst_env" -- "$hold" 5 "$2" >"$log" 2>&1 && { echo "FAIL: it did not fail"; exit 1; }
	grep "FAIL: error from" "$log" | head -n 1
	must "gst-resource-error-quark $1\]" "not RESOURCE $1"
}
errors not-found "dmapipesrc device=/dev/video99 ! fakesink name=sink"
errors not-found "videotestsrc ! dmapipesink name=sink driver-name=nosuchdriver"
errors busy "dmapipesrc device=$dev ! fakesink name=sink \
	dmapipesrc device=$dev ! video/x-raw,width=320,height=180 ! fakesink"
echo "ok: errors as RESOURCE not-found and busy"

# 5. A sink rendering every frame 1 s late (ts-offset) sends QoS events
# upstream: dmapipeconvert drops the late frames before converting and says so
# on the bus (-m prints the QoS messages).
export GST_DEBUG=dmapipeconvert:4
run gst-launch-1.0 -m videotestsrc num-buffers=30 is-live=true \
	! video/x-raw,format=YUY2,width=320,height=240,framerate=30/1 ! dmapipeconvert name=conv \
	! fakesink sync=true qos=true ts-offset=-1000000000
must 'from element "conv" \(qos\)' "dmapipeconvert dropped no late frame (no QoS message from it)"
echo "ok: dmapipeconvert drops late frames (QoS)"

# 5. dmapipesrc puts the device's colorimetry in its caps, and dmapipeconvert
# converts with it: vivid's colorspace and quantization controls set to
# Rec. 709 (limited), then SMPTE 170M full range.
export GST_DEBUG=dmapipeconvert:4,dmapipesrc:4
for cs in "1 0 bt709 BT.709 limited" "0 1 [0-9:]+ BT.601 full"; do
	set -- $cs
	v4l2-ctl -d "$dev" -c colorspace="$1" -c quantization="$2"
	run gst-launch-1.0 dmapipesrc device="$dev" num-buffers=5 \
		! 'video/x-raw(memory:DMABuf),format=YUY2,width=640,height=480' ! dmapipeconvert \
		! 'video/x-raw(memory:DMABuf),format=BGRx' ! fakesink
	must "dmapipeconvert.*\(colorimetry $3\) -> BGRx: $4 $5 range" \
		"vivid's colorspace $1 quantization $2 did not reach dmapipeconvert as $4 $5 range"
	echo "ok: vivid colorspace $1 quantization $2 -> caps colorimetry $3 -> dmapipeconvert $4 $5 range"
done
v4l2-ctl -d "$dev" -c colorspace=2 -c quantization=0

# 8. Renegotiation mid-stream. The sinks do not sync: under TCG the converter
# is slower than videotestsrc's 30 fps, and QoS would drop the frames after
# the change this checks for.
export GST_DEBUG=dmapipesrc:4,dmapipesink:4,dmapipeconvert:4
run "$renegotiate" 20 "video/x-raw(memory:DMABuf),format=BGRx,width=640,height=360" \
	"dmapipesrc device=$dev num-buffers=60 ! capsfilter name=cf \
	caps=video/x-raw(memory:DMABuf),format=BGRx,width=640,height=480 \
	! dmapipesink name=sink sync=false driver-name=$display"
must "renegotiated after" "dmapipesrc ! dmapipesink: no renegotiation"
run "$renegotiate" 20 "video/x-raw,format=UYVY,width=320,height=240" \
	"videotestsrc num-buffers=60 ! capsfilter name=cf caps=video/x-raw,format=YUY2,width=640,height=480 \
	! dmapipeconvert ! dmapipeoverlay ! dmapipesink name=sink sync=false driver-name=$display"
must "renegotiated after" "dmapipeconvert ! dmapipeoverlay ! dmapipesink: no renegotiation"
# pool=false: the sink copies each frame, and one copy is on screen at the change.
run "$renegotiate" 20 "video/x-raw,format=BGRx,width=320,height=240" \
	"videotestsrc num-buffers=60 ! capsfilter name=cf caps=video/x-raw,format=BGRx,width=640,height=480 \
	! dmapipesink name=sink pool=false sync=false driver-name=$display"
must "renegotiated after" "dmapipesink with a copy on screen: no renegotiation"
echo "ok: caps changes mid-stream through dmapipesrc, dmapipeconvert, dmapipeoverlay, dmapipesink"

# 3. dmapipesink advertises GstVideoCropMeta and shows the crop without a
# copy: videocrop then only adds the meta, and the sink scans the 400x400
# rectangle out of the uncropped 640x480 buffer (its stride, 2560, says so;
# a cropping copy would have stride 1600).
export GST_DEBUG=dmapipesink:5
echo "+ videotestsrc ! BGRx 640x480 ! videocrop ! dmapipesink"
status=0
"$gst_env" coreelements videotestsrc videocrop -- gst-launch-1.0 videotestsrc num-buffers=10 \
	! video/x-raw,format=BGRx,width=640,height=480 \
	! videocrop left=100 top=50 right=140 bottom=30 ! dmapipesink driver-name="$display" \
	>"$log" 2>&1 || status=$?
[ "$status" -eq 0 ] || { tail -n 20 "$log"; echo "FAIL: videocrop ! dmapipesink: exit status $status"; exit 1; }
must "imported .*XRGB8888 400x400 stride 2560" "dmapipesink did not scan the crop out of the uncropped buffer"
must "stopped after [0-9]+ frames, 0 of them copied" "dmapipesink copied cropped frames"
echo "ok: GstVideoCropMeta from videocrop shown without a copy"

# 3. dmapipesrc adds downstream's minimum to its own buffers: dmapipesink
# holds 2 (on screen, pending), so buffer-count=4 captures into 6.
export GST_DEBUG=dmapipesrc:4
run gst-launch-1.0 dmapipesrc device="$dev" buffer-count=4 num-buffers=20 \
	! 'video/x-raw(memory:DMABuf),format=BGRx,width=640,height=480' ! dmapipesink driver-name="$display"
must "dmapipesrc.*: 6 buffers of" "dmapipesrc did not add the sink's minimum of 2 to buffer-count=4"
echo "ok: dmapipesrc buffer-count=4 + dmapipesink's minimum 2 = 6 buffers"

export GST_DEBUG=dmapipesink:5,dmapipepool:4
# result: the dma-bufs the sink's pool made and the sink imported for SOURCE at FORMAT.
buffers() {
	case "$1" in
	videotestsrc) launch="videotestsrc num-buffers=60" ;;
	*) launch="v4l2src device=$dev io-mode=$1 num-buffers=60" ;;
	esac
	run gst-launch-1.0 $launch ! "video/x-raw,format=$2,width=640,height=360" \
		! dmapipesink driver-name="$display"
	must "stopped after [0-9]+ frames, 0 of them copied" "$1 $2: dmapipesink copied frames"
	result="$(count 'dmapipepool.* allocated ') $(count 'dmapipesink.* imported ')"
}
for src in videotestsrc dmabuf-import dmabuf; do
	buffers $src BGRx
	page=$result
	buffers $src RGB16
	odd=$result
	echo "$src: BGRx 640x360 allocated/imported $page, RGB16 640x360 $odd"
	[ "$odd" = "$page" ] || {
		echo "FAIL: $src: RGB16 640x360 (not a page multiple) made other dma-bufs ($odd) than BGRx ($page)"
		exit 1
	}
	[ "${page#0 }" != 0 ] || { echo "FAIL: $src: the sink imported nothing"; exit 1; }
done
echo "PASS: GStreamer buffer contracts on $display"
