import FirewallCore

/// An IPv4 route resolved to a neighbour, with all the fast path needs to send by it: one compare
/// of the looked-up route index (and, for a connected route, the destination) replaces the
/// loads of the route, its next hop's neighbour entry and the egress port's facts.
struct V4Hop {
    /// The route's index in the table; -1: nothing resolved.
    var route: Int32 = -1
    /// When the neighbour's answer runs out (`NeighbourAnswer.holdsUntil`): bursts from then on
    /// resolve again.
    var validUntil: UInt64 = 0
    var viaGateway = false
    /// For a connected route, the destination (its own next hop) the MAC belongs to.
    var destination: UInt32 = 0
    /// Bytes 0-11 of the rewritten frame (next hop's MAC, then the egress port's) as they lie in
    /// memory: two stores.
    var macWords: (UInt64, UInt32) = (0, 0)
    var egress = 0
    var mtu = 0

    init() {}

    init(
        route index: Int32, facts route: Router.RouteFacts, destination: IPAddress, mac: UInt64,
        _ egress: Router.PortFacts, validUntil: UInt64
    ) {
        self.route = index
        self.validUntil = validUntil
        viaGateway = route.hasNextHop
        self.destination = destination.v4
        var bytes: (UInt64, UInt32) = (0, 0)
        withUnsafeMutableBytes(of: &bytes) { HopRewrite.setMACs($0.baseAddress!, destination: mac, source: egress.mac) }
        macWords = bytes
        self.egress = Int(route.port)
        mtu = egress.mtu
    }
}

/// The fast path's working set for one burst, held in locals: the rewrite stores through raw
/// pointers, after which the router's own fields (its cached hop, the lookup's tables, the send
/// list's count) would have to be loaded again, packet after packet. The router's `forward`
/// makes one at the start of a burst, hands its count back (`save`) before anything else runs
/// and makes a new one after. A lane sends by one hop, so into one list: the other port's, or,
/// when the hop leaves by the port the burst came in on, the hairpin list.
struct V4Lane {
    let hop: V4Hop
    let lookup: RouteTable.V4Lookup
    let own: UnsafeMutablePointer<UInt32>
    let ownCount: Int
    /// Bit `a & 63` set for each of our IPv4 addresses `a`: most packets need no scan of `own`.
    let ownLowBits: UInt64
    let hairpins: Bool
    let sends: UnsafeMutablePointer<Int32>
    var sendCount: Int
    /// Bytes 0-5 of a frame sent to us, read as the low 48 bits of a little-endian word.
    let ingressMACWord: UInt64
    /// The last destination found on `hop`'s route (above 32 bits: none yet).
    var routedDestination = UInt64.max

    @inline(__always)
    init(_ router: Router, ingress: UInt8) {
        hop = router.v4Hop
        lookup = router.table.v4Lookup
        own = router.ownV4
        ownCount = router.ownV4Count
        ownLowBits = router.ownV4LowBits
        hairpins = hop.egress == Int(ingress)
        sends = hairpins ? router.hairpin.accepted : router.toOther.accepted
        sendCount = hairpins ? router.hairpin.acceptedCount : router.toOther.acceptedCount
        ingressMACWord = (router.facts[Int(ingress)].mac << 16).bigEndian
    }

    @inline(__always)
    func save(to router: Router) {
        if hairpins { router.hairpin.acceptedCount = sendCount } else { router.toOther.acceptedCount = sendCount }
    }

    /// The common case in a few loads and stores, as l3fwd does it: an accepted frame to our MAC,
    /// untagged IPv4 with a 20-byte header, neither to nor from one of our addresses, TTL above 1,
    /// on the route resolved last, of a size its egress MTU takes. Anything else returns false
    /// untouched and the router's full path decides it (the same answer for these packets: this
    /// path only skips what it knows it need not do again).
    @inline(__always)
    mutating func forward(_ burst: FrameBurst, index i: Int) -> Bool {
        guard hop.route >= 0, let frame = burst.frames[i], burst.lengths[i] >= 34,
            burst.verdicts[i].action == .accept
        else { return false }
        // Destination MAC ours; EtherType IPv4 (bytes 12-13), version 4 with 5 header words (14).
        guard frame.loadUnaligned(as: UInt64.self) & 0xFFFF_FFFF_FFFF == ingressMACWord,
            frame.loadUnaligned(fromByteOffset: 12, as: UInt32.self) & 0xFF_FFFF == 0x45_0008,
            frame.u8(22) > 1
        else { return false }
        let destination = frame.be32(30), source = frame.be32(26)
        if ownLowBits & (1 &<< (destination & 63) | 1 &<< (source & 63)) != 0 && isOurs(destination, source) {
            return false
        }
        if UInt64(destination) != routedDestination {
            guard lookup.lookup(destination) == hop.route, hop.viaGateway || destination == hop.destination else {
                return false
            }
            routedDestination = UInt64(destination)
        }
        guard Int(frame.be16(16)) <= hop.mtu else { return false }
        let base = UnsafeMutableRawPointer(mutating: frame)
        HopRewrite.decrementTTL(base, l3: 14)
        base.storeBytes(of: hop.macWords.0, as: UInt64.self)
        base.storeBytes(of: hop.macWords.1, toByteOffset: 8, as: UInt32.self)
        sends[sendCount] = Int32(truncatingIfNeeded: i)
        sendCount &+= 1
        return true
    }

    /// Whether either address is one of ours (the rare case the low-bit filter lets through).
    @inline(never)
    func isOurs(_ destination: UInt32, _ source: UInt32) -> Bool {
        var k = 0
        while k < ownCount {
            if own[k] == destination || own[k] == source { return true }
            k &+= 1
        }
        return false
    }
}
