/// Picks the compiled classifier for a policy by size and shape, and estimates its memory before
/// anything is built, so a policy too large for the machine is refused instead of built.
///
/// One bit-vector index while its estimated size stays under `singleIndexBudget` (small and mid
/// policies, and large ones whose fields have few distinct values), else `ChunkedClassifier`.
public enum CompiledClassifier {
    public enum Kind: Equatable, Sendable {
        case bitsets
        case chunked(rulesPerChunk: Int)
        /// `TupleSpaceClassifier`: large policies whose rules nearly all take few shapes (`others`:
        /// the rules that do not, under a classifier of their own).
        case tupleSpace(shapes: Int, others: Int)
    }

    /// What would be built and about how many bytes its lookup structures would take.
    public struct Plan: Equatable, Sendable {
        public let kind: Kind
        public let estimatedBytes: Int
    }

    /// Largest estimated size (bytes) for which one bit-vector index is kept: past it, the bitsets'
    /// classes x rules cost more memory and cache than the chunks' repeated lookups.
    public static let singleIndexBudget = 48 << 20

    /// `tupleSpace` false leaves that choice out (the IPv6 part of a tuple-space classifier).
    public static func plan(_ matches: [RuleMatch], tupleSpace: Bool = true) -> Plan {
        let whole = max(1, matches.count)
        let single = estimate(matches, rulesPerChunk: whole, foldBudget: FamilyFields.foldBudget, packed: false)
        if single <= singleIndexBudget { return Plan(kind: .bitsets, estimatedBytes: single) }
        // Few shapes: a probe a shape beats chunks, and takes about 50 bytes a key. The rules that
        // do not fit are searched as well, for packets they could match first: a tenth at most.
        let (shapes, others) = tupleSpace ? TupleSpaceClassifier.partition(matches) : ([:], [])
        if tupleSpace && others.count * 10 <= matches.count {
            var bytes = matches.count * (MemoryLayout<RuleCheck>.stride + 12)
            for keys in shapes.values {
                var size = 16
                while size < 2 * keys.count { size <<= 1 }
                bytes += size * MemoryLayout<TupleSpaceClassifier.Slot>.stride + 8 * keys.count
            }
            let six = matches.filter(TupleSpaceClassifier.mayMatchIPv6)
            let otherMatches = others.map { matches[Int($0)] }
            bytes += plan(six, tupleSpace: false).estimatedBytes + 4 * six.count
            bytes += plan(otherMatches, tupleSpace: false).estimatedBytes + 4 * others.count
            return Plan(kind: .tupleSpace(shapes: shapes.count, others: others.count), estimatedBytes: bytes)
        }
        let per = ChunkedClassifier.defaultChunkRules
        let chunked =
            estimate(matches, rulesPerChunk: per, foldBudget: ChunkedClassifier.foldBudget, packed: true)
            + ChunkPrefilter.bytes
        return Plan(kind: .chunked(rulesPerChunk: per), estimatedBytes: chunked)
    }

    /// The classifier `plan` picks.
    public static func make(_ matches: [RuleMatch]) -> any Classifier { make(matches, plan: plan(matches)) }

    public static func make(_ matches: [RuleMatch], plan: Plan) -> any Classifier {
        switch plan.kind {
        case .bitsets: return BitVectorClassifier(matches: matches)
        case .chunked(let per): return ChunkedClassifier(matches: matches, chunkRules: per)
        case .tupleSpace: return TupleSpaceClassifier(matches: matches)
        }
    }

    /// Bytes of the lookup structures of a classifier `make` built.
    public static func bytes(of c: any Classifier) -> Int {
        switch c {
        case let b as BitVectorClassifier: return b.memoryBytes
        case let k as ChunkedClassifier: return k.memoryBytes
        case let t as TupleSpaceClassifier: return t.memoryBytes
        default: return 0
        }
    }

    /// Bytes of the lookup structures of bit-vector indexes over chunks of `rulesPerChunk` rules,
    /// from the distinct range boundaries of each field (an upper bound on its classes). `packed`:
    /// the chunks' layout (`PackedBitsets`, `CompactIPv4ClassTable`).
    static func estimate(_ matches: [RuleMatch], rulesPerChunk: Int, foldBudget: Int, packed: Bool) -> Int {
        var total = 0
        var first = 0
        while first < matches.count {
            let slice = matches[first..<min(matches.count, first + rulesPerChunk)]
            let words = (slice.count + 63) / 64
            for v6 in [false, true] {
                total += familyEstimate(
                    FamilyFields.ranges(slice, v6: v6), rules: slice.count,
                    words: words, v6: v6, foldBudget: foldBudget, packed: packed)
            }
            total += slice.count * (MemoryLayout<RuleCheck>.stride + 8) + words * 8
            first += rulesPerChunk
        }
        return total
    }

    static func familyEstimate(
        _ f: FieldRanges, rules: Int, words: Int, v6: Bool, foldBudget: Int, packed: Bool
    ) -> Int {
        let stride = words + (words + 63) / 64
        let src = intervals(f.src), dst = intervals(f.dst)
        let proto = intervals(f.proto), sport = intervals(f.sport), dport = intervals(f.dport)
        // Classes are distinct rule sets: at most one per interval, and a cross product's rarely
        // more than one per rule edge.
        let classCap = 2 * rules + 1
        let ps = min(proto * sport, classCap)
        var classes = src + dst, tables = proto * sport * 4
        let folds = ps * dport * words <= foldBudget
        if folds {
            classes += min(ps * dport, classCap)
            tables += ps * dport * 4
        } else {
            classes += ps + dport
        }
        // Address tables: IPv4 a 256 KiB first level (compact: 128 KiB and up to two 4-byte
        // entries an interval) and a 64-byte node per cut slot; IPv6 20 bytes an interval. Port
        // tables: a 1 KiB block per 256 keys cut.
        let level1 = packed ? 2 * (1 << 17) + 8 * (src + dst) : 2 * (1 << 18)
        let addressTables = v6 ? 20 * (src + dst) : level1 + 64 * (src + dst)
        let portTables = 2 * 4 * 257 + 1024 * (min(257, sport) + min(257, dport)) + 1024
        guard packed else { return classes * stride * 8 + tables + addressTables + portTables }
        // A PS class is a protocol class's rules within a source port class's, so its row has no
        // more words than either; an L4 class likewise within a PS and a destination port class.
        let protoWords = packedWords(f.proto, words: words), sportWords = packedWords(f.sport, words: words)
        let dportWords = packedWords(f.dport, words: words)
        let psWords = min(proto * sportWords, sport * protoWords, ps * stride)
        let l4Words =
            folds ? min(ps * dportWords, dport * psWords, min(ps * dport, classCap) * stride) : psWords + dportWords
        let rowWords = packedWords(f.src, words: words) + packedWords(f.dst, words: words) + l4Words
        return rowWords * 8 + tables + addressTables + portTables
    }

    /// An upper bound on the words of a field's packed rows: for each elementary interval, the
    /// summary and one word per rule covering it (at most `words`); a class has one interval or more.
    static func packedWords(_ ranges: [[KeyRange]?], words: Int) -> Int {
        var edges: [(at: IPAddress, change: Int)] = []
        var everywhere = 0
        for list in ranges {
            guard let list else {
                everywhere += 1
                continue
            }
            for r in list {
                edges.append((r.lo, 1))
                let end = r.hi.successor
                if r.lo < end { edges.append((end, -1)) }  // (the largest IPv6 address has none)
            }
        }
        edges.sort { $0.at < $1.at }
        let summary = (words + 63) / 64
        var covering = everywhere
        var total = summary + min(words, covering)
        var i = 0
        while i < edges.count {
            let at = edges[i].at
            while i < edges.count && edges[i].at == at {
                covering += edges[i].change
                i += 1
            }
            total += summary + min(words, max(0, covering))
        }
        return total
    }

    /// Elementary intervals of one field: its distinct range starts and ends, plus one.
    static func intervals(_ ranges: [[KeyRange]?]) -> Int {
        var points: [IPAddress] = []
        for list in ranges {
            for r in list ?? [] {
                points.append(r.lo)
                points.append(r.hi.successor)
            }
        }
        points.sort()
        var distinct = 0
        var last: IPAddress?
        for p in points where p != last {
            distinct += 1
            last = p
        }
        return distinct + 1
    }
}

/// A policy whose classifier would take more memory than `classifier.max-memory` allows.
public struct ClassifierMemoryError: Error, CustomStringConvertible, Equatable {
    public let estimatedBytes: Int
    public let limitBytes: Int
    public let rules: Int

    public init(estimatedBytes: Int, limitBytes: Int, rules: Int) {
        self.estimatedBytes = estimatedBytes
        self.limitBytes = limitBytes
        self.rules = rules
    }

    public var description: String {
        "the classifier for \(rules) rules would take about \(formatBytes(estimatedBytes)), over "
            + "classifier.max-memory (\(formatBytes(limitBytes)))"
    }
}

/// Bytes in the largest binary unit that keeps a whole part (e.g. "1.5 GiB", "640 KiB").
public func formatBytes(_ bytes: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var unit = 0, scaled = Double(bytes)
    while scaled >= 1024 && unit < units.count - 1 {
        scaled /= 1024
        unit += 1
    }
    if unit == 0 { return "\(bytes) B" }
    let tenths = Int((scaled * 10).rounded())
    return tenths % 10 == 0 ? "\(tenths / 10) \(units[unit])" : "\(tenths / 10).\(tenths % 10) \(units[unit])"
}
