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
struct DirectClassTable {
    let table: UnsafeMutablePointer<UInt32>
    let bytes: Int

    init(_ field: FieldIntervals, keys: Int) {
        var t = [UInt32](repeating: 0, count: keys)
        for (i, s) in field.starts.enumerated() {
            let end = i + 1 < field.starts.count ? Int(field.starts[i + 1].lo) : keys
            for k in Int(s.lo)..<end { t[k] = field.classOf[i] }
        }
        table = .copying(t)
        bytes = keys * 4
    }

    @inline(__always) func classOf(_ key: Int) -> UInt32 { table[key] }
    func deallocate() { table.deallocate() }
}

/// Looks up the class of an address. One implementation per address family.
protocol AddressClassTable {
    init(_ field: FieldIntervals)
    func classOf(_ a: IPAddress) -> UInt32
    var bytes: Int { get }
    func deallocate()
}

/// IPv4 address -> class through a 16-8-8 multibit table (as DIR-24-8 routes do): one load when
/// a /16 holds a single class, three at most. An entry with the top bit set points at a block
/// of 256 entries (in the same array) for the next byte.
struct IPv4ClassTable: AddressClassTable {
    /// Level 1 (indexed by the top 16 bits), followed by the 256-entry blocks.
    let level1: UnsafeMutablePointer<UInt32>
    let bytes: Int
    static let indirect: UInt32 = 0x8000_0000

    init(_ field: FieldIntervals) {
        let starts = field.starts.map { UInt64($0.lo) }
        let classes = field.classOf
        // Level 1 (65536 entries) first, then the blocks, in one array.
        var table = [UInt32](repeating: 0, count: 1 << 16)
        // Fills `slots` entries of `table` from `at`, slot b covering `childSpan` keys from
        // base + b * childSpan; `i` is the interval holding `base`. A slot that a boundary cuts
        // gets a block of its own for the next byte; runs of whole slots are filled at once.
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
                // A boundary falls inside this slot (so childSpan > 1).
                let block = table.count
                table.append(contentsOf: repeatElement(0, count: 256))
                fill(at: block, base: lo, childSpan: childSpan >> 8, slots: 256, interval: i)
                table[at + b] = IPv4ClassTable.indirect | UInt32(block)
                b += 1
            }
        }
        fill(at: 0, base: 0, childSpan: 1 << 16, slots: 1 << 16, interval: 0)
        level1 = .copying(table)
        bytes = table.count * 4
    }

    @inline(__always) func classOf(_ a: IPAddress) -> UInt32 {
        let v = UInt32(truncatingIfNeeded: a.lo)
        var e = level1[Int(v >> 16)]
        if e & IPv4ClassTable.indirect != 0 {
            e = level1[Int(e & ~IPv4ClassTable.indirect) + Int((v >> 8) & 0xFF)]
            if e & IPv4ClassTable.indirect != 0 {
                e = level1[Int(e & ~IPv4ClassTable.indirect) + Int(v & 0xFF)]
            }
        }
        return e
    }

    func deallocate() { level1.deallocate() }
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

    func deallocate() { startHi.deallocate(); startLo.deallocate(); classes.deallocate() }
}

/// The class bitsets of one field, laid out class after class: `summaryWords` words whose bit i
/// says "word i is not zero", then the `words` words of the rule bitset.
struct ClassBitsets {
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

    @inline(__always) func row(_ c: UInt32) -> UnsafeMutablePointer<UInt64> { base + Int(c) * stride }
    func deallocate() { base.deallocate() }
}
