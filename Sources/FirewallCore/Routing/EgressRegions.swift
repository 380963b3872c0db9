/// Which destinations a route table sends out of each port, as prefixes: what a rule's `egress`
/// means in route mode, worked out when the configuration is read (the routes are static), so the
/// classifier tests it as a destination list and nothing runs on the packet path.
///
/// A route's prefix belongs to its port except the more specific routes inside it that go
/// elsewhere (which may hold more specific ones coming back, counted by their own route); of two
/// routes with the same prefix the first listed wins, as in `RouteTable`. Our own addresses are
/// nobody's egress: packets to them are not forwarded.
public enum EgressRegions {
    /// For each port index below `ports`, the disjoint prefixes routed out of it.
    public static func regions(routes: [Route], own: [IPPrefix], ports: Int) -> [[IPPrefix]] {
        var seen = Set<IPPrefix>()
        let effective = routes.filter { seen.insert($0.prefix).inserted }
        var result = [[IPPrefix]](repeating: [], count: ports)
        for r in effective where Int(r.port) < ports {
            var pieces = [r.prefix]
            for s in effective where s.port != r.port && s.prefix.length > r.prefix.length {
                guard r.prefix.contains(s.prefix.address, v6: s.prefix.isV6) else { continue }
                pieces = pieces.flatMap { subtract(s.prefix, from: $0) }
            }
            for host in own { pieces = pieces.flatMap { subtract(host, from: $0) } }
            result[Int(r.port)] += pieces
        }
        return result.map(outermost)
    }

    /// `a` without `b`: `a` itself when they do not overlap, nothing when `b` covers it, else the
    /// halves beside the path from `a` down to `b`, one per bit.
    public static func subtract(_ b: IPPrefix, from a: IPPrefix) -> [IPPrefix] {
        guard a.isV6 == b.isV6 else { return [a] }
        if b.length <= a.length { return b.contains(a.address, v6: a.isV6) ? [] : [a] }
        guard a.contains(b.address, v6: b.isV6) else { return [a] }
        var left: [IPPrefix] = []
        for length in (a.length + 1)...b.length {
            let onPath = IPPrefix(address: b.address, length: length, isV6: b.isV6)
            left.append(IPPrefix(address: flip(onPath.address, bit: length, v6: b.isV6), length: length, isV6: b.isV6))
        }
        return left
    }

    /// The addresses both prefixes hold: the longer of the two when one holds the other.
    public static func intersect(_ a: IPPrefix, _ b: IPPrefix) -> IPPrefix? {
        guard a.isV6 == b.isV6 else { return nil }
        let (short, long) = a.length <= b.length ? (a, b) : (b, a)
        return short.contains(long.address, v6: long.isV6) ? long : nil
    }

    /// The prefixes of `list` that no other prefix of it holds (duplicates once). Sorted by
    /// address, then shortest first, a prefix held by another comes after it with nothing kept in
    /// between (prefixes nest or are apart), so one look at the last kept one decides.
    static func outermost(_ list: [IPPrefix]) -> [IPPrefix] {
        let sorted = list.sorted {
            $0.isV6 != $1.isV6 ? !$0.isV6 : ($0.address != $1.address ? $0.address < $1.address : $0.length < $1.length)
        }
        var kept: [IPPrefix] = []
        for p in sorted {
            if let last = kept.last, last.isV6 == p.isV6, last.contains(p.address, v6: p.isV6) { continue }
            kept.append(p)
        }
        return kept
    }

    /// `address` with bit `bit` (1 = the most significant) inverted.
    static func flip(_ address: IPAddress, bit: UInt8, v6: Bool) -> IPAddress {
        if !v6 { return IPAddress(hi: 0, lo: address.lo ^ (UInt64(1) << (32 - UInt64(bit)))) }
        if bit <= 64 { return IPAddress(hi: address.hi ^ (UInt64(1) << (64 - UInt64(bit))), lo: address.lo) }
        return IPAddress(hi: address.hi, lo: address.lo ^ (UInt64(1) << (128 - UInt64(bit))))
    }
}
