@testable import Dataplane
import EngineConfig
import Foundation
import Glibc
@testable import LinuxIO
@testable import Ports
import TestSupport
import XCTest

/// `vfwall run` refuses to start, opening nothing, on a bad configuration or a down port.
final class RunStartupTests: XCTestCase {
    func testBadConfigurationExits1WithItsPositionBeforeOpeningAnything() throws {
        let scratch = try ScratchDirectory("bad-config")
        defer { scratch.remove() }
        let socket = scratch.path("ctl.sock")
        let config = try scratch.write(
            "bad.yaml",
            """
            ports:
              inside: {interface: vfrun-none-in}
              outside: {interface: vfrun-none-out}
            dataplane:
              control-socket: \(socket)
            rules:
              - name: web
                proto: tcp
                dport: http
                action: accept
            """)
        let r = try runProduct("vfwall", ["run", "--config", config, "--no-status"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "\(config):9:12: 'dport' expects a port, a range 1000-2000 or a list, got 'http'\n")
        XCTAssertEqual(r.stdout, "")
        XCTAssertFalse(FileManager.default.fileExists(atPath: socket))
    }

    func testConfigurationThatDoesNotFitItsBackendExits1() throws {
        let scratch = try ScratchDirectory("unfit-config")
        defer { scratch.remove() }
        let config = try scratch.write(
            "unfit.yaml",
            """
            ports:
              inside: {rx-pcap: in.pcap}
              outside: {}
            dataplane:
              backend: pcap
              control-socket: \(scratch.path("ctl.sock"))
            rules: []
            """)
        let r = try runProduct("vfwall", ["run", "--config", config])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(
            r.stderr,
            "vfwall run: \(config): port 'outside': the pcap backend needs 'rx-pcap' (frames in), "
                + "'tx-pcap' (frames out), or both\n")
    }

    func testStatsAndReloadWithoutARunningFirewallExit1AndSayWhy() throws {
        let scratch = try ScratchDirectory("no-server")
        defer { scratch.remove() }
        let socket = scratch.path("none.sock")
        for command in ["stats", "reload"] {
            let r = try runProduct("vfwall", [command, "--socket", socket])
            XCTAssertEqual(r.status, 1)
            let expected = "vfwall \(command): cannot connect to the control socket \(socket)"
            XCTAssertTrue(r.stderr.hasPrefix(expected), r.stderr)
        }
        XCTAssertEqual(try runProduct("vfwall", ["stats"]).status, 64, "--socket or --config is required")
    }

    func testDownPortAFPacketExitsNonZeroNamingThePort() throws { try downPort("afpacket") }

    func testDownPortDPDKExitsNonZeroNamingThePortAndLeavesNoEALFiles() throws { try downPort("dpdk") }

    /// inside's veth has its peer down (no carrier); outside is fine.
    func downPort(_ backend: String) throws {
        let ns = try NamespaceLab()
        defer { ns.remove() }
        try ns.addVethPair("fout", "peer-out")
        try NamespaceLab.ip(["-n", ns.name, "link", "add", "fin", "type", "veth", "peer", "name", "peer-in"])
        try NamespaceLab.ip(["-n", ns.name, "link", "set", "fin", "up"])
        let scratch = try ScratchDirectory("down-\(backend)")
        defer { scratch.remove() }
        let socket = scratch.path("ctl.sock")
        let prefix = TestNames.unique() + "-down"
        let config = try scratch.write(
            "down.yaml",
            """
            ports:
              inside: {interface: fin}
              outside: {interface: fout}
            dataplane:
              backend: \(backend)
              control-socket: \(socket)
              eal: ["--no-huge", "--no-pci", "-m", "128", "--no-shconf", "--file-prefix", "\(prefix)"]
            rules: []
            """)
        let r = try runProduct(
            "vfwall", ["run", "--config", config, "--no-status", "--link-wait", "0.5"],
            netns: ns.name)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("port 'inside' is down"), r.stderr)
        XCTAssertFalse(r.stderr.contains("running"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: socket), "no control socket left")
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: "/var/run/dpdk/\(prefix)"), "no EAL runtime directory left")
        XCTAssertTrue(
            try ns.linkShow("fout").contains("promiscuity 0"), "promiscuous mode undone on the port that was up")
    }
}
