@testable import Dataplane
import EngineConfig
import FirewallConfig
import FirewallCore
@testable import LinuxIO
@testable import Ports
import TestSupport
import XCTest

/// The shipped capture through the shipped configuration: every frame gets the verdict that
/// scripts/make-sample-capture.py wrote down for it when it built the scenario.
final class ReplayGoldenTests: XCTestCase {
    static let root = URL(fileURLWithPath: repositoryRoot)

    var config: Configuration {
        get throws { try ConfigLoader.load(path: Self.root.appendingPathComponent("configs/default.yaml").path) }
    }
    var sample: String { Self.root.appendingPathComponent("captures/sample.pcap").path }

    struct Expected: Decodable {
        let index: Int
        let verdict: String
        let decided_by: String
        let rule: String?
        let reason: String?
    }
    struct Got: Decodable {
        struct RuleRef: Decodable {
            let index: Int
            let name: String
        }
        let index: Int
        let verdict: String
        let decided_by: String
        let rule: RuleRef?
        let reason: String?
        let state: String
        let ingress: String
    }

    func tmp(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("vfwall-\(getpid())-\(name)").path
    }

    func lines<T: Decodable>(_ path: String, _ t: T.Type) throws -> [T] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try JSONDecoder().decode(T.self, from: Data($0.utf8))
        }
    }

    func testEveryFrameOfTheSampleGetsItsExpectedVerdict() throws {
        let c = try config
        var o = ReplayOptions(input: sample)
        o.ingressByMAC = [([2, 0, 0, 0, 0, 0xfe], 1)]
        o.verdictsOutput = tmp("verdicts.jsonl")
        o.acceptedOutput = tmp("accepted.pcap")
        o.droppedOutput = tmp("dropped.pcap")
        defer { for p in [o.verdictsOutput!, o.acceptedOutput!, o.droppedOutput!] { unlink(p) } }
        let s = try Replay.run(c, o)

        let expected = try lines(Self.root.appendingPathComponent("captures/sample.expected.jsonl").path, Expected.self)
        let got = try lines(o.verdictsOutput!, Got.self)
        XCTAssertEqual(expected.count, 482)
        XCTAssertEqual(got.count, expected.count)
        for (e, g) in zip(expected, got) {
            XCTAssertEqual(g.index, e.index)
            XCTAssertEqual(g.verdict, e.verdict, "frame \(e.index)")
            XCTAssertEqual(g.decided_by, e.decided_by, "frame \(e.index)")
            XCTAssertEqual(g.rule?.name, e.rule, "frame \(e.index)")
            XCTAssertEqual(g.reason, e.reason, "frame \(e.index)")
        }
        XCTAssertEqual(s.frames, UInt64(expected.count))
        XCTAssertEqual(s.accepted + s.dropped + s.rejected, s.frames)
        XCTAssertEqual(s.accepted, UInt64(expected.filter { $0.verdict == "accept" }.count))
        XCTAssertEqual(s.rejected, UInt64(expected.filter { $0.verdict == "reject" }.count))
        XCTAssertNil(s.inputError)

        // The split captures hold exactly the accepted and the other frames, in order.
        let acc = try PcapReader(path: o.acceptedOutput!), drp = try PcapReader(path: o.droppedOutput!)
        var nAcc = 0, nDrp = 0
        while try acc.next() != nil { nAcc += 1 }
        while try drp.next() != nil { nDrp += 1 }
        XCTAssertEqual(UInt64(nAcc), s.accepted)
        XCTAssertEqual(UInt64(nDrp), s.dropped + s.rejected)
    }

    func testOutputKeepsTimestampsAndLinkType() throws {
        var o = ReplayOptions(input: sample)
        o.acceptedOutput = tmp("acc2.pcap")
        defer { unlink(o.acceptedOutput!) }
        _ = try Replay.run(try config, o)
        let inR = try PcapReader(path: sample), outR = try PcapReader(path: o.acceptedOutput!)
        XCTAssertEqual(outR.dlt, inR.dlt)
        let first = try XCTUnwrap(try outR.next())
        let original = try XCTUnwrap(try inR.next())
        XCTAssertEqual(first.timestamp, original.timestamp)
        XCTAssertEqual(Array(first.bytes), Array(original.bytes))
    }

    func testTruncatedCaptureReportsTheFramesBeforeTheDamage() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: sample))
        let cut = tmp("cut.pcap")
        defer { unlink(cut) }
        // Cut in the middle of a record: header of 24 bytes, then records.
        try data.prefix(24 + 3000).write(to: URL(fileURLWithPath: cut))
        let s = try Replay.run(try config, ReplayOptions(input: cut))
        XCTAssertNotNil(s.inputError)
        XCTAssertTrue(s.inputError!.contains(cut), s.inputError!)
        // Every frame the reader gives before the damage is replayed, the last partial burst too.
        let reader = try PcapReader(path: cut)
        var before: UInt64 = 0
        while (try? reader.next()) != nil { before += 1 }
        XCTAssertGreaterThan(before, 32)
        XCTAssertNotEqual(before % 32, 0)
        XCTAssertEqual(s.frames, before)
        XCTAssertEqual(s.accepted + s.dropped + s.rejected, s.frames)
    }

    func testMissingAndNonCaptureFilesFailClearly() throws {
        XCTAssertThrowsError(try Replay.run(try config, ReplayOptions(input: "/nonexistent/x.pcap"))) { e in
            XCTAssertTrue("\(e)".hasPrefix("/nonexistent/x.pcap: cannot read capture"), "\(e)")
        }
        let junk = tmp("junk.pcap")
        defer { unlink(junk) }
        try Data("this is not a capture".utf8).write(to: URL(fileURLWithPath: junk))
        XCTAssertThrowsError(try Replay.run(try config, ReplayOptions(input: junk))) { e in
            XCTAssertTrue("\(e)".contains(junk), "\(e)")
        }
    }

    func testUnsupportedLinkTypeIsNamed() throws {
        let path = tmp("ieee80211.pcap")
        defer { unlink(path) }
        var header = Data()
        for v: UInt32 in [0xA1B2_C3D4] { withUnsafeBytes(of: v.littleEndian) { header.append(contentsOf: $0) } }
        withUnsafeBytes(of: UInt16(2).littleEndian) { header.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt16(4).littleEndian) { header.append(contentsOf: $0) }
        for v: UInt32 in [0, 0, 65535, 105] { withUnsafeBytes(of: v.littleEndian) { header.append(contentsOf: $0) } }
        try header.write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try PcapReader(path: path)) { e in
            XCTAssertTrue("\(e)".contains("link type IEEE802_11"), "\(e)")
        }
    }

    func testLinuxCookedAndRawIPCaptures() throws {
        // Rewrite two frames of the sample as SLL and raw IP captures and replay them.
        let input = try PcapReader(path: sample)
        let first = try XCTUnwrap(try input.next())
        let ethFrame = Array(first.bytes)
        let ip = Array(ethFrame[14...])
        for (dlt, frame) in [(Int32(113), [0, 4, 0, 1, 0, 6] + ethFrame[6..<12] + [0, 0, 8, 0] + ip), (Int32(12), ip)] {
            let path = tmp("link\(dlt).pcap")
            defer { unlink(path) }
            do {
                let w = try PcapWriter(path: path, dlt: dlt)
                frame.withUnsafeBytes { w.write($0, timestamp: 5) }
            }
            var o = ReplayOptions(input: path)
            o.verdictsOutput = tmp("link\(dlt).jsonl")
            defer { unlink(o.verdictsOutput!) }
            let s = try Replay.run(try config, o)
            XCTAssertEqual(s.frames, 1)
            XCTAssertEqual(s.counters.ruleHits[1], 1, "the web SYN matches allow-web-out on link type \(dlt)")
        }
    }
}
