#!/usr/bin/env python3
"""Writes captures/sample.pcap and captures/sample.expected.jsonl.

The capture is the demo and the golden test of `vfwall replay` with configs/default.yaml: a few
hundred frames of allowed and blocked TCP, UDP, ICMP, IPv6, VLAN-tagged, ARP and malformed
traffic. Each frame is written together with the verdict the policy must give it, stated here
by hand from the scenario (not copied from vfwall's output), so the test checks vfwall against
an independent expectation.

Addresses are documentation ranges (RFC 5737, RFC 3849); nothing here is ever sent anywhere.
Usage: scripts/make-sample-capture.py [OUTDIR]   (default: captures/)
"""
import json, os, struct, sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import frames
from frames import ip4, ip6, tcp, udp, icmp, FIN, SYN, RST, PSH, ACK

CLIENT_MAC = bytes.fromhex("02000000000a")   # a host on the inside port
ROUTER_MAC = bytes.fromhex("0200000000fe")   # the next hop on the outside port
C4, C4B = "10.0.0.10", "10.0.0.11"
S4, DNS4, SSH_OK, SSH_BAD = "192.0.2.80", "192.0.2.53", "198.51.100.7", "203.0.113.9"
C6, S6 = "2001:db8:1::10", "2001:db8:2::443"

def eth(src, dst, etype, payload, vlans=()): return frames.ethernet(dst, src, etype, payload, vlans)
def ipv4(src, dst, proto, payload, **kw): return frames.ipv4(src, dst, proto, payload, **kw)
def ipv6(src, dst, nh, payload, plen=None): return frames.ipv6(src, dst, nh, payload, plen)

captured, expected = [], []

def add(frame, verdict, by, rule=None, reason=None):
    captured.append(frame)
    expected.append({"verdict": verdict, "decided_by": by, "rule": rule, "reason": reason})

def out4(src, dst, proto, payload, **kw):   # inside -> outside
    return eth(CLIENT_MAC, ROUTER_MAC, 0x0800, ipv4(src, dst, proto, payload, **kw))
def in4(src, dst, proto, payload, **kw):    # outside -> inside
    return eth(ROUTER_MAC, CLIENT_MAC, 0x0800, ipv4(src, dst, proto, payload, **kw))
def out6(src, dst, nh, payload):
    return eth(CLIENT_MAC, ROUTER_MAC, 0x86DD, ipv6(src, dst, nh, payload))
def in6(src, dst, nh, payload):
    return eth(ROUTER_MAC, CLIENT_MAC, 0x86DD, ipv6(src, dst, nh, payload))

def ct(verdict="accept"): return dict(verdict=verdict, by="conntrack")

# 1. Web: 24 full HTTP/HTTPS conversations from the inside, return traffic only through conntrack.
for n in range(24):
    sp, dp = 40000 + n, (80 if n % 2 == 0 else 443)
    add(out4(C4, S4, 6, tcp(sp, dp, SYN)), "accept", "rule", "allow-web-out")
    add(in4(S4, C4, 6, tcp(dp, sp, SYN | ACK)), "accept", "conntrack")
    add(out4(C4, S4, 6, tcp(sp, dp, ACK)), "accept", "conntrack")
    add(out4(C4, S4, 6, tcp(sp, dp, PSH | ACK, b"GET / HTTP/1.1\r\n\r\n")), "accept", "conntrack")
    add(in4(S4, C4, 6, tcp(dp, sp, PSH | ACK, b"HTTP/1.1 200 OK\r\n\r\n")), "accept", "conntrack")
    add(out4(C4, S4, 6, tcp(sp, dp, FIN | ACK)), "accept", "conntrack")
    add(in4(S4, C4, 6, tcp(dp, sp, FIN | ACK)), "accept", "conntrack")
    add(out4(C4, S4, 6, tcp(sp, dp, ACK)), "accept", "conntrack")

# 2. Blocked TCP: outbound to 8080, inbound to the client's port 80, a mid-stream ACK with no flow.
for n in range(10):
    add(out4(C4B, S4, 6, tcp(41000 + n, 8080, SYN)), "drop", "default")
    add(in4(SSH_BAD, C4, 6, tcp(42000 + n, 80, SYN)), "drop", "default")
    add(out4(C4, S4, 6, tcp(43000 + n, 80, ACK)), "drop", "setting", reason="invalid-state")
    add(in4(S4, C4, 6, tcp(80, 43000 + n, SYN | ACK)), "drop", "setting", reason="invalid-state")

# 3. Telnet is rejected (TCP RST in the model), SSH inbound only from the admin range.
for n in range(6):
    add(out4(C4, S4, 6, tcp(44000 + n, 23, SYN)), "reject", "rule", "reject-telnet")
    add(in4(SSH_OK, "10.0.0.22", 6, tcp(45000 + n, 22, SYN)), "accept", "rule", "allow-ssh-in")
    add(out4("10.0.0.22", SSH_OK, 6, tcp(22, 45000 + n, SYN | ACK)), "accept", "conntrack")
    add(in4(SSH_OK, "10.0.0.22", 6, tcp(45000 + n, 22, ACK)), "accept", "conntrack")
    add(in4(SSH_BAD, "10.0.0.22", 6, tcp(46000 + n, 22, SYN)), "drop", "rule", "drop-other-ssh")

# 4. DNS over UDP with replies; UDP to a blocked port; an ICMP port-unreachable about a DNS flow
#    (related), and one about a flow nobody opened (invalid).
for n in range(16):
    sp = 50000 + n
    add(out4(C4, DNS4, 17, udp(sp, 53, b"\x12\x34query")), "accept", "rule", "allow-dns")
    add(in4(DNS4, C4, 17, udp(53, sp, b"\x12\x34answer")), "accept", "conntrack")
    add(out4(C4, DNS4, 17, udp(sp + 1000, 5000, b"x")), "drop", "default")
for n in range(4):
    sp = 50000 + n
    quoted = ipv4(C4, DNS4, 17, udp(sp, 53, b"\x12\x34query"))[:28]
    add(in4(DNS4, C4, 1, icmp(3, 3, data=quoted)), "accept", "conntrack")
    stray = ipv4(C4, DNS4, 17, udp(59999 - n, 53))[:28]
    add(in4(DNS4, C4, 1, icmp(3, 3, data=stray)), "drop", "setting", reason="invalid-state")

# 5. Ping out and its replies; an echo reply nobody asked for.
for n in range(12):
    rest = struct.pack("!HH", 0x100 + n, 1)
    add(out4(C4, S4, 1, icmp(8, 0, rest, b"ping")), "accept", "rule", "allow-ping-out")
    add(in4(S4, C4, 1, icmp(0, 0, rest, b"ping")), "accept", "conntrack")
    add(in4(SSH_BAD, C4, 1, icmp(0, 0, struct.pack("!HH", 0x900 + n, 1))), "drop", "setting", reason="invalid-state")
    add(in4(SSH_BAD, C4, 1, icmp(8, 0, struct.pack("!HH", 0xA00 + n, 1))), "drop", "default")

# 6. IPv6: HTTPS out with replies, ping6, neighbour discovery, and a blocked inbound port.
for n in range(8):
    sp = 47000 + n
    add(out6(C6, S6, 6, tcp(sp, 443, SYN)), "accept", "rule", "allow-web-out")
    add(in6(S6, C6, 6, tcp(443, sp, SYN | ACK)), "accept", "conntrack")
    add(out6(C6, S6, 6, tcp(sp, 443, ACK)), "accept", "conntrack")
    add(in6(S6, C6, 6, tcp(1000 + n, 25, SYN)), "drop", "default")
    rest = struct.pack("!HH", 0x200 + n, 1)
    add(out6(C6, S6, 58, icmp(128, 0, rest)), "accept", "rule", "allow-ping6-out")
    add(in6(S6, C6, 58, icmp(129, 0, rest)), "accept", "conntrack")
    add(out6("fe80::a", "ff02::1:ff00:1", 58, icmp(135, 0, b"\0\0\0\0", ip6("fe80::1"))), "accept", "rule", "allow-link-local-icmpv6")

# 7. VLANs: SNMP on the management VLAN 100 passes, on VLAN 200 it does not; QinQ (802.1ad outer
#    100) passes on the outer tag; three tags are refused.
for n in range(6):
    snmp = ipv4("10.0.100.5", "10.0.100.1", 17, udp(30000 + n, 161, b"snmp"))
    add(eth(CLIENT_MAC, ROUTER_MAC, 0x0800, snmp, vlans=[(0x8100, 100)]), "accept", "rule", "allow-mgmt-vlan-snmp")
    add(eth(CLIENT_MAC, ROUTER_MAC, 0x0800, snmp, vlans=[(0x8100, 200)]), "drop", "default")
    add(eth(CLIENT_MAC, ROUTER_MAC, 0x0800, snmp, vlans=[(0x88A8, 100), (0x8100, 7)]), "accept", "rule", "allow-mgmt-vlan-snmp")
    add(eth(CLIENT_MAC, ROUTER_MAC, 0x0800, snmp, vlans=[(0x88A8, 100), (0x8100, 7), (0x8100, 8)]), "drop", "setting", reason="too-many-vlan-tags")

# 8. ARP passes (a transparent firewall needs it); LLDP and other non-IP frames do not.
for n in range(8):
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, CLIENT_MAC, ip4(C4), b"\0" * 6, ip4("10.0.0.%d" % (1 + n)))
    add(eth(CLIENT_MAC, b"\xff" * 6, 0x0806, arp + b"\0" * 18), "accept", "setting", reason="arp")
for n in range(4):
    add(eth(CLIENT_MAC, bytes.fromhex("0180c200000e"), 0x88CC, b"\x02\x07\x04" + bytes(40)), "drop", "setting", reason="non-ip")

# 9. Malformed frames: each refused under its reason, none crashes anything.
synpkt = tcp(48000, 80, SYN)
bad = [
    (CLIENT_MAC + ROUTER_MAC[:4], "truncated-ethernet"),
    (eth(CLIENT_MAC, ROUTER_MAC, 0x0800, ipv4(C4, S4, 6, synpkt, ihl=3)), "bad-ipv4-ihl"),
    (eth(CLIENT_MAC, ROUTER_MAC, 0x0800, ipv4(C4, S4, 6, synpkt, total=1400)), "ipv4-total-length-beyond-frame"),
    (eth(CLIENT_MAC, ROUTER_MAC, 0x0800, ipv4(C4, S4, 6, synpkt, total=12)), "ipv4-total-length-below-header"),
    (eth(CLIENT_MAC, ROUTER_MAC, 0x0800, ipv4(C4, S4, 6, synpkt)[:16]), "truncated-ipv4-header"),
    (eth(CLIENT_MAC, ROUTER_MAC, 0x0800, ipv4(C4, S4, 6, synpkt, version=5)), "bad-ipv4-version"),
    (eth(CLIENT_MAC, ROUTER_MAC, 0x0800, ipv4(C4, S4, 6, synpkt[:12])), "truncated-tcp-header"),
    (eth(CLIENT_MAC, ROUTER_MAC, 0x0800, ipv4(C4, S4, 6, tcp(48000, 80, SYN, data_offset=15))), "bad-tcp-data-offset"),
    (eth(CLIENT_MAC, ROUTER_MAC, 0x0800, ipv4(C4, DNS4, 17, udp(48000, 53, b"q", length=0))), "bad-udp-length"),
    (eth(CLIENT_MAC, ROUTER_MAC, 0x0800, ipv4(C4, DNS4, 17, udp(48000, 53)[:5])), "truncated-udp-header"),
    (eth(CLIENT_MAC, ROUTER_MAC, 0x0800, ipv4(C4, S4, 1, b"\x08\x00")), "truncated-icmp-header"),
    (eth(CLIENT_MAC, ROUTER_MAC, 0x8100, b"\x00"), "truncated-vlan-tag"),
    (eth(CLIENT_MAC, ROUTER_MAC, 0x0806, b"\x00\x01\x08\x00"), "truncated-arp"),
    (eth(CLIENT_MAC, ROUTER_MAC, 0x86DD, ipv6(C6, S6, 6, synpkt)[:30]), "truncated-ipv6-header"),
    (eth(CLIENT_MAC, ROUTER_MAC, 0x86DD, ipv6(C6, S6, 6, synpkt, plen=900)), "ipv6-payload-beyond-frame"),
    (eth(CLIENT_MAC, ROUTER_MAC, 0x86DD, ipv6(C6, S6, 60, b"".join(bytes([60, 0]) + bytes(6) for _ in range(9)) + bytes([6, 0]) + bytes(6) + synpkt)), "ipv6-extension-chain-too-long"),
    (eth(CLIENT_MAC, ROUTER_MAC, 0x86DD, ipv6(C6, S6, 60, bytes([6, 4]) + bytes(6))), "truncated-ipv6-extension"),
    (eth(CLIENT_MAC, ROUTER_MAC, 0x86DD, ipv6(C6, S6, 60, bytes([0, 0]) + bytes(6) + bytes([6, 0]) + bytes(6) + synpkt)), "ipv6-hop-by-hop-not-first"),
]
for frame, reason in bad:
    add(frame, "drop", "setting", reason=reason)
# Fragments never bypass the rules: both halves of a fragmented allowed-looking packet are dropped.
for n in range(3):
    add(out4(C4, S4, 6, tcp(48100 + n, 80, SYN) + bytes(40), frag=0x2000, ident=77 + n), "drop", "setting", reason="fragment")
    add(out4(C4, S4, 6, bytes(24), frag=8, ident=77 + n), "drop", "setting", reason="fragment")

outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "captures")
# Nanosecond pcap, Ethernet, one frame a millisecond.
frames.write_pcap_ns(os.path.join(outdir, "sample.pcap"), captured, 1_780_000_000, 1_000_000)
with open(os.path.join(outdir, "sample.expected.jsonl"), "w") as f:
    for i, e in enumerate(expected):
        f.write(json.dumps(dict(index=i, **e)) + "\n")
print("wrote %d frames to %s" % (len(captured), os.path.join(outdir, "sample.pcap")))
