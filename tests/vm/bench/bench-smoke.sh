#!/bin/sh
# usage: bench-smoke.sh RUN-IN-VM CAPBUF.KO BUILD-DIR
# Runs the benchmark matrix briefly on vkms and checks every pipeline ran and
# reported its figures; the report generator must accept the output.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$1" --kernel stock --display vkms --capbuf "$2" --timeout 800 -- \
	"$here/matrix" --display vkms --frames 30 --build-dir "$3" --smoke | tee "$out/vkms.jsonl"
python3 - "$out/vkms.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]
names = {r['name'] for r in rows}
want = {'gst v4l2src io-mode=mmap ! kmssink (copy)', 'gst v4l2src io-mode=dmabuf ! kmssink',
        'dmapipe-cam --alloc capbuf', 'gst dmapipesrc ! dmapipesink'}
bad = [r for r in rows if r.get('status') != 0 or r.get('cpu_ms_per_frame') is None
       or (r['name'] == 'dmapipe-cam --alloc capbuf' and r.get('syscalls_per_frame') is None)]
missing = want - names
if missing or bad:
    sys.exit(f'bench-smoke: missing {sorted(missing)}; failed {[(r["name"], r.get("error")) for r in bad]}')
print(f'bench-smoke: {len(rows)} pipelines measured')
PY
"$here/report" "$out/vkms.jsonl" --out "$out/benchmarks.md"
grep -q '^| dmapipe-cam --alloc capbuf' "$out/benchmarks.md"
