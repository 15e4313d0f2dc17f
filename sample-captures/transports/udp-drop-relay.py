#!/usr/bin/env python3
"""udp-drop-relay.py: UDP relay for one client that loses chosen datagrams.
For the sample captures only (private network namespace).

usage: udp-drop-relay.py LISTEN_IP:PORT FROM_IP SERVER_IP:PORT DROP
  Datagrams from the client (to LISTEN) go to SERVER from a socket bound to
  FROM_IP; the answers go back to the client.  DROP is a comma-separated list
  of s<N> (the N-th datagram from the server, 1-based) and c<N> (from the
  client): those are received but not forwarded, once, as if lost after the
  capture point (the capture is taken on the FROM_IP <-> SERVER leg).
Prints one line per datagram.
"""
import select
import socket
import sys


def addr(s):
    host, port = s.rsplit(':', 1)
    return host, int(port)


def main():
    listen, from_ip, server = addr(sys.argv[1]), sys.argv[2], addr(sys.argv[3])
    drop = set(x for x in sys.argv[4].split(',') if x)
    front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    front.bind(listen)
    back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    back.bind((from_ip, 0))
    client = None
    n = {'c': 0, 's': 0}
    print('relay ready', flush=True)
    while True:
        ready, _, _ = select.select([front, back], [], [])
        if front in ready:
            data, client = front.recvfrom(65535)
            n['c'] += 1
            tag = 'c%d' % n['c']
            if tag in drop:
                print('%s %d bytes from the client DROPPED' % (tag, len(data)), flush=True)
            else:
                back.sendto(data, server)
                print('%s %d bytes from the client' % (tag, len(data)), flush=True)
        if back in ready:
            data, _ = back.recvfrom(65535)
            n['s'] += 1
            tag = 's%d' % n['s']
            if tag in drop or client is None:
                print('%s %d bytes from the server DROPPED' % (tag, len(data)), flush=True)
            else:
                front.sendto(data, client)
                print('%s %d bytes from the server' % (tag, len(data)), flush=True)


if __name__ == '__main__':
    main()
