#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Mutate a pcapng capture at the packet and TCP-payload level, reproducibly.

    mutate_pcapng.py OP SEED IN.pcapng OUT.pcapng [DONOR.pcapng...]

OP is one of:
  drop      drop each packet with a probability of 5-30 %
  dup       duplicate random packets (right after, or a few packets later)
  reorder   swap neighbours and move short runs of packets around
  head      keep only the first k packets (k random, >= 1)
  splice    TLS records spliced across connections: TCP payloads swapped between
            two connections of IN, or replaced by, appended with, or cut into a
            payload taken from a DONOR capture's connection (another capture, other
            keys); IP lengths are fixed up, checksums are not (tshark does not check
            them by default)
  mix       two or three of the above in a row

The same OP, SEED and inputs always give the same output. Every block other than
Enhanced/Simple Packet Blocks (section header, interfaces, decryption secrets, ...)
is copied as is, and stays before the packets, so TLS secrets embedded in IN are kept.
Packets of link types other than Ethernet, raw IP and BSD loopback are copied
untouched by splice.
"""
import random
import struct
import sys

SHB = 0x0A0D0D0A
IDB = 0x00000001
EPB = 0x00000006
SPB = 0x00000003


def read_blocks(data):
    """[(type, body bytes, endian)] from a pcapng file (single or several sections)."""
    blocks = []
    offset = 0
    endian = "<"
    while offset + 12 <= len(data):
        block_type = struct.unpack_from(endian + "I", data, offset)[0]
        if block_type == SHB:
            endian = "<" if data[offset + 8:offset + 12] == b"\x4d\x3c\x2b\x1a" else ">"
        length = struct.unpack_from(endian + "I", data, offset + 4)[0]
        if length < 12 or offset + length > len(data):
            raise ValueError(f"malformed block at offset {offset}")
        blocks.append((block_type, data[offset + 8:offset + length - 4], endian))
        offset += length
    return blocks


def write_block(block_type, body, endian):
    body = bytes(body)
    pad = (-len(body)) % 4
    length = 12 + len(body) + pad
    return struct.pack(endian + "II", block_type, length) + body + b"\0" * pad + struct.pack(endian + "I", length)


class Packet:
    """An EPB: interface, timestamps, captured bytes, original length, options."""

    def __init__(self, body, endian, linktypes):
        self.endian = endian
        iface, ts_hi, ts_lo, caplen, origlen = struct.unpack_from(endian + "IIIII", body, 0)
        self.iface, self.ts_hi, self.ts_lo, self.origlen = iface, ts_hi, ts_lo, origlen
        self.data = bytes(body[20:20 + caplen])
        self.options = bytes(body[20 + caplen + ((-caplen) % 4):])
        self.linktype = linktypes[iface] if iface < len(linktypes) else None

    def encode(self):
        caplen = len(self.data)
        body = struct.pack(self.endian + "IIIII", self.iface, self.ts_hi, self.ts_lo, caplen,
                           max(self.origlen, caplen))
        body += self.data + b"\0" * ((-caplen) % 4) + self.options
        return write_block(EPB, body, self.endian)

    def clone(self):
        twin = object.__new__(Packet)
        twin.__dict__.update(self.__dict__)
        return twin

    # TCP view: (ip offset, ip version, tcp offset, payload offset, flow) or None.
    def tcp(self):
        d = self.data
        if self.linktype == 1:  # Ethernet
            off = 14
            ethertype = struct.unpack_from("!H", d, 12)[0] if len(d) >= 14 else 0
            while ethertype in (0x8100, 0x88A8) and len(d) >= off + 4:
                ethertype = struct.unpack_from("!H", d, off + 2)[0]
                off += 4
            if ethertype not in (0x0800, 0x86DD):
                return None
        elif self.linktype in (101, 228, 229, 12, 14):  # raw IP
            off = 0
        elif self.linktype in (0, 108):  # BSD loopback
            off = 4
        else:
            return None
        if len(d) < off + 20:
            return None
        version = d[off] >> 4
        if version == 4:
            ihl = (d[off] & 0x0F) * 4
            if d[off + 9] != 6 or ihl < 20:
                return None
            tcp_off = off + ihl
            src, dst = d[off + 12:off + 16], d[off + 16:off + 20]
        elif version == 6:
            if len(d) < off + 40 or d[off + 6] != 6:
                return None
            tcp_off = off + 40
            src, dst = d[off + 8:off + 24], d[off + 24:off + 40]
        else:
            return None
        if len(d) < tcp_off + 20:
            return None
        data_off = (d[tcp_off + 12] >> 4) * 4
        payload_off = tcp_off + data_off
        if data_off < 20 or payload_off > len(d):
            return None
        sport, dport = struct.unpack_from("!HH", d, tcp_off)
        flow = tuple(sorted(((src, sport), (dst, dport))))
        return off, version, tcp_off, payload_off, flow

    def payload(self):
        view = self.tcp()
        return self.data[view[3]:] if view else b""

    def set_payload(self, payload):
        view = self.tcp()
        if not view:
            return
        ip_off, version, _tcp_off, payload_off, _flow = view
        d = bytearray(self.data[:payload_off] + payload)
        if version == 4:
            struct.pack_into("!H", d, ip_off + 2, min(0xFFFF, len(d) - ip_off))
        else:
            struct.pack_into("!H", d, ip_off + 4, min(0xFFFF, len(d) - ip_off - 40))
        self.origlen = len(d)
        self.data = bytes(d)


def load(path):
    with open(path, "rb") as f:
        blocks = read_blocks(f.read())
    header, packets, linktypes = [], [], []
    for block_type, body, endian in blocks:
        if block_type == SHB:
            linktypes = []
        if block_type == IDB:
            linktypes.append(struct.unpack_from(endian + "H", body, 0)[0])
        if block_type == EPB:
            packets.append(Packet(body, endian, linktypes))
        elif block_type == SPB:
            continue  # rare; dropped
        elif not packets:
            header.append(write_block(block_type, body, endian))
        # Blocks after the first packet (secrets, statistics) go before the packets too.
        elif block_type != SHB:
            header.append(write_block(block_type, body, endian))
    return header, packets


def op_drop(rng, packets, donors):
    p = rng.uniform(0.05, 0.3)
    kept = [pkt for pkt in packets if rng.random() >= p]
    return kept or packets[:1]


def op_dup(rng, packets, donors):
    out = list(packets)
    for _ in range(rng.randint(1, max(1, len(packets) // 4))):
        i = rng.randrange(len(out))
        out.insert(min(len(out), i + rng.choice((1, 1, 2, 3, 5))), out[i].clone())
    return out


def op_reorder(rng, packets, donors):
    out = list(packets)
    for _ in range(rng.randint(1, max(1, len(out) // 3))):
        if len(out) < 2:
            break
        i = rng.randrange(len(out) - 1)
        if rng.random() < 0.6:
            out[i], out[i + 1] = out[i + 1], out[i]
        else:
            run = out[i:i + rng.randint(1, 3)]
            del out[i:i + len(run)]
            j = rng.randint(0, len(out))
            out[j:j] = run
    return out


def op_head(rng, packets, donors):
    return packets[:rng.randint(1, max(1, len(packets) - 1))]


def op_splice(rng, packets, donors):
    out = [pkt.clone() for pkt in packets]
    with_payload = [i for i, pkt in enumerate(out) if pkt.payload()]
    if not with_payload:
        return out
    donor_payloads = [pkt.payload() for pkt in donors if pkt.payload()]
    flows = {}
    for i in with_payload:
        flows.setdefault(out[i].tcp()[4], []).append(i)
    for _ in range(rng.randint(1, 3)):
        i = rng.choice(with_payload)
        mine = out[i].payload()
        other_flows = [f for f in flows if f != out[i].tcp()[4]]
        if other_flows and rng.random() < 0.5:
            # Swap with a packet of another connection of the same capture.
            j = rng.choice(flows[rng.choice(other_flows)])
            theirs = out[j].payload()
            out[i].set_payload(theirs)
            out[j].set_payload(mine)
            continue
        if not donor_payloads:
            continue
        theirs = rng.choice(donor_payloads)
        how = rng.choice(("replace", "append", "prepend", "cut"))
        if how == "replace":
            new = theirs
        elif how == "append":
            new = mine + theirs
        elif how == "prepend":
            new = theirs + mine
        else:  # a record cut in the middle, continued by another connection's bytes
            new = mine[:rng.randint(1, len(mine))] + theirs[rng.randrange(len(theirs)):]
        out[i].set_payload(new[:65000])
    return out


DSB_TYPES = {0x0000000A}


def idb_tsresol(body, endian):
    """Timestamp units per second of an Interface Description Block (if_tsresol)."""
    offset = 8
    while offset + 4 <= len(body):
        code, length = struct.unpack_from(endian + "HH", body, offset)
        if code == 0:
            break
        if code == 9 and length >= 1:
            value = body[offset + 4]
            return 2 ** (value & 0x7F) if value & 0x80 else 10 ** value
        offset += 4 + length + ((-length) % 4)
    return 1_000_000


def load_with_secrets(path):
    """([(type, body)] of the Decryption Secrets Blocks, [Packet]); packets get .tsresol."""
    with open(path, "rb") as f:
        blocks = read_blocks(f.read())
    secrets, packets, linktypes, resolutions = [], [], [], []
    for block_type, body, endian in blocks:
        if block_type == SHB:
            linktypes, resolutions = [], []
        elif block_type == IDB:
            linktypes.append(struct.unpack_from(endian + "H", body, 0)[0])
            resolutions.append(idb_tsresol(body, endian))
        elif block_type in DSB_TYPES:
            if endian != "<":
                raise ValueError(f"{path}: big-endian secrets are not supported")
            secrets.append((block_type, bytes(body)))
        elif block_type == EPB:
            pkt = Packet(body, endian, linktypes)
            pkt.tsresol = resolutions[pkt.iface] if pkt.iface < len(resolutions) else 1_000_000
            packets.append(pkt)
    return secrets, packets


OPS = {"drop": op_drop, "dup": op_dup, "reorder": op_reorder, "head": op_head, "splice": op_splice}


def main(argv):
    if len(argv) < 5 or argv[1] not in list(OPS) + ["mix"]:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    op, seed, src, dst = argv[1], int(argv[2]), argv[3], argv[4]
    rng = random.Random(f"{op}:{seed}")
    header, packets = load(src)
    donors = []
    for donor in argv[5:]:
        donors.extend(load(donor)[1])
    if packets:
        if op == "mix":
            for name in rng.sample(sorted(OPS), rng.randint(2, 3)):
                packets = OPS[name](rng, packets, donors)
        else:
            packets = OPS[op](rng, packets, donors)
    with open(dst, "wb") as f:
        for block in header:
            f.write(block)
        for pkt in packets:
            f.write(pkt.encode())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
