#!/bin/sh
# The integrator's examples (docs/examples), built against the public API
# only, on vivid + cirrus:
#   glib_loop     custom stage on the stage thread + the program's own GLib
#                 main loop (fd()/dispatch()), 90 frames: every frame displayed
#                 went through the stage, on the stage thread
#   dmapipe-cam --stage-thread, convert + overlay, capbuf's checker strict
#   custom_stage  streams until SIGTERM (systemd's stop): exit 0, its frames shown
#   minimal       streams until SIGINT: exit 0
# After each: the display shows what it showed before (the framebuffer on the
# primary plane is the console's again) and no capbuf buffer is left.
# usage: examples.sh EXAMPLES_DIR DMAPIPE_CAM
set -u
dir=$1 cam=$2
tmp=$(mktemp -d)
fail=0
say_fail() { echo "FAIL: $*"; fail=1; }

# The primary plane's framebuffer, from the display's atomic state in debugfs
# (vgem may be dri/0: the card is found by its name, "cirrus" on 6.1 and
# "cirrus-qemu" on 6.12).
state=$(grep -l '^cirrus' /sys/kernel/debug/dri/*/name | head -n 1 | sed 's/name$/state/')
[ -f "$state" ] || { echo "FAIL: no atomic state of cirrus in debugfs"; exit 1; }
scanout() { awk '/^plane\[/ { p = 1 } p && /fb=/ { print $1; exit }' "$state"; }
live() { sed -n 's/^live_buffers //p' /sys/kernel/debug/capbuf/stats 2>/dev/null; }
console=$(scanout)
echo "console framebuffer: $console"
case $console in fb=[1-9]*) ;; *) echo "FAIL: no framebuffer on the primary plane before the runs"; exit 1 ;; esac

after() { # NAME: the display restored, nothing left
	now=$(scanout)
	[ "$now" = "$console" ] || say_fail "$1: the primary plane shows $now after exit, not the console's $console"
	left=$(live)
	[ "${left:-0}" = 0 ] || say_fail "$1: $left capbuf buffers left"
}

echo "== glib_loop: 90 frames in a GLib main loop"
timeout 120 "$dir/example-glib_loop" vivid cirrus 90 >"$tmp/log" 2>&1
rc=$?
cat "$tmp/log"
[ $rc = 0 ] || say_fail "glib_loop: exit $rc"
grep -q '^displayed: 90 ' "$tmp/log" || say_fail "glib_loop: not 90 frames displayed"
grep -q '^tick 1:' "$tmp/log" || say_fail "glib_loop: the loop's own timer never ran"
masked=$(sed -n 's/^masked frames: \([0-9]*\).*/\1/p' "$tmp/log")
[ "${masked:-0}" -ge 90 ] || say_fail "glib_loop: the stage saw ${masked:-0} frames, fewer than the 90 displayed"
threaded=$(sed -n 's/^masked frames: .*(\([0-9]*\) on the stage thread)/\1/p' "$tmp/log")
[ "${threaded:-0}" = "$masked" ] || say_fail "glib_loop: ${threaded:-0} of $masked frames on the stage thread"
after glib_loop

echo "== dmapipe-cam --stage-thread: YUYV -> convert -> overlay, checker strict"
timeout 120 "$cam" --camera vivid --display cirrus --format YUYV --stage convert,overlay \
	--stage-thread --alloc capbuf --check strict --frames 90 --stats-interval 0 >"$tmp/log" 2>&1
rc=$?
cat "$tmp/log"
[ $rc = 0 ] || say_fail "dmapipe-cam --stage-thread: exit $rc"
grep -q '^displayed: 90 ' "$tmp/log" || say_fail "dmapipe-cam --stage-thread: not 90 frames displayed"
grep -q 'errors: 0 ' "$tmp/log" || say_fail "dmapipe-cam --stage-thread: frames failed"
grep -q 'violations: 0$' "$tmp/log" || say_fail "dmapipe-cam --stage-thread: capbuf's checker saw violations"
after dmapipe-cam

stream_until() { # SIGNAL NAME ARGS...: streams 4 s, then the signal
	sig=$1 name=$2
	shift 2
	"$dir/example-$name" "$@" >"$tmp/log" 2>&1 &
	pid=$!
	sleep 4
	kill -"$sig" $pid
	wait $pid
	rc=$?
	cat "$tmp/log"
	[ $rc = 0 ] || say_fail "$name: exit $rc after SIG$sig (want 0: stopped and restored)"
	shown=$(sed -n 's/^displayed: \([0-9]*\) .*/\1/p' "$tmp/log")
	[ "${shown:-0}" -gt 0 ] || say_fail "$name: no frame displayed before SIG$sig"
	after "$name"
}

echo "== custom_stage: until SIGTERM"
stream_until TERM custom_stage vivid cirrus
masked=$(sed -n 's/^masked frames: //p' "$tmp/log")
[ "${masked:-0}" -gt 0 ] || say_fail "custom_stage: the stage saw no frame"

echo "== minimal: until SIGINT"
stream_until INT minimal vivid cirrus

rm -rf "$tmp"
[ $fail = 0 ] && echo "PASS: the examples stream, stop on SIGTERM/SIGINT, restore the display, leave nothing"
exit $fail
