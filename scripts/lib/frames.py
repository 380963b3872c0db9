"""Frames and capture files for the scripts that write captures and seeds: Ethernet with VLAN
tags, IPv4 and IPv6, TCP, UDP and ICMP, the Internet checksum, and classic pcap headers and
records. Headers are built field by field with no validation, so callers can also build the
broken frames the malformed corpus and the fuzz seeds need (wrong lengths, versions, checksums).

    import os, sys; sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
    import frames
"""
import struct

FIN, SYN, RST, PSH, ACK = 1, 2, 4, 8, 16
ETH_IPV4, ETH_IPV6, ETH_ARP = 0x0800, 0x86DD, 0x0806
PCAP_MICROSECONDS, PCAP_NANOSECONDS = 0xA1B2C3D4, 0xA1B23C4D


def ip4(address):
    """'192.0.2.1' as 4 bytes (bytes pass through)."""
    if isinstance(address, bytes):
        return address
    return bytes(int(x) for x in address.split("."))


def ip6(address):
    """'2001:db8::1' as 16 bytes (bytes pass through)."""
    if isinstance(address, bytes):
        return address
    head, _, tail = address.partition("::")
    h = [int(x, 16) for x in head.split(":") if x]
    t = [int(x, 16) for x in tail.split(":") if x]
    return struct.pack("!8H", *(h + [0] * (8 - len(h) - len(t)) + t))


def checksum(data):
    """The Internet checksum (RFC 1071) of data, padded to an even length."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ethernet(dst, src, ethertype, payload, vlans=()):
    """dst, src, then a (tpid, tci) tag for each of vlans, the ethertype and the payload."""
    tags = b"".join(struct.pack("!HH", tpid, tci) for tpid, tci in vlans)
    return dst + src + tags + struct.pack("!H", ethertype) + payload


def ipv4(src, dst, proto, payload, ihl=5, total=None, ident=1, frag=0, version=4, ttl=64, with_checksum=True):
    """An IPv4 header (options of 0x01 bytes when ihl > 5) and payload; total is the length field."""
    opts = b"\x01" * ((ihl - 5) * 4) if ihl > 5 else b""
    length = total if total is not None else 20 + len(opts) + len(payload)
    h = struct.pack("!BBHHHBBH4s4s", (version << 4) | (ihl & 0xF), 0, length & 0xFFFF, ident, frag, ttl, proto, 0,
                    ip4(src), ip4(dst)) + opts
    if with_checksum:
        h = h[:10] + struct.pack("!H", checksum(h)) + h[12:]
    return h + payload


def ipv6(src, dst, next_header, payload, payload_length=None, version=6, hop_limit=64):
    """An IPv6 header and payload; payload_length is the length field (default: the payload's)."""
    length = len(payload) if payload_length is None else payload_length
    return struct.pack("!IHBB16s16s", version << 28, length, next_header, hop_limit, ip6(src), ip6(dst)) + payload


def tcp(sport, dport, flags, data=b"", seq=1000, ack=0, data_offset=5, window=65535):
    """A TCP header (checksum 0) and data."""
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, data_offset << 4, flags, window, 0, 0) + data


def udp(sport, dport, data=b"", length=None):
    """A UDP header (checksum 0) and data; length is the length field (default: the datagram's)."""
    return struct.pack("!HHHH", sport, dport, 8 + len(data) if length is None else length, 0) + data


def icmp(icmp_type, code=0, rest=b"\0\0\0\0", data=b"", with_checksum=True):
    """An ICMP (or ICMPv6, checksum off) message: type, code, checksum, the rest of the header, data."""
    b = struct.pack("!BBH", icmp_type, code, 0) + rest + data
    return b[:2] + struct.pack("!H", checksum(b)) + b[4:] if with_checksum else b


def pcap_header(snaplen=65535, linktype=1, magic=PCAP_MICROSECONDS, order="<", version=(2, 4)):
    """The 24-byte classic pcap file header."""
    return struct.pack(order + "IHHiIII", magic, version[0], version[1], 0, 0, snaplen, linktype)


def pcap_record(seconds, fraction, data, caplen=None, length=None, order="<"):
    """A record header (caplen and length default to the data's) and the data."""
    caplen = len(data) if caplen is None else caplen
    length = len(data) if length is None else length
    return struct.pack(order + "IIII", seconds, fraction, caplen, length) + data


def write_pcap_ns(path, frames, first_second, step_ns, snaplen=65535, linktype=1):
    """A nanosecond pcap of frames, the first at first_second, one every step_ns nanoseconds."""
    with open(path, "wb") as f:
        f.write(pcap_header(snaplen, linktype, PCAP_NANOSECONDS))
        for i, frame in enumerate(frames):
            ts_ns = i * step_ns
            f.write(pcap_record(first_second + ts_ns // 10**9, ts_ns % 10**9, frame))


def read_pcap_frames(path, limit=None):
    """The frames of a little-endian classic pcap file (at most limit of them)."""
    data = open(path, "rb").read()
    frames, at = [], 24
    while at + 16 <= len(data) and (limit is None or len(frames) < limit):
        caplen = struct.unpack_from("<I", data, at + 8)[0]
        frames.append(data[at + 16:at + 16 + caplen])
        at += 16 + caplen
    return frames
