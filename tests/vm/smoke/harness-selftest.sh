#!/bin/sh
# The harness itself: exit status carried out of the guest, a kernel WARNING
# fails a run whose command succeeded, a hung guest is killed at the timeout
# with where its vCPUs are (symbolized, from QEMU) and its CPUs' backtraces
# (magic sysrq) shown.  Runs on the host.
set -u
runner=$1
kernel=$2
fail=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

"$runner" --kernel "$kernel" --display none -- sh -c 'echo hello; exit 7' >"$out" 2>&1
rc=$?
grep -q '^hello$' "$out" && [ $rc = 7 ] || { echo "FAIL: status 7 came back as $rc"; cat "$out"; fail=1; }

"$runner" --kernel "$kernel" --display none -- sh -c 'echo "WARNING: CPU: 0 PID: 1 at injected by harness-selftest" >/dev/kmsg' >"$out" 2>&1
rc=$?
grep -q 'kernel log shows problems' "$out" && [ $rc = 1 ] ||
	{ echo "FAIL: an injected kernel WARNING gave status $rc"; cat "$out"; fail=1; }

# Past the boot (10-25 s for Debian's kernels with another guest running,
# 20-40 s for the debug kernel under TCG), or the harness rightly calls it a
# hung boot and boots again (smoke-harness-6.1 failed so with 25 s while the
# debug kernel was building).
hang=40
[ "$kernel" = debug ] && hang=100
"$runner" --kernel "$kernel" --display none --timeout $hang -- sleep 1000 >"$out" 2>&1
rc=$?
grep -q "timeout: the guest did not finish within $hang s" "$out" &&
	grep -q 'sysrq: Show backtrace of all active CPUs' "$out" && grep -q 'whole guest kernel log' "$out" &&
	grep -Eq '^  CPU0: [a-z_][a-z0-9_.]*\+0x' "$out" &&
	[ $rc = 124 ] || { echo "FAIL: a hung guest gave status $rc"; cat "$out"; fail=1; }

[ $fail = 0 ] && echo "harness: status, kernel-log check and timeout all behave"
exit $fail
