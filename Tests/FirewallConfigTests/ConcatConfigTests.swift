import XCTest
import FirewallCore
@testable import FirewallConfig

/// Concatenated sets (`type: "ipv4 . port"`) and the rule keys that test them.
final class ConcatConfigTests: ConfigFileTestCase {
    static let sets = """
        sets:
          backends:
            type: "ipv4 . port"
            elements: ["10.0.0.1 . 443", "10.0.1.0/24 . 8000-8080"]
          pairs:
            type: ipv4 . ipv4 . proto
            file: pairs.txt
          web:
            type: port
            elements: [80]

        """

    func meta(src: UInt32 = 0, dst: UInt32, proto: UInt8 = 6, dport: UInt16) -> PacketMeta {
        var m = PacketMeta()
        m.ipVersion = 4
        m.src = IPAddress(v4: src)
        m.dst = IPAddress(v4: dst)
        m.proto = proto
        m.dport = dport
        m.hasL4 = true
        m.hasPorts = true
        return m
    }

    func testConcatenationsInlineAndFromFile() throws {
        try write(
            "pairs.txt", "# src . dst . proto\n192.0.2.1 . 198.51.100.0/24 . tcp\n\n  192.0.2.2 . 198.51.100.9 . 17 \n")
        let c = try load(
            ConcatConfigTests.sets + """
                rules:
                  - name: to-backends
                    "dst . dport": "@backends"
                    action: accept
                  - name: odd-pairs
                    "src . dst . proto": "!@pairs"
                    action: drop
                """)
        let backends = c.policy.sets[0], pairs = c.policy.sets[1]
        XCTAssertEqual(backends.components, [.ipv4, .port])
        XCTAssertEqual(backends.typeName, "ipv4 . port")
        XCTAssertEqual(pairs.components, [.ipv4, .ipv4, .proto])
        XCTAssertEqual(pairs.elementCount, 2)
        let rules = c.policy.rules
        XCTAssertEqual(rules[0].match.concats, [ConcatMatch([.destination, .destinationPort], backends)])
        XCTAssertEqual(rules[0].match.ipVersion, 4)
        XCTAssertEqual(rules[1].match.concats.map(\.negated), [true])
        let hit = rules[0].match
        XCTAssertTrue(hit.matches(meta(dst: 0x0A00_0001, dport: 443)))
        XCTAssertFalse(hit.matches(meta(dst: 0x0A00_0001, dport: 444)))  // the second component counts
        XCTAssertTrue(hit.matches(meta(dst: 0x0A00_01FE, dport: 8080)))
        XCTAssertFalse(hit.matches(meta(dst: 0x0A00_01FE, dport: 443)))
        XCTAssertFalse(hit.matches(meta(dst: 0x0A00_0201, dport: 8000)))
        let pair = ConcatMatch([.source, .destination, .proto], pairs)
        XCTAssertTrue(pair.matches(meta(src: 0xC000_0201, dst: 0xC633_6405, proto: 6, dport: 1)))
        XCTAssertFalse(pair.matches(meta(src: 0xC000_0201, dst: 0xC633_6405, proto: 17, dport: 1)))
        XCTAssertTrue(pair.matches(meta(src: 0xC000_0202, dst: 0xC633_6409, proto: 17, dport: 1)))
    }

    func testBadElementsAreRefusedWithTheirPosition() throws {
        try write("bad.txt", "10.0.0.1 . 80\n  10.0.0.300 . 80\n")
        let file = "sets:\n  s:\n    type: ipv4 . port\n    file: bad.txt\nrules: []"
        XCTAssertEqual(
            error(file),
            "bad.txt:2:3: set 's': component 1 (ipv4): expected an IPv4 address or prefix like 192.0.2.0/24, "
                + "got '10.0.0.300'")
        try write("short.txt", "10.0.0.1 . 80\n10.0.0.2\n")
        XCTAssertEqual(
            error(file.replacingOccurrences(of: "bad.txt", with: "short.txt")),
            "short.txt:2:1: set 's': expected 2 components joined by ' . ' (ipv4 . port), got 1 in '10.0.0.2'")
        XCTAssertEqual(
            error(
                "sets:\n  s:\n    type: ipv4 . port\n    elements: [\"10.0.0.1 . 80\", \"10.0.0.1 . 90-70\"]\nrules: []"
            ),
            "c.yaml:4:33: set 's': component 2 (port): range '90-70' is empty: its start is above its end")
        XCTAssertEqual(
            error("sets:\n  s:\n    type: ipv4 . port\n    elements: [\"10.0.0.1 . 80 . 6\"]\nrules: []"),
            "c.yaml:4:16: set 's': expected 2 components joined by ' . ' (ipv4 . port), got 3 in '10.0.0.1 . 80 . 6'")
        XCTAssertEqual(
            error("sets:\n  s:\n    type: ipv4 . port\n    elements: [\"2001:db8::1 . 80\"]\nrules: []"),
            "c.yaml:4:16: set 's': component 1 (ipv4): '2001:db8::1' is not an IPv4 address")
    }

    /// Nested first ranges are listed in every interval they cover: 9000 of them would ask for
    /// about 81 million entries, refused at the set's file before anything is built.
    func testElementsThatWouldListTooMuchAreRefused() throws {
        try write("nested.txt", (0..<9000).map { "\($0)-\(65535 - $0) . 10.0.0.1\n" }.joined())
        let e = error("sets:\n  s:\n    type: port . ipv4\n    file: nested.txt\nrules: []") ?? ""
        XCTAssertTrue(e.hasPrefix("c.yaml:4:11: set 's': its elements with prefixes or ranges overlap too much"), e)
        try write("flat.txt", (0..<9000).map { "\($0) . 10.0.0.0/24\n" }.joined())
        XCTAssertNil(error("sets:\n  s:\n    type: port . ipv4\n    file: flat.txt\nrules: []"))
    }

    func testBadTypesAreRefused() {
        let cases = [
            (
                "ipv4 . port . proto . port",
                "c.yaml:3:11: a concatenation has 2 or 3 components joined by ' . ', "
                    + "type 'ipv4 . port . proto . port' has 4"
            ),
            (
                "ipv4 . ipv6",
                "c.yaml:3:11: type 'ipv4 . ipv6' mixes IPv4 and IPv6; a concatenation holds one address family"
            ),
            ("ipv4 . mac", "c.yaml:3:11: 'mac' in type 'ipv4 . mac' is not a set type (ipv4, ipv6, port or proto)"),
            ("ipv4.port", "c.yaml:3:11: 'ipv4.port' in type 'ipv4.port' is not a set type (ipv4, ipv6, port or proto)")
        ]
        for (type, want) in cases {
            XCTAssertEqual(error("sets:\n  s:\n    type: \(type)\n    elements: [1]\nrules: []"), want, type)
        }
    }

    func testReferencesAreCheckedAtTheKey() throws {
        try write("pairs.txt", "192.0.2.1 . 198.51.100.1 . tcp\n")
        let cases = [
            (
                "    \"dport . dst\": \"@backends\"",
                "c.yaml:13:5: 'dport . dst' does not fit set 'backends', which holds ipv4 . port tuples; "
                    + "the fields' types must match its components in order"
            ),
            (
                "    \"dst . dport\": \"@web\"",
                "c.yaml:13:5: 'dst . dport' does not fit set 'web', which holds port elements; "
                    + "the fields' types must match its components in order"
            ),
            (
                "    \"src . dst\": \"@pairs\"",
                "c.yaml:13:5: 'src . dst' does not fit set 'pairs', which holds ipv4 . ipv4 . proto tuples; "
                    + "the fields' types must match its components in order"
            ),
            (
                "    \"dst . port\": \"@backends\"",
                "c.yaml:13:5: 'port' in 'dst . port' is not a field a set can test (src, dst, proto, sport, dport)"
            ),
            (
                "    \"dst . dport\": \"@nope\"",
                "c.yaml:13:20: 'dst . dport' refers to set 'nope', which is not declared; they are: backends, pairs"
            ),
            (
                "    \"dst . dport\": [\"@backends\", \"@backends\"]",
                "c.yaml:13:20: 'dst . dport' expects one set reference like \"@name\" or \"!@name\""
            ),
            (
                "    \"dst . dport\": !@backends",
                "c.yaml:13:20: quote a set reference, YAML reads a leading '!' as a tag: '\"dst . dport\": \"!@name\"'"
            ),
            (
                "    dst: \"@backends\"",
                "c.yaml:13:10: set 'backends' holds ipv4 . port tuples; test it with a key naming 2 fields, "
                    + "like '\"dst . ...\": \"@backends\"'"
            ),
            (
                "    \"dst . dport\": \"@backends\"\n    proto: icmp",
                "c.yaml:13:5: ports apply to tcp, udp and sctp only; rule 'rule-0' also lists another protocol "
                    + "in 'proto'"
            )
        ]
        for (line, want) in cases {
            XCTAssertEqual(error(ConcatConfigTests.sets + "rules:\n  - action: drop\n" + line), want, line)
        }
    }
}
