/// Builds the answer to a rejected packet: a TCP RST for TCP, an ICMP (or ICMPv6) destination
/// unreachable for the rest, sent back out of the port the packet came in on. The reply swaps the
/// MAC addresses and keeps the VLAN tags, so it reaches the sender on a transparent link.
public enum RejectReply {
    /// Largest reply: Ethernet + two tags + IPv6 + ICMPv6 + quoted packet (RFC 4443's minimum MTU).
    public static let maxLength = 14 + 8 + 1280

    /// Writes the reply to `frame` (whose parsed metadata is `m`) into `out` and returns its
    /// length, or 0 when no reply is due (ICMP errors are never answered, nor TCP RSTs, nor
    /// packets to broadcast or multicast addresses).
    public static func build(
        for frame: UnsafeRawBufferPointer, meta m: PacketMeta, into out: UnsafeMutableRawPointer, capacity: Int
    ) -> Int {
        guard m.ipVersion != 0, let src = frame.baseAddress, capacity >= maxLength else { return 0 }
        if m.proto == IPProto.tcp && (!m.hasL4 || m.tcpFlags & TCPFlag.rst != 0) { return 0 }
        if m.hasICMP && !ICMPKind.isEcho(type: m.icmpType, v6: m.isV6) && ICMPKind.isError(type: m.icmpType, v6: m.isV6)
        {
            return 0
        }
        if m.hasICMP && m.isV6 && ICMPKind.isNeighbourDiscovery(type: m.icmpType) { return 0 }
        if isGroupAddress(m) { return 0 }
        let l3 = Int(m.l3Offset)
        // Link layer: swapped MACs, same tags and ethertype (raw IP and cooked captures: none).
        let w = FrameWriter(out, capacity: capacity)
        var o = 0
        if l3 >= 14 && src.be16(l3 - 2) == (m.isV6 ? 0x86DD : 0x0800) && l3 <= 22 {
            out.copyMemory(from: src, byteCount: l3)
            out.copyMemory(from: src + 6, byteCount: 6)
            (out + 6).copyMemory(from: src, byteCount: 6)
            o = l3
        } else {
            return 0  // not Ethernet framing: nothing to send a reply on
        }
        if m.proto == IPProto.tcp { return tcpReset(w, src, m, l3: o) }
        return unreachable(w, src, frame.count, m, l3: o)
    }

    static func tcpReset(_ w: FrameWriter, _ src: UnsafeRawPointer, _ m: PacketMeta, l3: Int) -> Int {
        let l4in = Int(m.l4Offset)
        let seq = src.be32(l4in + 4), ack = src.be32(l4in + 8)
        // RFC 793: answer an ACK with a RST at its ack number; otherwise RST|ACK acknowledging
        // everything the segment occupied (SYN and FIN count one each).
        let hasAck = m.tcpFlags & TCPFlag.ack != 0
        let segLen =
            UInt32(tcpPayload(src, m))
            + (m.tcpFlags & TCPFlag.syn != 0 ? 1 : 0) + (m.tcpFlags & TCPFlag.fin != 0 ? 1 : 0)
        let flags = hasAck ? TCPFlag.rst : (TCPFlag.rst | TCPFlag.ack)
        let l4 =
            m.isV6
            ? w.ipv6(at: l3, src: m.dst, dst: m.src, next: IPProto.tcp, payload: 20)
            : w.ipv4(at: l3, src: m.dst.v4, dst: m.src.v4, proto: IPProto.tcp, payload: 20)
        w.tcp(
            at: l4, sport: m.dport, dport: m.sport, seq: hasAck ? ack : 0, ack: hasAck ? 0 : seq &+ segLen,
            flags: flags, window: 0, payload: 0, l3: l3, v6: m.isV6)
        return l4 + 20
    }

    static func unreachable(_ w: FrameWriter, _ src: UnsafeRawPointer, _ frameLength: Int, _ m: PacketMeta, l3: Int)
        -> Int
    {
        let inL3 = Int(m.l3Offset)
        let ipLength = m.isV6 ? 40 + Int(src.be16(inL3 + 4)) : Int(src.be16(inL3 + 2))
        let available = min(ipLength, frameLength - inL3)
        // Quote what fits: IPv4 the header and 8 bytes (RFC 792) — we quote up to 548 to help
        // path diagnosis as RFC 1812 allows; IPv6 as much as fits in 1280 bytes (RFC 4443).
        let quote = min(available, m.isV6 ? 1280 - 48 : 548)
        let l4 = l3 + (m.isV6 ? 40 : 20)
        (w.base + l4 + 8).copyMemory(from: src + inL3, byteCount: quote)
        let portUnreachable = m.proto == IPProto.udp
        if m.isV6 {
            _ = w.ipv6(at: l3, src: m.dst, dst: m.src, next: IPProto.icmpv6, payload: 8 + quote)
            w.icmp(at: l4, type: 1, code: portUnreachable ? 4 : 1, rest: 0, length: 8 + quote, l3: l3, v6: true)
        } else {
            _ = w.ipv4(at: l3, src: m.dst.v4, dst: m.src.v4, proto: IPProto.icmp, payload: 8 + quote)
            w.icmp(at: l4, type: 3, code: portUnreachable ? 3 : 13, rest: 0, length: 8 + quote, l3: l3, v6: false)
        }
        return l4 + 8 + quote
    }

    static func tcpPayload(_ src: UnsafeRawPointer, _ m: PacketMeta) -> Int {
        let l3 = Int(m.l3Offset), l4 = Int(m.l4Offset)
        let ipEnd = m.isV6 ? l3 + 40 + Int(src.be16(l3 + 4)) : l3 + Int(src.be16(l3 + 2))
        return max(0, ipEnd - l4 - Int(src.u8(l4 + 12) >> 4) * 4)
    }

    static func isGroupAddress(_ m: PacketMeta) -> Bool {
        if m.isV6 { return m.dst.hi >> 56 == 0xFF || m.src.hi >> 56 == 0xFF }
        let d = m.dst.v4, s = m.src.v4
        return d >> 28 == 0xE || d == 0xFFFF_FFFF || s >> 28 == 0xE || s == 0 || s == 0xFFFF_FFFF
    }
}
