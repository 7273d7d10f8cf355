#!/bin/sh
# The negotiation through dmapipe-cam, on real drivers (docs/pipeline.md,
# "Negotiation"):
#  vkms (enable_overlay=1; 6.1, whose primary plane takes no ARGB8888):
#   - vivid's AR24 goes to the overlay plane as it is, said in the summary,
#     every frame displayed; --list says the same per format;
#   - NV12 on no plane and no --stage: the reason names every plane;
#   - NV12 with no --stage chosen by the app: a conversion onto the primary.
#  cirrus:
#   - vivid left at 1920x1080 by another program: cirrus cannot scan that out
#     (pitch limit 4088 bytes), so the size is adjusted to one the camera has
#     that fits the screen, said with the display's reason, and the frames shown;
#   - the same asked for with --size: an error naming the refusal, no adjusting;
#   - libcamera's default size from vimc (1920x1080 RGB888, the issue's case):
#     adjusted the same way, when libcamera is built in.
# Every run leaves no capbuf buffer behind.
# usage: negotiation.sh vkms|cirrus DMAPIPE-CAM [libcamera]
display=$1
cam=$2
libcamera=$3
fail=0
dev=$(for d in /sys/class/video4linux/video*; do
	[ "$(cat "$d/name")" = vivid-000-vid-cap ] && echo "/dev/${d##*/}"; done | head -n 1)
live() { sed -n 's/^live_buffers //p' /sys/kernel/debug/capbuf/stats 2>/dev/null || echo 0; }
run() { "$cam" --display "$display" --stats-interval 0 "$@"; }
check() { # what, status wanted, status, pattern, output file
	if [ "$2" != "$3" ] || ! grep -q -E -- "$4" "$5"; then
		echo "FAIL: $1: status $3 (want $2), no /$4/ in the output:"; cat "$5"; fail=1
	else
		echo "ok: $1: $(grep -E -- "$4" "$5" | head -n 1)"
	fi
	[ "$(live)" = 0 ] || { echo "FAIL: $1: $(live) capbuf buffers left"; fail=1; }
}

if [ "$display" = vkms ]; then
	run --camera "$dev" --format AR24 --size 640x480 --frames 60 >/tmp/ar24.log 2>&1
	check "AR24 on the overlay" 0 $? \
		"negotiation: valid: direct scanout of ARGB8888 on plane [0-9]+ \(overlay, zpos [0-9]+\): the primary plane does not take ARGB8888" \
		/tmp/ar24.log
	check "AR24: every frame shown" 0 0 "displayed: 60" /tmp/ar24.log

	"$cam" --list >/tmp/list.log 2>&1
	check "--list: AR24's path" 0 $? \
		"AR24: direct scanout of ARGB8888 on plane [0-9]+ \(overlay" /tmp/list.log
	check "--list: XR24's path" 0 0 "XR24: direct scanout of XRGB8888 on plane [0-9]+ \(primary\)" \
		/tmp/list.log
	check "--list: NV12's path" 0 0 \
		"NV12: --stage convert: convert NV12 -> XRGB8888 on plane [0-9]+ \(primary\)" /tmp/list.log
	check "--list: the overlay plane" 0 0 "plane [0-9]+ \(overlay, zpos [0-9]+\):.* AR24" \
		/tmp/list.log

	run --camera "$dev" --format NV12 --size 640x480 --frames 10 >/tmp/nv12.log 2>&1
	check "NV12 on no plane" 1 $? \
		"cannot scan out NV12 on any plane \(plane [0-9]+ \(primary\) takes .*; plane [0-9]+ \(overlay" \
		/tmp/nv12.log

	run --camera "$dev" --format NV12 --stage convert --size 640x480 --frames 30 >/tmp/conv.log 2>&1
	check "NV12 converted onto the primary" 0 $? \
		"negotiation: valid: convert NV12 -> XRGB8888 on plane [0-9]+ \(primary\)" /tmp/conv.log
else
	v4l2-ctl -d "$dev" --set-fmt-video=width=1920,height=1080,pixelformat=XR24 >/dev/null
	run --camera "$dev" --format XR24 --frames 30 >/tmp/big.log 2>&1
	check "1920x1080 adjusted to what cirrus scans out" 0 $? \
		"negotiation: adjusted: direct scanout of XRGB8888 on plane [0-9]+ \(primary\); size 1920x1080 -> [0-9]+x[0-9]+: the display refused 1920x1080" \
		/tmp/big.log
	check "adjusted: every frame shown" 0 0 "displayed: 30" /tmp/big.log

	run --camera "$dev" --format XR24 --size 1920x1080 --frames 30 >/tmp/asked.log 2>&1
	check "1920x1080 asked for: refused, not adjusted" 1 $? \
		"direct scanout of XRGB8888 on plane [0-9]+ \(primary\): .*try a smaller --size" \
		/tmp/asked.log

	if [ "$libcamera" = libcamera ]; then
		run --camera libcamera:0 --frames 30 >/tmp/lc.log 2>&1
		check "libcamera's default size adjusted" 0 $? \
			"negotiation: adjusted: .*size [0-9]+x[0-9]+ -> [0-9]+x[0-9]+: the display refused" \
			/tmp/lc.log
		check "libcamera: every frame shown" 0 0 "displayed: 30" /tmp/lc.log
	else
		echo "skip: libcamera cases (not built with libcamera)"
	fi
fi
[ $fail = 0 ] && echo "PASS: negotiation on $display"
exit $fail
