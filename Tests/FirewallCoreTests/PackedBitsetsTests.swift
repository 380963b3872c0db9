import XCTest
@testable import FirewallCore
import Workloads

/// The chunks' compact layouts give what the plain ones give: packed rule bitsets scan to the
/// same first rule as a bit-by-bit search (rows of several summary words, sparse and dense), and
/// the compact IPv4 table gives every address the class the plain table gives it.
final class PackedBitsetsTests: XCTestCase {
    /// Rows with about `percent` of their bits set, some all zero, some all ones.
    func randomRows(_ rng: inout SplitMix64, words: Int, count: Int, percent: UInt64) -> ClassSet {
        var set = ClassSet(words: words)
        for k in 0..<count {
            var row = [UInt64](repeating: 0, count: words)
            for w in 0..<words {
                switch k % 7 {
                case 0: row[w] = 0
                case 1: row[w] = ~0
                default:
                    // Most words empty, as in a chunk's address rows; the rest with a few of four
                    // bits, so that rows of different classes often share one.
                    guard rng.next() % 100 < percent else { continue }
                    for _ in 0..<(1 + rng.next() % 2) { row[w] |= 1 << (rng.next() % 4 * 16) }
                }
            }
            _ = row.withUnsafeBufferPointer { set.intern($0) }
        }
        return set
    }

    /// The lowest bit set in all the rows, read bit by bit from the class sets.
    func lowestCommonBit(_ sets: [ClassSet], _ classes: [UInt32]) -> Int32 {
        let words = sets[0].words
        for w in 0..<words {
            var all: UInt64 = ~0
            for (s, c) in zip(sets, classes) { all &= s.word(c, w) }
            if all != 0 { return Int32(w * 64 + all.trailingZeroBitCount) }
        }
        return -1
    }

    func testPackedScanFindsTheLowestCommonRule() {
        var rng = SplitMix64(seed: 11)
        let checks = RuleChecks([], words: 1)
        defer { checks.deallocate() }
        var meta = PacketMeta()
        // One summary word (a 4,096-rule chunk), and several (a longer --chunk-rules).
        for words in [1, 3, 64, 150] {
            for percent: UInt64 in [3, 30, 90] {
                let sets = (0..<4).map { _ in randomRows(&rng, words: words, count: 40, percent: percent) }
                let packed = sets.map(PackedBitsets.init)
                defer { packed.forEach { $0.deallocate() } }
                var found = 0
                for _ in 0..<2000 {
                    let classes = sets.map { UInt32(rng.next() % UInt64($0.count)) }
                    let rows = zip(packed, classes).map { $0.row($0.handle($1)) }
                    for four in [false, true] {
                        let want = lowestCommonBit(four ? sets : Array(sets[0..<3]), classes)
                        let got = PackedBitsets.scan(
                            rows[0], rows[1], rows[2], rows[3], summaryWords: packed[0].summaryWords,
                            fourRows: four, checks: false, checks, &meta)
                        if got != want {
                            let what = "words \(words), \(percent)%, classes \(classes), four rows \(four)"
                            return XCTFail("\(what): \(got) != \(want)")
                        }
                        if got >= 0 { found += 1 }
                    }
                }
                XCTAssertGreaterThan(found, 10, "words \(words), \(percent)%: lookups find rules")
            }
        }
    }

    func testPackedRowsHoldOnlyTheirNonZeroWords() {
        var set = ClassSet(words: 64)
        var row = [UInt64](repeating: 0, count: 64)
        row[5] = 1
        row[63] = 1 << 63
        _ = row.withUnsafeBufferPointer { set.intern($0) }
        _ = [UInt64](repeating: 0, count: 64).withUnsafeBufferPointer { set.intern($0) }
        let packed = PackedBitsets(set)
        defer { packed.deallocate() }
        // Summary and two words, then the empty row's summary: 4 words, against 2 x 65 dense.
        XCTAssertEqual(packed.bytes, 4 * 8)
        XCTAssertEqual(packed.handle(1), 3)
        XCTAssertEqual(packed.row(packed.handle(0))[0], 1 << 5 | 1 << 63)
    }

    func testCompactIPv4TableAgreesWithThePlainOne() {
        var rng = SplitMix64(seed: 5)
        for round in 0..<12 {
            // Prefixes of every length, clustered in a few /8s (as a chunk's are) or scattered.
            let clustered = round % 2 == 0
            var ranges: [[KeyRange]?] = []
            for _ in 0..<(50 + Int(rng.next() % 3000)) {
                let length = UInt8(8 + rng.next() % 25)
                var address = UInt32(truncatingIfNeeded: rng.next())
                if clustered { address = address & 0x03FF_FFFF | 0x0A00_0000 }
                let prefix = IPPrefix(address: IPAddress(v4: address), length: length, isV6: false)
                ranges.append([KeyRange(prefix)])
            }
            // Many long prefixes in one /24, so that it needs a level-3 block of its own.
            for _ in 0..<(round % 3 == 0 ? 40 : 0) {
                let address = 0x0A00_0000 | UInt32(truncatingIfNeeded: rng.next() & 0xFF)
                let length = UInt8(26 + rng.next() % 7)
                ranges.append([KeyRange(IPPrefix(address: IPAddress(v4: address), length: length, isV6: false))])
            }
            var classes = ClassSet(words: (ranges.count + 63) / 64)
            let field = decompose(ranges, maxKey: IPAddress(hi: 0, lo: 0xFFFF_FFFF), into: &classes)
            let plain = IPv4ClassTable(field), compact = CompactIPv4ClassTable(field)
            defer {
                plain.deallocate()
                compact.deallocate()
            }
            XCTAssertLessThan(compact.bytes, plain.bytes)
            // Every interval's first and last address, and random ones.
            var probes = field.starts.flatMap { s -> [UInt32] in
                let v = UInt32(truncatingIfNeeded: s.lo)
                return [v, v &- 1]
            }
            probes += (0..<20_000).map { _ in
                let v = UInt32(truncatingIfNeeded: rng.next())
                return clustered ? v & 0x03FF_FFFF | 0x0A00_0000 : v
            }
            for v in probes {
                let a = IPAddress(v4: v)
                if plain.classOf(a) != compact.classOf(a) {
                    return XCTFail("round \(round), address \(v): \(compact.classOf(a)) != \(plain.classOf(a))")
                }
            }
        }
    }
}
