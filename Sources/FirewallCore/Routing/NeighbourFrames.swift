/// ARP (RFC 826) and IPv6 neighbour discovery (RFC 4861) messages a routed port reads and
/// writes: requests for our addresses are answered, requests of ours resolve next hops, and a
/// port announces itself when it comes up (gratuitous ARP, unsolicited NA). Frames are written
/// untagged, at least 60 bytes (the Ethernet minimum without the FCS).
public enum NeighbourFrames {
    public static let broadcastMAC: UInt64 = 0xFFFF_FFFF_FFFF
    /// Room for the largest message written here.
    public static let maxLength = 86

    /// An ARP message for IPv4 over Ethernet, read from a frame.
    public struct ARP: Equatable, Sendable {
        public var isRequest: Bool
        public var senderMAC: UInt64
        public var senderIP: UInt32
        public var targetMAC: UInt64
        public var targetIP: UInt32

        public init(isRequest: Bool, senderMAC: UInt64, senderIP: UInt32, targetMAC: UInt64, targetIP: UInt32) {
            self.isRequest = isRequest
            self.senderMAC = senderMAC
            self.senderIP = senderIP
            self.targetMAC = targetMAC
            self.targetIP = targetIP
        }
    }

    /// The ARP message at `offset` (after the Ethernet header and tags), or nil when it is not
    /// an Ethernet/IPv4 request or reply.
    public static func arp(_ frame: UnsafeRawBufferPointer, at offset: Int) -> ARP? {
        guard offset >= 0, frame.count >= offset + 28, let p = frame.baseAddress else { return nil }
        guard p.be16(offset) == 1, p.be16(offset + 2) == 0x0800, p.u8(offset + 4) == 6, p.u8(offset + 5) == 4
        else { return nil }
        let op = p.be16(offset + 6)
        guard op == 1 || op == 2 else { return nil }
        return ARP(
            isRequest: op == 1, senderMAC: HopRewrite.mac(p, at: offset + 8), senderIP: p.be32(offset + 14),
            targetMAC: HopRewrite.mac(p, at: offset + 18), targetIP: p.be32(offset + 24))
    }

    /// An ARP request or reply; returns the frame length (60).
    public static func writeARP(
        into out: UnsafeMutableRawPointer, isRequest: Bool, ethernetDestination: UInt64, senderMAC: UInt64,
        senderIP: UInt32, targetMAC: UInt64, targetIP: UInt32
    ) -> Int {
        let w = FrameWriter(out, capacity: maxLength)
        out.initializeMemory(as: UInt8.self, repeating: 0, count: 60)
        HopRewrite.setMACs(out, destination: ethernetDestination, source: senderMAC)
        w.put16(12, 0x0806)
        w.put16(14, 1)
        w.put16(16, 0x0800)
        w.put8(18, 6)
        w.put8(19, 4)
        w.put16(20, isRequest ? 1 : 2)
        putMAC(out, 22, senderMAC)
        w.put32(28, senderIP)
        putMAC(out, 32, targetMAC)
        w.put32(38, targetIP)
        return 60
    }

    /// A neighbour solicitation or advertisement, read from an ICMPv6 message.
    public struct Discovery: Equatable, Sendable {
        public var isSolicitation: Bool
        public var target: IPAddress
        /// The source (NS) or target (NA) link-layer address option, 0 when absent.
        public var linkAddress: UInt64
        /// NA flags: solicited (a reply to a solicitation) and override.
        public var solicited: Bool
        public var override: Bool

        public init(isSolicitation: Bool, target: IPAddress, linkAddress: UInt64, solicited: Bool, override: Bool) {
            self.isSolicitation = isSolicitation
            self.target = target
            self.linkAddress = linkAddress
            self.solicited = solicited
            self.override = override
        }
    }

    /// The NS or NA whose ICMPv6 header is at `l4` of an IPv6 packet at `l3`, or nil when it is
    /// not one a node may accept (RFC 4861 7.1: hop limit 255, code 0, length, options well formed).
    public static func discovery(_ frame: UnsafeRawBufferPointer, l3: Int, l4: Int) -> Discovery? {
        guard let p = frame.baseAddress, l3 >= 0, l4 >= l3 + 40, frame.count >= l4 + 24 else { return nil }
        let type = p.u8(l4)
        guard type == 135 || type == 136, p.u8(l4 + 1) == 0, p.u8(l3 + 7) == 255 else { return nil }
        let end = min(frame.count, l3 + 40 + Int(p.be16(l3 + 4)))
        guard end >= l4 + 24 else { return nil }
        let target = IPAddress(hi: p.be64(l4 + 8), lo: p.be64(l4 + 16))
        var link: UInt64 = 0
        var o = l4 + 24
        while o + 2 <= end {
            let kind = p.u8(o), units = Int(p.u8(o + 1))
            guard units > 0, o + units * 8 <= end else { return nil }
            if (kind == 1 && type == 135) || (kind == 2 && type == 136), units == 1 {
                link = HopRewrite.mac(p, at: o + 2)
            }
            o += units * 8
        }
        let flags = p.u8(l4 + 4)
        return Discovery(
            isSolicitation: type == 135, target: target, linkAddress: link, solicited: flags & 0x40 != 0,
            override: flags & 0x20 != 0)
    }

    /// A neighbour solicitation for `target` from `source` (ours on the port): to the target's
    /// solicited-node group, or unicast to `knownMAC` when probing a known neighbour (0: group).
    public static func writeSolicitation(
        into out: UnsafeMutableRawPointer, ourMAC: UInt64, source: IPAddress, target: IPAddress, knownMAC: UInt64
    ) -> Int {
        let group = IPAddress(hi: 0xFF02_0000_0000_0000, lo: 0x0000_0001_FF00_0000 | (target.lo & 0xFF_FFFF))
        let destination = knownMAC == 0 ? group : target
        let ethernet = knownMAC == 0 ? 0x3333_FF00_0000 | (target.lo & 0xFF_FFFF) : knownMAC
        return writeDiscovery(
            into: out, type: 135, flags: 0, ethernetDestination: ethernet, ourMAC: ourMAC, source: source,
            destination: destination, target: target, option: 1)
    }

    /// A neighbour advertisement for `target` (ours): solicited, to the asker, or unsolicited, to
    /// all nodes (ff02::1) when `to` is nil. Override set: the address is ours alone.
    public static func writeAdvertisement(
        into out: UnsafeMutableRawPointer, ourMAC: UInt64, target: IPAddress, to: (ip: IPAddress, mac: UInt64)?
    ) -> Int {
        let allNodes = IPAddress(hi: 0xFF02_0000_0000_0000, lo: 1)
        return writeDiscovery(
            into: out, type: 136, flags: to == nil ? 0xA0 : 0xE0, ethernetDestination: to?.mac ?? 0x3333_0000_0001,
            ourMAC: ourMAC, source: target, destination: to?.ip ?? allNodes, target: target, option: 2)
    }

    static func writeDiscovery(
        into out: UnsafeMutableRawPointer, type: UInt8, flags: UInt8, ethernetDestination: UInt64, ourMAC: UInt64,
        source: IPAddress, destination: IPAddress, target: IPAddress, option: UInt8
    ) -> Int {
        let w = FrameWriter(out, capacity: maxLength)
        HopRewrite.setMACs(out, destination: ethernetDestination, source: ourMAC)
        w.put16(12, 0x86DD)
        let l4 = w.ipv6(at: 14, src: source, dst: destination, next: IPProto.icmpv6, payload: 32, hopLimit: 255)
        w.put8(l4, type)
        w.put8(l4 + 1, 0)
        w.put16(l4 + 2, 0)
        w.put32(l4 + 4, UInt32(flags) << 24)
        w.put64(l4 + 8, target.hi)
        w.put64(l4 + 16, target.lo)
        w.put8(l4 + 24, option)
        w.put8(l4 + 25, 1)
        putMAC(out, l4 + 26, ourMAC)
        w.put16(l4 + 2, w.transportChecksum(l3: 14, l4: l4, length: 32, proto: IPProto.icmpv6, v6: true))
        return l4 + 32
    }

    @inline(__always) static func putMAC(_ out: UnsafeMutableRawPointer, _ offset: Int, _ mac: UInt64) {
        for k in 0..<6 {
            out.storeBytes(
                of: UInt8(truncatingIfNeeded: mac >> (40 - 8 * UInt64(k))), toByteOffset: offset + k, as: UInt8.self)
        }
    }
}
