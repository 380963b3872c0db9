import Foundation
import TestSupport
import XCTest

/// `scripts/lab up --topology routed`: vfwall in route mode as the gateway between the source's
/// subnets (10.199.1.0/24, fd00:199:1::/64) and the sink's (10.199.2.0/24, fd00:199:2::/64), on
/// VFs' stand-ins attached directly, with the same policy as the bridged lab. What a host sees of
/// an IP hop, IPv4 and IPv6, and the policy still deciding. Root only (CI is root); skipped
/// otherwise.
final class RoutedLabTests: XCTestCase {
    func testRoutedHopOnAFPacket() throws { try routedHop(backend: "afpacket") }

    func testRoutedHopOnDPDK() throws { try routedHop(backend: "dpdk") }

    private func routedHop(backend: String) throws {
        try requireTools(["traceroute"], for: "the routed lab's hop count", installedBy: "scripts/install-deps --lab")
        let lab = try LabUnderTest(mode: "direct", backend: backend, topology: "routed")
        defer {
            lab.down()
            XCTAssertEqual(lab.leftovers(), [], "scripts/lab down left these behind")
        }
        let server = try lab.startServer()
        defer { server.signal(SIGKILL) }

        // Both ways through one hop: the TTL arrives one lower.
        let ping = lab.exec("src", "ping -c 3 -i 0.2 -W 2 10.199.2.2")
        XCTAssertEqual(ping.status, 0, ping.output)
        XCTAssertTrue(ping.output.contains("ttl=63"), ping.output)
        XCTAssertEqual(lab.exec("dst", "ping -c 2 -i 0.2 -W 2 10.199.1.1").status, 0, "ping sink -> source")
        let trace = lab.exec("src", "traceroute -I -n -m 3 -q 1 -w 2 10.199.2.2").output
        let hops = trace.split(separator: "\n").dropFirst().map {
            $0.split(separator: " ").prefix(2).joined(separator: " ")
        }
        XCTAssertEqual(hops, ["1 10.199.1.254", "2 10.199.2.2"], trace)
        let expiring = lab.exec("src", "ping -c 1 -t 1 -W 2 10.199.2.2").output
        XCTAssertTrue(expiring.contains("From 10.199.1.254 icmp_seq=1 Time to live exceeded"), expiring)
        let oversize = lab.exec("src", "ping -c 1 -M do -s 1400 -W 2 10.199.2.2").output
        XCTAssertTrue(oversize.contains("From 10.199.1.254 icmp_seq=1 Frag needed and DF set (mtu = 1400)"), oversize)
        let nobody = lab.exec("src", "ping -c 1 -W 8 10.199.2.99").output
        XCTAssertTrue(nobody.contains("From 10.199.1.254 icmp_seq=1 Destination Host Unreachable"), nobody)

        // IPv6 the same way: neighbour discovery both sides, hop limit, packet too big.
        let ping6 = lab.exec("src", "ping -6 -c 3 -i 0.2 -W 2 fd00:199:2::2")
        XCTAssertEqual(ping6.status, 0, ping6.output)
        XCTAssertTrue(ping6.output.contains("ttl=63"), "the hop limit one lower: \(ping6.output)")
        XCTAssertEqual(lab.exec("dst", "ping -6 -c 2 -i 0.2 -W 2 fd00:199:1::1").status, 0, "ping6 sink -> source")
        let expiring6 = lab.exec("src", "ping -6 -c 1 -t 1 -W 2 fd00:199:2::2").output
        XCTAssertTrue(expiring6.contains("From fd00:199:1::fe icmp_seq=1 Time exceeded: Hop limit"), expiring6)
        let oversize6 = lab.exec("src", "ping -6 -c 1 -M do -s 1400 -W 2 fd00:199:2::2").output
        XCTAssertTrue(oversize6.contains("From fd00:199:1::fe icmp_seq=1 Packet too big: mtu=1400"), oversize6)

        // The policy decides as in the bridged lab.
        XCTAssertEqual(lab.exec("src", "python3 scripts/lab.d/nettool.py tcp 10.199.2.2 80").output, "tcp 80 ok")
        XCTAssertEqual(lab.exec("src", "python3 scripts/lab.d/nettool.py tcp 10.199.2.2 23").output, "tcp 23 refused")
        XCTAssertEqual(lab.exec("src", "python3 scripts/lab.d/nettool.py tcp 10.199.2.2 22").output, "tcp 22 timeout")
        let readBefore = lab.datagramsRead()
        lab.exec("src", "python3 scripts/lab.d/nettool.py udp 10.199.2.2 9000 20")
        lab.exec("src", "python3 scripts/lab.d/nettool.py udp 10.199.2.2 6666 20")
        XCTAssertNotEqual(lab.exec("dst", "python3 scripts/lab.d/nettool.py tcp 10.199.1.1 80").output, "tcp 80 ok")
        waitUntil(timeout: 10, what: "the sink to read 20 datagrams") { lab.datagramsRead() >= readBefore + 20 }
        XCTAssertEqual(lab.datagramsRead(), readBefore + 20, "the 9000 ones only")

        let routing = try XCTUnwrap(try lab.stats()["routing"] as? [String: Any])
        let neighbours = routing["neighbours"] as? [[String: Any]] ?? []
        let sink = neighbours.first { $0["address"] as? String == "10.199.2.2" }
        XCTAssertEqual(sink?["mac"] as? String, "02:76:66:6c:00:02", "the sink is in the table: \(neighbours)")
        XCTAssertEqual(sink?["port"] as? String, "outside")
        XCTAssertEqual(neighbours.first { $0["address"] as? String == "10.199.2.99" }?["state"] as? String, "failed")
        let counters = routing["counters"] as? [String: Int] ?? [:]
        XCTAssertGreaterThanOrEqual(counters["forwarded"] ?? 0, 30, "\(counters)")
        XCTAssertEqual(
            counters["ttl_exceeded"], 3, "traceroute's first probe and the TTL-1 pings (IPv4, IPv6): \(counters)")
        XCTAssertEqual(counters["too_big"], 2, "IPv4 and IPv6")
        XCTAssertEqual(counters["neighbour_failed"], 1)
    }
}
