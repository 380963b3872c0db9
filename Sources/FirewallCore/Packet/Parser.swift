/// Parses one frame into a `PacketMeta`. Every read is preceded by a bounds check against the
/// frame (or the IP packet's own length, whichever is shorter), so no input reads past the end.
///
/// Returns `.none` for an IP packet whose headers were understood, `.arp` or `.nonIP` for other
/// traffic, or the reason a malformed frame was refused.
public enum Parser {
    /// Longest IPv6 extension chain accepted before the frame is refused (RFC 8504 leaves the
    /// limit to the node; Linux walks at most this many in nf_conntrack).
    public static let maxIPv6Extensions = 8
    /// At most this many VLAN tags (802.1ad outer + 802.1Q inner).
    public static let maxVlanTags = 2

    @inlinable @inline(__always)
    public static func parse(_ frame: UnsafeRawBufferPointer, link: LinkType, into m: inout PacketMeta) -> Reason {
        if link == .ethernet, let p = frame.baseAddress, parseCommonIPv4(p, frame.count, &m) { return .none }
        return parseAny(frame, link: link, into: &m)
    }

    /// The bulk of traffic: untagged Ethernet, IPv4 without options and not fragmented, and a
    /// sound TCP or UDP header. The same checks as the general path, in a fraction of its steps
    /// (no overflow checks: every offset here is below 64 KiB). Everything else (and anything
    /// that fails a check, so that the general path names the reason) returns false untouched.
    @inlinable @inline(__always)
    static func parseCommonIPv4(_ p: UnsafeRawPointer, _ len: Int, _ m: inout PacketMeta) -> Bool {
        let flags = commonIPv4Shape(p, len)
        guard flags >= 0 else { return false }
        m = PacketMeta()
        m.l3Offset = 14
        m.ipVersion = 4
        m.proto = p.u8(23)
        m.src = IPAddress(v4: p.be32(26))
        m.dst = IPAddress(v4: p.be32(30))
        m.l4Offset = 34
        m.sport = p.be16(34)
        m.dport = p.be16(36)
        m.hasPorts = true
        m.tcpFlags = UInt8(truncatingIfNeeded: flags)
        m.hasL4 = true
        return true
    }

    /// The flow key of a frame of the common shape (see `parseCommonIPv4`), without filling a
    /// `PacketMeta`: the pipeline's fast lane, for packets whose flow decides their verdict.
    /// Returns the TCP flags (0 for UDP), or -1 (the key untouched) for any other frame.
    @inlinable @inline(__always)
    public static func commonIPv4Key(_ p: UnsafeRawPointer, _ len: Int, into key: UnsafeMutablePointer<FlowKey>) -> Int {
        let flags = commonIPv4Shape(p, len)
        guard flags >= 0 else { return -1 }
        key.pointee = FlowKey(v4Source: p.be32(26), destination: p.be32(30), sport: p.be16(34), dport: p.be16(36), proto: p.u8(23))
        return flags
    }

    /// The checks of the common shape: the TCP flags (0 for UDP) when `p` passes them all, -1
    /// otherwise. One copy, so the fast lane and the metadata it may fill later never disagree.
    @inlinable @inline(__always)
    static func commonIPv4Shape(_ p: UnsafeRawPointer, _ len: Int) -> Int {
        guard len >= 42, p.be16(12) == 0x0800, p.u8(14) == 0x45, p.be16(20) & 0x3FFF == 0 else { return -1 }
        let total = Int(p.be16(16))
        guard total >= 20, total &+ 14 <= len else { return -1 }
        let avail = total &- 20
        let proto = p.u8(23)
        if proto == IPProto.udp {
            let ulen = Int(p.be16(38))
            guard avail >= 8, ulen >= 8, ulen <= avail else { return -1 }
            return 0
        } else if proto == IPProto.tcp {
            guard avail >= 20 else { return -1 }
            let dataOffset = Int(p.u8(46) >> 4) &* 4
            guard dataOffset >= 20, dataOffset <= avail else { return -1 }
            return Int(p.u8(47))
        }
        return -1
    }

    /// The general parser: every link type, VLAN tags, IPv4 options and fragments, IPv6 and its
    /// extension chain, ICMP. `parse` gives it whatever `parseCommonIPv4` does not take.
    @inlinable @inline(never)
    public static func parseAny(_ frame: UnsafeRawBufferPointer, link: LinkType, into m: inout PacketMeta) -> Reason {
        m = PacketMeta()
        // An empty buffer may have no address: refuse it under the reason its link type's short frames get.
        guard let p = frame.baseAddress else {
            switch link {
            case .ethernet: return .truncatedEthernet
            case .linuxCooked, .linuxCooked2: return .truncatedLinuxCooked
            case .rawIP: return .truncatedIPv4Header
            case .null, .loop: return .truncatedLoopback
            }
        }
        let len = frame.count
        var off: Int
        var etherType: UInt16
        switch link {
        case .ethernet:
            guard len >= 14 else { return .truncatedEthernet }
            etherType = p.be16(12); off = 14
        case .linuxCooked:
            guard len >= 16 else { return .truncatedLinuxCooked }
            etherType = p.be16(14); off = 16
        case .linuxCooked2:
            guard len >= 20 else { return .truncatedLinuxCooked }
            etherType = p.be16(0); off = 20
        case .rawIP:
            guard len >= 1 else { return .truncatedIPv4Header }
            etherType = (p.u8(0) >> 4) == 6 ? 0x86DD : 0x0800; off = 0
        case .null, .loop:
            guard len >= 4 else { return .truncatedLoopback }
            etherType = loopbackEtherType(p.be32(0), anyOrder: link == .null); off = 4
        }
        var tags = 0
        while etherType == 0x8100 || etherType == 0x88A8 || etherType == 0x9100 {
            guard tags < maxVlanTags else { return .tooManyVlanTags }
            guard len >= off + 4 else { return .truncatedVlanTag }
            let vid = p.be16(off) & 0x0FFF
            if tags == 0 { m.outerVlan = vid } else { m.innerVlan = vid }
            etherType = p.be16(off + 2); off += 4; tags += 1
        }
        m.l3Offset = Int32(off)
        switch etherType {
        case 0x0800: return parseIPv4(p, off, len, &m)
        case 0x86DD: return parseIPv6(p, off, len, &m)
        case 0x0806: return len >= off + 28 ? .arp : .truncatedArp
        default: return .nonIP
        }
    }

    /// The EtherType a BSD loopback header's address family stands for: 2 is IPv4; 24, 28 and 30
    /// are IPv6 (NetBSD/OpenBSD, FreeBSD, macOS); anything else is not IP (0). DLT_NULL writes
    /// the family in the capturing machine's byte order: a value that is not a family read one way
    /// (they are all below 65536) is read the other way.
    @inlinable
    static func loopbackEtherType(_ raw: UInt32, anyOrder: Bool) -> UInt16 {
        let family = anyOrder && raw > 0xFFFF ? raw.byteSwapped : raw
        switch family {
        case 2: return 0x0800
        case 24, 28, 30: return 0x86DD
        default: return 0
        }
    }

    @inlinable
    static func parseIPv4(_ p: UnsafeRawPointer, _ off: Int, _ len: Int, _ m: inout PacketMeta) -> Reason {
        guard len >= off + 20 else { return .truncatedIPv4Header }
        let vihl = p.u8(off)
        guard vihl >> 4 == 4 else { return .badIPv4Version }
        let ihl = Int(vihl & 0x0F) * 4
        guard ihl >= 20 else { return .badIPv4HeaderLength }
        guard len >= off + ihl else { return .truncatedIPv4Header }
        let total = Int(p.be16(off + 2))
        guard total >= ihl else { return .ipv4TotalLengthBelowHeader }
        guard off + total <= len else { return .ipv4TotalLengthBeyondFrame }
        m.ipVersion = 4
        m.proto = p.u8(off + 9)
        m.src = IPAddress(v4: p.be32(off + 12))
        m.dst = IPAddress(v4: p.be32(off + 16))
        let frag = p.be16(off + 6)
        let fragOffset = Int(frag & 0x1FFF) * 8
        let more = frag & 0x2000 != 0
        if fragOffset != 0 || more {
            m.fragmentID = UInt32(p.be16(off + 4))
            // A fragment whose end would pass 65535 bytes cannot be reassembled (the ping of death).
            guard fragOffset + total - ihl <= 65535 else { return .badFragment }
            if fragOffset != 0 { m.fragment = .later; return .none }
            m.fragment = .first
        }
        let l4 = off + ihl
        let end = off + total
        let r = parseTransport(p, l4, end, m.proto, v6: false, &m)
        // A first fragment too short to hold its transport header is a tiny-fragment attack (RFC 1858).
        if r != .none && m.fragment == .first { return .badFragment }
        return r
    }

    @inlinable
    static func parseIPv6(_ p: UnsafeRawPointer, _ off: Int, _ len: Int, _ m: inout PacketMeta) -> Reason {
        guard len >= off + 40 else { return .truncatedIPv6Header }
        guard p.u8(off) >> 4 == 6 else { return .badIPv6Version }
        let end = off + 40 + Int(p.be16(off + 4))
        guard end <= len else { return .ipv6PayloadBeyondFrame }
        m.ipVersion = 6
        m.src = IPAddress(hi: p.be64(off + 8), lo: p.be64(off + 16))
        m.dst = IPAddress(hi: p.be64(off + 24), lo: p.be64(off + 32))
        var nh = p.u8(off + 6)
        var cur = off + 40
        var count = 0
        while true {
            switch nh {
            case 0, 43, 60, 51, 44:
                guard count < maxIPv6Extensions else { return .ipv6ExtensionChainTooLong }
                if nh == 0 && count != 0 { return .ipv6HopByHopNotFirst }
                guard end >= cur + 8 else { return .truncatedIPv6Extension }
                let next = p.u8(cur)
                let size: Int
                if nh == 44 {
                    size = 8
                    let fo = p.be16(cur + 2)
                    m.fragmentID = p.be32(cur + 4)
                    if fo & 0xFFF8 != 0 {
                        m.fragment = .later; m.proto = next; return .none
                    }
                    if fo & 1 != 0 { m.fragment = .first }
                } else if nh == 51 {
                    size = (Int(p.u8(cur + 1)) + 2) * 4
                } else {
                    size = (Int(p.u8(cur + 1)) + 1) * 8
                }
                guard end >= cur + size else { return .truncatedIPv6Extension }
                cur += size; nh = next; count += 1
            default:
                m.proto = nh
                // ESP (50) and no-next-header (59) end the chain with nothing more to read.
                if nh == 50 || nh == 59 { return .none }
                let r = parseTransport(p, cur, end, nh, v6: true, &m)
                if r != .none && m.fragment == .first { return .badFragment }
                return r
            }
        }
    }

    @inlinable
    static func parseTransport(_ p: UnsafeRawPointer, _ l4: Int, _ end: Int, _ proto: UInt8, v6: Bool, _ m: inout PacketMeta) -> Reason {
        m.l4Offset = Int32(l4)
        let avail = end - l4
        switch proto {
        case IPProto.tcp:
            guard avail >= 20 else { return .truncatedTCPHeader }
            let dataOffset = Int(p.u8(l4 + 12) >> 4) * 4
            guard dataOffset >= 20, dataOffset <= avail else { return .badTCPDataOffset }
            m.sport = p.be16(l4); m.dport = p.be16(l4 + 2); m.hasPorts = true
            m.tcpFlags = p.u8(l4 + 13)
        case IPProto.udp:
            guard avail >= 8 else { return .truncatedUDPHeader }
            let ulen = Int(p.be16(l4 + 4))
            guard ulen >= 8, ulen <= avail else { return .badUDPLength }
            m.sport = p.be16(l4); m.dport = p.be16(l4 + 2); m.hasPorts = true
        case IPProto.sctp:
            guard avail >= 12 else { return .truncatedSCTPHeader }
            m.sport = p.be16(l4); m.dport = p.be16(l4 + 2); m.hasPorts = true
        case IPProto.icmp where !v6:
            guard avail >= 8 else { return .truncatedICMPHeader }
            parseICMP(p, l4, end, v6: false, &m)
        case IPProto.icmpv6 where v6:
            guard avail >= 8 else { return .truncatedICMPv6Header }
            parseICMP(p, l4, end, v6: true, &m)
        default:
            return .none
        }
        m.hasL4 = true
        return .none
    }

    /// ICMP and ICMPv6: type, code, echo identifier, and for errors the quoted connection.
    @inlinable
    static func parseICMP(_ p: UnsafeRawPointer, _ l4: Int, _ end: Int, v6: Bool, _ m: inout PacketMeta) {
        let type = p.u8(l4)
        m.icmpType = type; m.icmpCode = p.u8(l4 + 1); m.hasICMP = true
        if ICMPKind.isEcho(type: type, v6: v6) {
            // The identifier stands in for both ports, so request and reply normalise to one flow.
            m.sport = p.be16(l4 + 4); m.dport = m.sport
            return
        }
        guard ICMPKind.isError(type: type, v6: v6) else { return }
        let q = l4 + 8
        if v6 {
            guard end >= q + 40, p.u8(q) >> 4 == 6 else { return }
            m.innerProto = p.u8(q + 6)
            m.innerSrc = IPAddress(hi: p.be64(q + 8), lo: p.be64(q + 16))
            m.innerDst = IPAddress(hi: p.be64(q + 24), lo: p.be64(q + 32))
            quotedPorts(p, q + 40, end, v6: true, &m)
        } else {
            guard end >= q + 20, p.u8(q) >> 4 == 4 else { return }
            let ihl = Int(p.u8(q) & 0x0F) * 4
            guard ihl >= 20, end >= q + ihl else { return }
            m.innerProto = p.u8(q + 9)
            m.innerSrc = IPAddress(v4: p.be32(q + 12))
            m.innerDst = IPAddress(v4: p.be32(q + 16))
            quotedPorts(p, q + ihl, end, v6: false, &m)
        }
    }

    /// The quoted transport header: ports, or the echo identifier. An error quoting an error is
    /// left without an inner connection (RFC 1122 forbids sending one; conntrack calls it invalid).
    @inlinable
    static func quotedPorts(_ p: UnsafeRawPointer, _ q: Int, _ end: Int, v6: Bool, _ m: inout PacketMeta) {
        guard end >= q + 8 else { return }
        switch m.innerProto {
        case IPProto.tcp, IPProto.udp, IPProto.sctp:
            m.innerSport = p.be16(q); m.innerDport = p.be16(q + 2)
        case IPProto.icmp where !v6, IPProto.icmpv6 where v6:
            let t = p.u8(q)
            guard ICMPKind.isEcho(type: t, v6: v6) else { return }
            m.innerSport = p.be16(q + 4); m.innerDport = m.innerSport
        default:
            break
        }
        m.hasInner = true
    }
}

/// ICMP type families the parser and connection tracking care about.
public enum ICMPKind {
    /// Echo request or reply (and their IPv6 counterparts).
    @inlinable public static func isEcho(type: UInt8, v6: Bool) -> Bool {
        v6 ? (type == 128 || type == 129) : (type == 8 || type == 0)
    }
    @inlinable public static func isEchoRequest(type: UInt8, v6: Bool) -> Bool { type == (v6 ? 128 : 8) }
    /// Errors that quote the packet that caused them.
    @inlinable public static func isError(type: UInt8, v6: Bool) -> Bool {
        v6 ? (type >= 1 && type <= 4) : (type == 3 || type == 4 || type == 5 || type == 11 || type == 12)
    }
    /// IPv6 neighbour discovery (router/neighbour solicitation and advertisement, redirect).
    @inlinable public static func isNeighbourDiscovery(type: UInt8) -> Bool { type >= 133 && type <= 137 }
}
