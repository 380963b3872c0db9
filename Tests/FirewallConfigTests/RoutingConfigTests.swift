import FirewallCore
import XCTest

@testable import FirewallConfig

/// Route mode's configuration: addresses, MAC, MTU and routes, and every refusal with its position.
final class RoutingConfigTests: XCTestCase {
    static let routed = """
        ports:
          inside:
            interface: vfr-in
            addresses: [10.199.1.254/24, "fd00:1::fe/64"]
          outside:
            interface: vfr-out
            addresses: [10.199.2.254/24]
            mac: 02:76:66:6c:00:20
            mtu: 9000
        dataplane:
          mode: route
        routes:
          - to: default
            via: 10.199.2.1
          - to: 192.0.2.0/24
            port: inside
          - to: "2001:db8::/32"
            via: "fd00:1::1"
        rules: []

        """

    func load(_ yaml: String) throws -> Configuration { try ConfigLoader.parse(yaml: yaml, file: "r.yaml") }

    func error(_ yaml: String) -> String? {
        do {
            _ = try load(yaml)
            return nil
        } catch {
            return "\(error)"
        }
    }

    func testARoutedConfigurationGivesInterfacesConnectedPrefixesAndRoutes() throws {
        let c = try load(Self.routed)
        let plan = try XCTUnwrap(c.routingPlan)
        XCTAssertEqual(plan.interfaces.map(\.port), [0, 1])
        XCTAssertEqual(plan.interfaces[0].addresses.map(\.description), ["10.199.1.254/24", "fd00:1::fe/64"])
        XCTAssertNil(plan.interfaces[0].mac)
        XCTAssertEqual(plan.interfaces[1].mac, 0x0276_666C_0020)
        XCTAssertEqual(plan.interfaces.map(\.mtu), [1500, 9000])
        XCTAssertEqual(
            plan.routes.map(\.description),
            ["0.0.0.0/0 via 10.199.2.1 port 1", "192.0.2.0/24 connected port 0", "2001:db8::/32 via fd00:1::1 port 0"])
        let table = RouteTable(plan.forwardingRoutes)
        let route = { (text: String) -> String in
            let (a, v6) = IPAddress.parse(Substring(text))!
            let i = table.lookup(a, v6: v6)
            return i < 0 ? "none" : table.routes[Int(i)].description
        }
        XCTAssertEqual(route("10.199.1.7"), "10.199.1.0/24 connected port 0")
        XCTAssertEqual(route("10.199.2.1"), "10.199.2.0/24 connected port 1")
        XCTAssertEqual(route("8.8.8.8"), "0.0.0.0/0 via 10.199.2.1 port 1")
        XCTAssertEqual(route("2001:db8::5"), "2001:db8::/32 via fd00:1::1 port 0")
        XCTAssertEqual(route("2001:db9::5"), "none", "no IPv6 default route")
        XCTAssertEqual(plan.owner(of: IPAddress.parse("10.199.2.254")!.0, v6: false), 1)
        let bridged = """
            dataplane: {mode: bridge}
            rules: []
            """
        XCTAssertNil(try load(bridged).routingPlan, "bridge mode has no routing plan")
    }

    func testBridgeModeTakesNoAddressesOrRoutes() {
        let bridge = Self.routed.replacingOccurrences(of: "mode: route", with: "mode: bridge")
        XCTAssertEqual(error(bridge), "r.yaml:4:5: port 'inside' gives 'addresses', which needs dataplane.mode: route")
        let noAddresses = """
            dataplane: {mode: bridge}
            routes: []
            rules: []
            """
        XCTAssertEqual(error(noAddresses), "r.yaml:2:9: 'routes' needs dataplane.mode: route (a bridge does not route)")
    }

    func testEachMistakeIsRefusedWhereItStands() {
        let cases: [(String, String, String)] = [
            (
                "addresses: [10.199.1.254/24, \"fd00:1::fe/64\"]", "addresses: [10.199.1.254]",
                "r.yaml:4:17: 'addresses' expects ADDRESS/LENGTH such as 10.199.1.254/24, got '10.199.1.254'"
            ),
            (
                "mac: 02:76:66:6c:00:20", "mac: 03:76:66:6c:00:20",
                "r.yaml:8:10: 'mac' must be a unicast address, got '03:76:66:6c:00:20'"
            ),
            (
                "mac: 02:76:66:6c:00:20", "mac: 02:76:66:6c:00",
                "r.yaml:8:10: 'mac' expects a MAC address such as 02:76:66:6c:00:10, got '02:76:66:6c:00'"
            ),
            ("mtu: 9000", "mtu: 20", "r.yaml:9:10: 'mtu' expects a whole number from 68 to 9216, got '20'"),
            ("via: 10.199.2.1", "via: 10.199.3.1", "r.yaml:14:10: 'via' 10.199.3.1 is on no port's connected prefix"),
            (
                "to: 192.0.2.0/24", "to: 192.0.2.0",
                "r.yaml:15:9: 'to' expects a prefix such as 192.0.2.0/24 or default, got '192.0.2.0'"
            ),
            ("    port: inside", "    port: dmz", "r.yaml:16:11: no port named 'dmz' (ports: inside, outside)"),
            (
                "to: \"2001:db8::/32\"", "to: 0.0.0.0/0",
                "r.yaml:17:9: a route to 0.0.0.0/0 is given twice (first on line 13)"
            ),
            (
                "addresses: [10.199.2.254/24]", "addresses: [10.199.1.9/16]",
                "r.yaml:7:5: 10.199.0.0/16 on 'outside' overlaps 10.199.1.0/24 on 'inside': a prefix is on one link"
            ),
            (
                "addresses: [10.199.2.254/24]", "addresses: [10.199.1.254/25]",
                "r.yaml:7:5: 10.199.1.254 is an address of 'inside' and of 'outside'"
            )
        ]
        for (from, to, expected) in cases {
            let text = Self.routed.replacingOccurrences(of: from, with: to)
            XCTAssertNotEqual(text, Self.routed, "the case changes the file: \(from)")
            XCTAssertEqual(error(text), expected, "\(from) -> \(to)")
        }
        let v6Small = Self.routed.replacingOccurrences(
            of: "interface: vfr-in\n", with: "interface: vfr-in\n    mtu: 1200\n")
        XCTAssertEqual(error(v6Small), "r.yaml:4:5: port 'inside' has an IPv6 address: its 'mtu' must be at least 1280")
        let bare = Self.routed.replacingOccurrences(of: "    addresses: [10.199.2.254/24]\n", with: "")
        XCTAssertEqual(
            error(bare), "r.yaml:5:3: port 'outside' needs 'addresses' in route mode (its own, such as 10.199.1.254/24)"
        )
    }
}

extension RoutingConfigTests {
    func testStaticNeighboursAreOnTheirPortsLink() throws {
        let with = Self.routed.replacingOccurrences(
            of: "    mtu: 9000\n", with: "    mtu: 9000\n    neighbours: {10.199.2.1: 02:76:66:6c:00:99}\n")
        let plan = try XCTUnwrap(try load(with).routingPlan)
        XCTAssertEqual(
            plan.interfaces[1].neighbours,
            [StaticNeighbour(address: IPAddress(v4: 0x0AC7_0201), isV6: false, mac: 0x0276_666C_0099)])
        let offLink = Self.routed.replacingOccurrences(
            of: "    mtu: 9000\n", with: "    mtu: 9000\n    neighbours: {10.199.1.1: 02:76:66:6c:00:99}\n")
        XCTAssertEqual(
            error(offLink), "r.yaml:10:5: neighbour 10.199.1.1 of 'outside' is on none of its connected prefixes")
        let badKey = Self.routed.replacingOccurrences(
            of: "    mtu: 9000\n", with: "    mtu: 9000\n    neighbours: {gateway: 02:76:66:6c:00:99}\n")
        XCTAssertEqual(error(badKey), "r.yaml:10:18: 'neighbours' maps addresses to MACs; 'gateway' is not an address")
    }
}

/// `egress`: the port a packet leaves by, read into what the classifier tests.
final class EgressConfigTests: XCTestCase {
    func load(_ yaml: String) throws -> Configuration { try ConfigLoader.parse(yaml: yaml, file: "e.yaml") }

    func routed(_ rules: String) -> String {
        RoutingConfigTests.routed.replacingOccurrences(of: "rules: []\n", with: "rules:\n" + rules)
    }

    func testBridgeModeEgressIsTheOtherIngress() throws {
        let c = try load("rules:\n  - {egress: outside, proto: udp, action: accept}\n")
        XCTAssertEqual(c.policy.rules[0].match.ingress, [0])
        XCTAssertThrowsError(try load("rules:\n  - {name: r, ingress: inside, egress: inside, action: drop}\n")) {
            XCTAssertEqual(
                "\($0)",
                "e.yaml:2:32: rule 'r' can never match: in bridge mode a frame leaves by the port it did not "
                    + "arrive on, and its 'ingress' and 'egress' name the same ports")
        }
        XCTAssertThrowsError(try load("rules:\n  - {egress: dmz, action: drop}\n")) {
            XCTAssertEqual("\($0)", "e.yaml:2:14: 'egress' names port 'dmz', but the ports are: inside, outside")
        }
    }

    func testRouteModeEgressIsTheDestinationsRoutedOutOfThePort() throws {
        let c = try load(
            routed(
                """
                  - {name: out4, egress: outside, ip: 4, action: accept}
                  - {name: in4, egress: inside, ip: 4, action: accept}
                  - {name: in-web, egress: inside, dst: [192.0.2.0/25, 203.0.113.0/24], action: accept}
                  - {name: in6, egress: inside, ip: 6, action: accept}

                """))
        let dst = c.policy.rules.map { $0.match.destinations.map(\.description).sorted() }
        // Outside: the default route and its connected /24, less inside's prefixes and our addresses.
        let outside = c.policy.rules[0].match.destinations
        func covered(_ text: String) -> Bool {
            outside.contains { $0.contains(IPAddress.parse(Substring(text))!.0, v6: false) }
        }
        XCTAssertEqual(
            ["8.8.8.8", "10.199.2.1", "10.199.2.254", "192.0.2.9", "10.199.1.1"].map(covered),
            [true, true, false, false, false], "by the default route and outside's /24; not ours, not inside's")
        XCTAssertEqual(
            dst[1],
            [
                "10.199.1.0/25", "10.199.1.128/26", "10.199.1.192/27", "10.199.1.224/28",
                "10.199.1.240/29", "10.199.1.248/30", "10.199.1.252/31", "10.199.1.255/32", "192.0.2.0/24"
            ].sorted())
        XCTAssertEqual(dst[2], ["192.0.2.0/25"], "dst narrowed to what is routed inside")
        XCTAssertTrue(dst[3].contains("2001:db8::/32"), "\(dst[3])")
        XCTAssertEqual(c.policy.rules[3].match.ipVersion, 6)
    }

    func testRouteModeRefusals() {
        func error(_ rule: String) -> String {
            do {
                _ = try load(routed(rule))
                return "loaded"
            } catch { return "\(error)" }
        }
        XCTAssertEqual(
            error("  - {name: r, egress: inside, action: drop}\n"),
            "e.yaml:20:15: rule 'r': IPv4 and IPv6 routes lead out of 'inside'; add 'ip: 4' or 'ip: 6' "
                + "(or write a rule for each)")
        XCTAssertEqual(
            error("  - {name: r, egress: inside, dst: 203.0.113.0/24, action: drop}\n"),
            "e.yaml:20:15: rule 'r' can never match: no 'dst' is routed out of 'inside'")
    }
}
