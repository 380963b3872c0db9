/// The compiled classifier: per-field equivalence classes and rule bitsets (a decomposition /
/// bit-vector scheme, see README.md). First-match results are identical to `ReferenceClassifier`.
///
/// Immutable once built, so workers on several cores may share one instance. The fast path
/// touches only flat memory allocated here at build time: no allocation, no reference counting.
public final class BitVectorClassifier: Classifier {
    let v4: FamilyIndex<IPv4ClassTable, ClassBitsets>
    let v6: FamilyIndex<IPv6ClassTable, ClassBitsets>
    let checks: RuleChecks
    /// For the odd packet that is neither IPv4 nor IPv6 (the pipeline does not classify those).
    let reference: ReferenceClassifier
    /// The sets the rules test: kept alive here, their tables read through `checks`.
    let sets: [NamedSet]
    public let ruleCount: Int
    /// Bytes of the lookup structures.
    public let memoryBytes: Int

    /// Packets whose classes are looked up before any bitset is scanned, so the table loads of
    /// several packets are in flight together.
    static let stage = 16

    public convenience init(matches: [RuleMatch]) {
        self.init(matches: matches, foldBudget: FamilyFields.foldBudget)
    }

    /// `foldBudget` 0 keeps the destination port a bitset of its own (tests cover both layouts).
    init(matches: [RuleMatch], foldBudget: Int) {
        ruleCount = matches.count
        let words = max(1, (matches.count + 63) / 64)
        v4 = FamilyIndex(matches, v6: false, words: words, foldBudget: foldBudget)
        v6 = FamilyIndex(matches, v6: true, words: words, foldBudget: foldBudget)
        checks = RuleChecks(matches, words: words)
        reference = ReferenceClassifier(matches: matches)
        sets = matches.flatMap { $0.sets.map(\.set) + $0.concats.map(\.set) }
        memoryBytes = v4.bytes + v6.bytes + checks.bytes
    }

    public convenience init(rules: [Rule]) { self.init(matches: rules.map(\.match)) }

    /// Whether the IPv4 index folds the destination port into the L4 class.
    var foldsDestinationPort: Bool { v4.dportBits == nil }

    deinit {
        v4.deallocate()
        v6.deallocate()
        checks.deallocate()
    }

    public func classify(_ meta: UnsafePointer<PacketMeta>) -> Int32 {
        var r: Int32 = -1
        classifyBurst(meta, count: 1, results: &r)
        return r
    }

    public func classifyBurst(_ metas: UnsafePointer<PacketMeta>, count: Int, results: UnsafeMutablePointer<Int32>) {
        let v4 = self.v4, v6 = self.v6, checks = self.checks
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 4 * BitVectorClassifier.stage) { cls in
            let c = cls.baseAddress!
            var start = 0
            while start < count {
                let n = min(BitVectorClassifier.stage, count - start)
                // Stage 1: every packet's three classes (independent loads, overlapped by the CPU).
                for i in 0..<n {
                    let m = metas + start + i
                    let t: (UInt32, UInt32, UInt32, UInt32)
                    switch m.pointee.ipVersion {
                    case 4: t = v4.classes(m)
                    case 6: t = v6.classes(m)
                    default: t = (0, 0, 0, 0)
                    }
                    c[4 * i] = t.0
                    c[4 * i + 1] = t.1
                    c[4 * i + 2] = t.2
                    c[4 * i + 3] = t.3
                }
                // Stage 2: the lowest rule in all the class bitsets.
                for i in 0..<n {
                    let m = metas + start + i
                    switch m.pointee.ipVersion {
                    case 4:
                        results[start + i] = v4.firstMatch(
                            c[4 * i], c[4 * i + 1], c[4 * i + 2], c[4 * i + 3], checks, m)
                    case 6:
                        results[start + i] = v6.firstMatch(
                            c[4 * i], c[4 * i + 1], c[4 * i + 2], c[4 * i + 3], checks, m)
                    default: results[start + i] = reference.classify(m)
                    }
                }
                start += n
            }
        }
    }
}
