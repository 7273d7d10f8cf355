#!/usr/bin/env python3
"""Host side of `scripts/run-bench --exporters`: samples what the host's CPUs
do while the benchmark VM runs, so each measured window can be lined up with
the CPU time that other processes (other VMs on a shared machine) took.

usage: host_load.py --ours PID --out FILE [--interval S]
       host_load.py --wait-quiet MINUTES

Every S seconds (default 0.25) one line: wall clock, busy jiffies of all
CPUs (/proc/stat: user, nice, system, irq, softirq, steal), and the
user+system jiffies of PID's process tree (the benchmark and its QEMU,
reaped children included). Runs until killed.

The same lines go to the file host-load in the writable share of the VM
that PID's tree runs (run-in-vm's DMAPIPE_VM_SHARE, found on QEMU's command
line), so the guest can see, run by run, whether the host was quiet.
read() and others() are the readers' side (tests/vm/bench/exporters, report).

--wait-quiet: returns once the host's CPUs were quiet (at most QUIET of them
busy) for 20 s in a row, or after MINUTES (exit status 1, said on stderr).
"""
import argparse
import os
import re
import sys
import time


QUIET = 0.25  # CPUs that other processes may keep busy in a "quiet" window


def read(path):
    """(hz, cpus, [(time, busy jiffies, our jiffies)]) from a samples file."""
    hz, cpus, samples = 100, 1, []
    try:
        lines = open(path).read().splitlines()
    except OSError:
        return None
    for line in lines:
        f = line.split()
        if line.startswith('#') and len(f) >= 5:
            hz, cpus = int(f[2]), int(f[4])
        elif len(f) == 3:
            try:
                samples.append((float(f[0]), int(f[1]), int(f[2])))
            except ValueError:
                continue  # a line being written
    return hz, cpus, samples


def others(load, t0, t1):
    """CPUs that processes other than ours kept busy on the host between two
    wall-clock times (the samples that bracket them), or None."""
    if not load or t0 is None or t1 is None:
        return None
    hz, _, samples = load
    before = [s for s in samples if s[0] <= t0]
    after = [s for s in samples if s[0] >= t1]
    if not before or not after:
        return None
    (a, b0, o0), (b, b1, o1) = before[-1], after[0]
    return max(0.0, ((b1 - b0) - (o1 - o0)) / hz / (b - a)) if b > a else None


def busy_jiffies():
    with open('/proc/stat') as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...
    return v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)


def tree(root):
    """CPU jiffies of root's process tree, and the tree's pids."""
    stats, children = {}, {}
    for d in os.listdir('/proc'):
        if not d.isdigit():
            continue
        try:
            with open(f'/proc/{d}/stat') as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        stats[int(d)] = sum(int(x) for x in fields[11:15])
        children.setdefault(int(fields[1]), []).append(int(d))
    total, pids, todo = 0, [], [root]
    while todo:
        pid = todo.pop()
        total += stats.get(pid, 0)
        pids.append(pid)
        todo += children.get(pid, [])
    return total, pids


def vm_share(pids):
    """The host side of the writable share of a QEMU among pids, or None."""
    for pid in pids:
        try:
            with open(f'/proc/{pid}/cmdline') as f:
                args = f.read().split('\0')
        except OSError:
            continue
        for arg in args:
            m = re.search(r'(?:^|,)path=([^,]+),mount_tag=share(?:,|$)', arg)
            if m and os.path.isdir(m.group(1)):
                return m.group(1)
    return None


def wait_quiet(minutes, span=20):
    hz = os.sysconf('SC_CLK_TCK')
    start = time.monotonic()
    t, b = time.monotonic(), busy_jiffies()
    quiet_since = t
    while time.monotonic() - start < minutes * 60:
        time.sleep(1)
        t1, b1 = time.monotonic(), busy_jiffies()
        if (b1 - b) / hz / (t1 - t) > QUIET:
            quiet_since = t1
        elif t1 - quiet_since >= span:
            return 0
        t, b = t1, b1
    print(f'host_load: the host was not quiet for {span} s within {minutes} minutes', file=sys.stderr)
    return 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ours', type=int)
    ap.add_argument('--out')
    ap.add_argument('--interval', type=float, default=0.25)
    ap.add_argument('--wait-quiet', type=float, metavar='MINUTES')
    a = ap.parse_args()
    if a.wait_quiet is not None:
        return wait_quiet(a.wait_quiet)
    if a.ours is None or a.out is None:
        ap.error('--ours and --out, or --wait-quiet')
    head = f'# hz {os.sysconf("SC_CLK_TCK")} cpus {os.cpu_count()}\n'
    share, mirror = None, None
    with open(a.out, 'w') as out:
        out.write(head)
        while True:
            ours, pids = tree(a.ours)
            line = f'{time.time():.2f} {busy_jiffies()} {ours}\n'
            out.write(line)
            out.flush()
            found = vm_share(pids)
            if found != share:  # a new VM (or none any more)
                share = found
                mirror = open(os.path.join(share, 'host-load'), 'w') if share else None
                if mirror:
                    mirror.write(head)
            if mirror:
                try:
                    mirror.write(line)
                    mirror.flush()
                except OSError:
                    share = mirror = None
            time.sleep(a.interval)


if __name__ == '__main__':
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        pass
