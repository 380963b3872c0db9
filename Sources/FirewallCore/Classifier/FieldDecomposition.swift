/// Build-time half of the bit-vector classifier: cuts one field's key space into elementary
/// intervals and gives each interval the set of rules that cover it, deduplicated into
/// equivalence classes. Nothing here runs on the fast path.

/// A closed range of keys of one field. Keys are 128-bit so one type serves IPv6, IPv4 (low 32
/// bits) and small fields such as ports.
struct KeyRange {
    var lo: IPAddress
    var hi: IPAddress
    init(_ lo: IPAddress, _ hi: IPAddress) {
        self.lo = lo
        self.hi = hi
    }
    init(_ lo: UInt64, _ hi: UInt64) {
        self.lo = IPAddress(hi: 0, lo: lo)
        self.hi = IPAddress(hi: 0, lo: hi)
    }

    /// The addresses a prefix covers, in its family's key space.
    init(_ p: IPPrefix) {
        let l = Int(p.length)
        if p.isV6 {
            let hostHi: UInt64 = l >= 64 ? 0 : (l == 0 ? ~0 : ~0 >> UInt64(l))
            let hostLo: UInt64 = l >= 128 ? 0 : (l <= 64 ? ~0 : ~0 >> UInt64(l - 64))
            self.init(p.address, IPAddress(hi: p.address.hi | hostHi, lo: p.address.lo | hostLo))
        } else {
            let host: UInt64 = l >= 32 ? 0 : (0xFFFF_FFFF >> UInt64(l))
            self.init(p.address.lo, p.address.lo | host)
        }
    }
}

extension IPAddress {
    /// A 128-bit key as an address (IPv4 and small fields in the low bits).
    init(_ key: UInt128) {
        self.init(hi: UInt64(truncatingIfNeeded: key >> 64), lo: UInt64(truncatingIfNeeded: key))
    }

    /// The next key; callers never ask for the successor of the largest key of a field.
    var successor: IPAddress {
        lo == .max ? IPAddress(hi: hi &+ 1, lo: 0) : IPAddress(hi: hi, lo: lo + 1)
    }
}

/// Distinct rule bitsets, each `words` 64-bit words long (bit r = rule r).
struct ClassSet {
    let words: Int
    private(set) var storage: [UInt64] = []
    private var byHash: [UInt64: [UInt32]] = [:]

    init(words: Int) { self.words = words }

    var count: Int { storage.count / words }

    /// The id of this bitset, adding it if new.
    mutating func intern(_ bits: UnsafeBufferPointer<UInt64>) -> UInt32 {
        var h: UInt64 = 0x243F_6A88_85A3_08D3
        for w in bits {
            h = (h ^ w) &* 0x9E37_79B9_7F4A_7C15
            h ^= h >> 29
        }
        if let candidates = byHash[h] {
            for c in candidates
            where storage.withUnsafeBufferPointer({ s in
                (0..<words).allSatisfy { s[Int(c) * words + $0] == bits[$0] }
            }) { return c }
        }
        let id = UInt32(count)
        storage.append(contentsOf: bits)
        byHash[h, default: []].append(id)
        return id
    }

    func word(_ c: UInt32, _ i: Int) -> UInt64 { storage[Int(c) * words + i] }
}

/// One field cut into elementary intervals: interval i is [starts[i], starts[i+1] - 1] (the last
/// one runs to the field's largest key) and every key in it is covered by the rules of class
/// `classOf[i]`.
struct FieldIntervals {
    var starts: [IPAddress]
    var classOf: [UInt32]

    /// The same intervals with each class replaced by `f(class)`.
    func mapped(_ f: (UInt32) -> UInt32) -> FieldIntervals { FieldIntervals(starts: starts, classOf: classOf.map(f)) }

    /// Index of the interval holding `key`.
    func interval(of key: IPAddress) -> Int {
        var lo = 0, hi = starts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if starts[mid] <= key { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }
}

/// Decomposes one field. `ranges[r]` is nil when rule r matches any key of the field, or the
/// (possibly empty, possibly overlapping) list of ranges it matches.
func decompose(_ ranges: [[KeyRange]?], maxKey: IPAddress, into classes: inout ClassSet) -> FieldIntervals {
    let merged = ranges.map { $0.map { mergeRanges($0, maxKey: maxKey) } }
    var starts: [IPAddress] = [.zero]
    for list in merged {
        for r in list ?? [] {
            starts.append(r.lo)
            if r.hi < maxKey { starts.append(r.hi.successor) }
        }
    }
    starts.sort()
    var unique: [IPAddress] = []
    unique.reserveCapacity(starts.count)
    for s in starts where unique.last != s { unique.append(s) }
    let field = FieldIntervals(starts: unique, classOf: [])

    // Each rule's ranges are disjoint once merged, so a bit is set at the interval where a range
    // starts and cleared where it ends: one sweep builds every interval's rule set.
    var events: [(at: Int32, rule: Int32, add: Bool)] = []
    var running = [UInt64](repeating: 0, count: classes.words)
    for (r, list) in merged.enumerated() {
        guard let list else {
            running[r >> 6] |= 1 << UInt64(r & 63)
            continue
        }
        for range in list {
            events.append((Int32(field.interval(of: range.lo)), Int32(r), true))
            if range.hi < maxKey { events.append((Int32(field.interval(of: range.hi.successor)), Int32(r), false)) }
        }
    }
    events.sort { $0.at < $1.at }
    var classOf = [UInt32](repeating: 0, count: unique.count)
    var e = 0
    for i in 0..<unique.count {
        while e < events.count && events[e].at == Int32(i) {
            let r = Int(events[e].rule)
            if events[e].add {
                running[r >> 6] |= 1 << UInt64(r & 63)
            } else {
                running[r >> 6] &= ~(1 << UInt64(r & 63))
            }
            e += 1
        }
        classOf[i] = running.withUnsafeBufferPointer { classes.intern($0) }
    }
    return FieldIntervals(starts: unique, classOf: classOf)
}

/// Sorted, disjoint, non-adjacent ranges covering the same keys.
func mergeRanges(_ ranges: [KeyRange], maxKey: IPAddress) -> [KeyRange] {
    let sorted = ranges.filter { $0.lo <= $0.hi }.sorted { $0.lo < $1.lo }
    var out: [KeyRange] = []
    for r in sorted {
        if var last = out.last, last.hi == maxKey || r.lo <= last.hi.successor {
            if last.hi < r.hi { last.hi = r.hi }
            out[out.count - 1] = last
        } else {
            out.append(r)
        }
    }
    return out
}

/// Cross product of two fields' classes: table[a * b.count + b'] is the class of the rules in
/// both. Used to fold protocol and ports into one class so lookups AND fewer bitsets.
func crossProduct(_ a: ClassSet, _ b: ClassSet, into out: inout ClassSet) -> [UInt32] {
    var table = [UInt32](repeating: 0, count: a.count * b.count)
    var scratch = [UInt64](repeating: 0, count: out.words)
    a.storage.withUnsafeBufferPointer { sa in
        b.storage.withUnsafeBufferPointer { sb in
            for i in 0..<a.count {
                for j in 0..<b.count {
                    for w in 0..<out.words { scratch[w] = sa[i * a.words + w] & sb[j * b.words + w] }
                    table[i * b.count + j] = scratch.withUnsafeBufferPointer { out.intern($0) }
                }
            }
        }
    }
    return table
}
