#!/bin/sh
# dmapipesrc (vivid, YUY2 dma-bufs) ! dmapipeconvert ! dmapipeoverlay ! dmapipesink:
# the plugin's stage elements between capture and scanout.
# Checks: exit status 0; every one of FRAMES frames pushed, converted, overlaid
# and shown (the sink does not sync, so none is dropped as late), none copied;
# dmapipeconvert wrote into dmapipesink's pool; and a QMP screendump taken
# while it runs shows vivid's colour bars converted to RGB in order (white,
# yellow, cyan, green, magenta, red, blue, black at 75 %) and the overlay's
# box at the top left: only black and white, some of each.
# usage: convert-overlay.sh DISPLAY FRAMES
. "$(dirname "$0")/lib.sh"
display=${1:-cirrus}
frames=${2:-90}
export GST_DEBUG=dmapipesrc:4,dmapipesink:4,dmapipeconvert:4,dmapipeoverlay:4
shot=gst-convert-overlay.ppm
set -- dmapipesrc num-buffers="$frames" \
	! 'video/x-raw(memory:DMABuf),format=YUY2,width=640,height=480' \
	! dmapipeconvert ! dmapipeoverlay ! dmapipesink driver-name="$display" sync=false
echo "+ gst-launch-1.0 $*"
"$gst_env" -- gst-launch-1.0 "$@" >"$log" 2>&1 &
pid=$!
# The sink logs its layout on the first frame; the screendump follows a second later.
i=0
while ! grep -q "dmapipesink.* layout " "$log" && kill -0 "$pid" 2>/dev/null && [ $i -lt 900 ]; do
	sleep 0.1
	i=$((i + 1))
done
sleep 1
shot_ok=true
if kill -0 "$pid" 2>/dev/null; then
	"$DMAPIPE_VM_SCREENDUMP" "$shot" || shot_ok=false
else
	echo "gst-launch ended before the screendump"
	shot_ok=false
fi
# Bounded: a stuck pipeline fails with its log instead of hitting the meson timeout.
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 900 ]; do
	sleep 0.1
	i=$((i + 1))
done
if kill -0 "$pid" 2>/dev/null; then
	echo "gst-launch still running after 90 s more: interrupting it"
	kill -INT "$pid" 2>/dev/null || true
	sleep 5
	kill -KILL "$pid" 2>/dev/null || true
fi
status=0
wait "$pid" || status=$?
grep -v -E ' (LOG|TRACE|MEMDUMP) ' "$log" | tail -n 40
[ "$status" -eq 0 ] || { echo "FAIL: exit status $status"; exit 1; }
must "dmapipeconvert.*YUY2 640x480 .*-> BGRx: BT.601 limited range" "dmapipeconvert did not convert YUY2 to BGRx"
must "dmapipeconvert.*output buffers from downstream's pool" "dmapipeconvert did not write into dmapipesink's pool"
must "dmapipesrc.*stopped after $frames frames" "the source did not push $frames frames"
must "dmapipeconvert.*stopped after $frames frames converted \(0 from system memory\), into downstream's pool" \
	"dmapipeconvert did not convert $frames dma-buf frames into the sink's pool"
must "dmapipeoverlay.*stopped after $frames frames" "dmapipeoverlay did not see $frames frames"
must "dmapipesink.*stopped after [0-9]+ frames, 0 of them copied" "dmapipesink copied frames"
# GstVideoSink shows the first frame twice (preroll, then render).
shown=$(sed -n -E 's/.*dmapipesink.*stopped after ([0-9]+) frames, [0-9]+ of them copied.*/\1/p' "$log" | tail -n 1)
case "${shown:-0}" in
"$frames" | "$((frames + 1))") ;;
*) echo "FAIL: dmapipesink showed ${shown:-no} frames, not $frames"; exit 1 ;;
esac
[ "$shot_ok" = true ] || { echo "FAIL: screendump"; exit 1; }

# The frame sits at the top left (a mode of its size) or centred in a larger mode.
python3 - "$DMAPIPE_VM_SHARE/$shot" <<'EOF' || exit 1
import re, sys
data = open(sys.argv[1], 'rb').read()
m = re.match(rb'P6\s+(\d+)\s+(\d+)\s+(\d+)\s', data)
w, h = int(m.group(1)), int(m.group(2))
px = data[m.end():]
fw, fh = 640, 480
x0, y0 = max(0, (w - fw) // 2), max(0, (h - fh) // 2)
def at(x, y):
    return tuple(px[3 * (y * w + x):3 * (y * w + x) + 3])
names = ['white', 'yellow', 'cyan', 'green', 'magenta', 'red', 'blue', 'black']
want = [(1, 1, 1), (1, 1, 0), (0, 1, 1), (0, 1, 0), (1, 0, 1), (1, 0, 0), (0, 0, 1), (0, 0, 0)]
bad = 0
out = []
for bar in range(8):
    r, g, b = at(x0 + fw * (2 * bar + 1) // 16, y0 + fh // 2)
    out.append('%s %d,%d,%d' % (names[bar], r, g, b))
    for v, on in zip((r, g, b), want[bar]):
        if (on and v < 100) or (not on and v > 80):
            bad += 1
print('screendump %dx%d, bars at row %d: %s' % (w, h, y0 + fh // 2, '; '.join(out)))
# OverlayStage at scale 3: "#NNNNNN S.UUUUUU" is 1 + 6 * 16 or more dots wide, 9 high.
lit = dark = other = 0
for y in range(y0, y0 + 27):
    for x in range(x0, x0 + 3 * 97):
        p = at(x, y)
        if p == (255, 255, 255):
            lit += 1
        elif p == (0, 0, 0):
            dark += 1
        else:
            other += 1
print('overlay box: %d white, %d black, %d other pixels' % (lit, dark, other))
if bad:
    print('FAIL: the screen does not show vivid\'s colour bars in order')
    sys.exit(1)
if other or lit < 500 or dark < 500:
    print('FAIL: no overlay text box at the top left of the frame')
    sys.exit(1)
EOF
echo "PASS: dmapipesrc YUY2 ! dmapipeconvert ! dmapipeoverlay ! dmapipesink on $display: $frames frames, none copied, converted into the sink's pool, bars and overlay on screen"
