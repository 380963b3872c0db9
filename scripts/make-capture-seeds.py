#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz-capture target, Fuzz/corpus/fuzz-capture/: whole capture
files for the pcap reader and `Replay`. Deterministic; one small file per case, named after it.

- pcap in both byte orders and both time precisions (magic a1b2c3d4: microseconds, a1b23c4d:
  nanoseconds), with timestamps at 0, 2^31-1, 2^31 and 2^32-1 seconds and fraction fields at their
  limit and beyond it (999999, 1000000, 0xffffffff us; 999999999, 1e9, 0xffffffff ns);
- records with caplen > len, caplen > the file's snaplen, caplen > 262144 (libpcap refuses),
  zero-length records, and a second record header cut off at every byte;
- pcapng: two or three interfaces of one link type with different time resolutions and offsets,
  interfaces of different link types (libpcap 1.10 refuses the second type), a big-endian section,
  a simple packet block, an enhanced packet block cut at every byte of its header;
- BSD loopback captures (DLT_NULL in both byte orders, DLT_LOOP), raw IP, Linux cooked, and an
  unsupported link type; an empty file and cut file headers.

The frames are the first few of captures/sample.pcap. Called by scripts/make-fuzz-seeds.py.
Usage: scripts/make-capture-seeds.py [OUTDIR]   (default Fuzz/corpus/fuzz-capture)
"""
import os, struct, sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import frames

root = os.path.normpath(os.path.join(os.path.dirname(__file__), ".."))
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "Fuzz", "corpus", "fuzz-capture")
US, NS = frames.PCAP_MICROSECONDS, frames.PCAP_NANOSECONDS

FRAMES = frames.read_pcap_frames(os.path.join(root, "captures", "sample.pcap"), limit=4)
ETH = FRAMES[0]
IP = ETH[14:]

def write(name, content):
    with open(os.path.join(out, name), "wb") as f:
        f.write(content)

def pcap(records, magic=US, order="<", snaplen=65535, dlt=1):
    """records: (seconds, fraction, data) or (seconds, fraction, data, caplen, length)."""
    b = frames.pcap_header(snaplen, dlt, magic, order)
    for r in records:
        b += frames.pcap_record(*r[:3], caplen=r[3] if len(r) > 3 else None, length=r[4] if len(r) > 3 else None,
                                order=order)
    return b

os.makedirs(out, exist_ok=True)

# Timestamps and fractions at and past their limits, in every byte order and precision.
for magic, unit, limits in ((US, "us", (999999, 1000000, 0xFFFFFFFF)), (NS, "ns", (999999999, 10**9, 0xFFFFFFFF))):
    for order, oname in (("<", "le"), (">", "be")):
        recs = [(0, 0, ETH), (2**31 - 1, limits[0], FRAMES[1]), (2**31, limits[1], FRAMES[2]),
                (2**32 - 1, limits[2], FRAMES[3]), (2**32 - 1, limits[0], ETH), (1, 0xFFFFFFFF, ETH)]
        write("pcap-%s-%s-timestamps" % (unit, oname), pcap(recs, magic, order))
        # caplen > len, zero-length records (len 0 and len 60), caplen > snaplen.
        odd = [(10, 1, ETH, len(ETH), 20), (11, 2, b"", 0, 0), (12, 3, b"", 0, 60), (13, 4, ETH[:10], 10, 0)]
        write("pcap-%s-%s-lengths" % (unit, oname), pcap(odd, magic, order))
        past_snaplen = pcap([(1, 1, ETH), (2, 2, ETH + bytes(40))], magic, order, snaplen=64)
        write("pcap-%s-%s-caplen-past-snaplen" % (unit, oname), past_snaplen)

# A record longer than libpcap's largest snaplen (262144): refused as damage after the first frame.
write("pcap-caplen-past-262144", pcap([(1, 0, ETH), (2, 0, bytes(16), 262145, 262145)]))
write("pcap-caplen-past-file", pcap([(1, 0, ETH), (2, 0, ETH[:8], 200, 200)]))
# A second record header cut off at every byte, and a record's data cut short.
whole = pcap([(1, 0, ETH), (2, 0, FRAMES[1])])
for n in range(16):
    write("pcap-record-header-cut-%02d" % n, whole[:24 + 16 + len(ETH) + n])
write("pcap-record-data-cut", whole[:-5])
# File headers: empty, cut, wrong version, huge snaplen, unsupported link type.
write("empty", b"")
for n in (3, 4, 12, 23):
    write("pcap-file-header-cut-%02d" % n, pcap([])[:n])
write("pcap-header-only", pcap([]))
write("pcap-snaplen-zero", pcap([(1, 0, ETH)], snaplen=0))
write("pcap-snaplen-max", pcap([(1, 0, ETH)], snaplen=0xFFFFFFFF))
write("pcap-link-ieee80211", pcap([(1, 0, ETH)], dlt=105))
write("pcap-version-9", frames.pcap_header(version=(9, 9)) + pcap([(1, 0, ETH)])[24:])

# Other link types vfwall reads.
write("pcap-raw-ip", pcap([(1, 0, IP), (2, 0, IP[:19])], dlt=101))
write("pcap-dlt-raw-12", pcap([(1, 0, IP)], dlt=12))
SLL = bytes.fromhex("00040001000602000000000a00000800")
write("pcap-linux-sll", pcap([(1, 0, SLL + IP), (2, 0, bytes(15))], dlt=113))
write("pcap-linux-sll2", pcap([(1, 0, bytes.fromhex("08000000000000020001040602000000000a0000") + IP)], dlt=276))
def af(family, order="<"): return struct.pack(order + "I", family)
null_le = [(1, 0, af(2) + IP), (2, 0, af(30) + bytes(40)), (3, 0, b"\x02\0"), (4, 0, af(7) + IP)]
write("pcap-null-le", pcap(null_le, dlt=0))
write("pcap-null-be", pcap([(1, 0, af(2, ">") + IP), (2, 0, af(24, ">") + bytes(40))], order=">", dlt=0))
write("pcap-loop", pcap([(1, 0, af(2, ">") + IP), (2, 0, af(2) + IP), (3, 0, b"\0\0\0")], NS, dlt=108))

# pcapng.
def block(btype, body, order="<"):
    body += bytes(-len(body) % 4)
    n = 12 + len(body)
    return struct.pack(order + "II", btype, n) + body + struct.pack(order + "I", n)

def option(code, value, order="<"):
    return struct.pack(order + "HH", code, len(value)) + value + bytes(-len(value) % 4)

def shb(order="<"):
    return block(0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1), order)

def idb(linktype, tsresol=None, tsoffset=None, snaplen=65535, order="<"):
    opts = b""
    if tsresol is not None: opts += option(9, bytes([tsresol]), order)
    if tsoffset is not None: opts += option(14, struct.pack(order + "q", tsoffset), order)
    if opts: opts += struct.pack(order + "HH", 0, 0)
    return block(1, struct.pack(order + "HHI", linktype, 0, snaplen) + opts, order)

def epb(iface, ts, data, caplen=None, length=None, order="<"):
    caplen = len(data) if caplen is None else caplen
    length = len(data) if length is None else length
    return block(6, struct.pack(order + "IIIII", iface, ts >> 32, ts & 0xFFFFFFFF, caplen, length) + data, order)

def spb(data, order="<"):
    return block(3, struct.pack(order + "I", len(data)) + data, order)

# Three Ethernet interfaces: microseconds (default), nanoseconds, 2^-10 s with an offset.
ng = shb() + idb(1) + idb(1, tsresol=9) + idb(1, tsresol=0x80 | 10, tsoffset=1_700_000_000)
ng += epb(0, 1_700_000_000_123_456, ETH) + epb(1, 1_700_000_000_123_456_789, FRAMES[1]) + epb(2, 5 << 10, FRAMES[2])
ng += epb(0, 0, b"") + epb(1, 2**64 - 1, ETH) + epb(0, 2**64 - 1, ETH) + epb(0, 0, ETH, length=10) + spb(FRAMES[3])
write("pcapng-three-interfaces", ng)
# Extreme resolutions: 10^-0 s (seconds past 2554), 2^-63 s, an offset far before 1970.
write("pcapng-extreme-resolutions", shb() + idb(1, tsresol=0) + idb(1, tsresol=0x80 | 63) + idb(1, tsoffset=-2**62)
      + epb(0, 2**64 - 1, ETH) + epb(1, 2**64 - 1, ETH) + epb(2, 5, ETH) + epb(0, 4_294_967_296, ETH))
# Interfaces of different link types: Ethernet, then raw IP and BSD loopback.
write("pcapng-mixed-link-types", shb() + idb(1) + idb(101) + idb(0)
      + epb(0, 1, ETH) + epb(1, 2, IP) + epb(2, 3, af(2) + IP))
write("pcapng-null-loop", shb() + idb(0) + epb(0, 1, af(2) + IP) + shb() + idb(108) + epb(0, 2, af(2, ">") + IP))
write("pcapng-big-endian", shb(">") + idb(1, tsresol=9, order=">") + idb(1, order=">")
      + epb(0, 1_700_000_000_000_000_001, ETH, order=">") + epb(1, 1, FRAMES[1], order=">"))
write("pcapng-bad-interface-id", shb() + idb(1) + epb(0, 1, ETH) + epb(7, 2, ETH))
write("pcapng-caplen-past-length", shb() + idb(1, snaplen=64) + epb(0, 1, ETH + bytes(40)) + epb(0, 2, ETH, length=0))
good = shb() + idb(1) + epb(0, 1, ETH) + epb(0, 2, FRAMES[1])
cut_at = len(good) - len(epb(0, 2, FRAMES[1]))
for n in range(0, 28):
    write("pcapng-packet-block-cut-%02d" % n, good[:cut_at + n])
write("pcapng-block-length-lies", good[:cut_at] + struct.pack("<II", 6, 0xFFFFFFF0) + good[cut_at + 8:])
print("wrote %d files to %s" % (len(os.listdir(out)), out))
