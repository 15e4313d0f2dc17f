#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Build a large benchmark capture by cloning sample captures into many connections.

    make_capture.py --connections N [--no-keys] [--no-tls] OUT.pcapng SOURCE.pcapng...

The sources are cloned round-robin until the output holds at least N TCP
connections. Each clone gets a unique client address (10.x.y.z, from the clone
number) and a client port in the ephemeral range 49152-65535; the server side gets
port 443 and the address 172.16.<source>.1. Clones start 1 ms apart and keep their
own packet timing, so thousands of connections are interleaved. Only addresses and
ports are rewritten: checksums are left stale (tshark does not check them by default)
and the TLS bytes are untouched, so every clone shares the client random, and thus
the secrets, of its source: the Decryption Secrets Blocks of each source are written
once, before the packets (--no-keys leaves them out).

--no-tls writes the same connections with the server port 5999 and the TCP payload
replaced by pseudo-random bytes: the same packet and connection counts, no TLS.

--udp clones UDP flows (IPv4 over Ethernet) instead, for DTLS and QUIC: a flow's
server is the destination of its first packet and keeps its port (Wireshark
finds DTLS and QUIC by heuristics on any port); the client gets a unique address
and port as above.

Prints the number of connections and packets written.
"""
import argparse
import heapq
import os
import random
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "robustness"))
from mutate_pcapng import DSB_TYPES, Packet, load_with_secrets, write_block  # noqa: E402

SHB = 0x0A0D0D0A
IDB = 0x00000001


def udp_view(pkt):
    """(ip offset, 4, udp offset, payload offset, flow) of an IPv4 UDP packet over
    Ethernet, as Packet.tcp() gives for TCP; None for anything else."""
    d = pkt.data
    if pkt.linktype != 1 or len(d) < 14 + 20 + 8 or struct.unpack_from("!H", d, 12)[0] != 0x0800:
        return None
    ip_off = 14
    ihl = (d[ip_off] & 0x0F) * 4
    if d[ip_off] >> 4 != 4 or ihl < 20 or d[ip_off + 9] != 17 or len(d) < ip_off + ihl + 8:
        return None
    udp_off = ip_off + ihl
    src, dst = bytes(d[ip_off + 12:ip_off + 16]), bytes(d[ip_off + 16:ip_off + 20])
    sport, dport = struct.unpack_from("!HH", d, udp_off)
    flow = tuple(sorted(((src, sport), (dst, dport))))
    return ip_off, 4, udp_off, udp_off + 8, flow


def ip4(n):
    return bytes((10, (n >> 16) & 255, (n >> 8) & 255, n & 255))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, required=True)
    parser.add_argument("--no-keys", action="store_true")
    parser.add_argument("--no-tls", action="store_true")
    parser.add_argument("--udp", action="store_true")
    parser.add_argument("out")
    parser.add_argument("sources", nargs="+")
    opts = parser.parse_args()

    sources = []  # (secrets blocks, [(ts_ns, packet, flow index, client is src)], flows)
    flow_server_port = {}  # (source, flow index) -> the server's port (--udp)
    for si, path in enumerate(opts.sources):
        secrets, packets = load_with_secrets(path)
        if not packets or any(p.linktype != 1 for p in packets):
            print(f"skip {path}: no packets or not Ethernet", file=sys.stderr)
            continue
        flows = {}
        rows = []
        t0 = None
        for pkt in packets:
            view = udp_view(pkt) if opts.udp else pkt.tcp()
            if not view or view[1] != 4:
                continue
            ip_off, _v, tcp_off, _p, flow = view
            sport, dport = struct.unpack_from("!HH", pkt.data, tcp_off)
            if flow not in flows:
                # The server: port 443, else the destination of the first packet.
                server_port = 443 if 443 in (sport, dport) and not opts.udp else dport
                flows[flow] = (len(flows), server_port)
            index, server_port = flows[flow]
            client_is_src = sport != server_port
            ts = ((pkt.ts_hi << 32) | pkt.ts_lo) * 1_000_000_000 // pkt.tsresol  # nanoseconds
            t0 = ts if t0 is None else t0
            rows.append((ts - t0, pkt, index, client_is_src))
        for index, server_port in flows.values():
            flow_server_port[(si, index)] = server_port
        if rows:
            sources.append((secrets, rows, len(flows), si))
    if not sources:
        print("no usable source", file=sys.stderr)
        return 1

    rng = random.Random(1)
    junk = bytes(rng.randrange(256) for _ in range(65536))

    def clone_rows(clone, source):
        _secrets, rows, nflows, si = source
        start = clone * 1_000_000  # 1 ms apart
        for rel, pkt, index, client_is_src in rows:
            k = clone * 4 + index  # up to 4 connections per source clone
            client_ip, client_port = ip4(k), 49152 + (k % 16384)
            server_ip, server_port = bytes((172, 16, si & 255, 1)), 5999 if opts.no_tls else 443
            d = bytearray(pkt.data)
            ip_off, _v, tcp_off, payload_off, _f = udp_view(pkt) if opts.udp else pkt.tcp()
            if opts.udp:
                server_port = flow_server_port[(si, index)]
            src, dst = (client_ip, server_ip) if client_is_src else (server_ip, client_ip)
            sp, dp = (client_port, server_port) if client_is_src else (server_port, client_port)
            d[ip_off + 12:ip_off + 16] = src
            d[ip_off + 16:ip_off + 20] = dst
            struct.pack_into("!HH", d, tcp_off, sp, dp)
            if opts.no_tls and payload_off < len(d):
                n = len(d) - payload_off
                o = (k * 131) % (len(junk) - n) if n < len(junk) else 0
                d[payload_off:] = junk[o:o + n]
            yield start + rel, clone, bytes(d), pkt

    clones = []
    total = 0
    n = 0
    while total < opts.connections:
        source = sources[n % len(sources)]
        clones.append(clone_rows(n, source))
        total += source[2]
        n += 1
    base = 1_700_000_000 * 1_000_000_000
    written = 0
    with open(opts.out, "wb") as out:
        out.write(write_block(SHB, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1), "<"))
        out.write(write_block(IDB, struct.pack("<HHI", 1, 0, 262144), "<"))
        if not opts.no_keys and not opts.no_tls:
            used = {id(s) for s in sources[:n]}
            for source in sources:
                if id(source) in used:
                    for block_type, body in source[0]:
                        out.write(write_block(block_type, body, "<"))
        for ts, _clone, data, pkt in heapq.merge(*clones, key=lambda r: (r[0], r[1])):
            micro = (base + ts) // 1000
            body = struct.pack("<IIIII", 0, micro >> 32, micro & 0xFFFFFFFF, len(data), len(data))
            body += data + b"\0" * ((-len(data)) % 4)
            out.write(write_block(6, body, "<"))
            written += 1
    print(f"{total} connections ({n} clones of {len(sources)} sources), {written} packets -> {opts.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
