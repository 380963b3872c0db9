#!/usr/bin/env python3
"""Writes the malformed-traffic corpus: captures of truncated, oversized, inconsistent and
adversarial frames, each with the reason configs/default.yaml must count it under.

For every capture NAME.pcap it writes NAME.expected.jsonl, one object per frame in the style of
captures/sample.expected.jsonl (verdict, decided_by, rule, reason) plus "case", a short name of
what the frame tries. The expectations are stated here by hand from the parser's documented
rules, not copied from vfwall's output. A few well-formed control frames (jumbo frames, exactly
eight IPv6 extension headers, an atomic IPv6 fragment) sit among the bad ones to show the limits
are where they are said to be.

Random garbage is seeded and shaped so its reason is known: the bytes that decide the reason are
forced, the rest is noise. Addresses are documentation ranges; nothing is ever sent anywhere.

Usage: scripts/make-malformed-corpus.py OUTDIR
"""
import json, os, random, struct, sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import frames
from frames import udp, FIN, SYN, RST, PSH, ACK

C4, S4, DNS4, C6, S6 = "10.0.0.10", "192.0.2.80", "192.0.2.53", "2001:db8:1::10", "2001:db8:2::443"
CLIENT_MAC, ROUTER_MAC = bytes.fromhex("02000000000a"), bytes.fromhex("0200000000fe")

# The corpus's own defaults: from the client to the server, and no checksums (the parser
# does not check them, and the expectations were stated without).
def eth(etype, payload, vlans=(), src=CLIENT_MAC, dst=ROUTER_MAC):
    return frames.ethernet(dst, src, etype, payload, vlans)
def ipv4(proto, payload, src=C4, dst=S4, **kw): return frames.ipv4(src, dst, proto, payload, with_checksum=False, **kw)
def ipv6(nh, payload, src=C6, dst=S6, plen=None, version=6): return frames.ipv6(src, dst, nh, payload, plen, version)

def ext(nh, length=0):          # hop-by-hop, routing, destination options: (length + 1) * 8 bytes
    return bytes([nh, length]) + bytes(6 + 8 * length)

def frag6(nh, offset=0, more=False, ident=0x1234):
    return struct.pack("!BBHI", nh, 0, (offset << 3) | int(more), ident)

def tcp(sport, dport, flags, data=b"", doff=5): return frames.tcp(sport, dport, flags, data, data_offset=doff)
def icmp(t, code=0, rest=b"\0\0\0\0", data=b""): return frames.icmp(t, code, rest, data, with_checksum=False)

def e4(proto, payload, **kw): return eth(0x0800, ipv4(proto, payload, **kw))
def e6(nh, payload, **kw): return eth(0x86DD, ipv6(nh, payload, **kw))

captures = {}   # name -> (dlt, [(frame, expectation)])

def add(capture, case, frame, reason=None, verdict="drop", by="setting", rule=None, dlt=1):
    captures.setdefault(capture, (dlt, []))[1].append(
        (frame, dict(case=case, verdict=verdict, decided_by=by, rule=rule, reason=reason)))

def bad(case, frame, reason): add("malformed-ethernet", case, frame, reason)
def good(case, frame, rule): add("malformed-ethernet", case, frame, verdict="accept", by="rule", rule=rule)

syn80 = tcp(48000, 80, SYN)

# Link layer: short frames, cut tags, tag stacks deeper than two (802.1ad + 802.1Q is the limit).
for n in range(14):
    bad("ethernet-%d-bytes" % n, (ROUTER_MAC + CLIENT_MAC + b"\x08\x00")[:n], "truncated-ethernet")
for n in range(4):
    bad("vlan-tag-cut-at-%d" % n, eth(0x8100, b"")[:12] + b"\x81\x00" + b"\x00\x64\x08\x00"[:n], "truncated-vlan-tag")
bad("second-vlan-tag-cut", ROUTER_MAC + CLIENT_MAC + b"\x88\xa8\x00\x64\x81\x00\x00", "truncated-vlan-tag")
for depth in (3, 4, 8, 64, 700):
    bad("vlan-stack-%d" % depth, eth(0x0800, ipv4(6, syn80), vlans=[(0x8100, 100)] * depth), "too-many-vlan-tags")
bad("vlan-stack-3-with-9100", eth(0x0800, ipv4(6, syn80), vlans=[(0x9100, 1), (0x88A8, 2), (0x8100, 3)]), "too-many-vlan-tags")
bad("qinq-then-cut-ipv4", eth(0x0800, ipv4(6, syn80)[:10], vlans=[(0x88A8, 100), (0x8100, 7)]), "truncated-ipv4-header")
for n in (0, 1, 27):
    bad("arp-%d-bytes" % n, eth(0x0806, bytes(n)), "truncated-arp")
for etype in (0x88CC, 0x0000, 0x05DC, 0xFFFF, 0x8847):
    bad("ethertype-%04x" % etype, eth(etype, bytes(46)), "non-ip")

# IPv4 header: cut, IHL below 5, IHL past the frame, wrong version, total length both ways.
for n in range(20):
    bad("ipv4-header-%d-bytes" % n, eth(0x0800, ipv4(6, syn80)[:n]), "truncated-ipv4-header")
for ihl in range(5):
    bad("ipv4-ihl-%d" % ihl, e4(6, syn80, ihl=ihl), "bad-ipv4-ihl")
for ihl in (6, 10, 15):
    bad("ipv4-ihl-%d-past-frame" % ihl, eth(0x0800, ipv4(6, b"", ihl=ihl)[:20 + 4 * (ihl - 5) - 1]), "truncated-ipv4-header")
for v in (0, 1, 5, 6, 15):
    bad("ipv4-version-%d" % v, e4(6, syn80, version=v), "bad-ipv4-version")
for extra in (1, 1000, 65535 - 40):
    bad("ipv4-total-length-%d-past-frame" % extra, e4(6, syn80, total=40 + extra), "ipv4-total-length-beyond-frame")
for total in (0, 1, 19):
    bad("ipv4-total-length-%d" % total, e4(6, syn80, total=total), "ipv4-total-length-below-header")
bad("ipv4-total-length-below-options", e4(6, syn80, ihl=8, total=28), "ipv4-total-length-below-header")

# TCP: cut headers, data offset below five words or past the segment (even when the frame's
# Ethernet padding would hold it: the IP total length is the end).
for n in range(20):
    bad("tcp-header-%d-bytes" % n, e4(6, syn80[:n]), "truncated-tcp-header")
for doff in (0, 1, 4, 6, 15):
    bad("tcp-data-offset-%d" % doff, e4(6, tcp(48000, 80, SYN, doff=doff)), "bad-tcp-data-offset")
bad("tcp-data-offset-into-ethernet-padding", e4(6, tcp(48000, 80, SYN, doff=8)) + bytes(12), "bad-tcp-data-offset")
bad("tcp6-data-offset-15", e6(6, tcp(48000, 443, SYN, doff=15)), "bad-tcp-data-offset")

# UDP: cut headers, zero and short length fields, length past the datagram.
for n in range(8):
    bad("udp-header-%d-bytes" % n, e4(17, udp(48000, 53)[:n]), "truncated-udp-header")
for length in (0, 1, 7, 9, 65535):
    bad("udp-length-%d" % length, e4(17, udp(48000, 53, length=length)), "bad-udp-length")
bad("udp6-zero-length", e6(17, udp(48000, 53, b"jumbo?", length=0)), "bad-udp-length")
bad("udp-length-into-ethernet-padding", e4(17, udp(48000, 53, length=20)) + bytes(12), "bad-udp-length")

# SCTP: cut common headers (12 bytes: ports, verification tag, checksum).
sctp = struct.pack("!HHII", 48000, 38412, 0, 0)
for n in range(12):
    bad("sctp-header-%d-bytes" % n, e4(132, sctp[:n]), "truncated-sctp-header")
bad("sctp6-header-11-bytes", e6(132, sctp[:11]), "truncated-sctp-header")

# ICMP: cut headers; errors that quote errors, quote nothing, or quote something unparseable
# leave no connection to relate to: invalid.
for n in range(8):
    bad("icmp-header-%d-bytes" % n, e4(1, icmp(8, 0)[:n]), "truncated-icmp-header")
    bad("icmpv6-header-%d-bytes" % n, e6(58, icmp(128, 0)[:n]), "truncated-icmpv6-header")
quoted_udp = ipv4(17, udp(50000, 53, b"q"), src=C4, dst=DNS4)[:28]
err_about_udp = ipv4(1, icmp(3, 3, data=quoted_udp), src=DNS4, dst=C4)
err_about_err = ipv4(1, icmp(11, 0, data=err_about_udp), src=S4, dst=C4)
bad("icmp-error-quoting-icmp-error", e4(1, icmp(3, 1, data=err_about_udp[:28]), src=S4, dst=C4), "invalid-state")
bad("icmp-error-quoting-error-quoting-error", e4(1, icmp(12, 0, data=err_about_err), src=S4, dst=C4), "invalid-state")
for t in (3, 4, 5, 11, 12):
    bad("icmp-type-%d-quoting-time-exceeded" % t, e4(1, icmp(t, 0, data=ipv4(1, icmp(11, 0), src=C4, dst=S4)), src=S4, dst=C4), "invalid-state")
bad("icmp-error-quoting-nothing", e4(1, icmp(3, 3), src=S4, dst=C4), "invalid-state")
bad("icmp-error-quoting-ip-header-only", e4(1, icmp(3, 3, data=quoted_udp[:20]), src=S4, dst=C4), "invalid-state")
bad("icmp-error-quoting-ihl-3", e4(1, icmp(3, 3, data=ipv4(17, udp(1, 2), ihl=3)), src=S4, dst=C4), "invalid-state")
bad("icmp-error-quoting-ipv6", e4(1, icmp(3, 3, data=ipv6(17, udp(1, 2))), src=S4, dst=C4), "invalid-state")
bad("icmp-error-about-untracked-udp", e4(1, icmp(3, 3, data=ipv4(17, udp(59999, 53), src=C4, dst=DNS4)), src=DNS4, dst=C4), "invalid-state")
quoted6 = ipv6(17, udp(50000, 53), src=C6, dst=S6)
err6 = ipv6(58, icmp(1, 4, data=quoted6), src=S6, dst=C6)
bad("icmpv6-error-quoting-icmpv6-error", e6(58, icmp(3, 0, data=err6), src=S6, dst=C6), "invalid-state")
bad("icmpv6-packet-too-big-quoting-nothing", e6(58, icmp(2, 0, struct.pack("!I", 1280)), src=S6, dst=C6), "invalid-state")
bad("icmpv6-error-quoting-ipv4", e6(58, icmp(1, 4, data=ipv4(17, udp(1, 2))), src=S6, dst=C6), "invalid-state")

# IPv6 header and extension chains: cut, wrong version, payload past the frame, chains longer
# than eight, hop-by-hop anywhere but first (a loop back to the start), lengths past the end.
for n in (0, 1, 7, 8, 20, 39):
    bad("ipv6-header-%d-bytes" % n, eth(0x86DD, ipv6(6, syn80)[:n]), "truncated-ipv6-header")
for v in (0, 4, 15):
    bad("ipv6-version-%d" % v, e6(6, syn80, version=v), "bad-ipv6-version")
for plen in (21, 1500, 65535):
    bad("ipv6-payload-length-%d" % plen, e6(6, syn80, plen=plen), "ipv6-payload-beyond-frame")
for n in (9, 16, 100, 1000):
    chain = b"".join(ext(60) for _ in range(n - 1)) + ext(6)
    bad("ipv6-%d-destination-options" % n, e6(60, chain + tcp(48000, 443, SYN)), "ipv6-extension-chain-too-long")
routing_loop = b"".join(ext(43) for _ in range(20)) + ext(6)
bad("ipv6-routing-header-repeated", e6(43, routing_loop + tcp(48000, 443, SYN)), "ipv6-extension-chain-too-long")
bad("ipv6-atomic-fragment-headers-repeated", e6(44, b"".join(frag6(44) for _ in range(9)) + frag6(6) + tcp(48000, 443, SYN)), "ipv6-extension-chain-too-long")
bad("ipv6-ah-repeated", e6(51, b"".join(bytes([51, 1]) + bytes(10) for _ in range(9)) + bytes([6, 1]) + bytes(10) + tcp(48000, 443, SYN)), "ipv6-extension-chain-too-long")
bad("ipv6-hop-by-hop-twice", e6(0, ext(0) + ext(6) + tcp(48000, 443, SYN)), "ipv6-hop-by-hop-not-first")
bad("ipv6-hop-by-hop-after-routing", e6(43, ext(60) + ext(0) + ext(6) + tcp(48000, 443, SYN)), "ipv6-hop-by-hop-not-first")
bad("ipv6-hop-by-hop-length-255", e6(0, bytes([6, 255]) + bytes(6)), "truncated-ipv6-extension")
bad("ipv6-ah-length-255", e6(51, bytes([6, 255]) + bytes(10)), "truncated-ipv6-extension")
bad("ipv6-extension-4-bytes", e6(60, bytes([6, 0, 0, 0])), "truncated-ipv6-extension")
bad("ipv6-fragment-header-4-bytes", e6(44, frag6(6)[:4]), "truncated-ipv6-extension")
bad("ipv6-jumbogram-payload-length-0", e6(0, bytes([6, 0, 0xC2, 4, 0, 1, 0, 0]) + syn80, plen=0), "truncated-ipv6-extension")
eight = ext(43) + b"".join(ext(60) for _ in range(6)) + ext(6)
good("ipv6-exactly-8-extensions", e6(0, eight + tcp(48001, 443, SYN)), "allow-web-out")

# Fragments (default policy: drop). Overlaps, duplicates and tiny later pieces are all counted as
# fragments; a first fragment too short for its transport header (RFC 1858's tiny fragment) and
# a fragment ending past 65535 bytes (the ping of death) are malformed.
MF = 0x2000
for n, ident in enumerate((100, 101)):
    first = tcp(48100 + n, 80, SYN) + bytes(16)
    bad("ipv4-first-fragment", e4(6, first, frag=MF, ident=ident), "fragment")
    bad("ipv4-fragment-overlapping-tcp-ports", e4(6, struct.pack("!HH", 48100 + n, 22) + bytes(12), frag=MF | 1, ident=ident), "fragment")
    bad("ipv4-fragment-duplicate-offset-0", e4(6, first, frag=MF, ident=ident), "fragment")
    bad("ipv4-fragment-1-byte", e4(6, b"\x00", frag=3, ident=ident), "fragment")
    bad("ipv4-fragment-empty", e4(6, b"", frag=4, ident=ident), "fragment")
for n in (0, 1, 8, 19):
    bad("ipv4-tiny-first-tcp-fragment-%d" % n, e4(6, syn80[:n], frag=MF, ident=200 + n), "bad-fragment")
bad("ipv4-tiny-first-udp-fragment", e4(17, udp(48000, 53)[:4], frag=MF, ident=210), "bad-fragment")
bad("ipv4-tiny-first-icmp-fragment", e4(1, icmp(8)[:4], frag=MF, ident=211), "bad-fragment")
bad("ipv4-first-fragment-bad-data-offset", e4(6, tcp(48000, 80, SYN, doff=15), frag=MF, ident=212), "bad-fragment")
bad("ipv4-ping-of-death", e4(1, bytes(100), frag=8189, ident=213), "bad-fragment")
bad("ipv4-fragment-ending-at-65536", e4(6, bytes(24), frag=(65512 // 8), ident=214), "bad-fragment")
bad("ipv4-last-fragment-ending-at-65535", e4(6, bytes(23), frag=(65512 // 8), ident=215), "fragment")
bad("ipv6-first-fragment", e6(44, frag6(6, 0, True, 300) + tcp(48200, 443, SYN) + bytes(16)), "fragment")
bad("ipv6-later-fragment-overlapping", e6(44, frag6(6, 1, True, 300) + bytes(16)), "fragment")
bad("ipv6-tiny-first-fragment", e6(44, frag6(6, 0, True, 301) + syn80[:8]), "bad-fragment")
bad("ipv6-tiny-first-udp-fragment", e6(44, frag6(17, 0, True, 302) + udp(1, 53)[:6]), "bad-fragment")
bad("ipv6-later-fragment-max-offset", e6(44, frag6(6, 8191, False, 303) + bytes(8)), "fragment")
good("ipv6-atomic-fragment", e6(44, frag6(6, 0, False, 304) + tcp(48201, 443, SYN)), "allow-web-out")

# Jumbo and largest frames: well formed ones pass by their rule; inconsistent ones do not.
good("jumbo-9000-tcp", e4(6, tcp(48300, 80, SYN, bytes(9000 - 40))), "allow-web-out")
good("jumbo-9000-udp", e4(17, udp(48301, 53, bytes(9000 - 28))), "allow-dns")
good("largest-ipv4-packet", e4(6, tcp(48302, 443, SYN, bytes(65535 - 40))), "allow-web-out")
good("largest-ipv6-payload", e6(6, tcp(48303, 443, SYN, bytes(65535 - 20))), "allow-web-out")
good("jumbo-frame-short-ipv4-total", e4(6, tcp(48304, 80, SYN)) + bytes(8960), "allow-web-out")
bad("jumbo-ipv4-total-past-frame", e4(6, tcp(48305, 80, SYN, bytes(8960)), total=9500), "ipv4-total-length-beyond-frame")
bad("jumbo-udp-length-past-datagram", e4(17, udp(48306, 53, bytes(8972), length=9100)), "bad-udp-length")

# Random garbage: noise with the deciding bytes forced.
rng = random.Random(7)
def noise(n): return bytes(rng.getrandbits(8) for _ in range(n))
for i in range(20):
    bad("garbage-short", noise(rng.randrange(14)), "truncated-ethernet")
for i in range(20):
    etype = rng.choice([t for t in range(0x0600, 0x10000, 0x97) if t not in (0x0800, 0x86DD, 0x0806, 0x8100, 0x88A8, 0x9100)])
    bad("garbage-ethertype", noise(12) + struct.pack("!H", etype) + noise(rng.randrange(60, 300)), "non-ip")
for i in range(20):
    b = bytearray(noise(rng.randrange(20, 300)))
    b[0] = (rng.choice([0, 1, 2, 3, 5, 6, 7, 9, 15]) << 4) | (b[0] & 0xF)
    bad("garbage-ipv4-version", eth(0x0800, bytes(b)), "bad-ipv4-version")
for i in range(20):
    b = bytearray(noise(rng.randrange(20, 300)))
    b[0] = 0x40 | rng.randrange(5)
    bad("garbage-ipv4-ihl", eth(0x0800, bytes(b)), "bad-ipv4-ihl")
for i in range(20):
    b = bytearray(noise(rng.randrange(20, 300)))
    b[0] = 0x45
    b[2:4] = struct.pack("!H", rng.randrange(len(b) + 1, 65536))
    bad("garbage-ipv4-total-length", eth(0x0800, bytes(b)), "ipv4-total-length-beyond-frame")
for i in range(20):
    b = bytearray(noise(rng.randrange(40, 300)))
    b[0] = (b[0] & 0x0F) | (rng.choice([0, 4, 5, 7, 15]) << 4)
    bad("garbage-ipv6-version", eth(0x86DD, bytes(b)), "bad-ipv6-version")
for i in range(20):
    b = bytearray(noise(rng.randrange(40, 300)))
    b[0] = 0x60 | (b[0] & 0x0F)
    b[4:6] = struct.pack("!H", rng.randrange(len(b) - 40 + 1, 65536))
    bad("garbage-ipv6-payload-length", eth(0x86DD, bytes(b)), "ipv6-payload-beyond-frame")

# Other link types: raw IP and Linux cooked captures of cut headers.
for n in (0, 1, 19):
    add("malformed-rawip", "raw-ipv4-%d-bytes" % n, ipv4(6, syn80)[:n] if n else b"", "truncated-ipv4-header", dlt=101)
add("malformed-rawip", "raw-ipv6-30-bytes", ipv6(6, syn80)[:30], "truncated-ipv6-header", dlt=101)
add("malformed-rawip", "raw-ipv4-ihl-2", ipv4(6, syn80, ihl=2), "bad-ipv4-ihl", dlt=101)
add("malformed-rawip", "raw-ipv4-web", ipv4(6, tcp(48400, 80, SYN)), verdict="accept", by="rule", rule="allow-web-out", dlt=101)
for n in (0, 15):
    add("malformed-sll", "sll-%d-bytes" % n, bytes(n), "truncated-linux-cooked-header", dlt=113)
add("malformed-sll", "sll-ipv4-cut", bytes.fromhex("00040001000602000000000a00000800") + ipv4(6, syn80)[:12], "truncated-ipv4-header", dlt=113)

# BSD loopback: DLT_NULL (the address family in the capturing machine's byte order, so both are
# read) and DLT_LOOP (network byte order). 2 is IPv4; 24, 28, 30 are IPv6; others are not IP.
def af(family, order="<"): return struct.pack(order + "I", family)
for n in range(4):
    add("malformed-null", "null-%d-bytes" % n, af(2)[:n], "truncated-loopback-header", dlt=0)
add("malformed-null", "null-le-ipv4-cut", af(2) + ipv4(6, syn80)[:12], "truncated-ipv4-header", dlt=0)
add("malformed-null", "null-be-ipv6-cut", af(30, ">") + ipv6(6, syn80)[:30], "truncated-ipv6-header", dlt=0)
add("malformed-null", "null-family-7", af(7) + ipv4(6, syn80), "non-ip", dlt=0)
add("malformed-null", "null-le-web", af(2) + ipv4(6, tcp(48401, 80, SYN)),
    verdict="accept", by="rule", rule="allow-web-out", dlt=0)
add("malformed-null", "null-be-web", af(2, ">") + ipv4(6, tcp(48402, 80, SYN)),
    verdict="accept", by="rule", rule="allow-web-out", dlt=0)
for n in (0, 3):
    add("malformed-loop", "loop-%d-bytes" % n, af(2, ">")[:n], "truncated-loopback-header", dlt=108)
add("malformed-loop", "loop-little-endian-family", af(2) + ipv4(6, syn80), "non-ip", dlt=108)
add("malformed-loop", "loop-ipv6-tcp-cut", af(24, ">") + ipv6(6, syn80[:10]), "truncated-tcp-header", dlt=108)
add("malformed-loop", "loop-web", af(2, ">") + ipv4(6, tcp(48403, 80, SYN)),
    verdict="accept", by="rule", rule="allow-web-out", dlt=108)

outdir = sys.argv[1] if len(sys.argv) > 1 else sys.exit("usage: make-malformed-corpus.py OUTDIR")
os.makedirs(outdir, exist_ok=True)
total = 0
for name, (dlt, items) in sorted(captures.items()):
    # Snaplen 262144 so the largest frames are kept whole.
    frames.write_pcap_ns(os.path.join(outdir, name + ".pcap"), [fr for fr, _ in items], 1_780_000_000, 1_000_000,
                         snaplen=262144, linktype=dlt)
    with open(os.path.join(outdir, name + ".expected.jsonl"), "w") as f:
        for i, (_, e) in enumerate(items):
            f.write(json.dumps(dict(index=i, **e)) + "\n")
    total += len(items)
print("wrote %d frames in %d captures to %s" % (total, len(captures), outdir))
