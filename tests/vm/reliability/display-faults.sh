#!/bin/sh
# Display faults while dmapipe-cam runs on cirrus:
#  - another process is DRM master: a clear error naming the cure, exit 1;
#  - a frame size the display cannot scan out (its atomic check refuses every
#    layout): a clear error or a layout that works, nothing left behind;
#  - the display device disappears while streaming (the PCI device is
#    removed, as a hot-unplug): the pipeline stops with a clear error, every
#    buffer is released and the kernel stays quiet.
# usage: display-faults.sh DMAPIPE-CAM
cam=$1
fail=0
dev=$(for d in /sys/class/video4linux/video*; do
	[ "$(cat "$d/name")" = vivid-000-vid-cap ] && echo "/dev/${d##*/}"; done | head -n 1)
live() { sed -n 's/^live_buffers //p' /sys/kernel/debug/capbuf/stats; }
run() { "$cam" --camera "$dev" --display cirrus --stats-interval 0 "$@"; }
# start LOG ARGS: dmapipe-cam in the background, its pid in $pid (not a
# subshell's); returns once its first status line says frames are on screen,
# so that no fault lands before the app holds the display (under the debug
# kernel start-up takes seconds).
start() {
	out=$1
	shift
	"$cam" --camera "$dev" --display cirrus --stats-interval 1 "$@" >"$out" 2>&1 &
	pid=$!
	i=0
	until grep -q "fps" "$out" || [ $i -ge 120 ]; do sleep 0.5; i=$((i + 1)); done
}
check() { # what, status wanted, status, pattern, output file
	if [ "$2" != "$3" ] || ! grep -q -- "$4" "$5"; then
		echo "FAIL: $1: status $3 (want $2), output:"; cat "$5"; fail=1
	else
		echo "ok: $1: $(grep -- "$4" "$5" | head -n 1)"
	fi
}
no_leftovers() {
	[ "$(live)" = 0 ] || { echo "FAIL: $1: $(live) capbuf buffers left"; fail=1; }
}

# 1. Another process holds DRM master.
start /tmp/holder.log --format XR24 --size 640x360 --frames 100000
holder=$pid
run --format XR24 --size 640x360 --frames 10 >/tmp/second.log 2>&1
check "DRM master held by another process" 1 $? "DRM master" /tmp/second.log
kill -INT $holder
wait $holder
check "the master holder was not disturbed" 0 $? "displayed:" /tmp/holder.log
no_leftovers "after the master conflict"

# 2. A size the display cannot take: cirrus has 4 MiB of VRAM, 1920x1080
# XRGB8888 needs 8.
run --format XR24 --size 1920x1080 --frames 30 >/tmp/toobig.log 2>&1
status=$?
if [ $status = 0 ]; then
	check "frame larger than the display can scan out" 0 $status "displayed: 30" /tmp/toobig.log
else
	check "frame larger than the display can scan out" 1 $status "try a smaller --size" /tmp/toobig.log
fi
no_leftovers "after the refused size"

# 3. The display is unplugged while streaming.
card=$(for c in /sys/class/drm/card[0-9]; do
	[ "$(basename "$(readlink "$c/device/driver")")" = cirrus ] && echo "$c"; done | head -n 1)
pci=$(readlink -f "$card/device")
start /tmp/unplug.log --format XR24 --size 640x360 --frames 100000
echo 1 >"$pci/remove"
# The pipeline must notice within a few frames' time, not hang.
i=0
while kill -0 $pid 2>/dev/null && [ $i -lt 30 ]; do sleep 1; i=$((i + 1)); done
if kill -0 $pid 2>/dev/null; then
	echo "FAIL: dmapipe-cam still runs 30 s after the display was removed"
	kill -9 $pid
	fail=1
fi
wait $pid
check "display removed while streaming" 1 $? "display device was removed" /tmp/unplug.log
no_leftovers "after the unplug"

[ $fail = 0 ] && echo "PASS: display faults give clear errors and leave nothing behind"
exit $fail
