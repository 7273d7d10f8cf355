#!/bin/bash
# Kernel allocations failed at random under dmapipe-cam and a GStreamer
# pipeline (debug kernel: failslab and fail_page_alloc, filtered to the
# program under test with make-it-fail).
#
#   start-up  the program marks itself before main() (make-it-fail.so) and
#             runs with every kernel allocation it causes failing with
#             probability P%: opening devices, negotiation, allocation,
#             import, modeset, streaming.
#   steady    the program streams; then all its threads are marked for two
#             seconds (P%) and unmarked: transient memory pressure.
#
# Each run must exit 0 (the failures were absorbed or retried) or exit 1
# with one clear error line: never a signal, a hang or a kernel report
# (run-in-vm judges the kernel log and kmemleak). After each run no capbuf
# buffer is left and a run with nothing injected shows its frames at once.
#
# usage: fault-pipeline.sh DMAPIPE-CAM MAKE-IT-FAIL.SO [RUNS]
#   RUNS per probability and phase (default 2; the long run: 20)
set -u
cam=$1
shim=$2
runs=${3:-2}
here=$(cd "$(dirname "$0")" && pwd)
gst_env="$here/../gst-env"
fi=/sys/kernel/debug
tmp=/tmp/fault-pipeline
mkdir -p "$tmp"

dev=$(for d in /sys/class/video4linux/video*; do
	[ "$(cat "$d/name")" = vivid-000-vid-cap ] && echo "/dev/${d##*/}"; done | head -n 1)
[ -n "$dev" ] || { echo "FAIL: no vivid capture node"; exit 1; }
[ -d $fi/failslab ] && [ -d $fi/fail_page_alloc ] ||
	{ echo "FAIL: no failslab / fail_page_alloc (CONFIG_FAULT_INJECTION_DEBUG_FS)"; exit 1; }

live_buffers() { sed -n 's/^live_buffers //p' /sys/kernel/debug/capbuf/stats; }

inject() { # PERCENT: every sleeping allocation and order-0 page of marked tasks
	for a in failslab fail_page_alloc; do
		echo Y >$fi/$a/task-filter
		echo N >$fi/$a/ignore-gfp-wait
		echo 0 >$fi/$a/verbose
		echo 1 >$fi/$a/interval
		echo -1 >$fi/$a/times
		echo "$1" >$fi/$a/probability
	done
	echo 0 >$fi/fail_page_alloc/min-order
	echo N >$fi/fail_page_alloc/ignore-gfp-highmem
}

cam_args=(--camera "$dev" --display cirrus --size 320x180 --format YUYV --alloc capbuf)
gst_pipeline=(gst-launch-1.0 -q dmapipesrc device="$dev" alloc=capbuf
	'!' video/x-raw,width=320,height=180,format=YUY2 '!' dmapipesink)

fail=0
results=$tmp/results
: >"$results"

# settle: capbuf's live count back to 0 (a flip in flight holds its buffer
# for one vblank), then a run with nothing injected.
settle() { # LABEL
	local i=0 live
	while live=$(live_buffers); [ "$live" != 0 ] && [ $i -lt 40 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	if [ "$live" != 0 ]; then
		echo "FAIL: $1: $live capbuf buffers still live 2 s after the run"
		fail=1
	fi
	if ! timeout 60 "$cam" "${cam_args[@]}" --frames 5 >"$tmp/verify.log" 2>&1; then
		echo "FAIL: $1: the next run, with nothing injected, failed:"
		cat "$tmp/verify.log"
		fail=1
	fi
}

# judge LABEL STATUS LOG ERRPATTERN: one line in $results per run.
judge() {
	local label=$1 status=$2 log=$3 pattern=$4 outcome msg
	if [ "$status" = 0 ]; then
		outcome=ran
		msg=
	elif [ "$status" = 1 ] && grep -q -E "$pattern" "$log"; then
		outcome=error
		msg=$(grep -E "$pattern" "$log" | head -n 1 | cut -c 1-200)
	else
		outcome=BAD
		msg="exit status $status"
		echo "FAIL: $label: exit status $status (124: hung; >128: killed by signal $((status - 128)))"
		tail -n 20 "$log"
		fail=1
	fi
	printf '%s\t%s\t%s\n' "$label" "$outcome" "$msg" >>"$results"
	printf '%-28s %-6s %s\n' "$label" "$outcome" "$msg"
}

startup() { # KIND PERCENT N
	local log=$tmp/run.log status=0
	inject "$2"
	if [ "$1" = cam ]; then
		DMAPIPE_MAKE_IT_FAIL=1 LD_PRELOAD=$shim timeout 90 "$cam" "${cam_args[@]}" \
			--frames 30 >"$log" 2>&1 || status=$?
	else
		DMAPIPE_MAKE_IT_FAIL=1 LD_PRELOAD=$shim timeout 90 "$gst_env" -- \
			"${gst_pipeline[@]}" num-buffers=30 >"$log" 2>&1 || status=$?
	fi
	inject 0
	judge "$1 start-up $2% #$3" "$status" "$log" \
		'^(dmapipe-cam: |ERROR: from element|ERROR: pipeline could not be constructed)'
	settle "$1 start-up $2% #$3"
}

steady() { # KIND PERCENT N
	local log=$tmp/run.log status=0 pid t
	if [ "$1" = cam ]; then
		"$cam" "${cam_args[@]}" --frames 150 --stats-interval 1 >"$log" 2>&1 &
	else
		"$gst_env" -- "${gst_pipeline[@]}" num-buffers=150 >"$log" 2>&1 &
	fi
	pid=$!
	# Streaming: capbuf buffers allocated and imported, frames going round.
	for t in $(seq 100); do
		[ "$(live_buffers)" -ge 4 ] 2>/dev/null && break
		sleep 0.1
	done
	sleep 1
	inject "$2"
	for t in /proc/$pid/task/*/make-it-fail /proc/$(pgrep -P $pid | head -n 1)/task/*/make-it-fail; do
		echo 1 >"$t" 2>/dev/null
	done
	sleep 2
	inject 0
	wait $pid || status=$?
	judge "$1 steady $2% #$3" "$status" "$log" \
		'^(dmapipe-cam: |ERROR: from element)'
	settle "$1 steady $2% #$3"
}

for p in 1 5 20; do
	for n in $(seq "$runs"); do
		startup cam $p $n
	done
done
for p in 5 50; do
	for n in $(seq "$runs"); do
		steady cam $p $n
	done
done
if [ -n "${DMAPIPE_GST_PLUGIN_PATH:-}" ]; then
	for p in 1 5; do
		for n in $(seq "$runs"); do
			startup gst $p $n
		done
	done
	for n in $(seq "$runs"); do
		steady gst 20 $n
	done
fi

echo
echo "outcomes (kind phase probability: runs that ran through / ended with a clear error):"
awk -F '\t' '{ split($1, k, " "); key = k[1] " " k[2] " " k[3]; n[key]++; o[key, $2]++ }
	END { for (key in n) printf "  %-22s %2d runs: %2d ran, %2d clear error, %d bad\n",
		key, n[key], o[key, "ran"], o[key, "error"], o[key, "BAD"] }' "$results" | sort
echo "distinct errors:"
cut -f 3 "$results" | grep -v '^$' | sed 's/[0-9]\{4,\}/N/g' | sort | uniq -c | sort -rn
[ "$fail" = 0 ] && echo "PASS: every injected failure ended in a clean run or a clear error; nothing left behind"
exit "$fail"
