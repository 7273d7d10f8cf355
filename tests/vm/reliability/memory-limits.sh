#!/bin/sh
# Memory limits below what the pipeline needs: capbuf's max_total_size, then
# a memory cgroup whose memory.max leaves too little (capbuf charges its
# pages to the allocating task's cgroup). Each run must stop with exit 1 and
# one error line that names the limit, with nothing left behind; with the
# limit lifted the same run shows its frames.
# usage: memory-limits.sh DMAPIPE-CAM
set -u
cam=$1
tmp=/tmp/memory-limits
mkdir -p "$tmp"
params=/sys/module/capbuf/parameters
cg=/sys/fs/cgroup/dmapipe-limit

dev=$(for d in /sys/class/video4linux/video*; do
	[ "$(cat "$d/name")" = vivid-000-vid-cap ] && echo "/dev/${d##*/}"; done | head -n 1)
[ -n "$dev" ] || { echo "FAIL: no vivid capture node"; exit 1; }
live() { sed -n "s/^$1 //p" /sys/kernel/debug/capbuf/stats; }

# 640x480 XRGB8888: 1,228,800 bytes a frame, 6 buffers.
args="--camera $dev --display cirrus --size 640x480 --format XR24 --alloc capbuf --buffers 6"
fail=0
expect_error() { # LABEL PATTERN: the last run failed with one line matching PATTERN
	if [ "$status" != 1 ]; then
		echo "FAIL: $1: exit status $status, expected 1"
		fail=1
	elif ! grep -q -E "$2" "$tmp/log"; then
		echo "FAIL: $1: the error does not name the limit:"
		fail=1
	fi
	grep '^dmapipe-cam:' "$tmp/log"
	left=$(live live_buffers)
	[ "$left" = 0 ] || { echo "FAIL: $1: $left capbuf buffers left"; fail=1; }
}

# The need, measured: a run with no limit, read once all 6 buffers exist
# (allocated before streaming starts), then stopped with SIGINT. Waiting for
# the count rather than sampling a short run: on the debug kernel under CI
# load one sampling round can outlast a 60-frame run (CI saw 1 buffer of 6).
"$cam" $args --frames 100000 >"$tmp/log" 2>&1 &
pid=$!
need=0
for _ in $(seq 600); do
	kill -0 $pid 2>/dev/null || break
	[ "$(live live_buffers)" -ge 6 ] && { need=$(live live_bytes); break; }
	sleep 0.1
done
kill -INT $pid 2>/dev/null
# 130: SIGINT came before the handler was installed (after allocation).
status=0
wait $pid || status=$?
case $status in 0 | 130) ;; *) echo "FAIL: the unlimited run failed ($status)"; cat "$tmp/log"; exit 1 ;; esac
echo "the pipeline holds $need bytes of capbuf buffers"
[ "$need" -gt 0 ] || { echo "FAIL: no capbuf buffers seen"; exit 1; }

# 1. capbuf's own limit, one page short.
old=$(cat $params/max_total_size)
echo $((need - 4096)) >$params/max_total_size
status=0
"$cam" $args --frames 30 >"$tmp/log" 2>&1 || status=$?
expect_error "max_total_size $((need - 4096))" "max_total_size is .* MiB.*buffer 6 of 6"
echo "$old" >$params/max_total_size

# 2. A memory cgroup: memory.max = what the program uses without its buffers
# (a run on the camera's own buffers, which are not charged) + half the need.
[ -f /sys/fs/cgroup/cgroup.controllers ] || mount -t cgroup2 none /sys/fs/cgroup
grep -q memory /sys/fs/cgroup/cgroup.controllers || { echo "FAIL: no memory controller"; exit 1; }
echo +memory >/sys/fs/cgroup/cgroup.subtree_control
mkdir -p $cg
run_in_cgroup() { # ARGS...: runs dmapipe-cam in $cg
	sh -c "echo \$\$ >$cg/cgroup.procs && exec \"\$0\" \"\$@\"" "$cam" "$@" >"$tmp/log" 2>&1
}
echo max >$cg/memory.max
echo 0 >$cg/memory.peak 2>/dev/null # resettable since 6.12
run_in_cgroup $(echo "$args" | sed 's/--alloc capbuf/--alloc v4l2/') --frames 30 ||
	{ echo "FAIL: the run on vivid's buffers failed in the cgroup"; cat "$tmp/log"; exit 1; }
base=$(cat $cg/memory.peak 2>/dev/null || cat $cg/memory.current)
limit=$((base + need / 2))
echo "without its buffers the program peaks at $base bytes; memory.max $limit"
echo $limit >$cg/memory.max
status=0
run_in_cgroup $args --frames 30 || status=$?
expect_error "memory.max $limit" "memory cgroup .*dmapipe-limit has memory.max .* MiB.*buffer [0-9] of 6"
grep -E '^(oom|oom_kill) ' $cg/memory.events
oom=$(sed -n 's/^oom_kill //p' $cg/memory.events)
[ "${oom:-0}" = 0 ] || { echo "FAIL: the OOM killer ran in the cgroup"; fail=1; }

# 3. Lifted: the same run shows its frames.
echo max >$cg/memory.max
status=0
run_in_cgroup $args --frames 30 || status=$?
[ "$status" = 0 ] || { echo "FAIL: with the limit lifted: exit $status"; cat "$tmp/log"; fail=1; }
rmdir $cg 2>/dev/null

[ "$fail" = 0 ] && echo "PASS: both limits named in a clean error, nothing left, the next run streams"
exit "$fail"
