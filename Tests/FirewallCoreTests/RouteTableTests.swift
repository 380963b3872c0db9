import FirewallCore
import Workloads
import XCTest

/// Longest-prefix match against the obvious answer: scan every route, keep the longest that
/// contains the address (the first listed among equals).
final class RouteTableTests: XCTestCase {
    func reference(_ routes: [Route], _ address: IPAddress, v6: Bool) -> Int32 {
        var best: Int32 = -1
        for (i, r) in routes.enumerated() where r.prefix.contains(address, v6: v6) {
            if best < 0 || r.prefix.length > routes[Int(best)].prefix.length { best = Int32(i) }
        }
        return best
    }

    func testIPv4AndIPv6LookupsAgreeWithTheLinearScanOnRandomTables() {
        var rng = SplitMix64(seed: 0x5EED_0015)
        for round in 0..<20 {
            var routes: [Route] = []
            // Clustered prefixes so they nest: a few /8s, their /16s, /24s and hosts, and a default.
            let bases = (0..<4).map { _ in UInt32.random(in: 0...UInt32.max, using: &rng) & 0xFF00_0000 }
            for _ in 0..<(50 + round * 20) {
                let base = bases.randomElement(using: &rng)!
                let length = UInt8([8, 12, 16, 20, 23, 24, 25, 30, 32].randomElement(using: &rng)!)
                let address = base | UInt32.random(in: 0...0x00FF_FFFF, using: &rng)
                routes.append(
                    Route(
                        prefix: IPPrefix(address: IPAddress(v4: address), length: length, isV6: false),
                        nextHop: nil, port: UInt8(routes.count % 2)))
            }
            if round % 2 == 0 {
                routes.append(Route(prefix: IPPrefix.parse("0.0.0.0/0")!, nextHop: IPAddress(v4: 1), port: 1))
            }
            let v6Base = IPAddress(hi: 0x2001_0DB8_0000_0000 | UInt64(round) << 16, lo: 0)
            for _ in 0..<30 {
                let length = UInt8([32, 48, 56, 64, 80, 127, 128].randomElement(using: &rng)!)
                let address = IPAddress(
                    hi: v6Base.hi | UInt64.random(in: 0...0xFFFF, using: &rng),
                    lo: UInt64.random(in: 0...3, using: &rng) << 62 | UInt64.random(in: 0...7, using: &rng))
                routes.append(
                    Route(prefix: IPPrefix(address: address, length: length, isV6: true), nextHop: nil, port: 0))
            }
            let table = RouteTable(routes)
            for _ in 0..<3000 {
                let base = bases.randomElement(using: &rng)!
                let v4 =
                    Bool.random(using: &rng)
                    ? base | UInt32.random(in: 0...0x00FF_FFFF, using: &rng) : .random(in: 0...UInt32.max, using: &rng)
                XCTAssertEqual(
                    table.lookup(v4: v4), reference(routes, IPAddress(v4: v4), v6: false), "round \(round), \(v4)")
                let v6 = IPAddress(
                    hi: v6Base.hi | UInt64.random(in: 0...0xFFFF, using: &rng),
                    lo: UInt64.random(in: 0...3, using: &rng) << 62 | UInt64.random(in: 0...7, using: &rng))
                XCTAssertEqual(table.lookup(v6: v6), reference(routes, v6, v6: true), "round \(round)")
            }
        }
    }

    func testTheFirstOfTwoEqualPrefixesWinsAndNoRouteIsMinusOne() {
        let a = Route(prefix: IPPrefix.parse("10.1.0.0/16")!, nextHop: nil, port: 0)
        let b = Route(prefix: IPPrefix.parse("10.1.0.0/16")!, nextHop: IPAddress(v4: 7), port: 1)
        let host = Route(prefix: IPPrefix.parse("10.1.2.3/32")!, nextHop: nil, port: 1)
        let table = RouteTable([a, b, host])
        XCTAssertEqual(table.lookup(v4: 0x0A01_0203), 2)
        XCTAssertEqual(table.lookup(v4: 0x0A01_0204), 0)
        XCTAssertEqual(table.lookup(v4: 0x0A02_0000), -1)
        XCTAssertEqual(table.lookup(v6: IPAddress(hi: 1, lo: 1)), -1)
    }
}
