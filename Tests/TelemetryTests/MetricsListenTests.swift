import FirewallConfig
import Foundation
import Telemetry
import TestSupport
import XCTest

/// `dataplane.metrics.listen`: what is accepted, what is refused (with file:line:column, before
/// `vfwall run` opens anything), and a listener address already in use.
final class MetricsListenTests: XCTestCase {
    func load(_ listen: String) throws -> Configuration {
        try ConfigLoader.parse(
            yaml: "dataplane:\n  metrics:\n    listen: \(listen)\nrules: []\n", file: "m.yaml")
    }

    func testListenValues() throws {
        XCTAssertEqual(try load("127.0.0.1:9469").dataplane.metricsListen, .tcp(host: "127.0.0.1", port: 9469))
        XCTAssertEqual(try load("\"[::1]:9469\"").dataplane.metricsListen, .tcp(host: "::1", port: 9469))
        XCTAssertEqual(try load("localhost:0").dataplane.metricsListen, .tcp(host: "localhost", port: 0))
        XCTAssertEqual(try load("/run/vfwall/m.sock").dataplane.metricsListen, .unix(path: "/run/vfwall/m.sock"))
        XCTAssertEqual(try load("unix:/tmp/m.sock").dataplane.metricsListen, .unix(path: "/tmp/m.sock"))
        XCTAssertNil(try ConfigLoader.parse(yaml: "rules: []\n", file: "m.yaml").dataplane.metricsListen)
        for bad in ["localhost", "300.1.1.1:80", "1.2.3:80", "127.0.0.1:70000", "127.0.0.1:", ":9469", "unix:x.sock"] {
            XCTAssertThrowsError(try load("\"\(bad)\""), bad) { error in
                let e = error as? ConfigError
                XCTAssertEqual(e?.line, 3, bad)
                XCTAssertEqual(e?.column, 13, bad)
                XCTAssertTrue(e?.message.hasPrefix("'listen' expects HOST:PORT") ?? false, "\(error)")
            }
        }
        XCTAssertThrowsError(
            try ConfigLoader.parse(yaml: "dataplane:\n  metrics: {port: 9}\nrules: []\n", file: "m.yaml")
        ) {
            XCTAssertEqual(
                "\($0)", "m.yaml:2:13: 'port' is not a key of 'dataplane.metrics'; expected one of: listen, comment")
        }
    }

    func testRunRefusesABadListenValueBeforeOpeningAnything() throws {
        let scratch = try ScratchDirectory("telemetry-bad-listen")
        defer { scratch.remove() }
        let config = try scratch.write(
            "bad.yaml",
            """
            ports:
              inside: {rx-pcap: \(repositoryRoot)/captures/sample.pcap, tx-pcap: \(scratch.path("in.pcap"))}
              outside: {tx-pcap: \(scratch.path("out.pcap"))}
            dataplane:
              backend: pcap
              control-socket: \(scratch.path("ctl.sock"))
              metrics: {listen: "127.0.0.1:http"}
            rules: []
            """)
        let r = try runProduct("vfwall", ["run", "--config", config, "--no-status"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(
            r.stderr.hasPrefix("\(config):7:21: 'listen' expects HOST:PORT"), r.stderr)
        XCTAssertEqual(r.stdout, "")
        for file in ["ctl.sock", "in.pcap", "out.pcap"] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.path(file)), "\(file) was opened")
        }
    }

    func testAClientThatSendsNothingIsLetGo() throws {
        let service = try MetricsService(endpoint: .tcp(host: "127.0.0.1", port: 0), idleTimeoutMs: 200)
        defer { service.stop() }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(try XCTUnwrap(service.boundPort)).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        XCTAssertEqual(connected, 0)
        var limit = timeval(tv_sec: 5, tv_usec: 0)  // the deadline: recv fails with EAGAIN after it
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var byte: UInt8 = 0
        XCTAssertEqual(recv(fd, &byte, 1, 0), 0, "the listener closed the idle connection (errno \(errno))")
    }

    func testAnAddressInUseIsRefusedAndAUnixSocketIsServed() throws {
        let first = try MetricsService(endpoint: .tcp(host: "127.0.0.1", port: 0))
        defer { first.stop() }
        let port = try XCTUnwrap(first.boundPort)
        XCTAssertThrowsError(try MetricsService(endpoint: .tcp(host: "127.0.0.1", port: port))) {
            XCTAssertTrue("\($0)".hasPrefix("cannot listen for metrics on 127.0.0.1:\(port): "), "\($0)")
        }
        let scratch = try ScratchDirectory("telemetry-unix")
        defer { scratch.remove() }
        let unix = try MetricsService(endpoint: .unix(path: scratch.path("m.sock")))
        defer { unix.stop() }
        XCTAssertEqual(unix.address, "unix:\(scratch.path("m.sock"))")
        XCTAssertEqual(unix.scrapeLocation, "unix:\(scratch.path("m.sock")) /metrics")
        XCTAssertNil(unix.boundPort)
        try XCTSkipUnless(
            FileManager.default.isExecutableFile(atPath: "/usr/bin/curl"), "needs curl (apt-get install curl)")
        let r = try runProcess("/usr/bin/curl", ["-s", "--unix-socket", scratch.path("m.sock"), "http://x/readyz"])
        XCTAssertEqual(r.stdout, "error: not running yet\n")
    }
}
