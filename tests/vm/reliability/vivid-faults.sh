#!/bin/sh
# vivid's error injection while dmapipe-cam streams:
#  - V4L2_BUF_FLAG_ERROR frames are dropped, counted, and streaming goes on;
#  - VIDIOC_STREAMON / VIDIOC_REQBUFS errors give a clear message and exit 1;
#  - a disconnect stops the app with a message naming the device, exit 1,
#    and capbuf's live buffers return to 0 (nothing leaked).
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

# inject_while_streaming CONTROL LOG: starts dmapipe-cam, waits for its first
# status line (frames on screen), presses vivid's CONTROL button, and returns
# the app's exit status; an app still running 20 s later is a failure.
inject_while_streaming() {
	"$cam" --camera "$dev" --display cirrus --format XR24 --stats-interval 1 >"$2" 2>&1 &
	pid=$!
	i=0
	until grep -q "fps" "$2" || [ $i -ge 60 ]; do sleep 0.5; i=$((i + 1)); done
	v4l2-ctl -d "$dev" -c "$1=1"
	i=0
	while kill -0 $pid 2>/dev/null && [ $i -lt 20 ]; do sleep 1; i=$((i + 1)); done
	if kill -0 $pid 2>/dev/null; then
		echo "FAIL: $1: dmapipe-cam still runs 20 s later"
		kill -9 $pid
		fail=1
	fi
	wait $pid
}

# 3. QBUF refused while streaming (vivid: the next buffer's prepare fails),
#    and vb2's fatal streaming error (every later DQBUF fails, poll POLLERR).
for fault in "inject_vidioc_qbuf_error:VIDIOC_QBUF" \
	"inject_fatal_streaming_error:stopped streaming with an error"; do
	ctl=${fault%%:*}
	inject_while_streaming "$ctl" /tmp/f.log
	check "$ctl while streaming is a clear error" 1 $? "${fault#*:}" /tmp/f.log
	[ "$(live)" = 0 ] || { echo "FAIL: capbuf buffers left after $ctl: $(live)"; fail=1; }
done

# 4. Disconnect while streaming.  vivid reconnects when the last file handle
# on a disconnected device closes: disconnecting before dmapipe-cam has the
# device open makes v4l2-ctl that last handle, and the app then streams on a
# healthy device forever (what once looked like a hang).  Hence the wait for
# the first status line above.
inject_while_streaming disconnect /tmp/disc.log
check "disconnect stops with a message" 1 $? "disconnected" /tmp/disc.log
[ "$(live)" = 0 ] || { echo "FAIL: capbuf buffers left after disconnect: $(live)"; fail=1; }
exit $fail
