import XCTest
import FirewallCore
@testable import FirewallConfig

final class SetConfigTests: ConfigFileTestCase {
    static let sets = """
        sets:
          blocklist:
            type: ipv4
            file: block.txt
          servers6:
            type: ipv6
            elements: ["2001:db8::/32", "2001:db8:1::1"]
          web:
            type: port
            elements: [80, 443, 8000-8080]
          protos:
            type: proto
            elements: [tcp, 17]

        """

    func testSetsFromFileAndInline() throws {
        try write("block.txt", "# drop these\n192.0.2.0/24\n\n  198.51.100.7   # one host\n10.0.0.0/8\n")
        let c = try load(
            SetConfigTests.sets + """
                rules:
                  - name: block
                    src: "@blocklist"
                    action: drop
                  - name: web6
                    dst: ["@servers6"]
                    dport: "@web"
                    proto: tcp
                    action: accept
                  - name: odd
                    src: "!@blocklist"
                    proto: "!@protos"
                    action: reject
                """)
        XCTAssertEqual(c.policy.sets.map(\.name), ["blocklist", "servers6", "web", "protos"])
        let block = c.policy.sets[0]
        XCTAssertEqual(block.elementCount, 3)
        XCTAssertTrue(block.contains(IPAddress(v4: 0xC000_0205)))  // 192.0.2.5
        XCTAssertTrue(block.contains(IPAddress(v4: 0xC633_6407)))  // 198.51.100.7
        XCTAssertFalse(block.contains(IPAddress(v4: 0xC633_6408)))
        let rules = c.policy.rules
        XCTAssertEqual(rules[0].match.sets, [SetMatch(.source, block)])
        XCTAssertEqual(rules[0].match.ipVersion, 4)
        XCTAssertEqual(rules[1].match.ipVersion, 6)
        XCTAssertEqual(rules[1].match.sets.map(\.field), [.destination, .destinationPort])
        XCTAssertEqual(rules[1].match.protocols, [6])
        XCTAssertEqual(rules[2].match.sets.map(\.negated), [true, true])
        XCTAssertTrue(c.policy.sets[2].contains(IPAddress(hi: 0, lo: 8080)))
        XCTAssertFalse(c.policy.sets[2].contains(IPAddress(hi: 0, lo: 8081)))
        XCTAssertTrue(c.policy.sets[3].contains(IPAddress(hi: 0, lo: 17)))
    }

    func testBadFileLineNamesFileLineAndColumn() throws {
        try write("block.txt", "192.0.2.0/24\n# fine\n   10.0.0.300\n")
        XCTAssertEqual(
            error(SetConfigTests.sets + "rules: []"),
            "block.txt:3:4: set 'blocklist': expected an IPv4 address or prefix like 192.0.2.0/24, got '10.0.0.300'")
        try write("block.txt", "2001:db8::1\n")
        XCTAssertEqual(
            error(SetConfigTests.sets + "rules: []"),
            "block.txt:1:1: set 'blocklist': '2001:db8::1' is not an IPv4 address")
        try write("block.txt", "10.0.0.0/33\n")
        XCTAssertEqual(
            error(SetConfigTests.sets + "rules: []"),
            "block.txt:1:1: set 'blocklist': expected an IPv4 address or prefix like 192.0.2.0/24, got '10.0.0.0/33'")
    }

    func testEmptyAndMissingFilesAreRefusedAtTheKey() throws {
        try write("block.txt", "# nothing yet\n\n")
        XCTAssertEqual(
            error(SetConfigTests.sets + "rules: []"),
            "c.yaml:4:11: the file of set 'blocklist', block.txt, has no elements (only blank lines or comments)")
        XCTAssertTrue(
            error("sets:\n  s:\n    type: port\n    file: nope.txt\nrules: []")?.hasPrefix(
                "c.yaml:4:11: cannot read the file of set 's'") ?? false)
    }

    func testReferenceErrorsHavePositions() throws {
        try write("block.txt", "192.0.2.1\n")
        let cases: [(String, String)] = [
            (
                "    src: \"@nope\"",
                "c.yaml:16:10: 'src' refers to set 'nope', which is not declared; the sets are: blocklist, "
                    + "protos, servers6, web"
            ),
            (
                "    dport: \"@blocklist\"",
                "c.yaml:16:12: 'dport' needs a set of type port, but set 'blocklist' is of type ipv4"
            ),
            ("    proto: \"!@web\"", "c.yaml:16:12: 'proto' needs a set of type proto, but set 'web' is of type port"),
            (
                "    src: [\"@blocklist\", 10.0.0.1]",
                "c.yaml:16:11: 'src' refers to a set, so the set must be its only value"
            ),
            (
                "    src: !@blocklist",
                "c.yaml:16:10: quote a set reference, YAML reads a leading '!' as a tag: 'src: \"!@name\"'"
            ),
            (
                "    src: \"@blocklist\"\n    dst: \"@servers6\"",
                "c.yaml:15:5: a rule cannot mix IPv4 and IPv6 prefixes; write two rules"
            )
        ]
        for (line, want) in cases {
            let yaml = SetConfigTests.sets + "rules:\n  - action: drop\n" + line
            XCTAssertEqual(error(yaml), want, line)
        }
        XCTAssertEqual(
            error("rules:\n  - action: drop\n    src: \"@x\""),
            "c.yaml:3:10: 'src' refers to set 'x', which is not declared; no sets are declared under 'sets:'")
    }

    func testSetDeclarationErrors() {
        XCTAssertEqual(
            error("sets:\n  s:\n    elements: [1]\nrules: []"),
            "c.yaml:3:5: set 's' has no 'type' (ipv4, ipv6, port or proto)")
        XCTAssertEqual(
            error("sets:\n  s:\n    type: port\nrules: []"),
            "c.yaml:3:5: set 's' needs exactly one of 'elements' (a list) and 'file' (a path)")
        XCTAssertEqual(
            error("sets:\n  s:\n    type: port\n    elements: []\nrules: []"),
            "c.yaml:4:15: set 's' has an empty 'elements' list")
        XCTAssertEqual(
            error("sets:\n  s:\n    type: port\n    elements: [80, 90-70]\nrules: []"),
            "c.yaml:4:20: set 's': range '90-70' is empty: its start is above its end")
        XCTAssertEqual(
            error("sets:\n  s:\n    type: proto\n    elements: [tcp, bogus]\nrules: []"),
            "c.yaml:4:21: set 's': expected a protocol name (icmp, tcp, udp, gre, esp, ah, icmpv6, sctp) or "
                + "number, got 'bogus'")
        XCTAssertEqual(
            error("sets:\n  a b:\n    type: port\n    elements: [1]\nrules: []"),
            "c.yaml:2:3: set name 'a b' may hold only letters, digits, '-' and '_'")
        XCTAssertEqual(
            error("sets:\n  s:\n    type: mac\n    elements: [1]\nrules: []"),
            "c.yaml:3:11: 'type' expects one of ipv4, ipv6, port, proto, got 'mac'")
    }

    /// `keep-runtime` (a reload keeps what `vfwall set add` added) is a set's own choice, off by default.
    func testKeepRuntimeIsReadPerSet() throws {
        try write("block.txt", "192.0.2.0/24\n")
        let c = try load(
            "sets:\n  feed:\n    type: ipv4\n    file: block.txt\n    keep-runtime: true\n"
                + "  web:\n    type: port\n    elements: [80]\nrules: []")
        XCTAssertEqual(c.policy.sets.map(\.keepsRuntimeChanges), [true, false])
        XCTAssertEqual(
            error("sets:\n  s:\n    type: port\n    elements: [1]\n    keep-runtime: maybe\nrules: []"),
            "c.yaml:5:19: 'keep-runtime' expects true or false, got 'maybe'")
    }

    /// 100,000 random prefixes from a file, checked on sampled addresses against the prefixes
    /// themselves (each address looked up at all 33 lengths in a hash set of the prefixes).
    func testHundredThousandPrefixFile() throws {
        var seed: UInt64 = 0x5EED_0001
        func next() -> UInt64 {
            seed &+= 0x9E37_79B9_7F4A_7C15
            var z = seed
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        var keys = Set<UInt64>()
        var listed: [UInt64] = []
        var text = ""
        text.reserveCapacity(2_000_000)
        for _ in 0..<100_000 {
            let len = UInt32(16 + next() % 17)
            let a = UInt32(truncatingIfNeeded: next()) & (len == 32 ? .max : ~(UInt32.max >> len))
            keys.insert(UInt64(a) << 8 | UInt64(len))
            listed.append(UInt64(a) << 8 | UInt64(len))
            text += "\(a >> 24).\((a >> 16) & 255).\((a >> 8) & 255).\(a & 255)/\(len)\n"
        }
        try write("big.txt", text)
        let c = try load("sets:\n  big:\n    type: ipv4\n    file: big.txt\nrules: []")
        let set = c.policy.sets[0]
        XCTAssertEqual(set.elementCount, 100_000)
        var hits = 0
        for i in 0..<20_000 {
            // Half the samples inside a listed prefix, half anywhere.
            var a = UInt32(truncatingIfNeeded: next())
            if i % 2 == 0 {
                let k = listed[Int(next() % UInt64(listed.count))]
                let len = UInt32(k & 0xFF)
                a = UInt32(k >> 8) | (len == 32 ? 0 : a & (UInt32.max >> len))
            }
            let want = (0...32).contains { (len: UInt32) in
                let masked = len == 0 ? 0 : a & ~(len == 32 ? 0 : UInt32.max >> len)
                return keys.contains(UInt64(masked) << 8 | UInt64(len))
            }
            XCTAssertEqual(set.contains(IPAddress(v4: a)), want, "address \(a)")
            if want { hits += 1 }
        }
        XCTAssertGreaterThan(hits, 10_000)
        XCTAssertGreaterThan(20_000 - hits, 5_000)  // most random addresses miss: not a set of everything
        XCTAssertLessThan(set.memoryBytes, 65537 * 4 + 2 * 200_000 * 2)
    }
}
