@testable import Dataplane
import FirewallConfig
import FirewallCore
import TestSupport
import XCTest

/// One burst through a routed hop whose next hop is a static neighbour: after the first packet
/// resolves it, the rest of the burst goes by the IPv4 fast path, except the packets it must
/// hand back (TTL 1, to or from our addresses, too big for the egress MTU, another destination).
/// Each of those gets the answer the full path gives; the expected frames are written down here.
final class RouteFastPathTests: XCTestCase {
    typealias Frames = RouteModeTests

    static func udp(from source: [UInt8] = Frames.host, to destination: [UInt8], ttl: UInt8 = 64, payload: Int = 12)
        -> [UInt8]
    {
        let ports: [UInt8] = [0x0F, 0xA0, 0, 53, UInt8((8 + payload - 8) >> 8), UInt8(payload & 0xFF), 0, 0]
        let data = ports + (0..<(payload - 8)).map { UInt8(truncatingIfNeeded: $0) }
        return Frames.insideMAC + Frames.hostMAC + [0x08, 0x00]
            + Frames.ipv4(proto: 17, ttl: ttl, source: source, destination: destination, payload: payload) + data
    }

    /// Plays `toInside` through the hop (outside: MTU 100, the sink a static neighbour; the rules
    /// of `RouteModeTests` after `rules`); returns what left each port and the routing counters.
    static func route(_ toInside: [[UInt8]], _ scratch: ScratchDirectory, rules: String = "") throws -> (
        [[UInt8]], [[UInt8]], RoutingStatistics
    ) {
        try TinyPcap.write(toInside, to: scratch.path("inside-in.pcap"))
        try TinyPcap.write([], to: scratch.path("outside-in.pcap"))
        let text = Frames.config(scratch)
            .replacingOccurrences(
                of: "    mac: 02:76:66:6c:00:20\n",
                with: "    mac: 02:76:66:6c:00:20\n    mtu: 100\n    neighbours: {10.199.2.2: \"02:76:66:6c:00:02\"}\n"
            )
            .replacingOccurrences(of: "rules:\n", with: "rules:\n" + rules)
        XCTAssertTrue(text.contains("mtu: 100"))
        let c = try ConfigLoader.parse(yaml: text, file: try scratch.write("route.yaml", text))
        let engine = try Engine.open(c)
        try engine.start()
        waitUntil(timeout: 20, what: "the engine to read its inputs") { engine.inputsExhausted }
        engine.stop()
        let routing = try XCTUnwrap(engine.statistics(fresh: false).routing)
        engine.close()
        return (
            try TinyPcap.read(scratch.path("inside-out.pcap")), try TinyPcap.read(scratch.path("outside-out.pcap")),
            routing
        )
    }

    /// A rule on `egress` decides by the port the route picks: datagrams routed out of outside to
    /// the sink are dropped, the same datagram sent to an address routed back inside is not.
    func testARuleOnEgressMatchesWhatTheRouteSendsOutOfThatPort() throws {
        let scratch = try ScratchDirectory("route-egress")
        defer { scratch.remove() }
        let toInside = [Self.udp(to: Frames.sink), Self.udp(to: [10, 199, 1, 7]), Self.udp(to: Frames.sink)]
        let (insideOut, outsideOut, routing) = try Self.route(
            toInside, scratch, rules: "  - {name: nothing-out, egress: outside, ip: 4, action: drop}\n")
        XCTAssertEqual(outsideOut.count, 1, "only our gratuitous ARP: \(outsideOut.map(\.count))")
        XCTAssertEqual(insideOut.count, 2, "our gratuitous ARP and the request for 10.199.1.7")
        XCTAssertEqual(insideOut.last.map { Array($0[38..<42]) }, [10, 199, 1, 7])
        XCTAssertEqual(routing.counters["forwarded"], 0)
        XCTAssertEqual(routing.counters["neighbour_miss"], 1, "the one routed back in")
    }

    func testTheFastPathForwardsWhatItMayAndHandsBackTheRest() throws {
        let scratch = try ScratchDirectory("route-fast")
        defer { scratch.remove() }
        let echo = Frames.echoRequest()
        let toInside: [[UInt8]] = [
            Self.udp(to: Frames.sink),  // resolves the static neighbour (full path)
            Self.udp(to: Frames.sink),  // fast path
            Self.udp(to: Frames.sink, ttl: 1),  // time exceeded
            Frames.insideMAC + Frames.hostMAC + [0x08, 0x00]  // to our outside address: answered
                + Frames.ipv4(proto: 1, ttl: 64, source: Frames.host, destination: Frames.routerOut, payload: 12)
                + echo,
            Self.udp(from: Frames.routerIn, to: Frames.sink),  // from our own address: a martian
            Self.udp(to: Frames.sink, payload: 120),  // 140 bytes, DF, over outside's MTU of 100
            Self.udp(to: [10, 199, 2, 3]),  // another host on the link: resolution starts
            Self.udp(to: Frames.sink)  // fast path again
        ]
        let (insideOut, outsideOut, routing) = try Self.route(toInside, scratch)
        func rewritten(_ frame: [UInt8]) -> [UInt8] {
            var f = frame
            f.replaceSubrange(0..<12, with: Frames.sinkMAC + Frames.outsideMAC)
            f[22] -= 1
            f[24] = 0
            f[25] = 0
            let sum = internetChecksum(f[14..<34])
            f[24] = UInt8(sum >> 8)
            f[25] = UInt8(sum & 0xFF)
            return f
        }
        // Out of outside: our gratuitous ARP, the three datagrams to the sink (the burst's sends
        // go first), then the request for 10.199.2.3.
        XCTAssertEqual(outsideOut.count, 5, "\(outsideOut.map(\.count))")
        if outsideOut.count == 5 {
            XCTAssertEqual(Array(outsideOut[1...3]), [toInside[0], toInside[1], toInside[7]].map(rewritten))
            XCTAssertEqual(Array(outsideOut[4][0..<6]), [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
            XCTAssertEqual(Array(outsideOut[4][38..<42]), [10, 199, 2, 3], "who has 10.199.2.3")
        }
        // Out of inside: our gratuitous ARP, time exceeded, the echo reply, fragmentation needed.
        XCTAssertEqual(insideOut.count, 4, "\(insideOut.map(\.count))")
        if insideOut.count == 4 {
            XCTAssertEqual(Array(insideOut[1][34..<36]), [11, 0], "time exceeded")
            XCTAssertEqual(Array(insideOut[2][34..<36]), [0, 0], "echo reply")
            XCTAssertEqual(Array(insideOut[2][26..<30]), Frames.routerOut, "from the address it was sent to")
            XCTAssertEqual(Array(insideOut[3][34..<36]), [3, 4], "fragmentation needed")
            XCTAssertEqual(Array(insideOut[3][40..<42]), [0, 100], "with the egress MTU")
        }
        let expected: [String: UInt64] = [
            "forwarded": 3, "ttl_exceeded": 1, "echo_answered": 1, "martian_source": 1, "too_big": 1,
            "neighbour_miss": 1, "icmp_sent": 3
        ]
        for (key, value) in expected { XCTAssertEqual(routing.counters[key], value, key) }
    }
}
