/// The classifier for large policies: the rules cut into chunks of at most `chunkRules`, each
/// chunk a bit-vector index of its own (FamilyIndex, RuleChecks), searched in rule order until
/// one matches. Bitsets grow with classes x rules; with the rules bounded per chunk, memory and
/// build time grow linearly in the chunks, and a chunk's lookup is the single index's fast path.
/// First match is exact: every rule of chunk k comes before every rule of chunk k + 1, and
/// within a chunk the lowest set bit is the first rule.
///
/// Immutable once built; the fast path reads flat memory only (see README.md).
public final class ChunkedClassifier: Classifier {
    /// One chunk's index over rules `first..<first + count`, in chunk-local rule numbers.
    struct Chunk {
        let v4: FamilyIndex<CompactIPv4ClassTable, PackedBitsets>
        let v6: FamilyIndex<IPv6ClassTable, PackedBitsets>
        let checks: RuleChecks
        let first: Int32

        var bytes: Int { v4.bytes + v6.bytes + checks.bytes }

        init(_ rules: [RuleMatch], first: Int, foldBudget: Int) {
            let words = (rules.count + 63) / 64
            v4 = FamilyIndex(rules, v6: false, words: words, foldBudget: foldBudget)
            v6 = FamilyIndex(rules, v6: true, words: words, foldBudget: foldBudget)
            checks = RuleChecks(rules, words: words)
            self.first = Int32(first)
        }

        func deallocate() {
            v4.deallocate()
            v6.deallocate()
            checks.deallocate()
        }
    }

    let chunks: UnsafeMutablePointer<Chunk>
    let chunkCount: Int
    let prefilter: ChunkPrefilter
    /// For the odd packet that is neither IPv4 nor IPv6 (the pipeline does not classify those).
    let reference: ReferenceClassifier
    /// The sets the rules test: kept alive here, their tables read through the chunks' checks.
    let sets: [NamedSet]
    public let ruleCount: Int
    public let chunkRules: Int
    /// Bytes of the lookup structures.
    public let memoryBytes: Int

    /// Rules per chunk: 64 bitset words, so a chunk's classes x rules stays near a megabyte a field.
    public static let defaultChunkRules = 4096

    /// Packets carried through the chunks together: their class lookups in one chunk are
    /// independent loads the CPU overlaps.
    static let block = 64

    /// Largest (classes x classes x words) worth folding the destination port into a chunk's L4 class:
    /// smaller than the single index's, since every chunk pays it.
    static let foldBudget = 1 << 22

    static let skipped = UInt32.max

    public convenience init(matches: [RuleMatch], chunkRules: Int = ChunkedClassifier.defaultChunkRules) {
        self.init(matches: matches, chunkRules: chunkRules, foldBudget: ChunkedClassifier.foldBudget)
    }

    /// `foldBudget` 0 keeps the destination port a bitset of its own (tests cover both layouts).
    init(matches: [RuleMatch], chunkRules: Int, foldBudget: Int) {
        let per = min(65536, max(64, chunkRules))
        ruleCount = matches.count
        self.chunkRules = per
        chunkCount = (matches.count + per - 1) / per
        chunks = .allocate(capacity: max(1, chunkCount))
        var bytes = 0
        for k in 0..<chunkCount {
            let first = k * per
            let rules = Array(matches[first..<min(matches.count, first + per)])
            let chunk = Chunk(rules, first: first, foldBudget: foldBudget)
            bytes += chunk.bytes
            (chunks + k).initialize(to: chunk)
        }
        prefilter = ChunkPrefilter(matches, chunkRules: per, chunkCount: chunkCount)
        memoryBytes = bytes + MemoryLayout<Chunk>.stride * chunkCount + prefilter.bytes
        reference = ReferenceClassifier(matches: matches)
        sets = matches.flatMap { $0.sets.map(\.set) + $0.concats.map(\.set) }
    }

    public convenience init(rules: [Rule]) { self.init(matches: rules.map(\.match)) }

    deinit {
        prefilter.deallocate()
        for k in 0..<chunkCount { chunks[k].deallocate() }
        chunks.deinitialize(count: chunkCount)
        chunks.deallocate()
    }

    public func classify(_ meta: UnsafePointer<PacketMeta>) -> Int32 {
        var r: Int32 = -1
        classifyBurst(meta, count: 1, results: &r)
        return r
    }

    public func classifyBurst(_ metas: UnsafePointer<PacketMeta>, count: Int, results: UnsafeMutablePointer<Int32>) {
        let chunks = self.chunks, chunkCount = self.chunkCount, block = ChunkedClassifier.block
        let prefilter = self.prefilter
        // Per block: the packets still unmatched (indices into `metas`), 4 classes each, and the
        // chunk groups each may match.
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 5 * block) { scratch in
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: block) { groupScratch in
                let pending = scratch.baseAddress!, cls = pending + block, groups = groupScratch.baseAddress!
                var start = 0
                while start < count {
                    let n = min(block, count - start)
                    var pendingCount = 0
                    for i in start..<start + n {
                        let version = metas[i].ipVersion
                        if version == 4 || version == 6 {
                            results[i] = -1
                            pending[pendingCount] = UInt32(truncatingIfNeeded: i)
                            groups[pendingCount] = version == 4 ? prefilter.groups(metas + i) : ~0
                            pendingCount += 1
                        } else {
                            results[i] = reference.classify(metas + i)
                        }
                    }
                    var k = 0
                    while k < chunkCount && pendingCount > 0 {
                        let group: UInt64 = 1 << UInt64(truncatingIfNeeded: k / prefilter.groupSize)
                        var wanted: UInt64 = 0
                        for p in 0..<pendingCount { wanted |= groups[p] }
                        if wanted & group != 0 {
                            pendingCount = Self.search(
                                chunks[k], group, metas, pending, groups, pendingCount, cls, results)
                        }
                        k += 1
                    }
                    start += n
                }
            }
        }
    }

    /// Looks the pending packets up in one chunk: all class lookups first, then the scans.
    /// Matched packets get their result; the rest stay pending, in order. Returns how many remain.
    /// A packet the prefilter rules out (its groups lack `group`) gets the source class `skipped`,
    /// which no class is.
    @inline(__always)
    static func search(
        _ chunk: Chunk, _ group: UInt64, _ metas: UnsafePointer<PacketMeta>, _ pending: UnsafeMutablePointer<UInt32>,
        _ groups: UnsafeMutablePointer<UInt64>, _ pendingCount: Int, _ c: UnsafeMutablePointer<UInt32>,
        _ results: UnsafeMutablePointer<Int32>
    ) -> Int {
        let skipped = ChunkedClassifier.skipped
        for p in 0..<pendingCount {
            if groups[p] & group == 0 {
                c[4 * p] = skipped
                continue
            }
            let m = metas + Int(pending[p])
            let t = m.pointee.ipVersion == 4 ? chunk.v4.classes(m) : chunk.v6.classes(m)
            c[4 * p] = t.0
            c[4 * p + 1] = t.1
            c[4 * p + 2] = t.2
            c[4 * p + 3] = t.3
        }
        var kept = 0
        for p in 0..<pendingCount {
            let i = Int(pending[p])
            let m = metas + i
            let r =
                c[4 * p] == skipped
                ? -1
                : m.pointee.ipVersion == 4
                    ? chunk.v4.firstMatch(c[4 * p], c[4 * p + 1], c[4 * p + 2], c[4 * p + 3], chunk.checks, m)
                    : chunk.v6.firstMatch(c[4 * p], c[4 * p + 1], c[4 * p + 2], c[4 * p + 3], chunk.checks, m)
            if r >= 0 {
                results[i] = r &+ chunk.first
            } else {
                pending[kept] = pending[p]
                groups[kept] = groups[p]
                kept += 1
            }
        }
        return kept
    }
}
