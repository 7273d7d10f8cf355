#!/bin/bash
# Kernel allocations failed at random under dmapipe-cam (debug kernel:
# failslab and fail_page_alloc, filtered to the program under test with
# make-it-fail).
#
#   start-up  the program marks itself before main() (make-it-fail.so) and
#             runs with every kernel allocation it causes failing with
#             probability P%: opening devices, negotiation, allocation,
#             import, modeset, streaming.
#   steady    the program streams; then all its threads are marked for two
#             seconds (P%) and unmarked: transient memory pressure.
#
# The program runs from a copy on tmpfs with every library it loads: a
# marked task reading the host's root over 9p can have the 9p client's own
# allocations failed, which breaks the test bed's root for good. (That, and
# GLib aborting on a failed allocation by design, is why gst-launch is not
# run here: docs/reliability.md.)
#
# Each run must exit 0 (the failures were absorbed or retried) or exit 1
# with one clear error line: never a signal, a hang or a kernel report
# (run-in-vm judges the kernel log and kmemleak). After each run no capbuf
# buffer is left and a run with nothing injected shows its frames at once.
#
# usage: fault-pipeline.sh DMAPIPE-CAM MAKE-IT-FAIL.SO [RUNS]
#   RUNS per probability and phase (default 1: one probability per phase;
#   more sweeps several, e.g. 10 for the long run)
set -u
cam=$1
shim=$2
runs=${3:-1}
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
		echo 1 >$fi/$a/verbose
		echo 1000000 >$fi/$a/verbose_ratelimit_burst
		echo 1 >$fi/$a/interval
		echo -1 >$fi/$a/times
		echo "$1" >$fi/$a/probability
	done
	echo 0 >$fi/fail_page_alloc/min-order
	echo N >$fi/fail_page_alloc/ignore-gfp-highmem
}

# stage ELF DIR: copies ELF into DIR and its libraries (ldd) into $tmp/lib.
mkdir -p "$tmp/bin" "$tmp/lib"
stage() {
	cp -L "$1" "$2/"
	ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/.*ld-linux/ { print $1 }' |
		while read -r lib; do
			[ -e "$tmp/lib/${lib##*/}" ] || cp -L "$lib" "$tmp/lib/"
		done
}
stage "$cam" "$tmp/bin"
stage "$shim" "$tmp/lib"
loader=$(ls "$tmp"/lib/ld-linux*.so* | head -n 1)
run_staged() { # PROGRAM ARGS...: from tmpfs, every library from tmpfs
	local prog=$1
	shift
	"$loader" --library-path "$tmp/lib" "$tmp/bin/$prog" "$@"
}
cam_args=(--camera "$dev" --display cirrus --size 320x180 --format XR24 --alloc capbuf)
cam() { run_staged "${cam##*/}" "${cam_args[@]}" "$@"; }

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
injected() { dmesg | grep -c 'FAULT_INJECTION: forcing a failure'; }

judge() {
	local label=$1 status=$2 log=$3 pattern=$4 outcome msg n=$(($(injected) - before))
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
	[ "$outcome" = ran ] && msg=$(grep -o 'displayed [0-9]*, dropped [0-9]*' "$log" | tail -n 1)
	if [ "$n" = 0 ]; then
		echo "FAIL: $label: no failure was injected: the run tested nothing"
		fail=1
	fi
	printf '%s\t%s\t%s\t%s\n' "$label" "$outcome" "$msg" "$n" >>"$results"
	printf '%-24s %4d injected  %-6s %s\n' "$label" "$n" "$outcome" "$msg"
}

startup() { # PERCENT N: dmapipe-cam marked from before main()
	local log=$tmp/run.log status=0 before=$(injected)
	inject "$1"
	# Only the program is marked: the loader preloads the shim into it alone.
	timeout 90 env DMAPIPE_MAKE_IT_FAIL=1 "$loader" --preload "$tmp/lib/${shim##*/}" \
		--library-path "$tmp/lib" "$tmp/bin/${cam##*/}" "${cam_args[@]}" --frames 30 \
		>"$log" 2>&1 || status=$?
	inject 0
	judge "cam start-up $1% #$2" "$status" "$log" '^dmapipe-cam: '
	settle "cam start-up $1% #$2"
}

steady() { # PERCENT N: dmapipe-cam marked for one second while it streams
	local log=$tmp/run.log status=0 pid prog=$tmp/bin/${cam##*/} t before=$(injected) marked= shown
	cam --frames 1000000 --stats-interval 0.5 >"$log" 2>&1 &
	pid=$!
	# Streaming: capbuf buffers imported and frames going round.
	for t in $(seq 600); do
		[ "$(live_buffers)" -ge 4 ] && break
		sleep 0.1
	done
	sleep 1
	inject "$1"
	for c in $(pgrep -f "^$loader .*$prog"); do
		for t in /proc/$c/task/*; do
			echo 1 >"$t/make-it-fail" && marked="$marked $t"
		done
	done
	[ -n "$marked" ] || echo "FAIL: steady: no task of $prog to mark"
	sleep 1
	for t in $marked; do echo 0 2>/dev/null >"$t/make-it-fail"; done
	inject 0
	# Then it must go on showing frames (or have stopped with a clear error).
	shown=$(grep -o 'displayed [0-9]*' "$log" | tail -n 1)
	sleep 3
	# SIGINT to the program itself: the background subshell would not pass it on.
	pkill -INT -f "^$loader .*$prog"
	wait $pid || status=$?
	if [ "$status" = 0 ] && [ "$(grep -o 'displayed [0-9]*' "$log" | tail -n 1)" = "$shown" ]; then
		echo "FAIL: steady $1%: no frame shown after the failures stopped"
		fail=1
	fi
	judge "cam steady $1% #$2" "$status" "$log" '^dmapipe-cam: '
	settle "cam steady $1% #$2"
}

# One run per phase by default (the CI budget); RUNS > 1 sweeps probabilities.
if [ "$runs" -gt 1 ]; then
	cam_startup="1 5 20" cam_steady="5 50"
else
	cam_startup=5 cam_steady=50
fi
for p in $cam_startup; do
	for n in $(seq "$runs"); do startup "$p" "$n"; done
done
for p in $cam_steady; do
	for n in $(seq "$runs"); do steady "$p" "$n"; done
done
echo
echo "outcomes (kind phase probability: runs that ran through / ended with a clear error):"
awk -F '\t' '{ split($1, k, " "); key = k[1] " " k[2] " " k[3]; n[key]++; o[key, $2]++ }
	END { for (key in n) printf "  %-22s %2d runs: %2d ran, %2d clear error, %d bad\n",
		key, n[key], o[key, "ran"], o[key, "error"], o[key, "BAD"] }' "$results" | sort
echo "distinct errors:"
awk -F '\t' '$2 == "error" { print $3 }' "$results" | sed 's/[0-9]\{4,\}/N/g' | sort | uniq -c | sort -rn
[ "$fail" = 0 ] && echo "PASS: every injected failure ended in a clean run or a clear error; nothing left behind"
exit "$fail"
