#!/usr/bin/env python3
"""Writes a pcap of FRAMES 64-byte UDP frames over FLOWS flows (both directions, the reply
right after its request, so conntrack sees each flow established), for scripts/bench-replay.

    scripts/make-bench-capture.py OUT.pcap [FRAMES [FLOWS]]     (defaults 2,000,000 and 50,000)
"""
import struct
import sys


def frame(src, dst, sport, dport):
    udp = struct.pack("!HHHH", sport, dport, 8 + 18, 0) + bytes(18)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, src, dst)
    eth = b"\x02\x00\x00\x00\x00\xfe" + b"\x02\x00\x00\x00\x00\x0a" + b"\x08\x00"
    return eth + ip + udp


def main():
    out, frames = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 2_000_000
    flows = int(sys.argv[3]) if len(sys.argv) > 3 else 50_000
    pairs = []
    for f in range(flows):
        client = struct.pack("!I", 0x0A000000 + f)        # 10.0.x.y
        server = struct.pack("!I", 0xC0000200 + f % 200)  # 192.0.2.z
        sport = 1024 + f % 60000
        pairs.append((frame(client, server, sport, 9000), frame(server, client, 9000, sport)))
    with open(out, "wb") as w:
        w.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        chunk = []
        for i in range(frames):
            request, reply = pairs[(i // 2) % flows]
            data = reply if i % 2 else request
            chunk.append(struct.pack("<IIII", 1_700_000_000 + i // 1_000_000, i % 1_000_000, len(data), len(data)))
            chunk.append(data)
            if len(chunk) >= 20000:
                w.write(b"".join(chunk))
                chunk = []
        w.write(b"".join(chunk))


if __name__ == "__main__":
    main()
