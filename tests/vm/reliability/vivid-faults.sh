#!/bin/sh
# vivid's error injection while dmapipe-cam streams:
#  - V4L2_BUF_FLAG_ERROR frames are dropped, counted, and streaming goes on;
#  - VIDIOC_STREAMON / VIDIOC_REQBUFS errors give a clear message and exit 1;
# usage: vivid-faults.sh DMAPIPE-CAM
cam=$1
fail=0
dev=$(for d in /sys/class/video4linux/video*; do
	[ "$(cat $d/name)" = vivid-000-vid-cap ] && echo /dev/${d##*/}; done | head -n 1)
live() { sed -n 's/^live_buffers //p' /sys/kernel/debug/capbuf/stats; }
run() { "$cam" --camera "$dev" --display cirrus --format XR24 --stats-interval 0 "$@"; }
check() { # status wanted, pattern, output file, what
	if [ "$2" != "$3" ] || ! grep -q -- "$4" "$5"; then
		echo "FAIL: $1: status $3 (want $2), output:"; cat "$5"; fail=1
	else
		echo "ok: $1: $(tail -n 1 "$5")"
	fi
}

# 1. Error-flagged frames while streaming.
run --frames 150 >/tmp/err.log 2>&1 &
pid=$!
sleep 2
for i in 1 2 3 4 5; do v4l2-ctl -d "$dev" -c inject_v4l2_buf_flag_error=1; sleep 0.2; done
wait $pid
status=$?
errors=$(sed -n 's/.* errors: \([0-9]*\).*/\1/p' /tmp/err.log)
check "error-flagged frames are dropped and counted" 0 $status "displayed: 150" /tmp/err.log
[ "${errors:-0}" -ge 1 ] || { echo "FAIL: no error frames counted: $(cat /tmp/err.log)"; fail=1; }

# 2. STREAMON and REQBUFS refused by the device.
v4l2-ctl -d "$dev" -c inject_vidioc_streamon_error=1
run --frames 10 >/tmp/streamon.log 2>&1
check "STREAMON error is a clear error" 1 $? "VIDIOC_STREAMON on $dev (vivid)" /tmp/streamon.log
v4l2-ctl -d "$dev" -c inject_vidioc_reqbufs_error=1
run --frames 10 >/tmp/reqbufs.log 2>&1
check "REQBUFS error is a clear error" 1 $? "VIDIOC_REQBUFS" /tmp/reqbufs.log
[ "$(live)" = 0 ] || { echo "FAIL: capbuf buffers left after failed starts: $(live)"; fail=1; }

# A disconnect while streaming is not tested yet: dmapipe-cam or vivid hung
# in 2 of 5 runs (see docs/reliability.md).
exit $fail
