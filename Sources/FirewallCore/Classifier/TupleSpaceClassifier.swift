import CPrefetch

/// The classifier for large policies of few shapes (generated lists like `src 10.X.Y.0/24,
/// proto tcp, dport N`, one rule per tenant or service): the rules' IPv4 keys grouped by shape
/// (`TupleShape`), one open-addressing hash table a shape, probed in the order of each shape's
/// first rule and stopped once no later shape can hold an earlier rule. A packet costs one probe
/// per shape, where chunks cost a chain of table loads per chunk searched.
///
/// Rules that do not fit (port ranges too wide to list, shapes beyond the `maxShapes` holding
/// the most rules) go to a classifier of their own (`CompiledClassifier` without this choice), and
/// a packet takes the lower of the two answers. IPv6 packets go to a classifier over the rules
/// that may match IPv6, others to the reference scan (the pipeline classifies neither there).
/// Unindexed fields and every set test are per-candidate checks (`RuleChecks`), so first match
/// is exact. Immutable once built; the fast path reads flat memory only.
public final class TupleSpaceClassifier: Classifier {
    struct Slot {
        var key = TupleKey(addresses: 0, fields: 0)
        /// The lowest rule with this key; -1 for an empty slot.
        var rule: Int32 = -1
        /// Where the key's other rules start in `more` (ascending, ended by -1), or -1.
        var more: Int32 = -1
    }

    struct Table {
        let shape: TupleShape
        let sourceMask: UInt32
        let destinationMask: UInt32
        let fieldMask: UInt64
        let needsPorts: Bool
        let slots: UnsafeMutablePointer<Slot>
        let slotMask: Int
        let firstRule: Int32
    }

    let tables: UnsafeMutablePointer<Table>
    let tableCount: Int
    let more: UnsafeMutablePointer<Int32>
    let checks: RuleChecks
    /// The IPv4 rules that do not fit the shapes.
    let others: RuleSubset
    /// IPv6 packets: the rules that may match IPv6.
    let six: RuleSubset
    let reference: ReferenceClassifier
    let sets: [NamedSet]
    public let ruleCount: Int
    public let memoryBytes: Int

    /// At most this many shapes: each is one more probe for a packet that matches late or not at all.
    public static let maxShapes = 8

    /// The keys by shape of the rules that fit the `maxShapes` shapes holding the most rules, and
    /// the rules that do not, in order.
    static func partition(_ matches: [RuleMatch]) -> (byShape: [TupleShape: [(TupleKey, Int32)]], others: [Int32]) {
        let keysOf = matches.map(TupleExpansion.keys)
        var rulesIn: [TupleShape: Int] = [:]
        for keys in keysOf {
            for shape in Set(keys?.map(\.0) ?? []) { rulesIn[shape, default: 0] += 1 }
        }
        let ranked = rulesIn.sorted { a, b in a.value != b.value ? a.value > b.value : a.key < b.key }
        let chosen = Set(ranked.prefix(maxShapes).map(\.key))
        var byShape: [TupleShape: [(TupleKey, Int32)]] = [:]
        var others: [Int32] = []
        for (r, keys) in keysOf.enumerated() {
            // (A rule that cannot match IPv4 has no keys, and fits.)
            guard let keys, keys.allSatisfy({ chosen.contains($0.0) }) else {
                others.append(Int32(truncatingIfNeeded: r))
                continue
            }
            for (shape, key) in keys { byShape[shape, default: []].append((key, Int32(truncatingIfNeeded: r))) }
        }
        return (byShape, others)
    }

    public init(matches: [RuleMatch]) {
        let (byShape, otherRules) = Self.partition(matches)
        ruleCount = matches.count
        var built: [Table] = []
        var chains: [Int32] = []
        var bytes = 0
        for (shape, keys) in byShape {
            let table = Self.table(shape, keys, chains: &chains)
            bytes += (table.slotMask + 1) * MemoryLayout<Slot>.stride
            built.append(table)
        }
        built.sort { ($0.firstRule, $0.shape) < ($1.firstRule, $1.shape) }
        tables = .copying(built)
        tableCount = built.count
        more = .copying(chains)
        checks = RuleChecks(matches, words: max(1, (matches.count + 63) / 64), foldingSets: false)
        others = RuleSubset(otherRules, of: matches)
        six = RuleSubset(matches.indices.filter { Self.mayMatchIPv6(matches[$0]) }.map(Int32.init), of: matches)
        reference = ReferenceClassifier(matches: matches)
        sets = matches.flatMap { $0.sets.map(\.set) + $0.concats.map(\.set) }
        memoryBytes = bytes + chains.count * 4 + checks.bytes + others.bytes + six.bytes
    }

    deinit {
        for t in 0..<tableCount { tables[t].slots.deallocate() }
        tables.deallocate()
        more.deallocate()
        checks.deallocate()
        others.deallocate()
        six.deallocate()
    }

    static func mayMatchIPv6(_ m: RuleMatch) -> Bool {
        (m.ipVersion ?? 6) == 6 && (m.sources.isEmpty || m.sources.contains(where: \.isV6))
            && (m.destinations.isEmpty || m.destinations.contains(where: \.isV6))
    }

    /// One shape's hash table, at most half full; a key's rules after its first go to `chains`.
    static func table(_ shape: TupleShape, _ keys: [(TupleKey, Int32)], chains: inout [Int32]) -> Table {
        var rulesOf: [TupleKey: [Int32]] = [:]
        for (key, rule) in keys { rulesOf[key, default: []].append(rule) }
        var size = 16
        while size < 2 * rulesOf.count { size <<= 1 }
        let slots = UnsafeMutablePointer<Slot>.allocate(capacity: size)
        slots.initialize(repeating: Slot(), count: size)
        var first = Int32.max
        for (key, rules) in rulesOf {
            // A rule listed twice under one key (overlapping lists) is one candidate.
            let ordered = Array(Set(rules)).sorted()
            first = min(first, ordered[0])
            var i = Int(truncatingIfNeeded: key.hash) & (size - 1)
            while slots[i].rule >= 0 { i = (i + 1) & (size - 1) }
            slots[i].key = key
            slots[i].rule = ordered[0]
            if ordered.count > 1 {
                slots[i].more = Int32(truncatingIfNeeded: chains.count)
                chains += ordered.dropFirst()
                chains.append(-1)
            }
        }
        return Table(
            shape: shape, sourceMask: shape.sourceMask, destinationMask: shape.destinationMask,
            fieldMask: shape.fieldMask, needsPorts: shape.sourcePort || shape.destinationPort, slots: slots,
            slotMask: size - 1, firstRule: first)
    }

    public func classify(_ meta: UnsafePointer<PacketMeta>) -> Int32 {
        var r: Int32 = -1
        classifyBurst(meta, count: 1, results: &r)
        return r
    }

    public func classifyBurst(_ metas: UnsafePointer<PacketMeta>, count: Int, results: UnsafeMutablePointer<Int32>) {
        // The first shape's slot of every IPv4 packet is fetched before any is searched, so the
        // misses of a burst overlap (most packets find their rule there).
        if tableCount > 0 {
            let t = tables[0]
            for i in 0..<count where metas[i].ipVersion == 4 {
                let key = Self.key(metas + i, t)
                cprefetch_read(t.slots + (Int(truncatingIfNeeded: key.hash) & t.slotMask))
            }
        }
        for i in 0..<count {
            let m = metas + i
            switch m.pointee.ipVersion {
            case 4: results[i] = lookup(m)
            case 6: results[i] = six.classify(m)
            default: results[i] = reference.classify(m)
            }
        }
    }

    @inline(__always) func lookup(_ m: UnsafePointer<PacketMeta>) -> Int32 {
        let best = probe(m)
        // The other rules only when one of them could come first.
        guard others.count > 0, others.firstRule < best else { return best == .max ? -1 : best }
        let other = others.classify(m)
        return other >= 0 && other < best ? other : (best == .max ? -1 : best)
    }

    @inline(__always) static func key(_ m: UnsafePointer<PacketMeta>, _ t: Table) -> TupleKey {
        let source = UInt32(truncatingIfNeeded: m.pointee.src.lo) & t.sourceMask
        let destination = UInt32(truncatingIfNeeded: m.pointee.dst.lo) & t.destinationMask
        let fields = UInt64(m.pointee.proto) << 32 | UInt64(m.pointee.sport) << 16 | UInt64(m.pointee.dport)
        return TupleKey(addresses: UInt64(source) << 32 | UInt64(destination), fields: fields & t.fieldMask)
    }

    /// The first rule of the shapes' tables, or `Int32.max`.
    @inline(__always) func probe(_ m: UnsafePointer<PacketMeta>) -> Int32 {
        var best = Int32.max
        let hasPorts = m.pointee.hasPorts
        for t in 0..<tableCount {
            let table = tables[t]
            // Shapes come in the order of their first rules: none later can hold an earlier one.
            if table.firstRule >= best { break }
            if table.needsPorts && !hasPorts { continue }
            let key = Self.key(m, table)
            var i = Int(truncatingIfNeeded: key.hash) & table.slotMask
            while true {
                let slot = table.slots + i
                if slot.pointee.rule < 0 { break }
                if slot.pointee.key == key {
                    best = firstPassing(slot.pointee, below: best, m)
                    break
                }
                i = (i &+ 1) & table.slotMask
            }
        }
        return best
    }

    /// The first of the slot's rules below `best` that passes its checks, else `best`.
    @inline(__always) func firstPassing(_ slot: Slot, below best: Int32, _ m: UnsafePointer<PacketMeta>) -> Int32 {
        var rule = slot.rule, next = Int(slot.more)
        while rule >= 0 && rule < best {
            if checks.passes(Int(rule), m) { return rule }
            guard next >= 0 else { return best }
            rule = more[next]
            next &+= 1
        }
        return best
    }
}

/// Some of a policy's rules, by position, under a compiled classifier of their own (never a
/// tuple-space one), answering with the rule's position in the whole policy.
struct RuleSubset {
    let classifier: any Classifier
    let rules: UnsafeMutablePointer<Int32>
    let count: Int
    /// The first rule's position, or `Int32.max` for none.
    let firstRule: Int32

    init(_ indexes: [Int32], of matches: [RuleMatch]) {
        let subset = indexes.map { matches[Int($0)] }
        // (None, for most policies' IPv6 part: an empty index would still take its fixed tables.)
        classifier =
            subset.isEmpty
            ? ReferenceClassifier(matches: [])
            : CompiledClassifier.make(subset, plan: CompiledClassifier.plan(subset, tupleSpace: false))
        rules = .copying(indexes)
        count = indexes.count
        firstRule = indexes.first ?? .max
    }

    var bytes: Int { count * 4 + CompiledClassifier.bytes(of: classifier) }

    @inline(__always) func classify(_ m: UnsafePointer<PacketMeta>) -> Int32 {
        let r = classifier.classify(m)
        return r < 0 ? -1 : rules[Int(r)]
    }

    func deallocate() { rules.deallocate() }
}
