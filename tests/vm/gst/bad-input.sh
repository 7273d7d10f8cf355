#!/bin/sh
# Bad input to the dmapipe elements: each pipeline must fail the way
# gst-launch-1.0 reports an error (exit status 1, or 255 when the pipeline
# never reached PAUSED; a crash would be 128+signal, a hang the timeout's 124)
# and with a message that names what was wrong.
. "$(dirname "$0")/lib.sh"
dev=$(vivid_dev)
fail=0
# expect WHAT PATTERN PIPELINE...: the pipeline fails cleanly, saying PATTERN.
expect() {
	what=$1
	pattern=$2
	shift 2
	status=0
	timeout 60 "$gst_env" -- gst-launch-1.0 "$@" >"$log" 2>&1 || status=$?
	if { [ "$status" -ne 1 ] && [ "$status" -ne 255 ]; } || ! grep -q -E -- "$pattern" "$log"; then
		echo "FAIL: $what: exit status $status (want 1 or 255), output:"
		tail -n 15 "$log"
		fail=1
	else
		echo "ok: $what: $(grep -E -- "$pattern" "$log" | head -n 1)"
	fi
}
expect "capture device that does not exist" "/dev/video99" \
	dmapipesrc device=/dev/video99 num-buffers=5 ! fakesink
expect "libcamera camera that does not exist" "libcamera" \
	dmapipesrc device=libcamera:7 num-buffers=5 ! fakesink
expect "a size the camera cannot capture" "not-negotiated|not negotiate|12346|size" \
	dmapipesrc device="$dev" num-buffers=5 \
	! 'video/x-raw(memory:DMABuf),format=BGRx,width=12346,height=6' ! fakesink
expect "an allocation strategy that does not exist" "alloc|bogus" \
	dmapipesrc device="$dev" alloc=bogus num-buffers=5 ! fakesink
expect "a display driver that does not exist" "nosuchdrm" \
	videotestsrc num-buffers=5 ! video/x-raw,format=BGRx,width=640,height=480 \
	! dmapipesink driver-name=nosuchdrm
expect "a format dmapipeconvert cannot convert" "not-negotiated|not negotiate|could not link|GRAY16|Gray" \
	videotestsrc num-buffers=5 ! video/x-raw,format=GRAY16_LE,width=64,height=64 \
	! dmapipeconvert ! fakesink
[ $fail = 0 ] && echo "PASS: every bad input failed cleanly with a message naming it"
exit $fail
