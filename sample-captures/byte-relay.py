#!/usr/bin/env python3
"""TCP relay that forwards every byte as a TCP segment of its own.

    byte-relay.py LISTEN_ADDR LISTEN_PORT UPSTREAM_ADDR UPSTREAM_PORT [SOURCE_ADDR]

Used by make-captures.sh (the *-byte-segments scenarios).  Accepts one
connection on LISTEN_ADDR:LISTEN_PORT, connects to UPSTREAM_ADDR:UPSTREAM_PORT
(from SOURCE_ADDR if given) and relays both directions until both are closed.
Every byte read is written with a send() of its own on a TCP_NODELAY socket,
and the next byte is only written once the kernel has put the previous one on
the wire (SIOCOUTQNSD, "bytes not sent yet", is 0) plus a short pause, so
neither Nagle, autocorking nor a full congestion window can merge two bytes
into one segment.  A half-close (EOF) is passed on with shutdown(SHUT_WR), a
reset with a reset.

Prints, for make-captures.sh to check against the capture:
    listening / accepted <peer> / connected <peer>
    down <n> bytes in <n> sends     (client -> upstream)
    up <n> bytes in <n> sends       (upstream -> client)
"""
import fcntl
import socket
import struct
import sys
import threading
import time

SIOCOUTQNSD = 0x894B  # linux/sockios.h: bytes in the send queue not sent yet
PAUSE = 0.0005        # seconds between two bytes


def not_sent(sock):
    return struct.unpack("i", fcntl.ioctl(sock.fileno(), SIOCOUTQNSD, b"\0\0\0\0"))[0]


def wait_sent(sock):
    deadline = time.monotonic() + 10
    while not_sent(sock) and time.monotonic() < deadline:
        time.sleep(0.0001)


def pump(src, dst, name, counts, resets):
    total = sends = 0
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            for i in range(len(data)):
                wait_sent(dst)
                dst.send(data[i:i + 1])
                sends += 1
                total += 1
                time.sleep(PAUSE)
        wait_sent(dst)
        dst.shutdown(socket.SHUT_WR)
    except ConnectionResetError:
        resets.append(name)
        # pass the reset on: close with SO_LINGER 0
        dst.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        dst.close()
    except OSError as err:  # the other pump reset dst
        print(f"{name}: {err}", flush=True)
    counts[name] = (total, sends)


def main():
    laddr, lport, uaddr, uport = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    source = sys.argv[5] if len(sys.argv) > 5 else None
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((laddr, lport))
    listener.listen(1)
    print("listening", flush=True)
    down, peer = listener.accept()
    listener.close()
    print("accepted", peer, flush=True)
    up = socket.socket()
    if source:
        up.bind((source, 0))
    up.connect((uaddr, uport))
    print("connected", up.getpeername(), "from", up.getsockname(), flush=True)
    for sock in (down, up):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    counts, resets = {}, []
    threads = [threading.Thread(target=pump, args=(down, up, "down", counts, resets)),
               threading.Thread(target=pump, args=(up, down, "up", counts, resets))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name in ("down", "up"):
        total, sends = counts.get(name, (0, 0))
        print(f"{name} {total} bytes in {sends} sends", flush=True)
    if resets:
        print("reset from", ",".join(resets), flush=True)
    for sock in (down, up):
        try:
            sock.close()
        except OSError:
            pass


if __name__ == "__main__":
    main()
