#!/bin/sh
# The guest runs the kernel we asked for: Debian's 6.1.0-NN-amd64 (stock), or
# our debug build with lockdep, kmemleak and KASAN on.
set -u
release=$(uname -r)
echo "release $release"
case "$DMAPIPE_VM_KERNEL" in
stock)
	echo "$release" | grep -Eq '^6\.1\.0-[0-9]+-amd64$' || { echo "FAIL: not Debian's 6.1 kernel"; exit 1; }
	[ "$release" = "$1" ] || { echo "FAIL: expected $1"; exit 1; } ;;
debug)
	for f in /proc/lockdep /sys/kernel/debug/kmemleak /dev/udmabuf /dev/dma_heap/system; do
		[ -e "$f" ] || { echo "FAIL: $f missing on the debug kernel"; exit 1; }
	done
	dmesg | grep -q 'KernelAddressSanitizer initialized' || { echo "FAIL: KASAN is off"; exit 1; }
	echo "lockdep, kmemleak, KASAN, udmabuf and the system heap are on" ;;
esac
