import CPrefetch

/// The classifier for large policies of few shapes (generated lists like `src 10.X.Y.0/24,
/// proto tcp, dport N`, one rule per tenant or service): the rules' IPv4 keys grouped by shape
/// (`TupleShape`), one open-addressing hash table a shape, probed in the order of each shape's
/// first rule and stopped once no later shape can hold an earlier rule. A packet costs one probe
/// per shape, where chunks cost a chain of table loads per chunk searched.
///
/// IPv6 packets go to a classifier over the rules that may match IPv6 (`CompiledClassifier`
/// without this choice), others to the reference scan (the pipeline classifies neither there).
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
    /// IPv6 packets: a classifier over `sixRules`, the rules that may match IPv6, by position.
    let six: any Classifier
    let sixRules: UnsafeMutablePointer<Int32>
    let reference: ReferenceClassifier
    let sets: [NamedSet]
    public let ruleCount: Int
    public let memoryBytes: Int

    /// At most this many shapes: each is one more probe for a packet that matches late or not at all.
    public static let maxShapes = 8
    /// A port range of at most this many ports is listed port by port; a wider one does not fit.
    public static var maxPortRange: Int { TupleExpansion.maxRange }

    /// The rules' keys by shape, or nil when a rule does not fit or there are too many shapes.
    static func shapes(_ matches: [RuleMatch]) -> [TupleShape: [(TupleKey, Int32)]]? {
        var byShape: [TupleShape: [(TupleKey, Int32)]] = [:]
        for (r, m) in matches.enumerated() {
            guard let keys = TupleExpansion.keys(m) else { return nil }
            for (shape, key) in keys {
                byShape[shape, default: []].append((key, Int32(truncatingIfNeeded: r)))
                if byShape.count > maxShapes { return nil }
            }
        }
        return byShape
    }

    /// Nil when the policy does not fit (see `shapes`).
    public init?(matches: [RuleMatch]) {
        guard let byShape = Self.shapes(matches) else { return nil }
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
        let sixIndexes = matches.indices.filter { Self.mayMatchIPv6(matches[$0]) }
        sixRules = .copying(sixIndexes.map { Int32(truncatingIfNeeded: $0) })
        let sixMatches = sixIndexes.map { matches[$0] }
        six = CompiledClassifier.make(sixMatches, plan: CompiledClassifier.plan(sixMatches, tupleSpace: false))
        reference = ReferenceClassifier(matches: matches)
        sets = matches.flatMap { $0.sets.map(\.set) + $0.concats.map(\.set) }
        memoryBytes = bytes + chains.count * 4 + checks.bytes + sixIndexes.count * 4 + CompiledClassifier.bytes(of: six)
    }

    deinit {
        for t in 0..<tableCount { tables[t].slots.deallocate() }
        tables.deallocate()
        more.deallocate()
        checks.deallocate()
        sixRules.deallocate()
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
            case 6:
                let r = six.classify(m)
                results[i] = r < 0 ? -1 : sixRules[Int(r)]
            default: results[i] = reference.classify(m)
            }
        }
    }

    @inline(__always) static func key(_ m: UnsafePointer<PacketMeta>, _ t: Table) -> TupleKey {
        let source = UInt32(truncatingIfNeeded: m.pointee.src.lo) & t.sourceMask
        let destination = UInt32(truncatingIfNeeded: m.pointee.dst.lo) & t.destinationMask
        let fields = UInt64(m.pointee.proto) << 32 | UInt64(m.pointee.sport) << 16 | UInt64(m.pointee.dport)
        return TupleKey(addresses: UInt64(source) << 32 | UInt64(destination), fields: fields & t.fieldMask)
    }

    @inline(__always) func lookup(_ m: UnsafePointer<PacketMeta>) -> Int32 {
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
        return best == .max ? -1 : best
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
