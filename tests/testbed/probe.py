#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# probe.py - network probes for the testbed tests (no ping program needed):
#   probe.py ping ADDR [COUNT]        ICMP echo over a raw socket (root);
#                                     prints "rtt_min_ms X", exit 1 if no reply
#   probe.py send ADDR PORT BYTES     connect, send BYTES, shut the write side,
#                                     print the reply and "seconds X" (from
#                                     connect to reply), exit 1 on failure
import os
import socket
import struct
import sys
import time


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def ping(addr, count):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    ident = os.getpid() & 0xFFFF
    best = None
    for seq in range(1, count + 1):
        payload = b"ukfork-testbed-probe"
        hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
        pkt = struct.pack("!BBHHH", 8, 0, csum(hdr + payload), ident, seq) + payload
        t0 = time.monotonic()
        s.sendto(pkt, (addr, 0))
        deadline = t0 + 2.0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            s.settimeout(left)
            try:
                data, src = s.recvfrom(2048)
            except socket.timeout:
                break
            ihl = (data[0] & 0x0F) * 4
            typ, _, _, rid, rseq = struct.unpack("!BBHHH", data[ihl:ihl + 8])
            if typ == 0 and rid == ident and rseq == seq and src[0] == addr:
                rtt = (time.monotonic() - t0) * 1000.0
                best = rtt if best is None else min(best, rtt)
                break
        time.sleep(0.05)
    if best is None:
        print("no reply from %s" % addr, file=sys.stderr)
        return 1
    print("rtt_min_ms %.3f" % best)
    return 0


def send(addr, port, nbytes):
    t0 = time.monotonic()
    c = socket.create_connection((addr, port), timeout=30)
    chunk = b"\0" * 65536
    left = nbytes
    while left > 0:
        n = c.send(chunk[:min(left, len(chunk))])
        left -= n
    c.shutdown(socket.SHUT_WR)
    reply = b""
    while not reply.endswith(b"\n"):
        b = c.recv(256)
        if not b:
            break
        reply += b
    dt = time.monotonic() - t0
    print(reply.decode().strip())
    print("seconds %.3f" % dt)
    return 0 if reply else 1


def main(argv):
    try:
        if len(argv) >= 2 and argv[0] == "ping":
            return ping(argv[1], int(argv[2]) if len(argv) > 2 else 3)
        if len(argv) == 4 and argv[0] == "send":
            return send(argv[1], int(argv[2]), int(argv[3]))
    except OSError as e:
        print("probe: %s" % e, file=sys.stderr)
        return 1
    print("usage: probe.py ping ADDR [COUNT] | send ADDR PORT BYTES", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
