@testable import Dataplane
import EngineConfig
import FirewallConfig
import FirewallCore
import Foundation
import Glibc
@testable import LinuxIO
@testable import Ports
import TestSupport
import XCTest

/// The engine in this process on the pcap backend (no privileges needed): the live run over
/// files decides exactly as the replay does; reloads; the control socket.
final class EngineRunTests: XCTestCase {
    static let sample = repositoryRoot + "/captures/sample.pcap"

    func pcapConfiguration(_ scratch: ScratchDirectory, extraRules: String = "") throws -> Configuration {
        let text = try pcapDefaultConfigurationText(scratch, extraRules: extraRules)
        return try ConfigLoader.parse(yaml: text, file: try scratch.write("pcap.yaml", text))
    }

    func testPcapBackendForwardsWhatReplayAcceptsAndStopsWhenTheInputEnds() throws {
        let scratch = try ScratchDirectory("engine-pcap")
        defer { scratch.remove() }
        let c = try pcapConfiguration(scratch)
        let engine = try Engine.open(c)
        try engine.start()
        waitUntil(timeout: 20, what: "the engine to read its inputs to the end") { engine.inputsExhausted }
        engine.stop()
        let stats = engine.statistics(fresh: false)
        engine.close()

        var o = ReplayOptions(input: Self.sample)
        o.acceptedOutput = scratch.path("replay.pcap")
        let replay = try Replay.run(c, o)
        XCTAssertEqual(try pcapFrames(scratch.path("outside.pcap")), try pcapFrames(scratch.path("replay.pcap")))
        XCTAssertEqual(stats.total.frames, replay.frames)
        XCTAssertEqual(stats.total.count(.accept), replay.accepted)
        XCTAssertEqual(stats.total.ruleHits, replay.counters.ruleHits)
        XCTAssertEqual(stats.total.reasons, replay.counters.reasons)
        XCTAssertEqual(stats.rejectReplies, replay.rejected, "each rejected telnet SYN is answered")
        XCTAssertEqual(try pcapFrames(scratch.path("inside.pcap")).count, Int(replay.rejected))
        XCTAssertEqual(stats.ports.map(\.counters.rx), [replay.frames, 0])
        XCTAssertEqual(stats.ports[1].counters.tx, replay.accepted)
        XCTAssertEqual(stats.ports[0].counters.dropped, replay.dropped + replay.rejected)
        XCTAssertEqual(stats.flows, replay.flows)

        let json = try RunStats(String(decoding: try JSONEncoder().encode(stats), as: UTF8.self))
        XCTAssertEqual(json.ruleHits("allow-web-out"), Int(replay.counters.ruleHits[1]))
        XCTAssertEqual(json.portCount("outside", "tx"), Int(replay.accepted))
        XCTAssertEqual(json.flows, replay.flows)
        // Workers keep their flow tables in huge-page regions; stats say how big and on what.
        XCTAssertEqual(json.conntrack("table_backing") as? String, "huge pages")
        XCTAssertEqual(json.conntrack("table_bytes") as? Int, stats.workers.reduce(0) { $0 + $1.table.bytes })
        XCTAssertGreaterThan(json.conntrack("table_bytes") as? Int ?? 0, 0)
        XCTAssertNotNil(json.conntrack("table_huge_page_bytes"), "the region should be found in /proc/self/smaps")
    }

    func testReloadSwapsThePolicyAndRefusesBadOrIncompatibleConfigurations() throws {
        let scratch = try ScratchDirectory("engine-reload")
        defer { scratch.remove() }
        let c = try pcapConfiguration(scratch)
        let engine = try Engine.open(c)
        defer { engine.close() }

        var fewer = c
        fewer.policy.rules.removeLast()
        fewer.dataplane.burst = 8
        XCTAssertEqual(
            engine.reload(with: fewer),
            .applied(
                rules: c.policy.rules.count - 1,
                notes: ["dataplane settings changed; they take effect on restart"]))
        XCTAssertEqual(engine.policy.rules.count, c.policy.rules.count - 1)
        XCTAssertEqual(engine.plan.burst, c.dataplane.burst, "the running dataplane stays")

        var renamed = c
        renamed.ports[1].name = "wan"
        renamed.policy.portNames = ["inside", "wan"]
        guard case let .refused(why) = engine.reload(with: renamed) else { return XCTFail("ports changed") }
        XCTAssertTrue(why.contains("the ports changed"), why)

        // The file on disk is broken: refused with its position, the policy in force stays.
        _ = try scratch.write("pcap.yaml", "rules:\n  - name: x\n    dport: [\n")
        guard case let .refused(error) = engine.reload() else { return XCTFail("a broken file must be refused") }
        XCTAssertTrue(error.hasPrefix(scratch.path("pcap.yaml") + ":"), error)
        XCTAssertEqual(engine.policy.rules.count, c.policy.rules.count - 1)
        let s = engine.statistics(fresh: false)
        XCTAssertEqual(s.reloads, 1)
        XCTAssertEqual(s.failedReloads, 2)
        XCTAssertEqual(s.lastReloadError, error)
        XCTAssertEqual(s.policyGeneration, 2)
    }

    /// A reload answers only once every worker reports the new policy installed; a worker stuck
    /// in a receive call is named when the deadline passes, and installs it once it turns again.
    func testReloadIsAnsweredOnceEveryWorkerRunsTheNewPolicyAndNamesALaggard() throws {
        let scratch = try ScratchDirectory("engine-ack")
        defer { scratch.remove() }
        let base = try String(contentsOfFile: repositoryRoot + "/configs/default.yaml", encoding: .utf8)
        let text = base.replacingOccurrences(of: "  cores: [0] ", with: "  cores: [0, 1]")
        let c = try ConfigLoader.parse(yaml: text, file: try scratch.write("two.yaml", text))
        XCTAssertEqual(c.dataplane.cores, [0, 1])
        // Worker i owns queue i of both ports; only worker 1's queue of the outside port is gated.
        let inside = MemoryPort(name: "inside", queues: 2)
        let outside = GatedPort(MemoryPort(name: "outside", queues: 2), state: .open, queues: [1])
        let engine = try Engine(c, ports: [inside, outside], placement: .threads(cpus: [nil, nil]))
        defer {
            outside.state = .open
            engine.close()
        }
        try engine.start()
        func installed() -> [UInt64] { (0..<2).map { engine.control.installedGeneration(of: $0) } }

        var fewer = c
        fewer.policy.rules.removeLast()
        XCTAssertEqual(engine.reload(with: fewer), .applied(rules: c.policy.rules.count - 1, notes: []))
        XCTAssertEqual(installed(), [2, 2], "answered only after both workers installed it")

        outside.state = .blocked
        waitUntil(timeout: 5, what: "worker 1 is stuck in a receive call") { outside.blockedCalls == 1 }
        let late = engine.reload(with: c, ackTimeoutMs: 1000)
        XCTAssertEqual(
            late,
            .unacknowledged(
                rules: c.policy.rules.count, generation: 3, workers: [1], cores: [1],
                timeoutMs: 1000))
        XCTAssertTrue(late.answer.hasPrefix("error: policy generation 3"), late.answer)
        XCTAssertTrue(late.answer.contains("worker 1 (core 1) did not install it within 1000 ms"), late.answer)
        XCTAssertEqual(installed(), [3, 2], "the others run it")
        let s = engine.statistics(fresh: false)
        XCTAssertEqual(s.policyGeneration, 3)
        XCTAssertEqual(s.workers.map(\.policyGeneration), [3, 2])
        XCTAssertEqual(s.lastReloadError.map { "error: " + $0 }, late.answer)
        let json = try RunStats(String(decoding: try JSONEncoder().encode(s), as: UTF8.self))
        let workers = json.json["workers"] as? [[String: Any]] ?? []
        XCTAssertEqual(workers.compactMap { $0["policy_generation"] as? Int }, [3, 2], "vfwall stats shows them")

        outside.state = .open
        waitUntil(timeout: 5, what: "the laggard installs it once its loop turns") { installed() == [3, 3] }
    }

    func testControlSocketIsOwnerOnlyAnswersAndRefusesASecondServer() throws {
        let scratch = try ScratchDirectory("engine-socket")
        defer { scratch.remove() }
        let path = scratch.path("sub/dir/ctl.sock")
        let socket = try ControlSocket(path: path) { request in request == "stats" ? "{}\n" : "error: unknown\n" }
        try socket.start()
        var st = stat()
        XCTAssertEqual(stat(path, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFSOCK)
        XCTAssertEqual(try ControlSocket.request("stats", path: path), "{}\n")
        XCTAssertEqual(try ControlSocket.request("bogus", path: path), "error: unknown\n")
        XCTAssertThrowsError(try ControlSocket(path: path) { _ in "" }) { e in
            XCTAssertTrue("\(e)".contains("is in use"), "\(e)")
        }
        socket.stop()
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        XCTAssertThrowsError(try ControlSocket.request("stats", path: path))

        // A stale socket file (nobody listening) is replaced.
        Self.leaveStaleSocket(at: path)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path))
        let again = try ControlSocket(path: path) { _ in "fresh\n" }
        try again.start()
        XCTAssertEqual(try ControlSocket.request("stats", path: path), "fresh\n")
        again.stop()
    }

    /// The engine's control side without the CLI: its protocol over a real socket, and the
    /// supervision loop ending when the pcap inputs run out.
    func testControlServiceAnswersTheEnginesProtocolAndSuperviseEndsWithTheInput() throws {
        let scratch = try ScratchDirectory("engine-service")
        defer { scratch.remove() }
        let c = try pcapConfiguration(scratch)
        let logs = LogRecords()
        let service = try ControlService(path: scratch.path("service.sock"), logger: logs.logger)
        defer { service.stop() }

        let engine = try Engine.open(c)
        defer { engine.close() }
        try service.serve(engine)
        XCTAssertTrue(try ControlSocket.request("reload", path: service.path).hasPrefix("ok: "))
        XCTAssertTrue(try ControlSocket.request("stats", path: service.path).contains("\"policy_generation\""))
        XCTAssertEqual(
            try ControlSocket.request("shutdown", path: service.path),
            "error: unknown request 'shutdown' (stats, reload, health, set)\n")
        let logged = logs.all
        XCTAssertEqual(logged.count, 1)
        XCTAssertTrue(logged.first?.message.hasPrefix("reload (control socket): ok: ") ?? false, "\(logged)")
        XCTAssertEqual(logged.first?.event, "reload")
        XCTAssertEqual(logged.first?.metadata["outcome"].map { "\($0)" }, "accepted")

        try engine.start()
        XCTAssertEqual(engine.supervise(), RunEnd.inputsExhausted)
        engine.stop()
        let frames = try Replay.run(c, ReplayOptions(input: Self.sample)).frames
        XCTAssertEqual(engine.statistics(fresh: false).ports[0].counters.rx, frames, "every frame was read")
    }

    /// Binds a Unix socket at `path` and closes it without removing the file, as a crash would.
    static func leaveStaleSocket(at path: String) {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        Glibc.close(fd)
    }
}
