import Workloads
import XCTest
@testable import FirewallCore

/// `Parser.parse` takes common IPv4 TCP/UDP frames through `parseCommonIPv4`; everything must
/// come out exactly as the general parser (`parseAny`) has it, reasons included.
final class ParserFastPathTests: XCTestCase {
    private func assertSameAsGeneral(
        _ bytes: [UInt8], _ what: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        bytes.withUnsafeBytes { raw in
            var fast = PacketMeta(), general = PacketMeta()
            let rf = Parser.parse(raw, link: .ethernet, into: &fast)
            let rg = Parser.parseAny(raw, link: .ethernet, into: &general)
            XCTAssertEqual(rf, rg, "reason differs for \(what)", file: file, line: line)
            XCTAssertEqual(fast, general, "meta differs for \(what)", file: file, line: line)
        }
    }

    func testCommonFramesTakeTheFastPathWithTheSameResult() {
        var fastHits = 0
        for (name, f) in [
            ("tcp", Frames.tcp4("10.0.0.1", "192.0.2.9", 40000, 443, SYN)),
            ("udp", Frames.udp4("10.0.0.1", "10.0.0.2", 5, 53))
        ] {
            assertSameAsGeneral(f, name)
            f.withUnsafeBytes { raw in
                var m = PacketMeta()
                if Parser.parseCommonIPv4(raw.baseAddress!, raw.count, &m) { fastHits += 1 }
            }
        }
        XCTAssertEqual(fastHits, 2, "plain IPv4 TCP and UDP frames should take the fast path")
    }

    /// Every header byte the fast path reads, and the frame length, mutated at random (seeded):
    /// both parsers agree on each of the mutants, malformed ones included.
    func testMutatedFramesAgreeWithTheGeneralParser() {
        var rng = SplitMix64(seed: 0x5EED_FA57)
        let bases = [
            Frames.tcp4("10.0.0.1", "192.0.2.9", 40000, 443, SYN | ACK),
            Frames.udp4("10.1.2.3", "10.9.8.7", 1234, 53),
            Frames.ethernet(0x0800, Frames.ipv4("10.0.0.1", "10.0.0.2", proto: 17, Frames.udp(1, 2), ihl: 6))
        ]
        let hot = [12, 13, 14, 16, 17, 20, 21, 23, 38, 39, 46, 47]
        for n in 0..<20_000 {
            var f = bases[n % bases.count]
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                let at = hot[Int(rng.next() % UInt64(hot.count))]
                if at < f.count { f[at] = UInt8(truncatingIfNeeded: rng.next()) }
            }
            if rng.next() % 4 == 0 { f = Array(f.prefix(Int(rng.next() % UInt64(f.count + 1)))) }
            assertSameAsGeneral(f, "mutant \(n)")
        }
    }

    /// The shipped capture, every frame.
    func testShippedCaptureAgrees() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../captures/sample.pcap")
        let data = try [UInt8](Data(contentsOf: url))
        var off = 24, frames = 0
        while off + 16 <= data.count {
            let caplen =
                Int(data[off + 8]) | Int(data[off + 9]) << 8 | Int(data[off + 10]) << 16 | Int(data[off + 11]) << 24
            guard off + 16 + caplen <= data.count else { break }
            assertSameAsGeneral(Array(data[(off + 16)..<(off + 16 + caplen)]), "capture frame \(frames)")
            off += 16 + caplen
            frames += 1
        }
        XCTAssertEqual(frames, 482)
    }
}
