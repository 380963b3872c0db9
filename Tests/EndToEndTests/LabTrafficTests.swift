import Foundation
import TestSupport
import XCTest

/// scripts/lab end to end: vfwall in a container (podman, runc, --network none) between a
/// source and a sink namespace, on two veth "VFs" vfplumb attached directly or as macvlans.
/// Allowed flows pass both ways, blocked ones do not, `vfwall stats` counts what was sent, and
/// `scripts/lab down` leaves nothing behind. Root only (CI is root); skipped otherwise.
final class LabTrafficTests: XCTestCase {
    func testDirectAttachmentPassesAllowedAndStopsBlocked() throws {
        try trafficThroughTheFirewall(mode: "direct")
    }

    func testMacvlanAttachmentPassesAllowedAndStopsBlocked() throws {
        try trafficThroughTheFirewall(mode: "macvlan")
    }

    func testDPDKBackendInTheContainer() throws {
        try trafficThroughTheFirewall(mode: "direct", backend: "dpdk")
    }

    private func trafficThroughTheFirewall(mode: String, backend: String = "afpacket") throws {
        let lab = try LabUnderTest(mode: mode, backend: backend)
        defer {
            lab.down()
            XCTAssertEqual(lab.leftovers(), [], "scripts/lab down left these behind")
        }
        let server = try lab.startServer()
        defer { server.signal(SIGKILL) }

        // Allowed, both directions: echo requests each way, replies through conntrack.
        XCTAssertEqual(lab.exec("src", "ping -c 3 -i 0.2 -W 2 10.199.0.2").status, 0, "ping source -> sink")
        XCTAssertEqual(lab.exec("dst", "ping -c 3 -i 0.2 -W 2 10.199.0.1").status, 0, "ping sink -> source")
        XCTAssertEqual(lab.exec("src", "python3 scripts/lab.d/nettool.py tcp 10.199.0.2 80").output, "tcp 80 ok")
        let readBefore = lab.datagramsRead()
        lab.exec("src", "python3 scripts/lab.d/nettool.py udp 10.199.0.2 9000 20")
        // Blocked: rejected (the firewall's RST), dropped by the default, dropped by a rule.
        XCTAssertEqual(lab.exec("src", "python3 scripts/lab.d/nettool.py tcp 10.199.0.2 23").output, "tcp 23 refused")
        XCTAssertEqual(lab.exec("src", "python3 scripts/lab.d/nettool.py tcp 10.199.0.2 22").output, "tcp 22 timeout")
        lab.exec("src", "python3 scripts/lab.d/nettool.py udp 10.199.0.2 6666 20")
        // Nothing but the allowed echo replies comes back the other way unasked.
        XCTAssertNotEqual(lab.exec("dst", "python3 scripts/lab.d/nettool.py tcp 10.199.0.1 80").output, "tcp 80 ok")

        // The sink counts a datagram when it reads it: wait until its namespace says the 20 were
        // read (the 6666 ones never reach it) before asking for its counts.
        waitUntil(timeout: 10, what: "the sink to read 20 datagrams") { lab.datagramsRead() >= readBefore + 20 }
        XCTAssertEqual(lab.datagramsRead(), readBefore + 20, "datagrams read in the sink's namespace")
        server.signal(SIGTERM)
        let received = server.wait(timeout: 10).stdout
        XCTAssertTrue(received.contains("udp 9000 20"), received)
        XCTAssertTrue(received.contains("udp 6666 0"), received)

        let stats = try lab.stats()
        XCTAssertEqual(stats["backend"] as? String, backend)
        XCTAssertEqual(hits(stats, rule: "allow-ping"), 2, "one echo flow each way; its later requests are tracked")
        XCTAssertEqual(hits(stats, rule: "allow-web-out"), 1, "the SYN; the rest of the connection is tracked")
        XCTAssertEqual(
            hits(stats, rule: "allow-gen"), 20, "every datagram: a UDP flow without a reply stays new, as in the kernel"
        )
        XCTAssertEqual(hits(stats, rule: "reject-telnet"), 1)
        XCTAssertEqual(hits(stats, rule: "drop-blocked-udp"), 20, "every datagram to 6666")
        let defaultHits = (stats["default"] as? [String: Any])?["hits"] as? Int ?? 0
        XCTAssertGreaterThanOrEqual(defaultHits, 2, "the SYN to 22 (and its retries), the sink's SYN to 80")
    }
}
