/// Fast-path half of the bit-vector classifier: flat, pointer-backed tables that map a field's
/// key to its equivalence class, and the class bitsets. Plain structs of pointers, so copying
/// one into a local costs no reference counting; the classifier frees them in its deinit.

extension UnsafeMutablePointer {
    /// A copy of `a` in fresh memory (at least one element, so empty tables are valid pointers).
    static func copying(_ a: [Pointee]) -> UnsafeMutablePointer<Pointee> {
        let p = UnsafeMutablePointer<Pointee>.allocate(capacity: Swift.max(1, a.count))
        a.withUnsafeBufferPointer { b in if let base = b.baseAddress { p.initialize(from: base, count: a.count) } }
        return p
    }
}

/// Key -> class for a small field (protocol: 256 keys; ports: 65536 keys plus "no ports").
/// Two levels, 8 bits each: a level-1 entry is a class, or (top bit set) the offset of a
/// 256-entry block for the low byte. Port rules use few distinct ranges, so most level-1 slots
/// are a single class and the whole table stays a few kilobytes (L1-resident).
struct DirectClassTable {
    let table: UnsafeMutablePointer<UInt32>
    let bytes: Int
    static let indirect: UInt32 = 0x8000_0000

    init(_ field: FieldIntervals, keys: Int) {
        let starts = field.starts.map { Int($0.lo) }, classes = field.classOf
        let slots = (keys + 255) >> 8
        var t = [UInt32](repeating: 0, count: slots)
        var i = 0  // interval holding the current key; keys only grow
        for slot in 0..<slots {
            let lo = slot << 8, hi = min(keys, lo + 256) - 1
            while i + 1 < starts.count && starts[i + 1] <= lo { i += 1 }
            if i + 1 == starts.count || starts[i + 1] > hi {
                t[slot] = classes[i]
                continue
            }
            t[slot] = DirectClassTable.indirect | UInt32(t.count)
            var j = i
            for key in lo..<lo + 256 {
                while j + 1 < starts.count && starts[j + 1] <= key { j += 1 }
                t.append(classes[j])
            }
        }
        table = .copying(t)
        bytes = t.count * 4
    }

    @inline(__always) func classOf(_ key: Int) -> UInt32 {
        let e = table[key >> 8]
        if e & DirectClassTable.indirect == 0 { return e }
        return table[Int(e & ~DirectClassTable.indirect) + (key & 0xFF)]
    }

    func deallocate() { table.deallocate() }
}

/// Looks up the class of an address. One implementation per address family.
protocol AddressClassTable {
    init(_ field: FieldIntervals)
    func classOf(_ a: IPAddress) -> UInt32
    var bytes: Int { get }
    func deallocate()
}

/// IPv4 address -> class through a 16-8-8 multibit table (as DIR-24-8 routes do), with one
/// twist for size: a slot that only a few boundaries cut points at a 64-byte "list" node (up to
/// 7 boundaries and their 8 classes, searched without branches) instead of a 256-entry block.
/// Sparse prefixes (fw1's /29s) then cost a cache line each, not a kilobyte, and the tables
/// stay small enough for the caches.
///
/// Entry encoding: top bit clear: a class. Top bit set: bit 30 set, a list node index; clear,
/// the offset of a 256-entry block (in the same array) for the next byte.
struct IPv4ClassTable: AddressClassTable {
    /// Level 1 (indexed by the top 16 bits), followed by the 256-entry blocks.
    let table: UnsafeMutablePointer<UInt32>
    /// List nodes, 16 words each: 8 keys (relative to the slot, padding 0x10000) then 8 classes.
    let nodes: UnsafeMutablePointer<UInt32>
    let bytes: Int
    static let indirect: UInt32 = 0x8000_0000
    static let list: UInt32 = 0x4000_0000
    static let offsetMask: UInt32 = 0x3FFF_FFFF
    static let listKeys = 7

    init(_ field: FieldIntervals) {
        let (table, nodes) = IPv4ClassTable.layout(field)
        self.table = .copying(table)
        self.nodes = IPv4ClassTable.aligned(nodes)
        bytes = table.count * 4 + nodes.count * 4
    }

    /// The level-1 table followed by its blocks, and the list nodes.
    static func layout(_ field: FieldIntervals) -> (table: [UInt32], nodes: [UInt32]) {
        let starts = field.starts.map { UInt64($0.lo) }
        let classes = field.classOf
        var table = [UInt32](repeating: 0, count: 1 << 16)
        var nodes: [UInt32] = []
        // Fills `slots` entries of `table` from `at`, slot b covering `childSpan` keys from
        // base + b * childSpan; `i` is the interval holding `base`. Runs of slots inside one
        // interval are filled at once; a slot cut by boundaries gets a list node or a block.
        func fill(at: Int, base: UInt64, childSpan: UInt64, slots: Int, interval i0: Int) {
            var i = i0, b = 0
            while b < slots {
                let lo = base + UInt64(b) * childSpan
                while i + 1 < starts.count && starts[i + 1] <= lo { i += 1 }
                let next = i + 1 < starts.count ? starts[i + 1] : UInt64.max
                let whole = min(UInt64(slots - b), (next - lo) / childSpan)
                if whole > 0 {
                    let c = classes[i], n = Int(whole)
                    table.withUnsafeMutableBufferPointer { ($0.baseAddress! + at + b).update(repeating: c, count: n) }
                    b += n
                    continue
                }
                // Boundaries fall inside this slot (so childSpan > 1).
                let hi = lo + childSpan - 1
                var cuts = 0
                while cuts <= IPv4ClassTable.listKeys && i + 1 + cuts < starts.count && starts[i + 1 + cuts] <= hi {
                    cuts += 1
                }
                if cuts <= IPv4ClassTable.listKeys {
                    let node = nodes.count / 16
                    for k in 0..<8 { nodes.append(k < cuts ? UInt32(starts[i + 1 + k] - lo) : 0x1_0000) }
                    for k in 0..<8 { nodes.append(classes[i + min(k, cuts)]) }
                    table[at + b] = IPv4ClassTable.indirect | IPv4ClassTable.list | UInt32(node)
                } else {
                    let block = table.count
                    table.append(contentsOf: repeatElement(0, count: 256))
                    fill(at: block, base: lo, childSpan: childSpan >> 8, slots: 256, interval: i)
                    table[at + b] = IPv4ClassTable.indirect | UInt32(block)
                }
                b += 1
            }
        }
        fill(at: 0, base: 0, childSpan: 1 << 16, slots: 1 << 16, interval: 0)
        return (table, nodes)
    }

    /// The list nodes on cache-line boundaries, so a search touches one line.
    static func aligned(_ nodes: [UInt32]) -> UnsafeMutablePointer<UInt32> {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(64, nodes.count * 4), alignment: 64)
        let aligned = raw.bindMemory(to: UInt32.self, capacity: max(16, nodes.count))
        nodes.withUnsafeBufferPointer { b in if let p = b.baseAddress { aligned.initialize(from: p, count: b.count) } }
        return aligned
    }

    @inline(__always) func search(_ e: UInt32, _ key: UInt32) -> UInt32 { IPv4ClassTable.search(nodes, e, key) }

    /// The class of `key` (the address bits below the slot) in the list node `e` points at.
    @inline(__always) static func search(_ nodes: UnsafePointer<UInt32>, _ e: UInt32, _ key: UInt32) -> UInt32 {
        let n = nodes + Int(e & IPv4ClassTable.offsetMask) * 16
        var idx = 0
        for k in 0..<IPv4ClassTable.listKeys { idx &+= n[k] <= key ? 1 : 0 }
        return n[8 + idx]
    }

    @inline(__always) func classOf(_ a: IPAddress) -> UInt32 {
        let v = UInt32(truncatingIfNeeded: a.lo)
        var e = table[Int(v >> 16)]
        if e & IPv4ClassTable.indirect == 0 { return e }
        if e & IPv4ClassTable.list != 0 { return search(e, v & 0xFFFF) }
        e = table[Int(e & IPv4ClassTable.offsetMask) + Int((v >> 8) & 0xFF)]
        if e & IPv4ClassTable.indirect == 0 { return e }
        if e & IPv4ClassTable.list != 0 { return search(e, v & 0xFF) }
        return table[Int(e & IPv4ClassTable.offsetMask) + Int(v & 0xFF)]
    }

    func deallocate() {
        table.deallocate()
        UnsafeMutableRawPointer(nodes).deallocate()
    }
}

/// IPv6 address -> class by binary search over the sorted interval starts. IPv6 is not what the
/// ClassBench sets measure; this keeps it correct and compact.
struct IPv6ClassTable: AddressClassTable {
    let startHi: UnsafeMutablePointer<UInt64>
    let startLo: UnsafeMutablePointer<UInt64>
    let classes: UnsafeMutablePointer<UInt32>
    let count: Int
    let bytes: Int

    init(_ field: FieldIntervals) {
        startHi = .copying(field.starts.map(\.hi))
        startLo = .copying(field.starts.map(\.lo))
        classes = .copying(field.classOf)
        count = field.starts.count
        bytes = count * 20
    }

    @inline(__always) func classOf(_ a: IPAddress) -> UInt32 {
        var base = 0, n = count
        while n > 1 {
            let half = n / 2
            let m = base + half
            let le = startHi[m] < a.hi || (startHi[m] == a.hi && startLo[m] <= a.lo)
            base = le ? m : base
            n -= half
        }
        return classes[base]
    }

    func deallocate() {
        startHi.deallocate()
        startLo.deallocate()
        classes.deallocate()
    }
}

/// The class bitsets of one field, laid out class after class: `summaryWords` words whose bit i
/// says "word i is not zero", then the `words` words of the rule bitset. A class's handle is
/// its number: its row is found by one multiply, with no table between.
struct ClassBitsets: RuleBitsets {
    let base: UnsafeMutablePointer<UInt64>
    let words: Int
    let summaryWords: Int
    let stride: Int
    let count: Int

    init(_ set: ClassSet) {
        words = set.words
        summaryWords = (words + 63) / 64
        stride = summaryWords + words
        count = set.count
        base = .allocate(capacity: max(1, count * stride))
        base.initialize(repeating: 0, count: max(1, count * stride))
        for c in 0..<count {
            let row = base + c * stride
            for w in 0..<words {
                let v = set.word(UInt32(c), w)
                row[summaryWords + w] = v
                if v != 0 { row[w >> 6] |= 1 << UInt64(w & 63) }
            }
        }
    }

    var bytes: Int { max(1, count * stride) * 8 }

    func handle(_ c: UInt32) -> UInt32 { c }

    /// (Wrapping arithmetic: a class id is below `count`, so the product is inside the table;
    /// the overflow checks were branches on every lookup.)
    @inline(__always) func row(_ c: UInt32) -> UnsafeMutablePointer<UInt64> { base + Int(c) &* stride }
    func deallocate() { base.deallocate() }

    @inline(__always)
    static func scan(
        _ a: UnsafePointer<UInt64>, _ b: UnsafePointer<UInt64>, _ c: UnsafePointer<UInt64>, _ e: UnsafePointer<UInt64>,
        summaryWords summaries: Int, fourRows: Bool, checks withChecks: Bool, _ checks: RuleChecks,
        _ m: UnsafePointer<PacketMeta>
    ) -> Int32 {
        for si in 0..<summaries {
            var summary = a[si] & b[si] & c[si]
            if fourRows { summary &= e[si] }
            while summary != 0 {
                let w = si << 6 | summary.trailingZeroBitCount
                var hits = a[summaries + w] & b[summaries + w] & c[summaries + w]
                if fourRows { hits &= e[summaries + w] }
                while hits != 0 {
                    let r = w << 6 | hits.trailingZeroBitCount
                    if !withChecks || checks.passes(r, m) { return Int32(truncatingIfNeeded: r) }
                    hits &= hits &- 1
                }
                summary &= summary &- 1
            }
        }
        return -1
    }
}
