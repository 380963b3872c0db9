#!/usr/bin/env python3
"""Writes the pcap scripts/bench-dataplane replays: FLOWS 64-byte frames (60 + FCS on the wire is
64; the capture holds 64 with a padded payload), half UDP to port 53, half TCP SYN to port 80,
one flow each.

    scripts/lib/bench-flows.py OUT.pcap FLOWS
"""
import os, sys

sys.path.insert(0, os.path.dirname(__file__))
import frames

DST_MAC, SRC_MAC = bytes.fromhex("02000000000b"), bytes.fromhex("02000000000a")


def flow_frame(i):
    sport = 1024 + i % 60000
    if i % 2 == 0:
        proto, l4 = 17, frames.udp(sport, 53, bytes(22))
    else:
        proto, l4 = 6, frames.tcp(sport, 80, frames.SYN, bytes(10))
    src = bytes([10, 0, (i >> 8) & 255, i & 255])
    return frames.ethernet(DST_MAC, SRC_MAC, frames.ETH_IPV4, frames.ipv4(src, "10.1.0.1", proto, l4))


def main():
    path, count = sys.argv[1], int(sys.argv[2])
    with open(path, "wb") as f:
        f.write(frames.pcap_header())
        for i in range(count):
            f.write(frames.pcap_record(0, 0, flow_frame(i)))


if __name__ == "__main__":
    main()
