import Dataplane
import EngineConfig
@testable import Workloads
import XCTest

/// The XDP generator's frame sizes, the IMIX and the spread of flows (pure: no BPF).
final class FrameMixTests: XCTestCase {
    func testSizesAndIMIX() throws {
        XCTAssertEqual(FrameMix("64"), .fixed(64))
        XCTAssertEqual(FrameMix("1518")?.meanWireSize, 1518)
        XCTAssertNil(FrameMix("63"))
        XCTAssertNil(FrameMix("1519"))
        let imix = try XCTUnwrap(FrameMix("IMIX"))
        XCTAssertEqual(imix.parts.map(\.size), [64, 570, 1518])
        XCTAssertEqual(imix.parts.map(\.weight), [7, 4, 1])
        let mean: Double = (7 * 64 + 4 * 570 + 1518) / 12.0
        XCTAssertEqual(imix.meanWireSize, mean, accuracy: 1e-9)
        // 64-byte frames at 14.88 Mpps fill 10 Gbit/s with preamble and gap.
        XCTAssertEqual(FrameMix.fixed(64).lineBitsPerSecond(pps: 14_880_952), 10e9, accuracy: 1e4)
        XCTAssertEqual(FrameMix.fixed(1518).frameBitsPerSecond(pps: 1000), 1518 * 8 * 1000)
    }

    func testTemplatesAreTheSizesAskedAndCarryTheHeader() {
        let flow = GenFrames.Flow(
            dstMAC: [2, 0, 0, 0, 0, 2], srcMAC: [2, 0, 0, 0, 0, 1], srcIP: 0x0AC7_0001,
            dstIP: 0x0AC7_0002, sport: 10000, dport: 9000)
        let buf = UnsafeMutableRawPointer.allocate(byteCount: 2048, alignment: 8)
        defer { buf.deallocate() }
        for part in FrameMix.imix.parts {
            let n = GenFrames.write(flow, size: part.size, kind: .data, into: buf)
            XCTAssertEqual(n, part.size - 4, "in memory: the wire size less the FCS")
            let b = UnsafeRawBufferPointer(start: buf, count: n)
            XCTAssertEqual(Int(b[16]) << 8 | Int(b[17]), n - 14, "IPv4 total length")
            XCTAssertNotNil(GenFrames.read(b))
            // The XDP programs find the magic at 42, the sequence at 46 and the time at 50.
            XCTAssertEqual(Array(b[42..<44]), [0x76, 0x67])
        }
    }

    func testFlowsVisitEveryPortOncePerRound() {
        for (count, seed) in [(1, 1), (7, 3), (100, 1), (1024, 42), (50000, 9)] as [(Int, UInt64)] {
            let f = GenFlows(count: count, seed: seed, base: 10000)
            var seen = Set<UInt16>()
            for seq in 0..<UInt64(count) { seen.insert(f.sourcePort(seq)) }
            XCTAssertEqual(seen.count, count, "count \(count) seed \(seed)")
            XCTAssertEqual(seen.min(), 10000)
            XCTAssertEqual(Int(seen.max()!), 10000 + count - 1)
            // The next round repeats the order.
            XCTAssertEqual(f.sourcePort(5 % UInt64(count)), f.sourcePort(UInt64(count) + 5 % UInt64(count)))
        }
        XCTAssertEqual(GenFlows(count: 100, seed: 5), GenFlows(count: 100, seed: 5), "a seed gives the same flows")
        XCTAssertNotEqual(GenFlows(count: 1000, seed: 1), GenFlows(count: 1000, seed: 2))
    }

    func testDelayPercentiles() {
        var b = [UInt64](repeating: 0, count: 100)
        b[3] = 50
        b[10] = 49
        b[99] = 1
        XCTAssertEqual(DelayHistogram.percentile(b, 0.5), 3.5)
        XCTAssertEqual(DelayHistogram.percentile(b, 0.99), 10.5)
        XCTAssertEqual(DelayHistogram.percentile(b, 1.0), 99.5)
        XCTAssertNil(DelayHistogram.percentile([0, 0], 0.5))
    }
}
