@testable import Dataplane
import EngineConfig
import FirewallConfig
import FirewallCore
import TestSupport
import XCTest

/// Route mode end to end on the pcap backend: a host on 10.199.1.0/24 behind `inside` talks to a
/// sink on 10.199.2.0/24 behind `outside` through vfwall. The frames expected out of each port
/// are written down here, byte by byte (checksums by the test's own RFC 1071 sum), not taken
/// from vfwall's output.
final class RouteModeTests: XCTestCase {
    static let hostMAC: [UInt8] = [0x02, 0x76, 0x66, 0x6C, 0x00, 0x01]
    static let sinkMAC: [UInt8] = [0x02, 0x76, 0x66, 0x6C, 0x00, 0x02]
    static let insideMAC: [UInt8] = [0x02, 0x76, 0x66, 0x6C, 0x00, 0x10]
    static let outsideMAC: [UInt8] = [0x02, 0x76, 0x66, 0x6C, 0x00, 0x20]
    static let host: [UInt8] = [10, 199, 1, 1], sink: [UInt8] = [10, 199, 2, 2]
    static let routerIn: [UInt8] = [10, 199, 1, 254], routerOut: [UInt8] = [10, 199, 2, 254]

    static func config(_ scratch: ScratchDirectory) -> String {
        """
        ports:
          inside:
            rx-pcap: \(scratch.path("inside-in.pcap"))
            tx-pcap: \(scratch.path("inside-out.pcap"))
            addresses: [10.199.1.254/24]
            mac: 02:76:66:6c:00:10
          outside:
            rx-pcap: \(scratch.path("outside-in.pcap"))
            tx-pcap: \(scratch.path("outside-out.pcap"))
            addresses: [10.199.2.254/24]
            mac: 02:76:66:6c:00:20
        dataplane:
          mode: route
          backend: pcap
          control-socket: \(scratch.path("ctl.sock"))
        policy:
          default: drop
        rules:
          - name: dns-out
            ingress: inside
            proto: udp
            dport: 53
            action: accept
          - name: ping
            proto: icmp
            action: accept

        """
    }

    static func arp(
        op: UInt8, to: [UInt8], senderMAC: [UInt8], senderIP: [UInt8], targetMAC: [UInt8], targetIP: [UInt8]
    )
        -> [UInt8]
    {
        to + senderMAC + [0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, op] + senderMAC + senderIP + targetMAC + targetIP
            + [UInt8](repeating: 0, count: 18)
    }

    /// An IPv4 header with its checksum.
    static func ipv4(proto: UInt8, ttl: UInt8, source: [UInt8], destination: [UInt8], payload: Int) -> [UInt8] {
        let length = 20 + payload
        var h: [UInt8] = [0x45, 0, UInt8(length >> 8), UInt8(length & 0xFF), 0, 7, 0x40, 0, ttl, proto, 0, 0]
        h += source + destination
        let sum = internetChecksum(h[...])
        h[10] = UInt8(sum >> 8)
        h[11] = UInt8(sum & 0xFF)
        return h
    }

    static func udp(ttl: UInt8, to destination: [UInt8], port: UInt16) -> [UInt8] {
        let payload: [UInt8] = [0x0F, 0xA0, UInt8(port >> 8), UInt8(port & 0xFF), 0, 12, 0, 0, 1, 2, 3, 4]
        return insideMAC + hostMAC + [0x08, 0x00]
            + ipv4(proto: 17, ttl: ttl, source: host, destination: destination, payload: 12) + payload
    }

    /// An ICMP echo request (identifier 0x1234, sequence 1, "abcd") with its checksum.
    static func echoRequest() -> [UInt8] {
        var echo: [UInt8] = [8, 0, 0, 0, 0x12, 0x34, 0, 1, 0x61, 0x62, 0x63, 0x64]
        let sum = internetChecksum(echo[...])
        echo[2] = UInt8(sum >> 8)
        echo[3] = UInt8(sum & 0xFF)
        return echo
    }

    func testTheRoutedHopAnswersResolvesRewritesAndReportsErrors() throws {
        let scratch = try ScratchDirectory("route-mode")
        defer { scratch.remove() }
        let echo = Self.echoRequest()
        let toInside: [[UInt8]] = [
            Self.arp(
                op: 1, to: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], senderMAC: Self.hostMAC, senderIP: Self.host,
                targetMAC: [0, 0, 0, 0, 0, 0], targetIP: Self.routerIn),
            Self.udp(ttl: 64, to: Self.sink, port: 53),
            Self.udp(ttl: 1, to: Self.sink, port: 53),
            Self.udp(ttl: 64, to: Self.sink, port: 9000),
            Self.insideMAC + Self.hostMAC + [0x08, 0x00]
                + Self.ipv4(proto: 1, ttl: 64, source: Self.host, destination: Self.routerIn, payload: 12) + echo,
            Self.udp(ttl: 64, to: [10, 250, 0, 1], port: 53)
        ]
        let toOutside: [[UInt8]] = [
            Self.arp(
                op: 2, to: Self.outsideMAC, senderMAC: Self.sinkMAC, senderIP: Self.sink, targetMAC: Self.outsideMAC,
                targetIP: Self.routerOut)
        ]
        try TinyPcap.write(toInside, to: scratch.path("inside-in.pcap"))
        try TinyPcap.write(toOutside, to: scratch.path("outside-in.pcap"))
        let text = Self.config(scratch)
        let c = try ConfigLoader.parse(yaml: text, file: try scratch.write("route.yaml", text))
        let engine = try Engine.open(c)
        try engine.start()
        waitUntil(timeout: 20, what: "the engine to read its inputs") { engine.inputsExhausted }
        engine.stop()
        let routing = try XCTUnwrap(engine.statistics(fresh: false).routing, "vfwall stats has a routing part")
        let json = engine.statistics(fresh: false).json()
        engine.close()

        let insideOut = try TinyPcap.read(scratch.path("inside-out.pcap"))
        let outsideOut = try TinyPcap.read(scratch.path("outside-out.pcap"))
        let broadcast: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], nobody: [UInt8] = [0, 0, 0, 0, 0, 0]
        // Out of inside: our gratuitous ARP, the ARP reply, time exceeded, the echo reply, net unreachable.
        XCTAssertEqual(insideOut.count, 5, "\(insideOut.map(\.count))")
        XCTAssertEqual(
            insideOut.first,
            Self.arp(
                op: 1, to: broadcast, senderMAC: Self.insideMAC, senderIP: Self.routerIn, targetMAC: nobody,
                targetIP: Self.routerIn))
        XCTAssertEqual(
            insideOut.dropFirst().first,
            Self.arp(
                op: 2, to: Self.hostMAC, senderMAC: Self.insideMAC, senderIP: Self.routerIn, targetMAC: Self.hostMAC,
                targetIP: Self.host))
        func checkICMP(_ frame: [UInt8], type: UInt8, code: UInt8, quoting original: [UInt8]?) {
            XCTAssertEqual(Array(frame[0..<14]), Self.hostMAC + Self.insideMAC + [0x08, 0x00])
            XCTAssertEqual(Array(frame[26..<34]), Self.routerIn + Self.host, "from our inside address to the host")
            XCTAssertEqual(internetChecksum(frame[14..<34]), 0, "IP checksum")
            XCTAssertEqual(Array(frame[34..<36]), [type, code])
            XCTAssertEqual(internetChecksum(frame[34...]), 0, "ICMP checksum")
            if let original { XCTAssertEqual(Array(frame[42...]), Array(original[14...]), "the packet quoted") }
        }
        if insideOut.count == 5 {
            checkICMP(insideOut[2], type: 11, code: 0, quoting: toInside[2])
            checkICMP(insideOut[3], type: 0, code: 0, quoting: nil)
            XCTAssertEqual(Array(insideOut[3][38...]), Array(echo[4...]), "identifier, sequence, data")
            checkICMP(insideOut[4], type: 3, code: 0, quoting: toInside[5])
        }
        // Out of outside: our gratuitous ARP, the request for the sink, then the queued datagram,
        // rewritten: sink's MAC, ours, TTL 63 and the header checksum that goes with it.
        XCTAssertEqual(outsideOut.count, 3, "\(outsideOut.map(\.count))")
        XCTAssertEqual(
            outsideOut.dropFirst().first,
            Self.arp(
                op: 1, to: broadcast, senderMAC: Self.outsideMAC, senderIP: Self.routerOut, targetMAC: nobody,
                targetIP: Self.sink))
        var forwarded = Self.udp(ttl: 63, to: Self.sink, port: 53)
        forwarded.replaceSubrange(0..<12, with: Self.sinkMAC + Self.outsideMAC)
        XCTAssertEqual(outsideOut.last, forwarded)
        let sink = routing.neighbours.first { $0.address == "10.199.2.2" }
        XCTAssertEqual(sink?.state, "reachable", "the sink is known after its reply: \(routing.neighbours)")
        XCTAssertEqual(sink?.mac, "02:76:66:6c:00:02")
        XCTAssertEqual(sink?.port, "outside")
        let host = routing.neighbours.first { $0.address == "10.199.1.1" }
        XCTAssertEqual(host?.state, "stale", "learned from its request")
        XCTAssertEqual(routing.routes, ["10.199.1.0/24 connected inside", "10.199.2.0/24 connected outside"])
        let expected: [String: UInt64] = [
            "forwarded": 1, "neighbour_miss": 1, "ttl_exceeded": 1, "no_route": 1, "echo_answered": 1,
            "neighbour_answered": 1, "neighbour_requested": 3, "icmp_sent": 3, "to_us_dropped": 0
        ]
        for (key, value) in expected { XCTAssertEqual(routing.counters[key], value, key) }
        XCTAssertTrue(json.contains("\"routing\":{\"counters\":{"), json)
    }
}
