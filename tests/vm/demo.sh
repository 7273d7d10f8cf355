#!/bin/sh
# Guest side of scripts/run-demo: dmapipe-cam with the overlay for about ten
# seconds; a screendump while it runs, its output as stats.txt.
# usage: demo.sh DMAPIPE-CAM SECONDS
cam=$1
seconds=${2:-10}
out=$DMAPIPE_VM_SHARE
"$cam" --list >"$out/list.txt" 2>&1
"$cam" --camera vivid --display cirrus --format YUYV --stage convert,overlay --check strict \
	--stats-interval 1 >"$out/stats.txt" 2>&1 &
pid=$!
sleep "$seconds"
"$DMAPIPE_VM_SCREENDUMP" screen.ppm
kill -INT "$pid"
wait "$pid"
status=$?
cat "$out/stats.txt"
exit $status
