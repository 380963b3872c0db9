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
        let ip = EthernetHeader.length, l4 = ip + IPv4Header.minLength
        m = PacketMeta()
        m.l3Offset = Int32(ip)
        m.ipVersion = 4
        m.proto = p.u8(ip + IPv4Header.proto)
        m.src = IPAddress(v4: p.be32(ip + IPv4Header.source))
        m.dst = IPAddress(v4: p.be32(ip + IPv4Header.destination))
        m.l4Offset = Int32(l4)
        // TCP and UDP ports lie at the same offsets.
        m.sport = p.be16(l4 + TCPHeader.sourcePort)
        m.dport = p.be16(l4 + TCPHeader.destinationPort)
        m.hasPorts = true
        m.tcpFlags = UInt8(truncatingIfNeeded: flags)
        m.hasL4 = true
        return true
    }

    /// The flow key of a frame of the common shape (see `parseCommonIPv4`), without filling a
    /// `PacketMeta`: the pipeline's fast lane, for packets whose flow decides their verdict.
    /// Returns the TCP flags (0 for UDP), or -1 (the key untouched) for any other frame.
    @inlinable @inline(__always)
    public static func commonIPv4Key(_ p: UnsafeRawPointer, _ len: Int, into key: UnsafeMutablePointer<FlowKey>) -> Int
    {
        let flags = commonIPv4Shape(p, len)
        guard flags >= 0 else { return -1 }
        let ip = EthernetHeader.length, l4 = ip + IPv4Header.minLength
        key.pointee = FlowKey(
            v4Source: p.be32(ip + IPv4Header.source),
            destination: p.be32(ip + IPv4Header.destination),
            sport: p.be16(l4 + TCPHeader.sourcePort), dport: p.be16(l4 + TCPHeader.destinationPort),
            proto: p.u8(ip + IPv4Header.proto))
        return flags
    }

    /// The checks of the common shape: the TCP flags (0 for UDP) when `p` passes them all, -1
    /// otherwise. One copy, so the fast lane and the metadata it may fill later never disagree.
    @inlinable @inline(__always)
    static func commonIPv4Shape(_ p: UnsafeRawPointer, _ len: Int) -> Int {
        let ip = EthernetHeader.length, l4 = ip + IPv4Header.minLength
        // Version 4 with a 20-byte header (0x45), neither MF nor a fragment offset (DF may be set).
        // The length first: no byte is read before it is known to be in the frame.
        let fragmentBits = IPv4Header.moreFragments | IPv4Header.fragmentOffsetMask
        guard len >= l4 + UDPHeader.length, p.be16(EthernetHeader.etherType) == EtherType.ipv4,
            p.u8(ip + IPv4Header.versionIHL) == 0x45, p.be16(ip + IPv4Header.flagsFragment) & fragmentBits == 0
        else { return -1 }
        let total = Int(p.be16(ip + IPv4Header.totalLength))
        guard total >= IPv4Header.minLength, total &+ ip <= len else { return -1 }
        let avail = total &- IPv4Header.minLength
        let proto = p.u8(ip + IPv4Header.proto)
        if proto == IPProto.udp {
            let ulen = Int(p.be16(l4 + UDPHeader.lengthField))
            guard avail >= UDPHeader.length, ulen >= UDPHeader.length, ulen <= avail else { return -1 }
            return 0
        } else if proto == IPProto.tcp {
            guard avail >= TCPHeader.minLength else { return -1 }
            let dataOffset = Int(p.u8(l4 + TCPHeader.dataOffset) >> 4) &* 4
            guard dataOffset >= TCPHeader.minLength, dataOffset <= avail else { return -1 }
            return Int(p.u8(l4 + TCPHeader.flags))
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
            guard len >= EthernetHeader.length else { return .truncatedEthernet }
            etherType = p.be16(EthernetHeader.etherType)
            off = EthernetHeader.length
        case .linuxCooked:
            guard len >= CookedHeader.v1Length else { return .truncatedLinuxCooked }
            etherType = p.be16(CookedHeader.v1Protocol)
            off = CookedHeader.v1Length
        case .linuxCooked2:
            guard len >= CookedHeader.v2Length else { return .truncatedLinuxCooked }
            etherType = p.be16(CookedHeader.v2Protocol)
            off = CookedHeader.v2Length
        case .rawIP:
            // No link header: the IP version nibble tells the family.
            guard len >= 1 else { return .truncatedIPv4Header }
            etherType = (p.u8(0) >> 4) == 6 ? EtherType.ipv6 : EtherType.ipv4
            off = 0
        case .null, .loop:
            guard len >= CookedHeader.loopbackLength else { return .truncatedLoopback }
            etherType = loopbackEtherType(p.be32(0), anyOrder: link == .null)
            off = CookedHeader.loopbackLength
        }
        var tags = 0
        while EtherType.isVlanTag(etherType) {
            guard tags < maxVlanTags else { return .tooManyVlanTags }
            guard len >= off + VlanTag.length else { return .truncatedVlanTag }
            let vid = p.be16(off + VlanTag.tagControl) & VlanTag.idMask
            if tags == 0 { m.outerVlan = vid } else { m.innerVlan = vid }
            etherType = p.be16(off + VlanTag.etherType)
            off += VlanTag.length
            tags += 1
        }
        m.l3Offset = Int32(off)
        switch etherType {
        case EtherType.ipv4: return parseIPv4(p, off, len, &m)
        case EtherType.ipv6: return parseIPv6(p, off, len, &m)
        case EtherType.arp: return len >= off + ARPPacket.length ? .arp : .truncatedArp
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
        case 2: return EtherType.ipv4
        case 24, 28, 30: return EtherType.ipv6
        default: return 0
        }
    }

    @inlinable
    static func parseIPv4(_ p: UnsafeRawPointer, _ off: Int, _ len: Int, _ m: inout PacketMeta) -> Reason {
        guard len >= off + IPv4Header.minLength else { return .truncatedIPv4Header }
        let vihl = p.u8(off + IPv4Header.versionIHL)
        guard vihl >> 4 == 4 else { return .badIPv4Version }
        let ihl = Int(vihl & 0x0F) * 4
        guard ihl >= IPv4Header.minLength else { return .badIPv4HeaderLength }
        guard len >= off + ihl else { return .truncatedIPv4Header }
        let total = Int(p.be16(off + IPv4Header.totalLength))
        guard total >= ihl else { return .ipv4TotalLengthBelowHeader }
        guard off + total <= len else { return .ipv4TotalLengthBeyondFrame }
        m.ipVersion = 4
        m.proto = p.u8(off + IPv4Header.proto)
        m.src = IPAddress(v4: p.be32(off + IPv4Header.source))
        m.dst = IPAddress(v4: p.be32(off + IPv4Header.destination))
        let frag = p.be16(off + IPv4Header.flagsFragment)
        let fragOffset = Int(frag & IPv4Header.fragmentOffsetMask) * 8
        let more = frag & IPv4Header.moreFragments != 0
        if fragOffset != 0 || more {
            m.fragmentID = UInt32(p.be16(off + IPv4Header.identification))
            // A fragment whose end would pass 65535 bytes cannot be reassembled (the ping of death).
            guard fragOffset + total - ihl <= 65535 else { return .badFragment }
            if fragOffset != 0 {
                m.fragment = .later
                return .none
            }
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
        guard len >= off + IPv6Header.length else { return .truncatedIPv6Header }
        guard p.u8(off) >> 4 == 6 else { return .badIPv6Version }
        let end = off + IPv6Header.length + Int(p.be16(off + IPv6Header.payloadLength))
        guard end <= len else { return .ipv6PayloadBeyondFrame }
        m.ipVersion = 6
        let src = off + IPv6Header.source, dst = off + IPv6Header.destination
        m.src = IPAddress(hi: p.be64(src), lo: p.be64(src + 8))
        m.dst = IPAddress(hi: p.be64(dst), lo: p.be64(dst + 8))
        var nh = p.u8(off + IPv6Header.nextHeader)
        var cur = off + IPv6Header.length
        var count = 0
        while true {
            switch nh {
            case IPv6Extension.hopByHop, IPv6Extension.routing, IPv6Extension.destinationOptions,
                IPv6Extension.authentication, IPv6Extension.fragment:
                guard count < maxIPv6Extensions else { return .ipv6ExtensionChainTooLong }
                if nh == IPv6Extension.hopByHop && count != 0 { return .ipv6HopByHopNotFirst }
                guard end >= cur + IPv6Extension.minLength else { return .truncatedIPv6Extension }
                let next = p.u8(cur + IPv6Extension.nextHeader)
                let size: Int
                if nh == IPv6Extension.fragment {
                    size = IPv6Extension.minLength
                    let fo = p.be16(cur + IPv6Extension.fragmentOffsetFlags)
                    m.fragmentID = p.be32(cur + IPv6Extension.fragmentIdentification)
                    // The offset is the high 13 bits; the low bit is M (more fragments).
                    if fo & 0xFFF8 != 0 {
                        m.fragment = .later
                        m.proto = next
                        return .none
                    }
                    if fo & 1 != 0 { m.fragment = .first }
                } else if nh == IPv6Extension.authentication {
                    // AH counts its length in 4-byte words, minus 2 (RFC 4302).
                    size = (Int(p.u8(cur + IPv6Extension.length)) + 2) * 4
                } else {
                    size = (Int(p.u8(cur + IPv6Extension.length)) + 1) * 8
                }
                guard end >= cur + size else { return .truncatedIPv6Extension }
                cur += size
                nh = next
                count += 1
            default:
                m.proto = nh
                // ESP (50) and no-next-header (59) end the chain with nothing more to read.
                if nh == IPv6Extension.esp || nh == IPv6Extension.noNextHeader { return .none }
                let r = parseTransport(p, cur, end, nh, v6: true, &m)
                if r != .none && m.fragment == .first { return .badFragment }
                return r
            }
        }
    }

    @inlinable
    static func parseTransport(
        _ p: UnsafeRawPointer, _ l4: Int, _ end: Int, _ proto: UInt8, v6: Bool, _ m: inout PacketMeta
    ) -> Reason {
        m.l4Offset = Int32(l4)
        let avail = end - l4
        switch proto {
        case IPProto.tcp:
            guard avail >= TCPHeader.minLength else { return .truncatedTCPHeader }
            let dataOffset = Int(p.u8(l4 + TCPHeader.dataOffset) >> 4) * 4
            guard dataOffset >= TCPHeader.minLength, dataOffset <= avail else { return .badTCPDataOffset }
            readPorts(p, l4, &m)
            m.tcpFlags = p.u8(l4 + TCPHeader.flags)
        case IPProto.udp:
            guard avail >= UDPHeader.length else { return .truncatedUDPHeader }
            let ulen = Int(p.be16(l4 + UDPHeader.lengthField))
            guard ulen >= UDPHeader.length, ulen <= avail else { return .badUDPLength }
            readPorts(p, l4, &m)
        case IPProto.sctp:
            guard avail >= SCTPHeader.length else { return .truncatedSCTPHeader }
            readPorts(p, l4, &m)
        case IPProto.icmp where !v6:
            guard avail >= ICMPHeader.length else { return .truncatedICMPHeader }
            parseICMP(p, l4, end, v6: false, &m)
        case IPProto.icmpv6 where v6:
            guard avail >= ICMPHeader.length else { return .truncatedICMPv6Header }
            parseICMP(p, l4, end, v6: true, &m)
        default:
            return .none
        }
        m.hasL4 = true
        return .none
    }

    /// TCP, UDP and SCTP put the source and destination ports first, at the same offsets.
    @inlinable @inline(__always)
    static func readPorts(_ p: UnsafeRawPointer, _ l4: Int, _ m: inout PacketMeta) {
        m.sport = p.be16(l4 + TCPHeader.sourcePort)
        m.dport = p.be16(l4 + TCPHeader.destinationPort)
        m.hasPorts = true
    }

    /// ICMP and ICMPv6: type, code, echo identifier, and for errors the quoted connection.
    @inlinable
    static func parseICMP(_ p: UnsafeRawPointer, _ l4: Int, _ end: Int, v6: Bool, _ m: inout PacketMeta) {
        let type = p.u8(l4 + ICMPHeader.type)
        m.icmpType = type
        m.icmpCode = p.u8(l4 + ICMPHeader.code)
        m.hasICMP = true
        if ICMPKind.isEcho(type: type, v6: v6) {
            // The identifier stands in for both ports, so request and reply normalise to one flow.
            m.sport = p.be16(l4 + ICMPHeader.echoIdentifier)
            m.dport = m.sport
            return
        }
        guard ICMPKind.isError(type: type, v6: v6) else { return }
        let q = l4 + ICMPHeader.length
        if v6 {
            guard end >= q + IPv6Header.length, p.u8(q) >> 4 == 6 else { return }
            m.innerProto = p.u8(q + IPv6Header.nextHeader)
            let src = q + IPv6Header.source, dst = q + IPv6Header.destination
            m.innerSrc = IPAddress(hi: p.be64(src), lo: p.be64(src + 8))
            m.innerDst = IPAddress(hi: p.be64(dst), lo: p.be64(dst + 8))
            quotedPorts(p, q + IPv6Header.length, end, v6: true, &m)
        } else {
            guard end >= q + IPv4Header.minLength, p.u8(q + IPv4Header.versionIHL) >> 4 == 4 else { return }
            let ihl = Int(p.u8(q + IPv4Header.versionIHL) & 0x0F) * 4
            guard ihl >= IPv4Header.minLength, end >= q + ihl else { return }
            m.innerProto = p.u8(q + IPv4Header.proto)
            m.innerSrc = IPAddress(v4: p.be32(q + IPv4Header.source))
            m.innerDst = IPAddress(v4: p.be32(q + IPv4Header.destination))
            quotedPorts(p, q + ihl, end, v6: false, &m)
        }
    }

    /// The quoted transport header: ports, or the echo identifier. An error quoting an error is
    /// left without an inner connection (RFC 1122 forbids sending one; conntrack calls it invalid).
    @inlinable
    static func quotedPorts(_ p: UnsafeRawPointer, _ q: Int, _ end: Int, v6: Bool, _ m: inout PacketMeta) {
        // RFC 792 quotes at least 8 bytes of the transport header: enough for ports or an echo id.
        guard end >= q + 8 else { return }
        switch m.innerProto {
        case IPProto.tcp, IPProto.udp, IPProto.sctp:
            m.innerSport = p.be16(q + TCPHeader.sourcePort)
            m.innerDport = p.be16(q + TCPHeader.destinationPort)
        case IPProto.icmp where !v6, IPProto.icmpv6 where v6:
            let t = p.u8(q + ICMPHeader.type)
            guard ICMPKind.isEcho(type: t, v6: v6) else { return }
            m.innerSport = p.be16(q + ICMPHeader.echoIdentifier)
            m.innerDport = m.innerSport
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
