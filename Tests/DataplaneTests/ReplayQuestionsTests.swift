@testable import Dataplane
import EngineConfig
import FirewallConfig
import FirewallCore
@testable import LinuxIO
@testable import Ports
import XCTest

/// `--compare`, `--explain` and coverage on the shipped capture, against what
/// scripts/make-sample-capture.py wrote down for each frame (captures/sample.expected.jsonl),
/// not against vfwall's own output.
final class ReplayQuestionsTests: XCTestCase {
    typealias Golden = ReplayGoldenTests

    func sampleOptions() -> ReplayOptions {
        var o = ReplayOptions(input: Golden.root.appendingPathComponent("captures/sample.pcap").path)
        o.ingressByMAC = [([2, 0, 0, 0, 0, 0xfe], 1)]
        return o
    }

    func expected() throws -> [Golden.Expected] {
        let path = Golden.root.appendingPathComponent("captures/sample.expected.jsonl").path
        return try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try JSONDecoder().decode(Golden.Expected.self, from: Data($0.utf8))
        }
    }

    func defaultConfig() throws -> Configuration {
        try ConfigLoader.load(path: Golden.root.appendingPathComponent("configs/default.yaml").path)
    }

    /// reject-telnet turned into a drop: exactly its frames change, reject -> drop, and nothing
    /// else (a rejected packet leaves no flow behind, so no later frame can differ).
    func testAnEditChangesExactlyTheFramesItShould() throws {
        let old = try defaultConfig()
        var new = old
        let telnet = try XCTUnwrap(new.policy.rules.firstIndex { $0.name == "reject-telnet" })
        new.policy.rules[telnet].action = .drop
        var c = CompareOptions()
        c.describe = 1000
        let s = try Replay.compare(old, new, sampleOptions(), c)
        let want = try expected().filter { $0.rule == "reject-telnet" }.map(\.index)
        XCTAssertFalse(want.isEmpty)
        XCTAssertEqual(s.firstChanged.map(\.index), want)
        XCTAssertEqual(s.changed, want.count)
        XCTAssertEqual(s.byAction, ["reject -> drop": want.count])
        XCTAssertEqual(s.byDecider, ["reject-telnet -> reject-telnet": want.count])
        XCTAssertTrue(s.firstChanged.allSatisfy { $0.summary.hasPrefix("tcp ") && $0.summary.hasSuffix(":23") })
        XCTAssertEqual(s.old.frames, 482)
        XCTAssertEqual(s.new.rejected, 0)
    }

    func testAPolicyComparedWithItselfChangesNothing() throws {
        let c = try defaultConfig()
        let s = try Replay.compare(c, c, sampleOptions(), CompareOptions())
        XCTAssertEqual(s.changed, 0)
        XCTAssertEqual(s.old.accepted, s.new.accepted)
    }

    /// Frame 0 opens the first web connection: allow-web-out accepts it as new, after
    /// reject-telnet failed on the destination port; no flow before, one in syn_sent after.
    func testExplainTakesTheFirstWebFrameApart() throws {
        let c = try defaultConfig()
        let e = try XCTUnwrap(Replay.explain(c, sampleOptions(), frame: 0))
        XCTAssertEqual(e.parse, .none)
        XCTAssertEqual(e.meta.proto, IPProto.tcp)
        XCTAssertEqual(e.meta.dport, 80)
        XCTAssertEqual(e.ingress, 0)
        XCTAssertNil(e.flowBefore)
        XCTAssertEqual(e.flowAfter?.tcpState, .synSent)
        XCTAssertEqual(e.verdict.rule, 1)
        XCTAssertEqual(e.meta.state, .new)
        // Frame 1 is the server's SYN-ACK, on outside: conntrack decides from the flow frame 0 made.
        let reply = try XCTUnwrap(Replay.explain(c, sampleOptions(), frame: 1))
        XCTAssertEqual(reply.ingress, 1)
        XCTAssertEqual(reply.flowBefore?.tcpState, .synSent)
        XCTAssertEqual(reply.flowAfter?.tcpState, .synRecv)
        XCTAssertEqual(reply.verdict.rule, Verdict.byConntrack)
        XCTAssertNil(try Replay.explain(c, sampleOptions(), frame: 482))
    }

    /// Each rule's hits are the frames the expectations say it decided.
    func testCoverageCountsWhatEachRuleDecided() throws {
        let c = try defaultConfig()
        let s = try Replay.run(c, sampleOptions())
        let golden = try expected()
        for (i, r) in c.policy.rules.enumerated() {
            XCTAssertEqual(s.counters.ruleHits[i], UInt64(golden.filter { $0.rule == r.name }.count), r.name)
        }
        XCTAssertEqual(s.counters.defaultHits, UInt64(golden.filter { $0.decided_by == "default" }.count))
    }
}
