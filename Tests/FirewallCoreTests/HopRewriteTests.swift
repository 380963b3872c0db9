import FirewallCore
import Workloads
import XCTest

/// The rewrite of a forwarded packet, against frames written down by hand and a checksum
/// computed here from scratch (RFC 1071), not by the code under test.
final class HopRewriteTests: XCTestCase {
    /// RFC 1071's sum over 16-bit words, complemented.
    static func internetChecksum(_ bytes: ArraySlice<UInt8>) -> UInt16 {
        var sum: UInt32 = 0
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let high = UInt32(bytes[i]), low = i + 1 < bytes.endIndex ? UInt32(bytes[i + 1]) : 0
            sum += high << 8 | low
            i += 2
        }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }

    func rewrite(_ frame: [UInt8], l3: Int, v6: Bool) -> ([UInt8], HopRewrite.Result) {
        var out = frame
        let result = out.withUnsafeMutableBytes {
            HopRewrite.forward(
                $0.baseAddress!, l3: l3, v6: v6, nextHopMAC: 0x0200_0000_00BB, egressMAC: 0x0200_0000_00AA)
        }
        return (out, result)
    }

    func testIPv4FrameGetsNewMACsOneLessTTLAndThePatchedChecksum() {
        // The well-known example header (checksum 0xb861): 192.168.0.1 -> 192.168.0.199, UDP, TTL 64.
        let header: [UInt8] = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xB8, 0x61,
            0xC0, 0xA8, 0x00, 0x01, 0xC0, 0xA8, 0x00, 0xC7
        ]
        XCTAssertEqual(Self.internetChecksum(header[...]), 0, "the example is valid")
        let frame =
            [0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x00] + header + [UInt8](repeating: 0xAB, count: 8)
        let (out, result) = rewrite(frame, l3: 14, v6: false)
        XCTAssertEqual(result, .forwarded)
        let expected: [UInt8] =
            [0x02, 0, 0, 0, 0, 0xBB, 0x02, 0, 0, 0, 0, 0xAA, 0x08, 0x00]
            + [
                0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x3F, 0x11, 0xB9, 0x61,
                0xC0, 0xA8, 0x00, 0x01, 0xC0, 0xA8, 0x00, 0xC7
            ]
            + [UInt8](repeating: 0xAB, count: 8)
        XCTAssertEqual(out, expected)
    }

    func testTheIncrementalChecksumMatchesAFullRecomputationOnRandomHeaders() {
        var rng = SplitMix64(seed: 0x1624)
        for _ in 0..<20000 {
            var header = (0..<20).map { _ in UInt8.random(in: 0...255, using: &rng) }
            header[0] = 0x45
            header[8] = UInt8.random(in: 2...255, using: &rng)
            header[10] = 0
            header[11] = 0
            let sum = Self.internetChecksum(header[...])
            header[10] = UInt8(sum >> 8)
            header[11] = UInt8(sum & 0xFF)
            let frame = [UInt8](repeating: 0, count: 12) + [0x08, 0x00] + header
            let (out, result) = rewrite(frame, l3: 14, v6: false)
            XCTAssertEqual(result, .forwarded)
            XCTAssertEqual(out[22], header[8] - 1)
            XCTAssertEqual(Self.internetChecksum(out[14..<34]), 0, "the patched header verifies: \(header)")
        }
    }

    func testTTLOneOrZeroAndHopLimitOneAreNotForwardedAndLeftAlone() {
        for ttl: UInt8 in [0, 1] {
            var header: [UInt8] = [0x45, 0, 0, 20, 0, 0, 0, 0, ttl, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]
            let sum = Self.internetChecksum(header[...])
            header[10] = UInt8(sum >> 8)
            header[11] = UInt8(sum & 0xFF)
            let frame = [UInt8](repeating: 1, count: 12) + [0x08, 0x00] + header
            let (out, result) = rewrite(frame, l3: 14, v6: false)
            XCTAssertEqual(result, .ttlExceeded)
            XCTAssertEqual(out, frame)
        }
        var v6 =
            [UInt8](repeating: 1, count: 12) + [0x86, 0xDD] + [0x60, 0, 0, 0, 0, 0, 17, 1]
            + [UInt8](repeating: 0, count: 32)
        XCTAssertEqual(rewrite(v6, l3: 14, v6: true).1, .ttlExceeded)
        v6[21] = 64
        let (out, result) = rewrite(v6, l3: 14, v6: true)
        XCTAssertEqual(result, .forwarded)
        XCTAssertEqual(out[21], 63, "hop limit - 1; IPv6 has no header checksum")
        XCTAssertEqual(Array(out[0..<12]), [0x02, 0, 0, 0, 0, 0xBB, 0x02, 0, 0, 0, 0, 0xAA])
    }
}
