/// The ICMP messages a router sends (RFC 1812 4.3, RFC 4443): errors about a packet it could not
/// forward, from its own address on the port the packet came in on, and echo replies to pings
/// of its addresses. Errors quote the packet (IPv4: up to 548 bytes, IPv6: up to a 1280-byte
/// message) and are never sent about ICMP errors, non-first fragments, or group addresses.
public enum RouterICMP {
    public enum Error: UInt8, Sendable, CaseIterable {
        /// TTL or hop limit exhausted in transit.
        case timeExceeded
        /// No route (IPv4 net unreachable, IPv6 no route to destination).
        case netUnreachable
        /// The next hop or destination did not answer resolution (host / address unreachable).
        case hostUnreachable
        /// Larger than the egress MTU and may not be fragmented (IPv4 DF: fragmentation needed;
        /// IPv6: packet too big), with the MTU in the message.
        case tooBig

        /// ICMP type and code for the family.
        public func typeCode(v6: Bool) -> (UInt8, UInt8) {
            switch (self, v6) {
            case (.timeExceeded, false): (11, 0)
            case (.timeExceeded, true): (3, 0)
            case (.netUnreachable, false): (3, 0)
            case (.netUnreachable, true): (1, 0)
            case (.hostUnreachable, false): (3, 1)
            case (.hostUnreachable, true): (1, 3)
            case (.tooBig, false): (3, 4)
            case (.tooBig, true): (2, 0)
            }
        }
    }

    /// Largest message written: Ethernet, two tags, IPv6 and a 1280-byte ICMPv6 message.
    public static let maxLength = 14 + 8 + 1280

    /// Whether an error may be sent about this packet at all.
    public static func mayAnswer(_ m: PacketMeta) -> Bool {
        guard m.ipVersion != 0, m.fragment != .later, !RejectReply.isGroupAddress(m) else { return false }
        if m.hasICMP && ICMPKind.isError(type: m.icmpType, v6: m.isV6) { return false }
        if m.hasICMP && m.isV6 && ICMPKind.isNeighbourDiscovery(type: m.icmpType) { return false }
        return true
    }

    /// Writes `error` about `frame` into `out`, from `source` (our address on the ingress port,
    /// the packet's family) and `ourMAC`, back to the frame's sender with its VLAN tags; `mtu`
    /// goes into a too-big message. Returns the length, or 0 when no error is due.
    public static func writeError(
        _ error: Error, about frame: UnsafeRawBufferPointer, meta m: PacketMeta, source: IPAddress, ourMAC: UInt64,
        mtu: Int, into out: UnsafeMutableRawPointer, capacity: Int
    ) -> Int {
        guard mayAnswer(m), capacity >= maxLength, let src = frame.baseAddress else { return 0 }
        guard let l3 = replyLinkHeader(src, m, ourMAC: ourMAC, into: out) else { return 0 }
        let w = FrameWriter(out, capacity: capacity)
        let inL3 = Int(m.l3Offset)
        let ipLength = m.isV6 ? 40 + Int(src.be16(inL3 + 4)) : Int(src.be16(inL3 + 2))
        let quote = max(0, min(ipLength, frame.count - inL3, m.isV6 ? 1280 - 48 : 548))
        let l4 = l3 + (m.isV6 ? 40 : 20)
        (out + l4 + 8).copyMemory(from: src + inL3, byteCount: quote)
        let (type, code) = error.typeCode(v6: m.isV6)
        let boundedMTU = UInt32(clamping: max(0, mtu))
        let rest: UInt32 = error == .tooBig ? (m.isV6 ? boundedMTU : boundedMTU & 0xFFFF) : 0
        if m.isV6 {
            _ = w.ipv6(at: l3, src: source, dst: m.src, next: IPProto.icmpv6, payload: 8 + quote)
        } else {
            _ = w.ipv4(at: l3, src: source.v4, dst: m.src.v4, proto: IPProto.icmp, payload: 8 + quote)
        }
        w.icmp(at: l4, type: type, code: code, rest: rest, length: 8 + quote, l3: l3, v6: m.isV6)
        return l4 + 8 + quote
    }

    /// The echo reply to an echo request for one of our addresses: same identifier, sequence
    /// and data, addresses swapped. Returns the length, or 0 when the request is malformed or
    /// too large for `capacity`.
    public static func writeEchoReply(
        to frame: UnsafeRawBufferPointer, meta m: PacketMeta, ourMAC: UInt64, into out: UnsafeMutableRawPointer,
        capacity: Int
    ) -> Int {
        guard m.hasICMP, m.fragment == .none, let src = frame.baseAddress,
            m.icmpType == (m.isV6 ? 128 : 8), !RejectReply.isGroupAddress(m)
        else { return 0 }
        let inL3 = Int(m.l3Offset), inL4 = Int(m.l4Offset)
        let ipEnd = m.isV6 ? inL3 + 40 + Int(src.be16(inL3 + 4)) : inL3 + Int(src.be16(inL3 + 2))
        let message = ipEnd - inL4
        guard message >= 8, ipEnd <= frame.count, let l3 = replyLinkHeader(src, m, ourMAC: ourMAC, into: out),
            l3 + (m.isV6 ? 40 : 20) + message <= capacity
        else { return 0 }
        let w = FrameWriter(out, capacity: capacity)
        let l4 = l3 + (m.isV6 ? 40 : 20)
        (out + l4).copyMemory(from: src + inL4, byteCount: message)
        if m.isV6 {
            _ = w.ipv6(at: l3, src: m.dst, dst: m.src, next: IPProto.icmpv6, payload: message)
        } else {
            _ = w.ipv4(at: l3, src: m.dst.v4, dst: m.src.v4, proto: IPProto.icmp, payload: message)
        }
        w.icmp(at: l4, type: m.isV6 ? 129 : 0, code: 0, rest: src.be32(inL4 + 4), length: message, l3: l3, v6: m.isV6)
        return l4 + message
    }

    /// Copies the frame's link header with the sender as destination and us as source; the
    /// offset of the IP header, or nil when the frame is not Ethernet framed.
    static func replyLinkHeader(
        _ src: UnsafeRawPointer, _ m: PacketMeta, ourMAC: UInt64, into out: UnsafeMutableRawPointer
    ) -> Int? {
        let l3 = Int(m.l3Offset)
        guard l3 >= 14, l3 <= 22, src.be16(l3 - 2) == (m.isV6 ? 0x86DD : 0x0800) else { return nil }
        out.copyMemory(from: src, byteCount: l3)
        HopRewrite.setMACs(out, destination: HopRewrite.mac(src, at: 6), source: ourMAC)
        return l3
    }
}

/// A token bucket: `rate` messages a second on average, bursts of up to `burst` (Linux's
/// icmp_ratelimit is 1000 ms / 1 s... here the rate is configured; the clock is the caller's).
public struct TokenBucket: Sendable {
    public let ratePerSecond: UInt64
    public let burst: UInt64
    private var tokens: UInt64
    private var last: UInt64

    public init(ratePerSecond: UInt64, burst: UInt64, now: UInt64 = 0) {
        self.ratePerSecond = ratePerSecond
        self.burst = max(1, burst)
        tokens = self.burst
        last = now
    }

    /// Takes one token if there is one.
    public mutating func take(now: UInt64) -> Bool {
        if now > last, ratePerSecond > 0 {
            let elapsed = now &- last
            let earned = elapsed / (1_000_000_000 / min(ratePerSecond, 1_000_000_000))
            if earned > 0 {
                tokens = min(burst, tokens &+ earned)
                last = now
            }
        }
        guard tokens > 0 else { return false }
        tokens -= 1
        return true
    }
}
