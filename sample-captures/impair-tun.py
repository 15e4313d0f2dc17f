#!/usr/bin/env python3
"""A network link with delay, reordering, duplication and loss, in user space.

    impair-tun.py LOG TUN_A NETNS_B TUN_B [key=value...]

Used by make-captures.sh (the *-impaired-net scenarios) where the kernel has no
sch_netem ("tc qdisc add ... netem" answers "Specified qdisc kind is unknown").
It creates the TUN device TUN_A in its own network namespace and TUN_B in the
network namespace NETNS_B (a path such as /proc/PID/ns/net; setns(2)), then
copies every IP packet from one device to the other, both directions, deciding
per TCP packet (anything else is passed on at once) as netem does for "delay D reorder R% C% duplicate P% loss L%":

  * loss: dropped with probability L (independently);
  * duplicate: sent twice with probability P (the copy follows at once);
  * reorder: sent at once with probability R (correlation C, netem's
    get_crandom), otherwise delayed by D; a delayed packet overtaken by one
    sent at once arrives after it.

Parameters (defaults): seed=1 delay=0.010 reorder=0.25 corr=0.5
duplicate=0.10 loss=0.05.  The random generator is seeded, so the decisions
are the same for the same packet sequence (timings differ between runs).
TCP/IP in both namespaces is the real kernel's; nothing is rewritten.

Prints "ready" once both devices exist (the caller then gives them addresses)
and, on SIGTERM/SIGINT, one summary line per direction.  LOG gets one line
per packet: time, direction, IP length, TCP flags/seq/len, decision.
"""
import ctypes
import fcntl
import heapq
import os
import random
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000
CLONE_NEWNET = 0x40000000


def tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def describe(pkt):
    """'S 1234+0' style summary of an IPv4/TCP packet."""
    if len(pkt) < 20 or pkt[0] >> 4 != 4 or pkt[9] != 6:
        return "non-tcp"
    ihl = (pkt[0] & 15) * 4
    tcp = pkt[ihl:]
    if len(tcp) < 20:
        return "short"
    sport, dport, seq, ack = struct.unpack("!HHII", tcp[:12])
    off = (tcp[12] >> 4) * 4
    flags = "".join(c for c, bit in zip("FSRPA", (1, 2, 4, 8, 16)) if tcp[13] & bit)
    return f"{sport}>{dport} {flags or '.'} seq={seq} ack={ack} len={len(tcp) - off}"


class Direction:
    def __init__(self, name, out_fd, params, rng):
        self.name, self.out_fd, self.p, self.rng = name, out_fd, params, rng
        self.last = 0.0  # netem crndstate for reorder
        self.counts = dict(packets=0, lost=0, duplicated=0, immediate=0, delayed=0)

    def crandom(self, rho):
        value = self.rng.random()
        if rho:
            value = value * (1 - rho) + self.last * rho
        self.last = value
        return value

    def decide(self, pkt):
        """[(delay, copy)] for one packet."""
        self.counts["packets"] += 1
        if self.rng.random() < self.p["loss"]:
            self.counts["lost"] += 1
            return [], "lost"
        copies = 2 if self.rng.random() < self.p["duplicate"] else 1
        if copies == 2:
            self.counts["duplicated"] += 1
        if self.crandom(self.p["corr"]) < self.p["reorder"]:
            self.counts["immediate"] += 1
            delay, what = 0.0, "immediate"
        else:
            self.counts["delayed"] += 1
            delay, what = self.p["delay"], "delayed"
        return [delay] * copies, what + (" duplicated" if copies == 2 else "")


def main():
    log_path, tun_a, netns_b, tun_b = sys.argv[1:5]
    params = dict(seed=1, delay=0.010, reorder=0.25, corr=0.5, duplicate=0.10, loss=0.05)
    for arg in sys.argv[5:]:
        key, value = arg.split("=", 1)
        params[key] = int(value) if key == "seed" else float(value)
    fd_a = tun(tun_a)
    libc = ctypes.CDLL(None, use_errno=True)
    ns = os.open(netns_b, os.O_RDONLY)
    if libc.setns(ns, CLONE_NEWNET) != 0:
        sys.exit(f"setns({netns_b}): {os.strerror(ctypes.get_errno())}")
    os.close(ns)
    fd_b = tun(tun_b)
    rng = random.Random(params["seed"])
    dirs = {fd_a: Direction(f"{tun_a}->{tun_b}", fd_b, params, rng),
            fd_b: Direction(f"{tun_b}->{tun_a}", fd_a, params, rng)}
    log = open(log_path, "w", buffering=1)
    log.write("# " + " ".join(f"{k}={v}" for k, v in params.items()) + "\n")
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    print("ready", flush=True)
    t0 = time.monotonic()
    queue, order = [], 0  # (due, order, out_fd, packet)
    while not stop:
        timeout = max(0.0, queue[0][0] - time.monotonic()) if queue else 0.5
        try:
            readable, _, _ = select.select([fd_a, fd_b], [], [], timeout)
        except InterruptedError:
            continue
        now = time.monotonic()
        for fd in readable:
            pkt = os.read(fd, 65536)
            d = dirs[fd]
            if describe(pkt) == "non-tcp":  # IPv6 router solicitations etc.: passed on
                delays, what = [0.0], "passed (not TCP)"
            else:
                delays, what = d.decide(pkt)
            log.write(f"{now - t0:9.6f} {d.name} {describe(pkt)} {what}\n")
            for delay in delays:
                order += 1
                heapq.heappush(queue, (now + delay, order, d.out_fd, pkt))
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, out_fd, pkt = heapq.heappop(queue)
            try:
                os.write(out_fd, pkt)
            except OSError as err:  # device down
                log.write(f"write failed: {err}\n")
    for d in dirs.values():
        print(d.name, " ".join(f"{k}={v}" for k, v in d.counts.items()), flush=True)
        log.write(f"# {d.name} " + " ".join(f"{k}={v}" for k, v in d.counts.items()) + "\n")


if __name__ == "__main__":
    main()
