@testable import Dataplane
import EngineConfig
import FirewallConfig
import FirewallCore
@testable import LinuxIO
@testable import Ports
import TestSupport
import XCTest

/// The malformed-traffic corpus (scripts/make-malformed-corpus.py) through `vfwall replay` with the
/// shipped configuration: nothing crashes, every frame is accounted for, and each frame lands
/// under the reason the generator wrote down for it.
final class MalformedCorpusTests: XCTestCase {
    struct Expected: Decodable {
        let index: Int
        let `case`: String
        let verdict: String
        let decided_by: String
        let rule: String?
        let reason: String?
    }
    struct Got: Decodable {
        struct RuleRef: Decodable { let name: String }
        let index: Int
        let verdict: String
        let decided_by: String
        let rule: RuleRef?
        let reason: String?
    }

    func lines<T: Decodable>(_ path: String, _ t: T.Type) throws -> [T] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try JSONDecoder().decode(T.self, from: Data($0.utf8))
        }
    }

    /// Runs the generator into a fresh temporary directory.
    func generateCorpus() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vfwall-malformed-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        let generator = repositoryRoot + "/scripts/make-malformed-corpus.py"
        let run = try runProcess("python3", [generator, dir.path])
        XCTAssertEqual(run.status, 0, "make-malformed-corpus.py failed: \(run.stderr)")
        return dir
    }

    func testEveryMalformedFrameIsCountedUnderItsReason() throws {
        let dir = try generateCorpus()
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = try ConfigLoader.load(path: repositoryRoot + "/configs/default.yaml")
        let captures = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".pcap") }
            .sorted()
        XCTAssertEqual(
            captures,
            [
                "malformed-ethernet.pcap", "malformed-loop.pcap", "malformed-null.pcap",
                "malformed-rawip.pcap", "malformed-sll.pcap"
            ])

        var perReason: [String: Int] = [:]
        var total = 0
        for name in captures {
            let base = dir.appendingPathComponent(String(name.dropLast(5))).path
            var o = ReplayOptions(input: base + ".pcap")
            o.verdictsOutput = base + ".verdicts.jsonl"
            let s = try Replay.run(config, o)
            let expected = try lines(base + ".expected.jsonl", Expected.self)
            let got = try lines(o.verdictsOutput!, Got.self)

            XCTAssertNil(s.inputError, name)
            XCTAssertEqual(got.count, expected.count, name)
            XCTAssertEqual(s.frames, UInt64(expected.count), name)
            XCTAssertEqual(s.accepted + s.dropped + s.rejected, s.frames, "\(name): every frame ends exactly once")
            XCTAssertEqual(s.counters.reasons.reduce(0, +), s.frames, "\(name): every frame under exactly one reason")
            for (e, g) in zip(expected, got) {
                let at = "\(name) frame \(e.index) (\(e.case))"
                XCTAssertEqual(g.index, e.index, at)
                XCTAssertEqual(g.reason, e.reason, at)
                XCTAssertEqual(g.verdict, e.verdict, at)
                XCTAssertEqual(g.decided_by, e.decided_by, at)
                XCTAssertEqual(g.rule?.name, e.rule, at)
                perReason[e.reason ?? "accepted-by-rule", default: 0] += 1
            }
            // The pipeline's own counters agree with the per-frame verdicts.
            for r in Reason.allCases where r != .none {
                XCTAssertEqual(
                    s.counters.count(r), UInt64(expected.filter { $0.reason == r.name }.count),
                    "\(name): counter \(r.name)")
            }
            total += expected.count
        }
        // Every kind of malformation the parser names is exercised at least once.
        for r in Reason.allCases where r.isMalformed {
            XCTAssertNotNil(perReason[r.name], "the corpus has no frame for \(r.name)")
        }
        XCTAssertGreaterThan(total, 300)
        print(
            "malformed corpus: \(total) frames; "
                + perReason.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
    }
}
