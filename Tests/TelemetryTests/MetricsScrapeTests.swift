import Dataplane
import EngineConfig
import FirewallConfig
import FirewallCore
import Foundation
import LinuxIO
import Telemetry
import TestSupport
import XCTest

/// The metrics listener over real HTTP in front of an engine running in this process on the pcap
/// backend (no privileges needed): its counters are the traffic's, checked against a replay of
/// the same capture; `/readyz` turns 200 once the workers run; health over the control socket.
final class MetricsScrapeTests: XCTestCase {
    static let sample = repositoryRoot + "/captures/sample.pcap"

    func pcapConfiguration(_ scratch: ScratchDirectory) throws -> Configuration {
        // A rule whose name needs the label escapes (\\ and \"); it matches nothing of the capture.
        let oddRule = "\n  - name: 'odd \"quoted\" \\ name'\n    proto: sctp\n    action: accept\n"
        let text = try pcapDefaultConfigurationText(scratch, controlSocket: false, extraRules: oddRule)
        return try ConfigLoader.parse(yaml: text, file: try scratch.write("pcap.yaml", text))
    }

    func scrape(_ port: Int) throws -> Exposition {
        let r = try httpGet(port: port, path: "/metrics")
        XCTAssertEqual(r.status, 200, r.body)
        return try Exposition(r.body)
    }

    func testScrapeOfARunningEngineCountsTheTrafficAsReplayDoes() throws {
        let scratch = try ScratchDirectory("telemetry-scrape")
        defer { scratch.remove() }
        let c = try pcapConfiguration(scratch)
        let replay = try Replay.run(c, ReplayOptions(input: Self.sample))
        let frames = try TinyPcap.read(Self.sample)
        XCTAssertEqual(UInt64(frames.count), replay.frames)

        let metrics = try MetricsService(endpoint: .tcp(host: "127.0.0.1", port: 0))
        defer { metrics.stop() }
        let port = try XCTUnwrap(metrics.boundPort)
        XCTAssertEqual(try httpGet(port: port, path: "/readyz").body, "error: not running yet\n")
        XCTAssertEqual(try httpGet(port: port, path: "/nothing").status, 404)

        let engine = try Engine.open(c)
        defer { engine.close() }
        metrics.serve(engine)
        let before = try httpGet(port: port, path: "/readyz")
        XCTAssertEqual(before.status, 503)
        XCTAssertEqual(before.body, "error: not ready: the workers are not running\n")
        try engine.start()
        waitUntil(timeout: 20, what: "/readyz to answer 200") {
            (try? httpGet(port: port, path: "/readyz").status) == 200
        }
        XCTAssertEqual(try httpGet(port: port, path: "/healthz").body, "ok: live: 1 worker(s) turning\n")
        var m = try scrape(port)
        let decided = { m.value("vfwall_worker_frames_total", [("worker", "0")]) ?? -1 }
        waitUntil(timeout: 20, what: "the worker to decide all \(replay.frames) frames (\(decided()) so far)") {
            m = (try? scrape(port)) ?? m
            return decided() == Double(replay.frames)
        }

        let inside = [("port", "inside")], outside = [("port", "outside")]
        XCTAssertEqual(m.value("vfwall_port_rx_packets_total", inside), Double(frames.count))
        XCTAssertEqual(m.value("vfwall_port_rx_bytes_total", inside), Double(frames.reduce(0) { $0 + $1.count }))
        XCTAssertEqual(m.value("vfwall_port_rx_packets_total", outside), 0)
        XCTAssertEqual(m.value("vfwall_port_tx_packets_total", outside), Double(replay.accepted))
        XCTAssertEqual(m.value("vfwall_port_dropped_packets_total", inside), Double(replay.dropped + replay.rejected))
        XCTAssertEqual(m.value("vfwall_port_tx_full_packets_total", outside), 0)
        XCTAssertEqual(m.value("vfwall_port_up", inside), 1)
        XCTAssertEqual(m.types["vfwall_port_rx_packets_total"], "counter")
        XCTAssertEqual(m.types["vfwall_conntrack_flows"], "gauge")
        XCTAssertEqual(c.policy.rules.last?.name, "odd \"quoted\" \\ name")
        for (i, rule) in c.policy.rules.enumerated() {
            let labels = [("rule", rule.name), ("index", String(i)), ("action", "\(rule.action)")]
            XCTAssertEqual(m.value("vfwall_rule_hits_total", labels), Double(replay.counters.ruleHits[i]), rule.name)
        }
        XCTAssertEqual(
            m.value("vfwall_default_hits_total", [("action", "\(c.policy.defaultAction)")]),
            Double(replay.counters.defaultHits))
        XCTAssertGreaterThan(replay.counters.count(.invalidState), 0)
        for reason in FirewallCore.Reason.allCases where reason != .none {
            XCTAssertEqual(
                m.value("vfwall_reason_frames_total", [("reason", reason.name)]), Double(replay.counters.count(reason)),
                reason.name)
        }
        XCTAssertEqual(m.value("vfwall_frames_total", [("action", "reject")]), Double(replay.rejected))
        XCTAssertEqual(m.value("vfwall_conntrack_accepted_frames_total"), Double(replay.counters.conntrackAccepted))
        let w0 = [("worker", "0")]
        XCTAssertEqual(m.value("vfwall_conntrack_flows", w0), Double(replay.flows))
        XCTAssertEqual(m.value("vfwall_conntrack_created_total", w0), Double(replay.flowsCreated))
        XCTAssertEqual(m.value("vfwall_conntrack_refused_total", w0), 0)
        XCTAssertEqual(m.value("vfwall_worker_reject_replies_total", w0), Double(replay.rejected))
        XCTAssertEqual(m.value("vfwall_worker_verdicts_total", w0 + [("action", "accept")]), Double(replay.accepted))
        XCTAssertEqual(
            m.value("vfwall_worker_conntrack_accepted_frames_total", w0), Double(replay.counters.conntrackAccepted))
        XCTAssertGreaterThan(m.value("vfwall_worker_loop_turns_total", w0) ?? 0, 0)
        XCTAssertEqual(m.value("vfwall_policy_generation"), 1)
        XCTAssertEqual(m.value("vfwall_worker_policy_generation", w0), 1)
        XCTAssertEqual(m.value("vfwall_reloads_total"), 0)

        // docs/operations.md lists every series, with its type, and no other.
        let doc = try String(contentsOfFile: repositoryRoot + "/docs/operations.md", encoding: .utf8)
        var documented: [String: String] = [:]
        for row in doc.split(separator: "\n") where row.hasPrefix("| `vfwall_") {
            let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            documented[cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`"))] = cells[1]
        }
        XCTAssertEqual(documented, m.types, "docs/operations.md's table of series")

        // A good reload, then a refused one: generation 2, one success, one failure; still ready.
        XCTAssertEqual(engine.reload(), .applied(rules: c.policy.rules.count, notes: []))
        try "rules: [{action: maybe}]\n".write(toFile: c.file, atomically: true, encoding: .utf8)
        guard case .refused = engine.reload() else { return XCTFail("a bad file is refused") }
        m = try scrape(port)
        XCTAssertEqual(m.value("vfwall_policy_generation"), 2)
        XCTAssertEqual(m.value("vfwall_worker_policy_generation", w0), 2)
        XCTAssertEqual(m.value("vfwall_reloads_total"), 1)
        XCTAssertEqual(m.value("vfwall_reload_failures_total"), 1)
        XCTAssertEqual(try httpGet(port: port, path: "/readyz").status, 200)

        engine.stop()
        let dead = try httpGet(port: port, path: "/healthz")
        XCTAssertEqual(dead.status, 503)
        XCTAssertEqual(dead.body, "error: not live: the workers are not running\n")
    }

    /// `vfwall health` asks the control socket: 0 and why when healthy, 1 and why not.
    func testHealthThroughTheControlSocketAndTheCommand() throws {
        let scratch = try ScratchDirectory("telemetry-health")
        defer { scratch.remove() }
        let c = try pcapConfiguration(scratch)
        let service = try ControlService(path: scratch.path("ctl.sock"))
        defer { service.stop() }
        let engine = try Engine.open(c)
        defer { engine.close() }
        try service.serve(engine)
        XCTAssertEqual(
            try ControlSocket.request("health", path: service.path), "error: not live: the workers are not running\n")
        let down = try runProduct("vfwall", ["health", "--socket", service.path])
        XCTAssertEqual(down.status, 1, down.output)
        XCTAssertEqual(down.stdout, "error: not live: the workers are not running\n")

        try engine.start()
        let answer = try ControlSocket.request("health", path: service.path)
        XCTAssertEqual(
            answer,
            "ok: live and ready: 1 worker(s) turning, ports inside, outside up, "
                + "policy generation 1 installed on every worker\n")
        let up = try runProduct("vfwall", ["health", "--socket", service.path])
        XCTAssertEqual(up.status, 0, up.output)
        XCTAssertEqual(up.stdout, answer)
    }
}
