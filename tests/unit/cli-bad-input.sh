#!/bin/sh
# dmapipe-cam refuses bad options with exit status 2 and a message that names
# the option, before touching any device.
# usage: cli-bad-input.sh DMAPIPE-CAM
cam=$1
fail=0
expect() {
	want=$1 pattern=$2
	shift 2
	out=$("$cam" "$@" 2>&1)
	status=$?
	if [ "$status" != "$want" ] || ! printf '%s' "$out" | grep -q -- "$pattern"; then
		echo "FAIL: dmapipe-cam $*: status $status (want $want), output: $out"
		fail=1
	fi
}
expect 2 "--size wants WxH" --size 640
expect 2 "--size wants WxH" --size 0x480
expect 2 "--size wants WxH" --size 640x480x3
expect 2 "--size wants WxH" --size 99999x480
expect 2 "unknown format" --format NOPE
expect 2 "--alloc wants" --alloc magic
expect 2 "--buffers wants 4 to 32" --buffers 3
expect 2 "--buffers wants 4 to 32" --buffers -1
expect 2 "--frames wants a positive count" --frames 0
expect 2 "--frames wants a positive count" --frames 12abc
expect 2 "--check wants off, warn or strict" --check paranoid
expect 2 "--stats-interval wants seconds" --stats-interval -1
expect 2 "--fps wants frames per second" --fps 0
expect 2 "--fps wants frames per second" --fps nan
expect 2 "--fps wants frames per second" --fps 30x
expect 2 "--stage: unknown stage" --stage blur
expect 2 "threads wants 1 to 16" --stage convert:threads=0
expect 2 "unknown parameter" --stage overlay:size=3
expect 2 "takes no parameters" --stage analysis:x
expect 2 "unknown or incomplete option" --bogus
expect 2 "unknown or incomplete option" --camera
expect 2 "unexpected argument" stray
expect 0 "usage: dmapipe-cam" --help
expect 0 "dmapipe-cam 0" --version
# No devices on the host: a clear error, exit 1.
expect 1 "no V4L2 capture device" --camera no-such-camera
expect 1 "/dev/video99" --camera /dev/video99
[ $fail = 0 ] && echo "ok: bad command lines refused"
exit $fail
