#!/usr/bin/env python3
"""radius-nas-relay.py: make several eapol_test supplicants reach a RADIUS
server through ONE NAS socket (one source address and port), as a real NAS or
access point does.  For the sample captures only (loopback / private netns).

eapol_test opens its own UDP socket and numbers its requests from Identifier 0,
so two of them would collide.  This relay listens on LISTEN (the address the
eapol_tests send to), forwards every Access-Request from one socket bound to
NAS to SERVER under an Identifier of its own, and sends each answer back to the
supplicant that asked, with its original Identifier.  Since the Identifier is
covered by the Message-Authenticator (requests and answers) and by the Response
Authenticator (answers), the relay recomputes them with the shared secret.
Nothing else in the packets changes.

usage: radius-nas-relay.py LISTEN_IP:PORT NAS_IP:PORT SERVER_IP:PORT SECRET
Prints one line per forwarded packet on stdout.
"""
import hashlib
import hmac
import select
import socket
import sys


def addr(s):
    host, port = s.rsplit(':', 1)
    return host, int(port)


def attrs(pkt):
    """(offset, type, length) of each attribute."""
    out, off = [], 20
    while off + 2 <= len(pkt):
        t, l = pkt[off], pkt[off + 1]
        if l < 2 or off + l > len(pkt):
            raise ValueError('bad attribute')
        out.append((off, t, l))
        off += l
    return out


def set_msg_auth(pkt, secret, auth_for_hmac):
    """Recompute Message-Authenticator (type 80) in place; auth_for_hmac is the
    Authenticator field value used while computing it (RFC 3579 3.2)."""
    pkt = bytearray(pkt)
    for off, t, l in attrs(pkt):
        if t == 80 and l == 18:
            pkt[off + 2:off + 18] = bytes(16)
            saved = bytes(pkt[4:20])
            pkt[4:20] = auth_for_hmac
            mac = hmac.new(secret, bytes(pkt), hashlib.md5).digest()
            pkt[4:20] = saved
            pkt[off + 2:off + 18] = mac
    return pkt


def main():
    listen, nas, server, secret = addr(sys.argv[1]), addr(sys.argv[2]), addr(sys.argv[3]), sys.argv[4].encode()
    front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    front.bind(listen)
    back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    back.bind(nas)
    pending = {}   # relay id -> (supplicant address, original id, request authenticator)
    next_id = 0
    print('relay ready', flush=True)
    while True:
        ready, _, _ = select.select([front, back], [], [])
        if front in ready:
            pkt, who = front.recvfrom(4096)
            if len(pkt) < 20:
                continue
            rid = next_id
            next_id = (next_id + 1) % 256
            pending[rid] = (who, pkt[1], bytes(pkt[4:20]))
            pkt = bytearray(pkt)
            pkt[1] = rid
            pkt = set_msg_auth(pkt, secret, bytes(pkt[4:20]))
            back.sendto(bytes(pkt), server)
            print('request from %s:%d id %d -> NAS id %d' % (who[0], who[1], pending[rid][1], rid), flush=True)
        if back in ready:
            pkt, _ = back.recvfrom(4096)
            if len(pkt) < 20 or pkt[1] not in pending:
                continue
            rid = pkt[1]
            who, orig_id, req_auth = pending.pop(rid)
            pkt = bytearray(pkt)
            pkt[1] = orig_id
            pkt = set_msg_auth(pkt, secret, req_auth)
            # Response Authenticator = MD5(Code+ID+Length+RequestAuth+Attributes+Secret)
            pkt[4:20] = hashlib.md5(bytes(pkt[0:4]) + req_auth + bytes(pkt[20:]) + secret).digest()
            front.sendto(bytes(pkt), who)
            print('answer code %d NAS id %d -> %s:%d id %d' % (pkt[0], rid, who[0], who[1], orig_id), flush=True)


if __name__ == '__main__':
    main()
