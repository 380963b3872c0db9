import FirewallCore
import Workloads
import XCTest

/// `egress` in route mode is a destination list per port: it must say exactly what the router's
/// own table (`RouteTable`) does with each address, on random nested tables, our addresses aside.
final class EgressRegionsTests: XCTestCase {
    func testEachAddressIsInTheRegionOfThePortItsRouteNamesAndNoOther() {
        var rng = SplitMix64(seed: 0xE6_2E55)
        for round in 0..<30 {
            let v6 = round % 3 == 2
            // Nested prefixes around a few bases, on three ports, a default route half the time.
            let bases = (0..<3).map { _ in IPAddress(hi: rng.next() & (v6 ? ~0 : 0), lo: rng.next() & 0xFFFF_FFFF) }
            let maxLength = v6 ? 128 : 32
            var routes: [Route] = []
            if round % 2 == 0 {
                routes.append(Route(prefix: IPPrefix(address: .zero, length: 0, isV6: v6), nextHop: nil, port: 2))
            }
            for _ in 0..<(5 + round) {
                let base = bases.randomElement(using: &rng)!
                let length = UInt8(Int.random(in: 1...maxLength, using: &rng))
                routes.append(
                    Route(
                        prefix: IPPrefix(address: base, length: length, isV6: v6), nextHop: nil,
                        port: UInt8.random(in: 0...2, using: &rng)))
            }
            let own = [IPPrefix(address: bases[0], length: UInt8(maxLength), isV6: v6)]
            let regions = EgressRegions.regions(routes: routes, own: own, ports: 3)
            let table = RouteTable(routes)
            for probe in 0..<400 {
                // Near the bases (where the routes are) with a few random low bits, or anywhere.
                var address = bases[probe % 3]
                let noise = rng.next() & ((UInt64(1) << UInt64(probe % 40)) &- 1)
                address.lo ^= v6 ? noise : noise & 0xFFFF_FFFF
                if probe % 10 == 9 {
                    address = IPAddress(hi: v6 ? rng.next() : 0, lo: rng.next() & (v6 ? ~0 : 0xFFFF_FFFF))
                }
                let found = table.lookup(address, v6: v6)
                let expected = own[0].contains(address, v6: v6) || found < 0 ? nil : Int(table.routes[Int(found)].port)
                let holders = (0..<3).filter { p in regions[p].contains { $0.contains(address, v6: v6) } }
                XCTAssertEqual(holders, expected.map { [$0] } ?? [], "round \(round), \(address.text(v6: v6))")
            }
        }
    }

    func testSubtractAndIntersect() {
        func p(_ text: String) -> IPPrefix { IPPrefix.parse(text)! }
        XCTAssertEqual(
            EgressRegions.subtract(p("10.0.0.0/30"), from: p("10.0.0.0/28")).map(\.description),
            ["10.0.0.8/29", "10.0.0.4/30"])
        XCTAssertEqual(EgressRegions.subtract(p("10.0.0.0/8"), from: p("10.1.0.0/16")), [])
        XCTAssertEqual(EgressRegions.subtract(p("11.0.0.0/8"), from: p("10.1.0.0/16")), [p("10.1.0.0/16")])
        XCTAssertEqual(
            EgressRegions.subtract(p("2001:db8::1/128"), from: p("2001:db8::/127")), [p("2001:db8::/128")])
        XCTAssertEqual(EgressRegions.intersect(p("10.0.0.0/8"), p("10.2.0.0/16")), p("10.2.0.0/16"))
        XCTAssertNil(EgressRegions.intersect(p("10.0.0.0/16"), p("10.2.0.0/16")))
        XCTAssertNil(EgressRegions.intersect(p("::/0"), p("10.2.0.0/16")))
    }
}
