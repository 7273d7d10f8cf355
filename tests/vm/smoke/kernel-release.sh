#!/bin/sh
# The guest runs the kernel we asked for: Debian 12's 6.1.0-NN-amd64 (stock),
# Debian 13's 6.12.NN+deb13-amd64 (stock-6.12), or our 6.12 debug build with
# lockdep, kmemleak, KASAN, fault injection and CMA on.
# usage: kernel-release.sh EXPECTED   (the release meson built capbuf for
#   that kernel against; empty: not checked, the debug kernel without
#   -Ddebug_kernel_dir)
set -u
release=$(uname -r)
expected=${1:-}
echo "release $release"
fail() { echo "FAIL: $*"; exit 1; }
case "$DMAPIPE_VM_KERNEL" in
stock)
	echo "$release" | grep -Eq '^6\.1\.0-[0-9]+-amd64$' || fail "not Debian 12's 6.1 kernel"
	[ "$release" = "$expected" ] || fail "expected $expected" ;;
stock-6.12)
	echo "$release" | grep -Eq '^6\.12\.[0-9]+\+deb13-amd64$' || fail "not Debian 13's 6.12 kernel"
	[ "$release" = "$expected" ] || fail "expected $expected" ;;
debug)
	echo "$release" | grep -Eq '^6\.12\.' || fail "the debug kernel is not 6.12"
	[ -z "$expected" ] || [ "$release" = "$expected" ] || fail "expected $expected"
	for f in /proc/lockdep /sys/kernel/debug/kmemleak /dev/udmabuf /dev/dma_heap/system \
		/sys/kernel/debug/failslab /sys/kernel/debug/fail_page_alloc; do
		[ -e "$f" ] || fail "$f missing on the debug kernel"
	done
	dmesg | grep -q 'KernelAddressSanitizer initialized' || fail "KASAN is off"
	cma=$(awk '/^CmaTotal:/ {print $2}' /proc/meminfo)
	[ "${cma:-0}" -ge 131072 ] || fail "no 128 MiB CMA area (CmaTotal ${cma:-none} kB)"
	echo "lockdep, kmemleak, KASAN, fault injection, udmabuf, the system heap and ${cma} kB of CMA are on" ;;
*) fail "unknown DMAPIPE_VM_KERNEL '$DMAPIPE_VM_KERNEL'" ;;
esac
