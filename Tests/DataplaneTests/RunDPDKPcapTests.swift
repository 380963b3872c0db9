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

/// `vfwall run` on the dpdk backend with net_pcap virtual devices: the shipped capture goes in
/// on one port, and what comes out of each port is compared, byte for byte and in order, with
/// what `vfwall replay` decides for the same configuration (accepted frames out of the other
/// port; the answers to rejected frames out of the same port).
final class RunDPDKPcapTests: XCTestCase {
    static let sample = repositoryRoot + "/captures/sample.pcap"

    func testInsideInputMatchesReplayFrameForFrame() throws { try compare(input: "inside") }

    func testOutsideInputMatchesReplayFrameForFrame() throws { try compare(input: "outside") }

    func compare(input: String) throws {
        try requireRoot("DPDK EAL")
        let scratch = try ScratchDirectory("dpdk-pcap-\(input)")
        defer { scratch.remove() }
        let empty = scratch.path("empty.pcap")
        try TinyPcap.write([], to: empty)
        let rx = [
            "inside": input == "inside" ? Self.sample : empty, "outside": input == "outside" ? Self.sample : empty
        ]
        let socket = scratch.path("ctl.sock")
        let prefix = TestNames.unique() + "-pcap-\(input)"
        let base = try String(contentsOfFile: repositoryRoot + "/configs/default.yaml", encoding: .utf8)
        let config = try scratch.write(
            "dpdk.yaml",
            base
                .replacingOccurrences(
                    of: "    interface: vfw-in0 ",
                    with: "    device: net_pcap0,rx_pcap=\(rx["inside"]!),tx_pcap=\(scratch.path("inside.pcap")) #"
                )
                .replacingOccurrences(
                    of: "    interface: vfw-out0",
                    with: "    device: net_pcap1,rx_pcap=\(rx["outside"]!),tx_pcap=\(scratch.path("outside.pcap"))"
                )
                .replacingOccurrences(of: "backend: afpacket ", with: "backend: dpdk     ")
                .replacingOccurrences(
                    of: "\"256\"]",
                    with: "\"256\", \"--no-shconf\", \"--file-prefix\", \"\(prefix)\"]\n  control-socket: \(socket)"))

        let fw = try startProduct("vfwall", ["run", "--config", config, "--no-status"])
        let frames = try pcapFrames(Self.sample).count
        var last = ""
        waitUntil(timeout: 30, what: "all \(frames) frames received: \(last) \(fw.stderrText)") {
            guard let text = try? ControlSocket.request("stats", path: socket), let s = try? RunStats(text) else {
                return false
            }
            last = text
            return s.portCount(input, "rx") == frames
        }
        fw.signal(SIGTERM)
        let r = fw.wait(timeout: 20)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/var/run/dpdk/\(prefix)"))

        // The same configuration through the replay, with every frame entering on `input`.
        let c = try ConfigLoader.load(path: config)
        var o = ReplayOptions(input: Self.sample)
        o.ingress = c.policy.portIndex(input)!
        o.acceptedOutput = scratch.path("replay-accepted.pcap")
        o.verdictsOutput = scratch.path("replay.jsonl")
        let summary = try Replay.run(c, o)
        let accepted = try pcapFrames(scratch.path("replay-accepted.pcap"))
        XCTAssertGreaterThan(accepted.count, input == "inside" ? 300 : 40, "enough accepted frames to mean something")
        let other = input == "inside" ? "outside" : "inside"
        let forwarded = try pcapFrames(scratch.path("\(other).pcap"))
        XCTAssertEqual(forwarded.count, accepted.count)
        XCTAssertTrue(forwarded == accepted, "the frames out of \(other) are the replay's accepted frames, in order")

        // The rejected frames' answers, built independently from the replay's verdicts.
        let verdicts = try String(contentsOfFile: scratch.path("replay.jsonl"), encoding: .utf8).split(separator: "\n")
        let all = try pcapFrames(Self.sample)
        var replies: [[UInt8]] = []
        for (i, line) in verdicts.enumerated() where line.contains("\"verdict\":\"reject\"") {
            replies += Self.reply(to: all[i]).map { [$0] } ?? []
        }
        XCTAssertEqual(UInt64(replies.count), summary.rejected, "every rejected frame of the sample has an answer")
        let answered = try pcapFrames(scratch.path("\(input).pcap"))
        XCTAssertTrue(
            answered == replies,
            "the answers out of \(input) (\(answered.count)) are the replies to the rejected frames (\(replies.count))")
        XCTAssertTrue(r.stdout.contains("reject replies sent \(replies.count)"), r.stdout)
    }

    static func reply(to frame: [UInt8]) -> [UInt8]? {
        var meta = PacketMeta()
        return frame.withUnsafeBytes { bytes -> [UInt8]? in
            guard Parser.parse(bytes, link: .ethernet, into: &meta) == .none else { return nil }
            var out = [UInt8](repeating: 0, count: RejectReply.maxLength)
            let n = out.withUnsafeMutableBytes {
                RejectReply.build(for: bytes, meta: meta, into: $0.baseAddress!, capacity: $0.count)
            }
            return n > 0 ? Array(out[0..<n]) : nil
        }
    }
}
