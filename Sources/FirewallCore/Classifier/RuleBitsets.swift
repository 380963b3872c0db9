/// The rule bitsets of one field's classes, and the scan of a lookup: the lowest rule set in all
/// of three (or four) rows. Two layouts: `ClassBitsets` (every word of every row, a row found by
/// multiplying) for the single index, `PackedBitsets` (only a row's non-zero words) for chunks.
protocol RuleBitsets {
    init(_ set: ClassSet)
    /// What the class tables hold for class `c`, and `row` takes.
    func handle(_ c: UInt32) -> UInt32
    func row(_ handle: UInt32) -> UnsafeMutablePointer<UInt64>
    /// Words of a row's summary (bit i: word i of the bitset is not zero).
    var summaryWords: Int { get }
    var bytes: Int { get }
    func deallocate()

    /// The lowest rule set in rows `a`, `b`, `c` (and `e` when `fourRows`) that passes `checks`
    /// (only called when `withChecks`), or -1.
    static func scan(
        _ a: UnsafePointer<UInt64>, _ b: UnsafePointer<UInt64>, _ c: UnsafePointer<UInt64>, _ e: UnsafePointer<UInt64>,
        summaryWords: Int, fourRows: Bool, checks withChecks: Bool, _ checks: RuleChecks, _ m: UnsafePointer<PacketMeta>
    ) -> Int32
}

/// Rows of only their non-zero words: a row is its summary words, then, in order, the words
/// whose summary bit is set. Word w of a row is at its summary's length plus the number of
/// summary bits below w (a popcount). The handle of a class is its row's offset in `pool`.
///
/// A chunk's source and destination rows hold a few rules of its 4,096 (2 to 8 percent of the
/// words on the ClassBench acl sets, one rule on the synthetic /24 policies): packed, the rows
/// of a chunk take a tenth to a thirtieth of the bytes, and more of them stay in cache.
struct PackedBitsets: RuleBitsets {
    let pool: UnsafeMutablePointer<UInt64>
    let offsets: UnsafeMutablePointer<UInt32>
    let summaryWords: Int
    let bytes: Int

    /// The class tables keep their top two bits for their own use, so handles stay below this.
    static let handleLimit = 1 << 30

    init(_ set: ClassSet) {
        summaryWords = (set.words + 63) / 64
        var words: [UInt64] = []
        var offsets: [UInt32] = []
        offsets.reserveCapacity(set.count)
        for c in 0..<set.count {
            let start = words.count
            offsets.append(UInt32(truncatingIfNeeded: start))
            words.append(contentsOf: repeatElement(0, count: summaryWords))
            for w in 0..<set.words {
                let v = set.word(UInt32(c), w)
                guard v != 0 else { continue }
                words[start + w >> 6] |= 1 << UInt64(w & 63)
                words.append(v)
            }
        }
        // A chunk's pool is at most classes x (words + 1): under 2^28 words for chunks of up to
        // 65,536 rules (`vfwall classbench --chunk-rules` allows no more; policies use 4,096).
        precondition(words.count < PackedBitsets.handleLimit, "packed rule bitsets over 2^30 words")
        pool = .copying(words)
        self.offsets = .copying(offsets)
        bytes = max(1, words.count) * 8
    }

    func handle(_ c: UInt32) -> UInt32 { offsets[Int(c)] }

    @inline(__always) func row(_ handle: UInt32) -> UnsafeMutablePointer<UInt64> { pool + Int(handle) }

    func deallocate() {
        pool.deallocate()
        offsets.deallocate()
    }

    @inline(__always)
    static func scan(
        _ a: UnsafePointer<UInt64>, _ b: UnsafePointer<UInt64>, _ c: UnsafePointer<UInt64>, _ e: UnsafePointer<UInt64>,
        summaryWords: Int, fourRows: Bool, checks withChecks: Bool, _ checks: RuleChecks, _ m: UnsafePointer<PacketMeta>
    ) -> Int32 {
        // Where the current summary word's packed words start in each row.
        var baseA = summaryWords, baseB = summaryWords, baseC = summaryWords, baseE = summaryWords
        for si in 0..<summaryWords {
            let sa = a[si], sb = b[si], sc = c[si], se = fourRows ? e[si] : ~0
            var summary = sa & sb & sc & se
            while summary != 0 {
                let bit = summary.trailingZeroBitCount
                let below: UInt64 = (1 << UInt64(bit)) &- 1
                var hits =
                    a[baseA &+ (sa & below).nonzeroBitCount] & b[baseB &+ (sb & below).nonzeroBitCount]
                    & c[baseC &+ (sc & below).nonzeroBitCount]
                if fourRows { hits &= e[baseE &+ (se & below).nonzeroBitCount] }
                let w = si << 6 | bit
                while hits != 0 {
                    let r = w << 6 | hits.trailingZeroBitCount
                    if !withChecks || checks.passes(r, m) { return Int32(truncatingIfNeeded: r) }
                    hits &= hits &- 1
                }
                summary &= summary &- 1
            }
            baseA &+= sa.nonzeroBitCount
            baseB &+= sb.nonzeroBitCount
            baseC &+= sc.nonzeroBitCount
            if fourRows { baseE &+= se.nonzeroBitCount }
        }
        return -1
    }
}
