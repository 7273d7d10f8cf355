#!/bin/sh
# dmapipesink's properties as kmssink users know them, each with a run that
# works and, where it can, one that must fail with a clear error:
#   connector (by name, by id, an absent one), plane-id (the primary by id,
#   an absent one), fd (a device opened by the caller: here the shell's
#   fd 3), display-width/height (notified), scaling, render-rectangle
#   (GstVideoOverlay; placed without scaling on vkms), zpos.
# usage: sink-properties.sh DISPLAY(cirrus|vkms)
. "$(dirname "$0")/lib.sh"
display=${1:-cirrus}
src="videotestsrc num-buffers=10 ! video/x-raw,format=BGRx,width=640,height=480"
export GST_DEBUG=dmapipesink:4

# fails LAUNCH...: the run must fail; its output is in $log.
fails() {
	echo "+ (must fail) $*"
	status=0
	"$gst_env" -- "$@" >"$log" 2>&1 || status=$?
	grep -E "ERROR|dmapipesink" "$log" | grep -v -E ' (LOG|TRACE|DEBUG) ' | tail -n 4
	[ "$status" -ne 0 ] || { echo "FAIL: it did not fail"; exit 1; }
}

# The connector and planes the device has, from the error that lists them.
fails gst-launch-1.0 $src ! dmapipesink driver-name="$display" connector=HDMI-A-9
must "nothing usable for connector HDMI-A-9 .*; connectors: " "no list of connectors for an absent one"
must "Could not|not found|NOT_FOUND|ERROR" "no error for an absent connector"
name=$(sed -n -E 's/.*connectors: ([A-Za-z-]+-[0-9]+) \(id ([0-9]+), connected\).*/\1/p' "$log" | head -n 1)
id=$(sed -n -E 's/.*connectors: ([A-Za-z-]+-[0-9]+) \(id ([0-9]+), connected\).*/\2/p' "$log" | head -n 1)
primary=$(grep -o -E '[0-9]+ \(primary\)' "$log" | head -n 1 | cut -d' ' -f1)
[ -n "$name" ] && [ -n "$id" ] && [ -n "$primary" ] || { echo "FAIL: no connector or plane in the list"; exit 1; }
echo "ok: an absent connector is refused with the list ($name is id $id, primary plane $primary)"

run gst-launch-1.0 -v $src ! dmapipesink driver-name="$display" connector="$name"
must "connector $name" "connector=$name was not used"
must "display-width = [1-9][0-9]*" "display-width was not notified"
must "display-height = [1-9][0-9]*" "display-height was not notified"
run gst-launch-1.0 $src ! dmapipesink driver-name="$display" connector="$id" plane-id="$primary"
must "connector $name" "connector=$id (by id) was not $name"
echo "ok: connector by name and by id, plane-id of the primary plane, display size notified"

fails gst-launch-1.0 $src ! dmapipesink driver-name="$display" plane-id=99999
must "nothing usable for plane 99999" "an absent plane was not refused by name"
echo "ok: an absent plane is refused"

# The card node of the driver (debugfs names each DRM minor's driver).
card=
for d in /sys/kernel/debug/dri/[0-9]*; do
	n=${d##*/}
	[ "$n" -lt 64 ] 2>/dev/null || continue
	[ "$(cut -d' ' -f1 "$d/name")" = "$display" ] && card=/dev/dri/card$n
done
[ -n "$card" ] || { echo "FAIL: no $display card node"; exit 1; }
echo "+ gst-launch-1.0 ... ! dmapipesink fd=3 3<>$card"
"$gst_env" -- gst-launch-1.0 $src ! dmapipesink fd=3 3<>"$card" >"$log" 2>&1 || {
	tail -n 20 "$log"
	echo "FAIL: fd=3"
	exit 1
}
must "display fd 3 \\($display\\)" "the sink did not use the fd it was given"
echo "ok: fd=3 (opened by the caller)"

fails gst-launch-1.0 $src ! dmapipesink driver-name="$display" zpos=5
zpos_ok=false
if grep -q "has no zpos property\|is fixed by the driver\|is outside plane" "$log"; then
	echo "ok: zpos refused with the reason: $(grep -o -E "(has no zpos property|is fixed by the driver|is outside plane[^;]*)" "$log" | head -n 1)"
	zpos_ok=true
fi
[ "$zpos_ok" = true ] || { echo "FAIL: zpos=5 failed without a reason"; exit 1; }

run gst-launch-1.0 $src ! dmapipesink driver-name="$display" scaling=none
must "layout mode 640x480" "scaling=none did not use a 640x480 mode"
echo "ok: scaling=none"

if [ "$display" = vkms ]; then
	# vkms (enable_overlay=1) positions its overlay plane, without scaling: the
	# frame at (100,50) of the preferred mode on the overlay.
	fails gst-launch-1.0 $src ! dmapipesink driver-name=vkms plane-id=99999
	overlay=$(grep -o -E '[0-9]+ \(overlay\)' "$log" | head -n 1 | cut -d' ' -f1)
	[ -n "$overlay" ] || { echo "FAIL: vkms has no overlay plane (enable_overlay=1)"; exit 1; }
	run gst-launch-1.0 $src ! dmapipesink driver-name=vkms plane-id="$overlay" \
		'render-rectangle=<100,50,640,480>'
	must "layout mode [0-9]+x[0-9]+.*at 100,50 640x480 unscaled" \
		"the render rectangle was not the overlay plane's destination"
	echo "ok: render-rectangle <100,50,640,480> on overlay plane $overlay"
	# Without plane-id, the plane comes from the pipeline's negotiation: BGRA
	# (DRM ARGB8888) is taken by 6.1's vkms overlay only, so caps offer it and
	# the sink moves to the overlay.
	run gst-launch-1.0 videotestsrc num-buffers=10 ! video/x-raw,format=BGRA,width=640,height=480 \
		! dmapipesink driver-name=vkms
	must "plane $overlay \(overlay\): the primary plane does not take AR24" \
		"BGRA was not put on the overlay plane"
	echo "ok: BGRA on overlay plane $overlay, chosen as the pipeline chooses"
	fails gst-launch-1.0 $src ! dmapipesink driver-name=vkms scaling=stretch
	must "accepts no layout" "a scaled layout on a plane that cannot scale did not fail clearly"
	echo "ok: scaling=stretch refused by vkms's plane, which does not scale"
fi
echo "PASS: dmapipesink properties on $display"
