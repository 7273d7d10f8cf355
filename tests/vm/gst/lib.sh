# Sourced by the GStreamer VM tests: run() runs gst-launch-1.0 (or any
# command) through tests/vm/gst-env with the build's plugin directory and
# keeps its output in $log for the checks.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
gst_env="$here/../gst-env"
log=$(mktemp /tmp/gst-test.XXXXXX)
[ -n "${DMAPIPE_GST_PLUGIN_PATH:-}" ] || { echo "FAIL: DMAPIPE_GST_PLUGIN_PATH is not set"; exit 1; }

# The vivid capture node.
vivid_dev() {
	for d in /sys/class/video4linux/video*; do
		if [ "$(cat "$d/name")" = "vivid-000-vid-cap" ]; then echo "/dev/${d##*/}"; fi
	done | head -n 1
}

# run CMD ARGS: runs it under gst-env, output to the terminal and $log; fails the test on a non-zero exit.
run() {
	echo "+ $*"
	status=0
	"$gst_env" -- "$@" >"$log" 2>&1 || status=$?
	grep -v -E ' (LOG|TRACE|MEMDUMP) ' "$log" | tail -n 60
	if [ "$status" -ne 0 ]; then
		echo "FAIL: exit status $status"
		exit 1
	fi
}

# must_not PATTERN WHY / must PATTERN WHY: checks on the last run's output.
must_not() {
	if grep -q -E -- "$1" "$log"; then
		grep -E -- "$1" "$log" | head -n 5
		echo "FAIL: $2"
		exit 1
	fi
}
must() {
	if ! grep -q -E -- "$1" "$log"; then
		echo "FAIL: $2"
		exit 1
	fi
}
count() {
	grep -c -E -- "$1" "$log" || true
}
