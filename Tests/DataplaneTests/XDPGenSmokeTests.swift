import Dataplane
import EngineConfig
@testable import Workloads
import TestSupport
import XCTest

/// Root only: the XDP generator sends N frames into a veth pair in a namespace of its own and
/// the sink's XDP counter on the far end counts every one. Skips with the reason where BPF or
/// live frames are not permitted (no root, no CAP_BPF, Linux before 5.18).
final class XDPGenSmokeTests: XCTestCase {
    func testGeneratorDeliversFramesIntoAVethPair() throws {
        let ns = try NamespaceLab()
        defer { ns.remove() }
        try ns.addVethPair("xg0", "xg1")
        try ns.inside {
            let flow = GenFrames.Flow(
                dstMAC: [2, 0, 0, 0, 0, 2], srcMAC: [2, 0, 0, 0, 0, 1], srcIP: 0x0AC7_0001,
                dstIP: 0x0AC7_0002, sport: 10000, dport: 9000)
            let sink: XDPSink, gen: XDPGenerator
            do {
                // The sink's program on xg1 also gives xg1 the NAPI instance a veth needs to
                // take redirected frames.
                sink = try XDPSink(interface: "xg1", netns: nil)
                gen = try XDPGenerator(interface: "xg0", flow: flow, mix: .imix, flows: GenFlows(count: 16, seed: 1))
            } catch {
                throw XCTSkip("BPF/XDP not permitted here: \(error)")
            }
            let before = sink.read()
            let sent = try gen.send(rate: 20_000, seconds: 0.2)
            waitUntil(timeout: 5, what: "the sink to count \(sent.frames) frames") {
                (sink.read() - before).generated >= UInt64(sent.frames)
            }
            let got = sink.read() - before
            XCTAssertGreaterThan(sent.frames, 0)
            XCTAssertEqual(got.generated, UInt64(sent.frames), "every frame sent arrived and was counted")
            XCTAssertEqual(got.bytes + 4 * got.generated, UInt64(sent.bytes), "bytes on the wire: FCS added per frame")
            XCTAssertGreaterThan(sink.latency().reduce(0, +), 0, "delays were filed")
        }
    }
}
