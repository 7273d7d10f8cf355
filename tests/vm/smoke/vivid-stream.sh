#!/bin/sh
# vivid streams N frames through V4L2 MMAP in the guest, none lost.
set -eu
frames=${1:-60}
dev=$(for d in /sys/class/video4linux/video*; do
	if [ "$(cat "$d/name")" = "vivid-000-vid-cap" ]; then echo "/dev/${d##*/}"; fi
done | head -n 1)
[ -n "$dev" ] || { echo "FAIL: no vivid capture node"; exit 1; }
out=$(v4l2-ctl -d "$dev" --stream-mmap --stream-count="$frames" --stream-to=/tmp/frames.raw 2>&1)
got=$(printf '%s' "$out" | tr -cd '<' | wc -c)
size=$(stat -c %s /tmp/frames.raw)
v4l2-ctl -d "$dev" --get-fmt-video | grep -E 'Width|Size Image'
echo "$dev: $got frames, $size bytes"
[ "$got" -eq "$frames" ] || { echo "FAIL: expected $frames frames"; exit 1; }
image=$(v4l2-ctl -d "$dev" --get-fmt-video | sed -n 's/.*Size Image *: *//p')
[ "$size" -eq $((image * frames)) ] || { echo "FAIL: expected $((image * frames)) bytes"; exit 1; }
