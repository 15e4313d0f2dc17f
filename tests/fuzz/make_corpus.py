#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Seed corpus of the libFuzzer harnesses, from the sample captures.

Run by tests/fuzz/make-corpus.sh. Each capture is read twice by tshark (its TLS
secrets are embedded, so TLS 1.3 and renegotiations are decrypted; options a
capture needs come from tshark-options.tsv beside it):
`-T json -x` for the TCP segments, TLS records and handshake messages (the
`*_raw` hex of every field, decrypted ones included), and `-x` for the
"Decrypted TLS" data sources, one per decrypted record, in record order.

Seeds written, in the input formats the harnesses' headers describe:
  hello/       whole ClientHello and ServerHello messages
  certs/       control byte 0 (1, 2, 3 with a clock) + the client's chain, with
               and without the CA names of the server's CertificateRequest
  messages/    whole Certificate and CertificateRequest messages, clear and
               decrypted, after a byte that says TLS 1.3 (1) or not (0)
  http/        a chunking byte + the first application data the server sent
  app/         a chunking byte, the server port, then each connection's decrypted
               application data as turns (direction, length, bytes); and one
               hand-written transcript per protocol of fuzz_app.c (APP_TRANSCRIPTS)
  tls_stream/  each TCP connection as segments + the decrypted records'
               plaintexts; TLS 1.3 ones also without plaintexts (no keys)

Each folder is rewritten. Files are named after their capture and what they
hold; identical inputs are written once, and each harness keeps at most
--per-harness (32) of them, picked for variety: one of each kind in turn,
smallest first among inputs of the same kind.
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import sys

TSHARK_OPTIONS = ["-n", "-o", "gui.max_tree_depth:1000"]
HS_CLIENT_HELLO, HS_SERVER_HELLO, HS_CERTIFICATE, HS_CERTIFICATE_REQUEST = 1, 2, 11, 13
CT_CHANGE_CIPHER_SPEC, CT_APPLICATION_DATA = 20, 23
TCP_FIN, TCP_SYN, TCP_RST, TCP_ACK = 0x01, 0x02, 0x04, 0x10
SEQ_BASE = (1000, 0xFFFFF000)  # where fuzz_tls_stream.c starts each direction
MAX_SEGMENT_SECTION = 0xFFFF


def pairs_hook(pairs):
    return pairs  # keep duplicate keys (tshark repeats a field name per occurrence)


def values(pairs, key):
    return [v for k, v in pairs if k == key]


def first(pairs, key, default=None):
    """The key's first value that is not a `*_raw` array (with -x, tshark's raw array
    of field `tcp.seq` is also named `tcp.seq_raw`, like the field itself)."""
    found = [v for v in values(pairs, key) if not is_raw(v)]
    return found[0] if found else default


def is_raw(value):
    return (isinstance(value, list) and len(value) == 5 and isinstance(value[0], str)
            and isinstance(value[1], int))


def raw_bytes(raw):
    """A `*_raw` value: [hex, offset, length, bitmask, type]."""
    return bytes.fromhex(raw[0]) if is_raw(raw) else b""


def walk(pairs):
    """Every (key, value) below `pairs`, depth first, in order."""
    for key, value in pairs:
        yield key, value
        if isinstance(value, list) and value and isinstance(value[0], tuple):
            yield from walk(value)


def capture_options(capture):
    """The capture's own tshark options, from tshark-options.tsv beside it (e.g.
    -o tcp.reassemble_out_of_order:TRUE for the impaired-network captures)."""
    table = os.path.join(os.path.dirname(capture), "tshark-options.tsv")
    if not os.path.exists(table):
        return []
    with open(table) as rows:
        for row in rows:
            fields = row.rstrip("\n").split("\t")
            if len(fields) >= 2 and fields[0] == os.path.basename(capture):
                return fields[1].split()
    return []


def run_tshark(capture, *args):
    options = TSHARK_OPTIONS + capture_options(capture)
    result = subprocess.run(["tshark", *options, "-r", capture, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True)
    return result.stdout.decode("utf-8", "replace")


def decrypted_sources(capture):
    """Per frame (in order), the bytes of its "Decrypted TLS" data sources."""
    frames, current, blob = [], [], None
    for line in run_tshark(capture, "-x").split("\n"):
        if line == "":
            if blob is not None:
                current.append(bytes(blob))
            frames.append(current)
            current, blob = [], None
            continue
        heading = re.match(r"^(.*) \(\d+ bytes\):$", line)
        if heading:
            if blob is not None:
                current.append(bytes(blob))
            blob = bytearray() if heading.group(1) == "Decrypted TLS" else None
            continue
        if blob is not None and re.match(r"^[0-9a-f]{4,}  ", line):
            blob.extend(bytes.fromhex("".join(line[6:6 + 47].split())))
    return frames


class Record:
    def __init__(self, pairs):
        self.content_type = int(first(pairs, "tls.record.content_type", "0"))
        self.opaque = first(pairs, "tls.record.opaque_type") is not None
        self.length = int(first(pairs, "tls.record.length", "0"))
        self.messages = []  # (type, whole message bytes, handshake pairs)
        raws = [v for v in values(pairs, "tls.handshake_raw") if is_raw(v)]
        for raw, handshake in zip(raws, values(pairs, "tls.handshake")):
            if not isinstance(handshake, list):
                continue
            message = raw_bytes(raw)
            length = int(first(handshake, "tls.handshake.length", "-1"))
            kind = first(handshake, "tls.handshake.type")
            if kind is not None and len(message) == 4 + length:
                self.messages.append((int(kind), message, handshake))


class Packet:
    def __init__(self, layers):
        frame = first(layers, "frame")
        self.number = int(first(frame, "frame.number"))
        tcp = first(layers, "tcp")
        self.tcp = tcp is not None
        if not self.tcp:
            return
        self.stream = int(first(tcp, "tcp.stream"))
        self.src = int(first(tcp, "tcp.srcport"))
        self.dst = int(first(tcp, "tcp.dstport"))
        self.seq = int(first(tcp, "tcp.seq_raw"))
        self.ack = int(first(tcp, "tcp.ack_raw", "0"))
        self.flags = int(first(tcp, "tcp.flags"), 16)
        payload = first(tcp, "tcp.payload")
        self.payload = bytes.fromhex(payload.replace(":", "")) if payload else b""
        self.records = []
        for tls in values(layers, "tls"):
            if isinstance(tls, list):
                for record in values(tls, "tls.record"):
                    if isinstance(record, list):
                        self.records.append(Record(record))


def read_capture(capture):
    packets = [Packet(dict_to_layers(p)) for p in
               json.loads(run_tshark(capture, "-T", "json", "-x"), object_pairs_hook=pairs_hook)]
    sources = decrypted_sources(capture)
    return packets, sources


def dict_to_layers(packet):
    return first(first(packet, "_source"), "layers")


class Connection:
    """One TCP stream: its packets, who the client is, its protected records."""

    def __init__(self, packets):
        self.packets = packets
        # The SYN's sender, the SYN-ACK's receiver, or (a capture that starts later)
        # the side with the higher port: the servers here listen on 443.
        syn = next((p for p in packets if p.flags & TCP_SYN), None)
        if syn is not None:
            self.client_port = syn.dst if syn.flags & TCP_ACK else syn.src
        else:
            self.client_port = max(packets[0].src, packets[0].dst)
        self.tls13 = any(r.opaque for p in packets for r in p.records)

    def direction(self, packet):
        return 0 if packet.src == self.client_port else 1


def pair_plaintexts(connection, sources):
    """(direction, decrypted?, content type, plaintext) per protected record, in order."""
    entries, ccs_seen = [], [False, False]
    for packet in connection.packets:
        direction = connection.direction(packet)
        protected = []
        for record in packet.records:
            if record.opaque or (not connection.tls13 and ccs_seen[direction]):
                protected.append(record)
            elif record.content_type == CT_CHANGE_CIPHER_SPEC:
                ccs_seen[direction] = True
        frame_sources = list(sources[packet.number - 1]) if packet.number - 1 < len(sources) else []
        for record in protected:
            # Not every protected record has a data source (tshark adds none for some):
            # a source belongs to the record when the AEAD/MAC overhead fits.
            if frame_sources and 16 <= record.length - len(frame_sources[0]) <= 400:
                entries.append((direction, True, record.content_type, frame_sources.pop(0)))
            else:
                entries.append((direction, False, record.content_type, b""))
    return entries


def encode_connection(connection, plaintexts, keys):
    """fuzz_tls_stream.c's input: config, segment section, plaintext section."""
    segments = bytearray()
    isn, next_seq = [None, None], list(SEQ_BASE)
    for packet in connection.packets:
        d = connection.direction(packet)
        if isn[d] is None:
            isn[d] = packet.seq
        seq = (SEQ_BASE[d] + packet.seq - isn[d]) & 0xFFFFFFFF
        delta = (seq - next_seq[d]) & 0xFFFFFFFF
        if delta == 0:
            mode, value = 0, 0
        elif delta < 0x10000:
            mode, value = 1, delta
        elif delta > 0xFFFFFFFF - 0xFFFF:
            mode, value = 2, 0x100000000 - delta
        else:
            mode, value = 3, delta >> 16
            seq = (next_seq[d] + (value << 16)) & 0xFFFFFFFF
        ack = 0
        if packet.flags & TCP_ACK and isn[d ^ 1] is not None:
            acked = (SEQ_BASE[d ^ 1] + packet.ack - isn[d ^ 1]) & 0xFFFFFFFF
            ack = max(-128, min(127, ((acked - next_seq[d ^ 1] + 0x80000000) & 0xFFFFFFFF) - 0x80000000))
        control = d | (0x02 if packet.flags & TCP_SYN else 0) | (0x04 if packet.flags & TCP_FIN else 0)
        control |= (0x08 if packet.flags & TCP_RST else 0) | (0x10 if packet.flags & TCP_ACK else 0)
        control |= mode << 6
        segment = struct.pack(">BHbHB", control, value, ack, len(packet.payload), 0) + packet.payload
        if len(segments) + len(segment) > MAX_SEGMENT_SECTION:
            break
        segments += segment
        next_seq[d] = (seq + len(packet.payload) + (1 if packet.flags & TCP_SYN else 0) +
                       (1 if packet.flags & TCP_FIN else 0)) & 0xFFFFFFFF
    section = bytearray()
    if keys:
        for direction, decrypted, content_type, plaintext in plaintexts:
            flags = direction | (0 if decrypted else 2)
            section += struct.pack(">BBH", flags, content_type, len(plaintext)) + plaintext
    return struct.pack(">BH", 0, len(segments)) + bytes(segments) + bytes(section)


def encode_app_turns(turns, port, chunking, limit=4096):
    """fuzz_app.c's input: chunking byte, server port, then (direction, length, bytes)."""
    out = bytearray(struct.pack(">BH", chunking, port))
    for server, data in turns:
        if len(out) + 3 + len(data) > limit:
            data = data[:max(0, limit - len(out) - 3)]
        out += struct.pack(">BH", 0x80 if server else 0x00, len(data)) + data
        if len(out) >= limit:
            break
    return bytes(out)


def _ldap_result(message_id, op, code, text=b""):
    result = b"\x0a\x01" + bytes([code]) + b"\x04\x00\x04" + bytes([len(text)]) + text
    body = b"\x02\x01" + bytes([message_id]) + bytes([op, len(result)]) + result
    return b"\x30" + bytes([len(body)]) + body


def _ldap_simple_bind(message_id, name, password):
    request = b"\x02\x01\x03\x04" + bytes([len(name)]) + name + b"\x80" + bytes([len(password)]) + password
    body = b"\x02\x01" + bytes([message_id]) + b"\x60" + bytes([len(request)]) + request
    return b"\x30" + bytes([len(body)]) + body


def _ldap_notice_of_disconnection(code):
    oid = b"1.3.6.1.4.1.1466.20036"
    result = b"\x0a\x01" + bytes([code]) + b"\x04\x00\x04\x00\x8a" + bytes([len(oid)]) + oid
    body = b"\x02\x01\x00\x78" + bytes([len(result)]) + result
    return b"\x30" + bytes([len(body)]) + body


def _mysql_packet(sequence, payload):
    return struct.pack("<I", len(payload))[:3] + bytes([sequence]) + payload


def _mysql_handshake_response():
    payload = struct.pack("<IIB", 0x00088A01, 0x01000000, 0x21) + bytes(23)
    payload += b"alice\x00\x00mysql_native_password\x00"
    return _mysql_packet(2, payload)


def _pg_message(kind, payload):
    return kind + struct.pack(">I", 4 + len(payload)) + payload


def _pg_startup():
    parameters = b"user\x00alice\x00database\x00shop\x00\x00"
    return struct.pack(">II", 8 + len(parameters), 196608) + parameters


def _mqtt_connect(name, level):
    body = struct.pack(">H", len(name)) + name + bytes([level, 0x02]) + struct.pack(">H", 60)
    if level == 5:
        body += b"\x00"
    body += b"\x00\x04test"
    return b"\x10" + bytes([len(body)]) + body


# One transcript per protocol, written from its RFC or documentation (the same
# exchanges as tests/unit/test_app.c): (name, server port, [(from server, bytes)]).
APP_TRANSCRIPTS = [
    ("smtp-starttls-421", 25, [
        (False, b"EHLO client.example.org\r\n"),
        (True, b"421 4.7.1 mail.example.org Error: No client certificate presented\r\n")]),
    ("smtp-auth-challenge-235", 587, [
        (False, b"EHLO c\r\n"), (True, b"250-m\r\n250-PIPELINING\r\n250 AUTH PLAIN\r\n"),
        (False, b"AUTH PLAIN\r\n"), (True, b"334 \r\n"), (False, b"AGFsaWNlAHNlY3JldA==\r\n"),
        (True, b"235 2.7.0 Authentication successful\r\n")]),
    ("smtps-greeting-rcpt-554-pipelined", 465, [
        (True, b"220 mail.example.org ESMTP Postfix\r\n"), (False, b"EHLO c\r\n"),
        (True, b"250-m\r\n250 8BITMIME\r\n"),
        (False, b"MAIL FROM:<a@c>\r\nRCPT TO:<b@d>\r\nDATA\r\n"),
        (True, b"250 2.1.0 Ok\r\n554 5.7.1 <b@d>: Relay access denied\r\n")]),
    ("imap-login-no", 143, [
        (False, b"a1 CAPABILITY\r\n"),
        (True, b"* CAPABILITY IMAP4rev1 LITERAL+\r\na1 OK Pre-login capabilities listed.\r\n"),
        (False, b"a2 LOGIN {5}\r\n"), (True, b"+ OK\r\n"), (False, b"alice {6+}\r\nsecret\r\n"),
        (True, b"* 1 FETCH (BODY[] {5}\r\nab\r\n)\r\n"
               b"a2 NO [ALERT] Client didn't present valid SSL certificate\r\n")]),
    ("imaps-bye", 993, [(True, b"* BYE Disconnected: client certificate required\r\n")]),
    ("imaps-authenticate", 993, [
        (True, b"* OK Dovecot ready.\r\n"), (False, b"a1 AUTHENTICATE PLAIN\r\n"),
        (True, b"+ \r\n"), (False, b"AGFsaWNlAHNlY3JldA==\r\n"), (True, b"a1 OK Logged in\r\n")]),
    ("pop3-pass-err", 110, [
        (False, b"CAPA\r\n"), (True, b"+OK\r\nTOP\r\nUSER\r\nSASL PLAIN\r\n.\r\n"),
        (False, b"USER alice\r\n"), (True, b"+OK\r\n"), (False, b"PASS secret\r\n"),
        (True, b"-ERR [AUTH] Authentication failed.\r\n")]),
    ("pop3s-auth", 995, [
        (True, b"+OK Dovecot ready.\r\n"), (False, b"AUTH PLAIN\r\n"), (True, b"+ \r\n"),
        (False, b"AGFsaWNlAHNlY3JldA==\r\n"), (True, b"+OK Logged in.\r\n")]),
    ("http1-400", 443, [
        (False, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"),
        (True, b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\nContent-Length: 0\r\n\r\n")]),
    ("http2-403", 443, [
        (False, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00"),
        (True, b"\x00\x00\x06\x04\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x80"
               b"\x00\x00\x00\x04\x01\x00\x00\x00\x00"
               b"\x00\x00\x05\x01\x04\x00\x00\x00\x01\x48\x03403")]),
    ("ldap-bind-49", 636, [
        (False, _ldap_simple_bind(1, b"cn=alice,dc=example,dc=org", b"secret")),
        (True, _ldap_result(1, 0x61, 14, b"sasl") + _ldap_result(1, 0x61, 49, b"invalid"))]),
    ("ldap-notice-of-disconnection", 389, [
        (False, _ldap_simple_bind(1, b"", b"")),
        (True, _ldap_notice_of_disconnection(52))]),
    ("mysql-1045", 3306, [
        (False, _mysql_handshake_response()),
        (True, _mysql_packet(3, b"\xff\x15\x04#28000Access denied for user 'alice'@'localhost'"))]),
    ("mysql-auth-switch-ok", 3306, [
        (False, _mysql_handshake_response()),
        (True, _mysql_packet(3, b"\xfemysql_native_password\x00" + bytes(range(0x30, 0x44)) + b"\x00")),
        (False, _mysql_packet(4, bytes(20))),
        (True, _mysql_packet(5, b"\x00\x00\x00\x02\x00\x00\x00"))]),
    ("pgsql-fatal-28000", 5432, [
        (False, _pg_startup()),
        (True, _pg_message(b"E", b"SFATAL\x00VFATAL\x00C28000\x00Mconnection requires a valid "
                                 b"client certificate\x00Fauth.c\x00L354\x00\x00"))]),
    ("pgsql-sasl-ok", 5432, [
        (False, _pg_startup()),
        (True, _pg_message(b"R", b"\x00\x00\x00\x0aSCRAM-SHA-256\x00\x00")),
        (False, _pg_message(b"p", b"SCRAM-SHA-256\x00\x00\x00\x00\x08n,,n=,r=x")),
        (True, _pg_message(b"R", b"\x00\x00\x00\x00") + _pg_message(b"Z", b"I"))]),
    ("mqtt-311-connack-5", 8883, [
        (False, _mqtt_connect(b"MQTT", 4)), (True, b"\x20\x02\x00\x05")]),
    ("mqtt-5-connack-135", 8883, [
        (False, _mqtt_connect(b"MQTT", 5)), (True, b"\xf0\x02\x18\x00"),
        (True, b"\x20\x08\x00\x87\x05\x1f\x00\x02no")]),
    ("mqtt-31-connack-4", 1883, [
        (False, _mqtt_connect(b"MQIsdp", 3)), (True, b"\x20\x02\x00\x04")]),
]


def add_app_transcripts(corpus):
    for name, port, turns in APP_TRANSCRIPTS:
        for chunking in (0x00, 0x31):
            corpus.add("app", f"{name}-{chunking:02x}", encode_app_turns(turns, port, chunking),
                       ("transcript", name))


class Corpus:
    def __init__(self, root, per_harness):
        self.root, self.per_harness = root, per_harness
        self.inputs = {}  # harness -> {sha: (kind, name, bytes)}

    def add(self, harness, name, data, kind):
        digest = hashlib.sha1(data).hexdigest()
        self.inputs.setdefault(harness, {}).setdefault(digest, (kind, name, data))

    def write(self):
        for harness, inputs in sorted(self.inputs.items()):
            folder = os.path.join(self.root, harness)
            shutil.rmtree(folder, ignore_errors=True)
            os.makedirs(folder)
            # Round-robin over kinds, smallest first in each, so no kind crowds out the rest.
            kinds = {}
            for kind, name, data in inputs.values():
                kinds.setdefault(kind, []).append((len(data), name, data))
            queues = [sorted(v) for _, v in sorted(kinds.items())]
            chosen = []
            while len(chosen) < self.per_harness and any(queues):
                for queue in queues:
                    if queue and len(chosen) < self.per_harness:
                        chosen.append(queue.pop(0))
            used = set()
            for _, name, data in chosen:
                unique, n = name, 2
                while unique in used:
                    unique, n = f"{name}-{n}", n + 1
                used.add(unique)
                with open(os.path.join(folder, unique + ".bin"), "wb") as out:
                    out.write(data)
            total = sum(len(d) for _, _, d in chosen)
            print(f"{harness}: {len(chosen)} inputs, {total} bytes "
                  f"(from {len(inputs)} distinct)")


FEATURES = ("byte-segments", "impaired-net", "cut-mid-server-flight", "cut-after-clienthello",
            "reneg", "pha", "hrr", "resumption", "large-ca-list", "empty-ca-list", "no-ca-names",
            "client-aborts", "client-closes", "banner", "h2", "chacha20", "aes128", "expired",
            "not-yet-valid", "no-clientauth-eku", "untrusted")


def feature(stem):
    """What a capture shows beyond its TLS version, from its name (sample-captures/README.md)."""
    return next((f for f in FEATURES if f"-{f}-" in f"-{stem}-"), "plain")


def collect(capture, corpus):
    stem = os.path.basename(capture).rsplit(".", 1)[0]
    packets, sources = read_capture(capture)
    streams = {}
    for packet in packets:
        if packet.tcp:
            streams.setdefault(packet.stream, []).append(packet)
    for number, stream_packets in sorted(streams.items()):
        connection = Connection(stream_packets)
        tag = stem if len(streams) == 1 else f"{stem}-s{number}"
        plaintexts = pair_plaintexts(connection, sources)
        version = "tls13" if connection.tls13 else "tls12"

        # Handshake messages, clear and decrypted (a decrypted record's messages are in
        # its JSON tree too, with the decrypted bytes in their `_raw`).
        ca_names = []
        for packet in stream_packets:
            sender = "client" if connection.direction(packet) == 0 else "server"
            for record in packet.records:
                for kind, message, handshake in record.messages:
                    if kind in (HS_CLIENT_HELLO, HS_SERVER_HELLO):
                        name = "client-hello" if kind == HS_CLIENT_HELLO else "server-hello"
                        corpus.add("hello", f"{tag}-{name}", message, (name, len(message) // 64))
                    if kind in (HS_CERTIFICATE, HS_CERTIFICATE_REQUEST):
                        name = "certificate" if kind == HS_CERTIFICATE else "certificate-request"
                        prefix = bytes([1 if connection.tls13 else 0])
                        corpus.add("messages", f"{tag}-{sender}-{name}", prefix + message,
                                   (name, version, sender))
                    if kind == HS_CERTIFICATE_REQUEST:
                        ca_names = [raw_bytes(v) for k, v in walk(handshake)
                                    if k == "tls.handshake.dname_raw"]
                    if kind == HS_CERTIFICATE and sender == "client":
                        chain = [raw_bytes(v) for k, v in walk(handshake)
                                 if k == "tls.handshake.certificate_raw"]
                        if not chain:
                            continue
                        leaf = chain[0]
                        corpus.add("certs", f"{tag}-leaf", b"\x00" + leaf, ("leaf", len(leaf)))
                        corpus.add("certs", f"{tag}-leaf-before", b"\x01" + leaf, ("before",))
                        corpus.add("certs", f"{tag}-leaf-after", b"\x02" + leaf, ("after",))
                        # The clock read from the input: mode 3, the fixed date + 0.
                        corpus.add("certs", f"{tag}-leaf-clock", b"\x03\x03" + bytes(8) + leaf,
                                   ("clock",))
                        if ca_names:
                            names = b"".join(ca_names[:64])
                            corpus.add("certs", f"{tag}-chain-ca-names",
                                       b"\x04" + b"".join(chain) + names, ("ca-names", len(ca_names) > 8))

        # The server's first application data (HTTP/1.1, HTTP/2, a banner).
        answer = b"".join(p for d, ok, t, p in plaintexts if d == 1 and ok and t == CT_APPLICATION_DATA)
        if answer:
            answer = answer[:2048]
            kind = "h2" if answer[3:4] == b"\x04" else answer[:8].decode("latin-1")
            for chunking in (0x00, 0x31, 0xF8):
                corpus.add("http", f"{tag}-server-data-{chunking:02x}", bytes([chunking]) + answer,
                           (kind, chunking))

        # Both directions' application data, in order, for the application reader.
        turns = [(d, p) for d, ok, t, p in plaintexts if ok and t == CT_APPLICATION_DATA and p]
        if turns:
            first_packet = stream_packets[0]
            server_port = (first_packet.dst if connection.direction(first_packet) == 0
                           else first_packet.src)
            data = encode_app_turns(turns, server_port, 0x00)
            corpus.add("app", f"{tag}-app-data", data, ("capture", feature(stem), version))

        corpus.add("tls_stream", f"{tag}", encode_connection(connection, plaintexts, True),
                   ("keys", feature(stem), version))
        if connection.tls13:
            corpus.add("tls_stream", f"{tag}-no-keys",
                       encode_connection(connection, plaintexts, False), ("no-keys", feature(stem)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="the corpus folder (one folder per harness)")
    parser.add_argument("--per-harness", type=int, default=32)
    parser.add_argument("--only", action="append", help="write only this harness's folder")
    parser.add_argument("captures", nargs="+")
    args = parser.parse_args()
    corpus = Corpus(args.out, args.per_harness)
    for capture in args.captures:
        try:
            collect(capture, corpus)
        except (subprocess.CalledProcessError, ValueError) as error:
            print(f"{capture}: skipped ({error})", file=sys.stderr)
    add_app_transcripts(corpus)
    if args.only:
        corpus.inputs = {h: v for h, v in corpus.inputs.items() if h in args.only}
    corpus.write()


if __name__ == "__main__":
    main()
