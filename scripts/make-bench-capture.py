#!/usr/bin/env python3
"""Writes a pcap of FRAMES 64-byte UDP frames over FLOWS flows (both directions, the reply
right after its request, so conntrack sees each flow established), for scripts/bench-replay.

    scripts/make-bench-capture.py OUT.pcap [FRAMES [FLOWS]]     (defaults 2,000,000 and 50,000)
"""
import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import frames

SERVER_MAC, CLIENT_MAC = bytes.fromhex("0200000000fe"), bytes.fromhex("02000000000a")


def frame(src, dst, sport, dport):
    """64 bytes (no FCS), IPv4 without a header checksum: the replay does not check it."""
    ip = frames.ipv4(src, dst, 17, frames.udp(sport, dport, bytes(18)), ident=0, with_checksum=False)
    return frames.ethernet(SERVER_MAC, CLIENT_MAC, frames.ETH_IPV4, ip)


def main():
    out, count = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 2_000_000
    flows = int(sys.argv[3]) if len(sys.argv) > 3 else 50_000
    pairs = []
    for f in range(flows):
        client = struct.pack("!I", 0x0A000000 + f)        # 10.0.x.y
        server = struct.pack("!I", 0xC0000200 + f % 200)  # 192.0.2.z
        sport = 1024 + f % 60000
        pairs.append((frame(client, server, sport, 9000), frame(server, client, 9000, sport)))
    with open(out, "wb") as w:
        w.write(frames.pcap_header())
        chunk = []
        for i in range(count):
            request, reply = pairs[(i // 2) % flows]
            data = reply if i % 2 else request
            chunk.append(frames.pcap_record(1_700_000_000 + i // 1_000_000, i % 1_000_000, data))
            if len(chunk) >= 20000:
                w.write(b"".join(chunk))
                chunk = []
        w.write(b"".join(chunk))


if __name__ == "__main__":
    main()
