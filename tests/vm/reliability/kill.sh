#!/bin/sh
# Killed processes: dmapipe-cam (and gst-launch-1.0 dmapipesrc ! dmapipesink)
# SIGKILLed at chosen points, through the killpoint shim (killpoint.c,
# LD_PRELOAD: a real raise(SIGKILL) at the Nth ioctl of a kind, before or
# after the call), and once from outside (kill -9 after 0..3 s):
#   negotiation   VIDIOC_S_FMT, N in the range a normal run makes
#   allocation    the exporter's allocation ioctl, N in 1..buffers:
#                 DMA_HEAP_IOCTL_ALLOC (capbuf), VIDIOC_EXPBUF (v4l2),
#                 DRM_IOCTL_MODE_CREATE_DUMB (dumb)
#   first-commit  DRM_IOCTL_MODE_ATOMIC #1 (the TEST_ONLY probe) or #2 (the
#                 first real, nonblocking modeset)
#   streaming     VIDIOC_DQBUF, N in 1..60
#   teardown      VIDIOC_STREAMOFF or DRM_IOCTL_MODE_RMFB
#   any-time      kill -9 from the shell after 0..3 s (0..8 s on the debug kernel)
# gst-launch (dmapipesrc alloc=capbuf ! dmapipesink): allocation, streaming
# and teardown as above.
# The allocation strategy goes round capbuf, v4l2, dumb by iteration.
# After each kill: capbuf's live buffers reach 0 and the DRM framebuffers
# their count from before (a nonblocking commit in flight may hold the last
# framebuffer for a vblank: polled, the time taken reported), and a new run
# of 3 frames opens vivid and the display again and shows them.  A point
# the process never reached (it finished, or ran past the limit) fails: it
# tested nothing.  The kernel log is run-in-vm's to judge.
# usage: kill.sh DMAPIPE-CAM KILLPOINT-SO ITERATIONS [DISPLAY] [GST-ITERATIONS]
# GST-ITERATIONS (default: a third of ITERATIONS, rounded up) for the
# GStreamer loop, which runs when DMAPIPE_GST_PLUGIN_PATH is set.
# DMAPIPE_KILL_SEED=S replays a run (the seed is printed first).
# The full run (50 per point on a stock kernel; 10 on the debug kernel):
#   tests/vm/run-in-vm --kernel stock --display cirrus --capbuf BUILD/kmod/capbuf.ko \
#     --env DMAPIPE_GST_PLUGIN_PATH=BUILD/plugins/gst --timeout 3600 -- \
#     tests/vm/reliability/kill.sh BUILD/apps/dmapipe-cam \
#     BUILD/tests/vm/reliability/libkillpoint.so 50 cirrus
set -u
cam=$1
shim=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
iterations=$3
display=${4:-cirrus}
gst_iterations=${5:-$(((iterations + 2) / 3))}
[ -n "${DMAPIPE_GST_PLUGIN_PATH:-}" ] || gst_iterations=0
gst_env="$(cd "$(dirname "$0")" && pwd)/../gst-env"
size=320x180
# Recovery limit for live buffers and framebuffers; the debug kernel is ~3x slower.
# "any time" is up to anytime_ms after the start: start-up and streaming.
# A point not reached within run_limit seconds: the run is killed and fails.
limit_ms=2000
anytime_ms=3000
run_limit=60
if [ "${DMAPIPE_VM_KERNEL:-}" = debug ]; then
	limit_ms=6000
	anytime_ms=8000
	run_limit=180
fi

dev=$(for d in /sys/class/video4linux/video*; do
	[ "$(cat "$d/name")" = vivid-000-vid-cap ] && echo "/dev/${d##*/}"; done | head -n 1)
[ -n "$dev" ] || { echo "FAIL: no vivid capture node"; exit 1; }
[ -r /sys/kernel/debug/capbuf/stats ] || { echo "FAIL: capbuf is not loaded"; exit 1; }
# Shell builtins only (no fork per look under TCG): live_buffers and
# framebuffers set l and f; now_cs sets cs to the uptime in centiseconds.
live_buffers() {
	l=
	while read -r k v; do [ "$k" = live_buffers ] && l=$v; done </sys/kernel/debug/capbuf/stats
}
framebuffers() { # counted like soak.sh: "framebuffer[ID]:" lines
	f=0
	for file in /sys/kernel/debug/dri/*/framebuffer; do
		[ -r "$file" ] || continue
		while read -r line; do
			case $line in framebuffer*) f=$((f + 1)) ;; esac
		done <"$file"
	done
}
now_cs() {
	read -r up _ </proc/uptime
	cs=$((${up%.*}${up#*.})) # "12.08": 1208, no leading zero to read as octal
}

# A small LCG in shell arithmetic (no $RANDOM in dash), so that a seed
# replays every choice.  rand LO HI sets r.
seed=${DMAPIPE_KILL_SEED:-$(od -An -N3 -tu4 /dev/urandom | tr -d ' ')}
echo "kill.sh: seed $seed (replay: DMAPIPE_KILL_SEED=$seed), $iterations per point, $display, $size"
state=$seed
rand() {
	state=$(((state * 1103515245 + 12345) % 2147483648))
	r=$(($1 + (state / 65536) % ($2 - $1 + 1)))
}
when() { # sets w, before or after, keeping r
	n=$r
	rand 0 1
	[ $r = 0 ] && w=before || w=after
	r=$n
}

fail=0
framebuffers
baseline_fbs=$f
now_cs
start_cs=$cs
elapsed() { now_cs; echo "$(((cs - start_cs) / 100)) s"; }
tmp=/tmp/kill
rm -rf "$tmp"
mkdir -p "$tmp"
results=$tmp/results
: >"$results"

cam_args() { # ALLOC FRAMES
	echo --camera "$dev" --display "$display" --size "$size" --format XR24 \
		--alloc "$1" --frames "$2" --stats-interval 0
}
# gst_pipeline FRAMES: the gst-launch arguments (alloc=capbuf).
gst_pipeline() {
	echo gst-launch-1.0 -q dmapipesrc device="$dev" alloc=capbuf num-buffers="$1" \
		! "video/x-raw(memory:DMABuf),format=BGRx,width=320,height=180" \
		! dmapipesink driver-name="$display"
}

# count TRACE NAME: how often a normal run made the request NAME.
count() { sed -n "s/^$2 //p" "$1" | head -n 1; }

# verify ALLOC WHAT: a normal dmapipe-cam run of 3 frames must open vivid
# and the display again and show them; prints why not.  (After a killed
# gst-launch too: a gst-launch costs ~4 s of start-up under TCG, and what is
# checked is what the kill left in the kernel.)
verify() {
	# shellcheck disable=SC2046
	"$cam" $(cam_args "$1" 3) >"$tmp/verify.log" 2>&1
	st=$?
	if [ $st != 0 ] || ! grep -q "displayed: 3" "$tmp/verify.log"; then
		echo "FAIL: $2: the next run (status $st) did not show its frames:"
		tail -n 20 "$tmp/verify.log"
		return 1
	fi
}

# calibrate KIND ALLOC: one normal run with the shim tracing; its counts bound N.
calibrate() {
	trace=$tmp/trace-$1-$2
	rm -f "$trace"
	if [ "$1" = cam ]; then
		# shellcheck disable=SC2046
		DMAPIPE_KILLPOINT_TRACE=$trace LD_PRELOAD=$shim "$cam" $(cam_args "$2" 3) \
			>"$tmp/verify.log" 2>&1
	else
		# shellcheck disable=SC2046
		"$gst_env" -- env DMAPIPE_KILLPOINT_TRACE="$trace" \
			LD_PRELOAD="$shim" $(gst_pipeline 3) >"$tmp/verify.log" 2>&1
	fi
	st=$?
	if [ $st != 0 ] || [ ! -s "$trace" ]; then
		echo "FAIL: calibration run of $1 $2 (status $st, trace $(wc -l <"$trace" 2>/dev/null)):"
		tail -n 20 "$tmp/verify.log"
		exit 1
	fi
	echo "calibration $1 $2: $(tr '\n' ' ' <"$trace")"
}

# recover WHAT: waits for capbuf's live buffers to reach 0 and the
# framebuffers their baseline; sets ms to how long that took after the
# process was reaped (0: clean at the first look), returns 1 past the limit.
recover() {
	now_cs
	t0=$cs
	ms=0
	while live_buffers && framebuffers && { [ "$l" != 0 ] || [ "$f" -gt "$baseline_fbs" ]; }; do
		if [ $ms -gt $limit_ms ]; then
			echo "FAIL: $1: after $ms ms still $l capbuf buffers live, $f framebuffers (baseline $baseline_fbs)"
			return 1
		fi
		sleep 0.05
		now_cs
		ms=$(((cs - t0) * 10))
	done
}

# one KIND POINT ALLOC SPEC FRAMES: one kill and the checks after it.
# SPEC is the shim's NAME:N:WHEN, or "external:MS" for a kill -9 after MS.
one() {
	what="$2 $3 $4"
	log=$tmp/run.log
	case $4 in
	external:*)
		# shellcheck disable=SC2046
		"$cam" $(cam_args "$3" "$5") >"$log" 2>&1 &
		pid=$!
		delay=${4#external:}
		sleep "$((delay / 1000)).$(printf %03d $((delay % 1000)))"
		kill -9 $pid 2>/dev/null
		wait $pid 2>/dev/null
		st=$?
		reached=$([ $st = 137 ] && echo yes)
		;;
	*)
		if [ "$1" = cam ]; then
			# shellcheck disable=SC2046
			timeout -s KILL $run_limit env DMAPIPE_KILLPOINT="$4" LD_PRELOAD="$shim" \
				"$cam" $(cam_args "$3" "$5") >"$log" 2>&1
		else
			# shellcheck disable=SC2046
			timeout -s KILL $run_limit "$gst_env" -- env DMAPIPE_KILLPOINT="$4" \
				LD_PRELOAD="$shim" $(gst_pipeline "$5") >"$log" 2>&1
		fi
		st=$?
		reached=$(grep -q "^killpoint: SIGKILL at" "$log" && echo yes)
		;;
	esac
	killed=0 recovered=0 t=-1
	if [ $st != 137 ] || [ -z "$reached" ]; then
		echo "FAIL: $what: not killed there (status $st): the point was never reached"
		grep -v -E ' (LOG|TRACE|DEBUG) ' "$log" | tail -n 10
		fail=1
	else
		killed=1
		if recover "$what"; then
			t=$ms
			if verify "$3" "$what" && recover "$what, after the next run"; then
				recovered=1
				echo "ok: $what: killed, clean after $t ms, the next run showed frames ($(elapsed))"
			fi
		fi
		[ $recovered = 1 ] || fail=1
	fi
	echo "$1 $2 $killed $recovered $t" >>"$results"
}

allocs="capbuf v4l2 dumb"
alloc_for() { # ITERATION: sets a, round robin over $allocs
	n=$1
	# shellcheck disable=SC2086
	set -- $allocs
	shift $(((n - 1) % $#))
	a=$1
}

# pick NAME [MAX]: spec=NAME:N:WHEN, N in 1..MAX (default: how often the
# calibration run in $trace made NAME), WHEN before or after.
pick() {
	rand 1 "${2:-$(count "$trace" "$1")}"
	when
	spec=$1:$r:$w
}
pick_teardown() { # spec at VIDIOC_STREAMOFF or DRM_IOCTL_MODE_RMFB
	rand 0 1
	if [ $r = 0 ]; then pick VIDIOC_STREAMOFF; else pick DRM_IOCTL_MODE_RMFB; fi
}

i=1
while [ $i -le "$iterations" ]; do
	alloc_for $i
	trace=$tmp/trace-cam-$a
	[ -s "$trace" ] || calibrate cam $a
	pick VIDIOC_S_FMT
	one cam negotiation $a $spec 3
	case $a in
	capbuf) pick DMA_HEAP_IOCTL_ALLOC ;;
	v4l2) pick VIDIOC_EXPBUF ;;
	dumb) pick DRM_IOCTL_MODE_CREATE_DUMB ;;
	esac
	one cam allocation $a $spec 3
	pick DRM_IOCTL_MODE_ATOMIC 2
	one cam first-commit $a $spec 3
	pick VIDIOC_DQBUF 60
	one cam streaming $a $spec 100000
	pick_teardown
	one cam teardown $a $spec 3
	rand 0 $anytime_ms
	one cam any-time $a external:$r 100000
	i=$((i + 1))
done

if [ "$gst_iterations" -gt 0 ]; then
	calibrate gst capbuf
	trace=$tmp/trace-gst-capbuf
	i=1
	while [ $i -le "$gst_iterations" ]; do
		pick DMA_HEAP_IOCTL_ALLOC
		one gst allocation capbuf $spec 3
		pick VIDIOC_DQBUF 60
		one gst streaming capbuf $spec 100000
		pick_teardown
		one gst teardown capbuf $spec 3
		i=$((i + 1))
	done
fi

echo
echo "pipeline     point         iterations  killed  recovered  worst ms to clean"
awk '{ k = $1 " " $2; if (!(k in n)) order[++m] = k
       n[k]++; killed[k] += $3; rec[k] += $4; if ($5 > worst[k]) worst[k] = $5 }
     END { for (i = 1; i <= m; i++) { k = order[i]; split(k, p, " ")
             printf "%-12s %-13s %10d %7d %10d %18d\n", p[1] == "cam" ? "dmapipe-cam" : "gst-launch",
                    p[2], n[k], killed[k], rec[k], worst[k] } }' "$results"
[ $fail = 0 ] && echo "PASS: every kill left no capbuf buffer, no framebuffer, and the next run showed frames"
exit $fail
