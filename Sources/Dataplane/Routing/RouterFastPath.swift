import FirewallCore

/// An IPv4 route this burst resolved, with all the fast path needs to send by it: one compare
/// of the looked-up route index (and, for a connected route, the destination) replaces the
/// loads of the route, its next hop's neighbour entry and the egress port's facts.
struct V4Hop {
    /// The route's index in the table; -1: nothing resolved in this burst.
    var route: Int32 = -1
    var viaGateway = false
    /// For a connected route, the destination (its own next hop) the MAC belongs to.
    var destination: UInt32 = 0
    var nextHopMAC: UInt64 = 0
    var egressMAC: UInt64 = 0
    var egress = 0
    var mtu = 0

    init() {}

    init(
        route index: Int32, facts route: Router.RouteFacts, destination: IPAddress, mac: UInt64,
        _ egress: Router.PortFacts
    ) {
        self.route = index
        viaGateway = route.hasNextHop
        self.destination = destination.v4
        nextHopMAC = mac
        egressMAC = egress.mac
        self.egress = Int(route.port)
        mtu = egress.mtu
    }
}

extension Router {
    /// The common case in a few loads and stores, as l3fwd does it: an untagged IPv4 packet with
    /// a 20-byte header, neither to nor from one of our addresses, TTL above 1, on the route this
    /// burst already resolved, of a size its egress MTU takes. Anything else returns false
    /// untouched and `route` decides it (the same answer for these packets: this path only skips
    /// what it knows it need not do again).
    @inline(__always)
    func forwardV4(_ base: UnsafeMutableRawPointer, length: Int, index i: Int, ingress: UInt8) -> Bool {
        guard v4Hop.route >= 0, length >= 34 else { return false }
        let header = UnsafeRawPointer(base)
        guard header.u8(14) == 0x45, header.u8(22) > 1 else { return false }
        let destination = header.be32(30), source = header.be32(26)
        var k = 0
        while k < ownV4Count {
            if ownV4[k] == destination || ownV4[k] == source { return false }
            k &+= 1
        }
        let hop = v4Hop
        guard table.lookup(v4: destination) == hop.route, hop.viaGateway || destination == hop.destination,
            Int(header.be16(16)) <= hop.mtu
        else { return false }
        HopRewrite.decrementTTL(base, l3: 14)
        HopRewrite.setMACs(base, destination: hop.nextHopMAC, source: hop.egressMAC)
        mark(i, egress: hop.egress, ingress: ingress)
        return true
    }
}
