import CLinux
import Foundation
import Glibc
import TestSupport
import XCTest

/// `vfwall run` itself with a metrics listener, on the afpacket backend between veth pairs in a
/// namespace (root; skips without): the start-up line names the bound address, /readyz turns 200,
/// `vfwall health` exits 0, a scrape counts the frames sent, and the listener goes with the run.
final class RunMetricsTests: XCTestCase {
    func testRunServesMetricsAndHealthAndCountsTheFramesSent() throws {
        let lab = try NamespaceLab(for: "vfwall run on afpacket with a metrics listener")
        defer { lab.remove() }
        try lab.addVethPair("vfm-in0", "vfm-in1")
        try lab.addVethPair("vfm-out0", "vfm-out1")
        let socket = lab.directory + "/ctl.sock"
        let config = lab.directory + "/fw.yaml"
        try """
        ports:
          inside: {interface: vfm-in0}
          outside: {interface: vfm-out0}
        dataplane:
          backend: afpacket
          cores: [0]
          control-socket: \(socket)
          metrics: {listen: "127.0.0.1:0"}
        rules:
          - name: allow-dns
            ingress: inside
            proto: udp
            dport: 53
            action: accept
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let run = try lab.startProduct("vfwall", ["run", "--config", config, "--no-status"], in: lab.name)
        var port = 0
        waitUntil(timeout: 20, what: "the start-up line naming the metrics address: \(run.stderrText)") {
            guard let r = run.stderrText.range(of: "metrics on http://127.0.0.1:") else { return false }
            port = Int(run.stderrText[r.upperBound...].prefix { $0.isNumber }) ?? 0
            return port > 0
        }
        guard port > 0 else { return }
        let get = { (path: String) in try lab.inside { try httpGet(port: port, path: path) } }
        waitUntil(timeout: 20, what: "/readyz to answer 200") { (try? get("/readyz").status) == 200 }
        let health = try runProduct("vfwall", ["health", "--socket", socket])
        XCTAssertEqual(health.status, 0, health.output)
        XCTAssertTrue(health.stdout.hasPrefix("ok: live and ready: 1 worker(s) turning"), health.stdout)

        // 40 new DNS flows (accepted by the rule), 10 frames to port 54 (the default drops them).
        let frames =
            (0..<40).map { PortTestFrames.udp(index: $0, sourcePort: UInt16(40000 + $0), destinationPort: 53) }
            + (40..<50).map { PortTestFrames.udp(index: $0, sourcePort: 41000, destinationPort: 54) }
        try lab.inside { try send(frames, on: "vfm-in1") }
        var m = try Exposition(try get("/metrics").body)
        let decided = { m.value("vfwall_worker_frames_total", [("worker", "0")]) ?? -1 }
        waitUntil(timeout: 20, what: "the worker to decide 50 frames (\(decided()) so far)") {
            m = (try? Exposition(try get("/metrics").body)) ?? m
            return decided() == 50
        }
        XCTAssertEqual(m.value("vfwall_port_rx_packets_total", [("port", "inside")]), 50)
        XCTAssertEqual(m.value("vfwall_port_rx_bytes_total", [("port", "inside")]), 50 * 64)
        XCTAssertEqual(m.value("vfwall_port_tx_packets_total", [("port", "outside")]), 40)
        XCTAssertEqual(m.value("vfwall_port_dropped_packets_total", [("port", "inside")]), 10)
        XCTAssertEqual(
            m.value("vfwall_rule_hits_total", [("rule", "allow-dns"), ("index", "0"), ("action", "accept")]), 40)
        XCTAssertEqual(m.value("vfwall_default_hits_total", [("action", "drop")]), 10)
        XCTAssertEqual(m.value("vfwall_conntrack_created_total", [("worker", "0")]), 40)
        XCTAssertEqual(m.value("vfwall_port_up", [("port", "outside")]), 1)

        run.signal(SIGTERM)
        let end = run.wait(timeout: 20)
        XCTAssertEqual(end.status, 0, end.output)
        XCTAssertThrowsError(try get("/healthz"), "the listener closes with the run")
    }

    /// Sends `frames` out of `interface` through an AF_PACKET socket (in the calling thread's namespace).
    func send(_ frames: [[UInt8]], on interface: String) throws {
        let fd = clinux_packet_socket(0)
        guard fd >= 0 else { throw Exposition.Problem(description: "AF_PACKET socket: errno \(errno)") }
        defer { close(fd) }
        guard clinux_packet_bind(fd, Int32(if_nametoindex(interface)), 0) == 0 else {
            throw Exposition.Problem(description: "bind to \(interface): errno \(errno)")
        }
        for f in frames {
            guard Glibc.send(fd, f, f.count, 0) == f.count else {
                throw Exposition.Problem(description: "send on \(interface): errno \(errno)")
            }
        }
    }
}
