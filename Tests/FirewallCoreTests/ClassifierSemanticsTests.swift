import XCTest
@testable import FirewallCore

/// The match semantics of one rule, field by field, through the reference classifier.
final class ClassifierSemanticsTests: XCTestCase {
    func first(_ rules: [RuleMatch], _ frame: [UInt8], ingress: UInt8 = 0, state: ConnState = .new) -> Int32 {
        var (_, m) = Frames.parse(frame)
        m.ingress = ingress
        m.state = state
        return withUnsafePointer(to: &m) { ReferenceClassifier(matches: rules).classify($0) }
    }

    func testFirstMatchWins() {
        var a = RuleMatch()
        a.protocols = [6]
        var b = RuleMatch()
        b.protocols = [6]
        b.destinationPorts = [PortRange(80)]
        XCTAssertEqual(first([a, b], Frames.tcp4("1.1.1.1", "2.2.2.2", 1, 80, SYN)), 0)
        XCTAssertEqual(first([b, a], Frames.tcp4("1.1.1.1", "2.2.2.2", 1, 80, SYN)), 0)
        XCTAssertEqual(first([b, a], Frames.tcp4("1.1.1.1", "2.2.2.2", 1, 81, SYN)), 1)
        XCTAssertEqual(first([b], Frames.udp4("1.1.1.1", "2.2.2.2", 1, 80)), -1)
    }

    func testPrefixesAndFamilies() {
        var r = RuleMatch()
        r.sources = [IPPrefix.parse("10.0.0.0/8")!]
        XCTAssertEqual(first([r], Frames.udp4("10.200.0.1", "2.2.2.2", 1, 2)), 0)
        XCTAssertEqual(first([r], Frames.udp4("11.0.0.1", "2.2.2.2", 1, 2)), -1)
        var v6 = RuleMatch()
        v6.destinations = [IPPrefix.parse("2001:db8::/32")!]
        let f6 = Frames.ethernet(0x86DD, Frames.ipv6("::1", "2001:db8:aaaa::1", next: 17, Frames.udp(1, 2)))
        XCTAssertEqual(first([v6], f6), 0)
        XCTAssertEqual(first([r], f6), -1, "an IPv4 prefix never matches IPv6")
        var any = RuleMatch()
        any.sources = [IPPrefix.parse("0.0.0.0/0")!]
        XCTAssertEqual(first([any], f6), -1, "0.0.0.0/0 means any IPv4, not any address")
        XCTAssertEqual(first([any], Frames.udp4("1.2.3.4", "5.6.7.8", 1, 2)), 0)
    }

    func testPortsApplyOnlyToPortProtocols() {
        var r = RuleMatch()
        r.sourcePorts = [PortRange(0, 65535)]
        let ping = Frames.ethernet(0x0800, Frames.ipv4("1.1.1.1", "2.2.2.2", proto: 1, Frames.icmp(type: 8, id: 5)))
        XCTAssertEqual(first([r], ping), -1)
        XCTAssertEqual(first([r], Frames.udp4("1.1.1.1", "2.2.2.2", 9, 9)), 0)
        var range = RuleMatch()
        range.destinationPorts = [PortRange(1000, 2000), PortRange(22)]
        XCTAssertEqual(first([range], Frames.tcp4("1.1.1.1", "2.2.2.2", 1, 1500, SYN)), 0)
        XCTAssertEqual(first([range], Frames.tcp4("1.1.1.1", "2.2.2.2", 1, 22, SYN)), 0)
        XCTAssertEqual(first([range], Frames.tcp4("1.1.1.1", "2.2.2.2", 1, 2001, SYN)), -1)
    }

    func testIngressVlanICMPFlagsAndState() {
        var ing = RuleMatch()
        ing.ingress = [1]
        XCTAssertEqual(first([ing], Frames.udp4("1.1.1.1", "2.2.2.2", 1, 2), ingress: 1), 0)
        XCTAssertEqual(first([ing], Frames.udp4("1.1.1.1", "2.2.2.2", 1, 2), ingress: 0), -1)

        var vlan = RuleMatch()
        vlan.vlans = [PortRange(100, 110)]
        let tagged = Frames.ethernet(
            0x0800, Frames.ipv4("1.1.1.1", "2.2.2.2", proto: 17, Frames.udp(1, 2)), vlans: [(0x8100, 105)])
        XCTAssertEqual(first([vlan], tagged), 0)
        XCTAssertEqual(first([vlan], Frames.udp4("1.1.1.1", "2.2.2.2", 1, 2)), -1)
        var untagged = RuleMatch()
        untagged.vlans = [PortRange(PacketMeta.untagged)]
        XCTAssertEqual(first([untagged], Frames.udp4("1.1.1.1", "2.2.2.2", 1, 2)), 0)
        XCTAssertEqual(first([untagged], tagged), -1)

        var echo = RuleMatch()
        echo.protocols = [1]
        echo.icmpType = 8
        XCTAssertEqual(
            first([echo], Frames.ethernet(0x0800, Frames.ipv4("1.1.1.1", "2.2.2.2", proto: 1, Frames.icmp(type: 8)))), 0
        )
        XCTAssertEqual(
            first([echo], Frames.ethernet(0x0800, Frames.ipv4("1.1.1.1", "2.2.2.2", proto: 1, Frames.icmp(type: 0)))),
            -1)
        var code = RuleMatch()
        code.icmpType = 3
        code.icmpCode = 4
        XCTAssertEqual(
            first(
                [code],
                Frames.ethernet(0x0800, Frames.ipv4("1.1.1.1", "2.2.2.2", proto: 1, Frames.icmp(type: 3, code: 4)))), 0)
        XCTAssertEqual(
            first(
                [code],
                Frames.ethernet(0x0800, Frames.ipv4("1.1.1.1", "2.2.2.2", proto: 1, Frames.icmp(type: 3, code: 3)))), -1
        )

        var synOnly = RuleMatch()
        synOnly.protocols = [6]
        synOnly.tcpFlags = TCPFlagsMatch(mask: SYN | ACK, value: SYN)
        XCTAssertEqual(first([synOnly], Frames.tcp4("1.1.1.1", "2.2.2.2", 1, 2, SYN)), 0)
        XCTAssertEqual(first([synOnly], Frames.tcp4("1.1.1.1", "2.2.2.2", 1, 2, SYN | ACK)), -1)

        var est = RuleMatch()
        est.states = ConnState.established.bit | ConnState.related.bit
        XCTAssertEqual(first([est], Frames.udp4("1.1.1.1", "2.2.2.2", 1, 2), state: .established), 0)
        XCTAssertEqual(first([est], Frames.udp4("1.1.1.1", "2.2.2.2", 1, 2), state: .new), -1)
    }

    func testPrefixParsingAndMasking() {
        XCTAssertEqual(IPPrefix.parse("10.1.2.3/8"), IPPrefix.parse("10.0.0.0/8"))
        XCTAssertEqual(IPPrefix.parse("10.0.0.1")?.length, 32)
        XCTAssertNil(IPPrefix.parse("10.0.0.0/33"))
        XCTAssertNil(IPPrefix.parse("300.0.0.0/8"))
        XCTAssertNil(IPPrefix.parse("1.2.3/8"))
        XCTAssertEqual(IPPrefix.parse("2001:db8::1/128")?.description, "2001:db8::1/128")
        XCTAssertEqual(IPPrefix.parse("2001:db8:ffff::/36")?.description, "2001:db8:f000::/36")
        XCTAssertEqual(IPPrefix.parse("::ffff:10.0.0.1")?.address, IPAddress(hi: 0, lo: 0x0000_ffff_0a00_0001))
        XCTAssertNil(IPPrefix.parse("1::2::3"))
        XCTAssertNil(IPPrefix.parse("1:2:3:4:5:6:7:8:9"))
        XCTAssertTrue(IPPrefix.parse("::/0")!.contains(IPAddress(hi: 5, lo: 5), v6: true))
    }
}
