/// One forwarding entry: packets to `prefix` leave by port `port`, to the gateway `nextHop`, or,
/// when `nextHop` is nil (a connected prefix), to the destination itself on that port's link.
public struct Route: Equatable, Sendable, CustomStringConvertible {
    public var prefix: IPPrefix
    public var nextHop: IPAddress?
    public var port: UInt8

    public init(prefix: IPPrefix, nextHop: IPAddress?, port: UInt8) {
        self.prefix = prefix
        self.nextHop = nextHop
        self.port = port
    }

    public var description: String {
        "\(prefix) " + (nextHop.map { "via \($0.text(v6: prefix.isV6))" } ?? "connected") + " port \(port)"
    }
}

/// Longest-prefix match over a route list, IPv4 and IPv6 apart; the first of two equal prefixes
/// wins. Built off the packet path; a lookup reads flat memory, allocates nothing and returns the
/// route's index in `routes` (-1: no route).
///
/// IPv4 (the DIR-16 idea of DPDK's rte_lpm, cut at 16 bits): for each /16 slot, the best route of
/// length 16 or less, plus the longer routes inside the slot, longest first; a lookup scans the
/// slot's few longer routes and falls back to the slot's best. 256 KiB for the slots whatever the
/// table holds. IPv6: one list, longest first, scanned (a firewall hop holds few IPv6 routes).
public final class RouteTable: @unchecked Sendable {
    public let routes: [Route]
    // Visible to inlined lookups (the router, in another module, inlines them per packet).
    @usableFromInline let slotBest: UnsafeMutablePointer<Int32>
    @usableFromInline let slotLonger: UnsafeMutablePointer<UInt32>
    @usableFromInline let longer: UnsafeMutablePointer<V4Entry>
    @usableFromInline let v6: UnsafeMutablePointer<V6Entry>
    @usableFromInline let v6Count: Int

    @usableFromInline struct V4Entry {
        @usableFromInline var network: UInt32
        @usableFromInline var mask: UInt32
        @usableFromInline var route: Int32
    }

    @usableFromInline struct V6Entry {
        @usableFromInline var hi: UInt64, lo: UInt64, maskHi: UInt64, maskLo: UInt64
        @usableFromInline var route: Int32
    }

    public init(_ routes: [Route]) {
        self.routes = routes
        // Longest first; among equals, the one listed first (a stable sort keeps list order).
        let order = routes.indices.sorted { a, b in
            routes[a].prefix.length != routes[b].prefix.length
                ? routes[a].prefix.length > routes[b].prefix.length : a < b
        }
        let v4Routes = order.filter { !routes[$0].prefix.isV6 }
        let v6Routes = order.filter { routes[$0].prefix.isV6 }

        slotBest = .allocate(capacity: 65536)
        slotBest.initialize(repeating: -1, count: 65536)
        // Shortest first, so a longer prefix overwrites the slots it covers.
        for i in v4Routes.reversed() where routes[i].prefix.length <= 16 {
            let p = routes[i].prefix
            let first = Int(p.address.v4 >> 16), count = 1 << (16 - Int(p.length))
            for s in first..<(first + count) { slotBest[s] = Int32(i) }
        }
        let long = v4Routes.filter { routes[$0].prefix.length > 16 }
        var bySlot = [[Int32]](repeating: [], count: 65536)
        for i in long { bySlot[Int(routes[i].prefix.address.v4 >> 16)].append(Int32(i)) }
        slotLonger = .allocate(capacity: 65537)
        longer = .allocate(capacity: max(1, long.count))
        var n = 0
        for s in 0..<65536 {
            slotLonger[s] = UInt32(n)
            for i in bySlot[s] {
                let p = routes[Int(i)].prefix
                let mask = UInt32(
                    truncatingIfNeeded: IPPrefix.mask(IPAddress(v4: .max), length: p.length, v6: false).lo)
                longer[n] = V4Entry(network: p.address.v4, mask: mask, route: i)
                n += 1
            }
        }
        slotLonger[65536] = UInt32(n)

        v6Count = v6Routes.count
        v6 = .allocate(capacity: max(1, v6Routes.count))
        let all = IPAddress(hi: .max, lo: .max)
        for (k, i) in v6Routes.enumerated() {
            let p = routes[i].prefix
            let m = IPPrefix.mask(all, length: p.length, v6: true)
            v6[k] = V6Entry(hi: p.address.hi, lo: p.address.lo, maskHi: m.hi, maskLo: m.lo, route: Int32(i))
        }
    }

    deinit {
        slotBest.deallocate()
        slotLonger.deallocate()
        longer.deallocate()
        v6.deallocate()
    }

    /// The route for an IPv4 destination, or -1.
    @inlinable @inline(__always) public func lookup(v4 address: UInt32) -> Int32 {
        v4Lookup.lookup(address)
    }

    /// The IPv4 lookup's memory as a value: a loop that also stores through raw pointers (a
    /// router rewriting frames) keeps it in registers, where the class's fields would be loaded
    /// again after every store.
    @inlinable public var v4Lookup: V4Lookup {
        V4Lookup(slotBest: slotBest, slotLonger: slotLonger, longer: longer)
    }

    @frozen public struct V4Lookup {
        @usableFromInline let slotBest: UnsafeMutablePointer<Int32>
        @usableFromInline let slotLonger: UnsafeMutablePointer<UInt32>
        @usableFromInline let longer: UnsafeMutablePointer<V4Entry>

        @inlinable init(
            slotBest: UnsafeMutablePointer<Int32>, slotLonger: UnsafeMutablePointer<UInt32>,
            longer: UnsafeMutablePointer<V4Entry>
        ) {
            self.slotBest = slotBest
            self.slotLonger = slotLonger
            self.longer = longer
        }

        /// The route for an IPv4 destination, or -1.
        @inlinable @inline(__always) public func lookup(_ address: UInt32) -> Int32 {
            let s = Int(address >> 16)
            var k = Int(slotLonger[s])
            let end = Int(slotLonger[s &+ 1])
            while k < end {
                let e = longer[k]
                if address & e.mask == e.network { return e.route }
                k &+= 1
            }
            return slotBest[s]
        }
    }

    /// The route for an IPv6 destination, or -1.
    @inlinable @inline(__always) public func lookup(v6 address: IPAddress) -> Int32 {
        var k = 0
        while k < v6Count {
            let e = v6[k]
            if address.hi & e.maskHi == e.hi && address.lo & e.maskLo == e.lo { return e.route }
            k &+= 1
        }
        return -1
    }

    @inlinable @inline(__always) public func lookup(_ address: IPAddress, v6: Bool) -> Int32 {
        v6 ? lookup(v6: address) : lookup(v4: address.v4)
    }

    /// Bytes of lookup structure.
    public var bytes: Int {
        65536 * 4 + 65537 * 4 + (Int(slotLonger[65536]) * MemoryLayout<V4Entry>.stride)
            + v6Count * MemoryLayout<V6Entry>.stride
    }
}
