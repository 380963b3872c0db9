@testable import Dataplane
import EngineConfig
import FirewallConfig
import FirewallCore
import Foundation
@testable import Ports
import TestSupport
import XCTest

/// What the supervisor logs between reloads: link changes once per change, and a full conntrack
/// table at most once per report interval with the refusals counted since the last report. The
/// supervisor's clock is the test's to give, so nothing waits for time to pass.
final class EngineEventsTests: XCTestCase {
    static let second: UInt64 = 1_000_000_000

    /// An engine on memory ports whose worker tracks at most 16 flows and accepts everything.
    func smallTableEngine() throws -> (Engine, MemoryPort, MemoryPort) {
        let base = try String(contentsOfFile: repositoryRoot + "/configs/default.yaml", encoding: .utf8)
        let text =
            base
            .replacingOccurrences(of: "  default: drop ", with: "  default: accept ")
            .replacingOccurrences(of: "max-flows: 65536", with: "max-flows: 16")
        let c = try ConfigLoader.parse(yaml: text, file: "small.yaml")
        XCTAssertEqual(c.conntrack.maxFlows, 16)
        let inside = MemoryPort(name: "inside"), outside = MemoryPort(name: "outside")
        return (try Engine(c, ports: [inside, outside], placement: .threads(cpus: [nil])), inside, outside)
    }

    func testAFullConntrackTableIsReportedOncePerIntervalWithTheRefusalsSinceTheLast() throws {
        let (engine, inside, outside) = try smallTableEngine()
        defer { engine.close() }
        try engine.start()
        // Sixteen answered flows fill the table with flows early drop may not evict.
        inside.inject((0..<16).map { PortTestFrames.udp(index: $0, sourcePort: UInt16(1000 + $0)) })
        waitUntil(timeout: 5, what: "16 requests forwarded") { outside.statistics.tx == 16 }
        outside.inject(
            (0..<16).map {
                PortTestFrames.udp(
                    index: $0, sourcePort: 2000, destinationPort: UInt16(1000 + $0), sourceIP: [10, 0, 0, 2],
                    destinationIP: [10, 0, 0, 1])
            })
        waitUntil(timeout: 5, what: "16 replies forwarded") { inside.statistics.tx == 16 }
        func refusedNow() -> UInt64 {
            engine.statistics(fresh: true).workers.reduce(0) { $0 + ($1.conntrack?.refused ?? 0) }
        }
        func offerNewFlows(_ indexes: Range<Int>) {
            let before = inside.statistics.rx
            inside.inject(indexes.map { PortTestFrames.udp(index: $0, sourcePort: UInt16(3000 + $0)) })
            waitUntil(timeout: 5, what: "new flows read") { inside.statistics.rx == before + UInt64(indexes.count) }
        }

        let logs = LogRecords()
        var events = EventWatch(links: [LinkState(up: true), LinkState(up: true)], conntrackReportSeconds: 10)
        engine.look(&events, now: 0, logger: logs.logger)
        XCTAssertEqual(logs.all.count, 0, "nothing refused yet: \(logs.all)")

        offerNewFlows(100..<140)
        let firstRefusals = refusedNow()
        XCTAssertGreaterThan(firstRefusals, 0, "a full table refuses new flows")
        engine.look(&events, now: 1 * Self.second, logger: logs.logger)
        let first = logs.events("conntrack-full")
        XCTAssertEqual(first.count, 1, "the first refusals are reported at once")
        XCTAssertEqual(first.first?.level, .warning)
        XCTAssertEqual(first.first?.metadata["refused"].map { "\($0)" }, "\(firstRefusals)")
        XCTAssertTrue(first.first?.message.contains("max-flows 16 per worker") ?? false, "\(first)")

        offerNewFlows(200..<210)
        let moreRefusals = refusedNow() - firstRefusals
        XCTAssertGreaterThan(moreRefusals, 0)
        engine.look(&events, now: 5 * Self.second, logger: logs.logger)
        XCTAssertEqual(logs.events("conntrack-full").count, 1, "within 10 s of the last report: held back")
        engine.look(&events, now: 11 * Self.second, logger: logs.logger)
        let second = logs.events("conntrack-full")
        XCTAssertEqual(second.count, 2, "reported again once the interval passed")
        XCTAssertEqual(second.last?.metadata["refused"].map { "\($0)" }, "\(moreRefusals)", "counted since the last")
        engine.look(&events, now: 30 * Self.second, logger: logs.logger)
        XCTAssertEqual(logs.events("conntrack-full").count, 2, "no refusals since: nothing to say")

        // `vfwall stats` carries the same counts, in total and per worker, and the heartbeat.
        let stats = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(engine.statistics(fresh: true).json().utf8)) as? [String: Any])
        let conntrack = try XCTUnwrap(stats["conntrack"] as? [String: Any])
        XCTAssertEqual(conntrack["refused"] as? Int, Int(firstRefusals + moreRefusals))
        XCTAssertEqual(conntrack["created"] as? Int, 16)
        let worker = try XCTUnwrap((stats["workers"] as? [[String: Any]])?.first)
        XCTAssertEqual((worker["conntrack"] as? [String: Any])?["refused"] as? Int, Int(firstRefusals + moreRefusals))
        XCTAssertGreaterThan(worker["loop_turns"] as? Int ?? 0, 0)
        engine.stop()
    }

    func testALinkChangeIsLoggedOnceEachWay() throws {
        let (engine, inside, _) = try smallTableEngine()
        defer { engine.close() }
        let logs = LogRecords()
        var events = EventWatch(links: [LinkState(up: true), LinkState(up: true)])
        engine.look(&events, now: 0, logger: logs.logger)
        XCTAssertEqual(logs.all.count, 0, "nothing changed since the start")
        inside.link = LinkState(up: false)
        engine.look(&events, now: 1, logger: logs.logger)
        engine.look(&events, now: 2, logger: logs.logger)
        inside.link = LinkState(up: true, speedMbps: 10000)
        engine.look(&events, now: 3, logger: logs.logger)
        let links = logs.events("link")
        XCTAssertEqual(links.map(\.level), [.error, .notice])
        XCTAssertEqual(links.map { $0.metadata["port"].map { "\($0)" } }, ["inside", "inside"])
        XCTAssertEqual(
            links.map(\.message),
            [
                "port 'inside' link went down",
                "port 'inside' link is up again (up, 10000 Mb/s, full duplex)"
            ])
    }

    func testARefusedReloadCarriesTheConfigurationErrorsPosition() {
        typealias Outcome = Engine.ReloadOutcome
        XCTAssertEqual(Outcome.position(in: "/etc/vfwall/fw.yaml:12:7: 'dport': bad"), "/etc/vfwall/fw.yaml:12:7")
        XCTAssertNil(Outcome.position(in: "fw.yaml: the ports changed (a -> b); changing ports needs a restart"))
        XCTAssertNil(Outcome.position(in: "cannot read fw.yaml:x:1: no such file"))
        let logs = LogRecords()
        Outcome.refused("fw.yaml:3:9: unknown key 'dpot'").log(trigger: "SIGHUP", to: logs.logger)
        Outcome.applied(rules: 4, notes: ["port settings changed"]).log(trigger: "control socket", to: logs.logger)
        let records = logs.events("reload")
        XCTAssertEqual(records.map(\.level), [.error, .info])
        XCTAssertEqual(records.first?.metadata["position"].map { "\($0)" }, "fw.yaml:3:9")
        XCTAssertEqual(records.first?.message, "reload (SIGHUP): error: fw.yaml:3:9: unknown key 'dpot'")
        XCTAssertEqual(records.last?.metadata["rules"].map { "\($0)" }, "4")
    }
}
