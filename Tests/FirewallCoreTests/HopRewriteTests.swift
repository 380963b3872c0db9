import FirewallCore
import TestSupport
import Workloads
import XCTest

/// The rewrite of a forwarded packet, against frames written down by hand and a checksum
/// computed here from scratch (RFC 1071), not by the code under test.
final class HopRewriteTests: XCTestCase {
    static func internetChecksum(_ bytes: ArraySlice<UInt8>) -> UInt16 { TestSupport.internetChecksum(bytes) }

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
            XCTAssertEqual(Array(out[24..<26]), Self.recomputed(header, ttl: header[8] - 1), "\(header)")
        }
    }

    /// The checksum of `header` with its TTL set to `ttl`, computed from scratch.
    static func recomputed(_ header: [UInt8], ttl: UInt8) -> [UInt8] {
        var h = header
        h[8] = ttl
        h[10] = 0
        h[11] = 0
        let sum = internetChecksum(h[...])
        return [UInt8(sum >> 8), UInt8(sum & 0xFF)]
    }

    /// A checksum of 0xFEFF plus 0x0100 is 0xFFFF, the zero a recomputation writes as 0x0000.
    func testThePatchedChecksumIsZeroWhereARecomputationGivesZero() {
        var header: [UInt8] = [0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 1, 0, 1]
        // Choose the identification (bytes 4-5) so that the header's checksum is 0xFEFF.
        let sum = Self.internetChecksum(header[...])  // ~(sum of the rest)
        let identification = UInt16(0xFEFF) == sum ? 0 : Self.onesComplementDifference(sum, 0xFEFF)
        header[4] = UInt8(identification >> 8)
        header[5] = UInt8(identification & 0xFF)
        XCTAssertEqual(Self.internetChecksum(header[...]), 0xFEFF)
        header[10] = 0xFE
        header[11] = 0xFF
        let (out, _) = rewrite([UInt8](repeating: 0, count: 12) + [0x08, 0x00] + header, l3: 14, v6: false)
        XCTAssertEqual(Array(out[24..<26]), [0, 0])
        XCTAssertEqual(Self.recomputed(header, ttl: 63), [0, 0], "what a recomputation gives")
    }

    /// The word w with ~(s0 + w) = target, given s0's checksum `current` = ~s0 (one's complement).
    static func onesComplementDifference(_ current: UInt16, _ target: UInt16) -> UInt16 {
        // ~(s0 + w) = target  <=>  s0 + w = ~target  <=>  w = ~target - s0 = ~target + current.
        var w = UInt32(~target) + UInt32(current)
        w = (w & 0xFFFF) + (w >> 16)
        return UInt16(truncatingIfNeeded: w)
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
