/// Lookup structures of named sets (`NamedSet`), one per element type. Flat memory allocated at
/// build time: a lookup allocates nothing, takes no lock and touches no reference count.
///
/// The address sets store *boundary points*: the sorted keys where membership flips (a range
/// [lo, hi] flips on at lo and off at hi + 1). A key is in the set when an odd number of points
/// are at or below it, so a lookup is one "how many points <= key" search, and a set of N merged
/// ranges costs at most 2N points, however the prefixes nest.
enum SetTable {
    case v4(IPv4SetTable)
    case v6(IPv6SetTable)
    case bits(BitmapSetTable)
    /// Behind a pointer: the tuple table is 15 words, and a `SetTest` of a plain set (copied
    /// into the rule checks' pool) should stay a few words.
    case concat(UnsafeMutablePointer<ConcatSetTable>)

    var isV6: Bool {
        switch self {
        case .v6: return true
        case .concat(let t): return t.pointee.isV6
        default: return false
        }
    }

    @inline(__always) func contains(_ key: IPAddress) -> Bool {
        switch self {
        case .v4(let t): return t.contains(UInt32(truncatingIfNeeded: key.lo))
        case .v6(let t): return t.contains(key)
        case .bits(let t): return t.contains(Int(truncatingIfNeeded: key.lo))
        case .concat: return false
        }
    }

    var ranges: [ClosedRange<UInt128>] {
        switch self {
        case .v4(let t): return t.ranges
        case .v6(let t): return t.ranges
        case .bits(let t): return t.ranges
        case .concat: return []
        }
    }

    var rangeCount: Int {
        switch self {
        case .v4(let t): return (t.points + 1) / 2
        case .v6(let t): return (t.points + 1) / 2
        case .bits(let t): return t.ranges.count
        case .concat(let t): return t.pointee.elementCount
        }
    }

    var bytes: Int {
        switch self {
        case .v4(let t): return t.bytes
        case .v6(let t): return t.bytes
        case .bits(let t): return t.bytes
        case .concat(let t): return t.pointee.bytes
        }
    }

    func deallocate() {
        switch self {
        case .v4(let t): t.deallocate()
        case .v6(let t): t.deallocate()
        case .bits(let t): t.deallocate()
        case .concat(let t):
            t.pointee.deallocate()
            t.deinitialize(count: 1)
            t.deallocate()
        }
    }
}

/// IPv4: boundary points split by their top 16 bits. `directory[s]` is the number of points
/// below s << 16, so the points of /16 slot s are `low[directory[s]..<directory[s + 1]]` (their
/// low 16 bits). A lookup reads two adjacent directory words and, when the slot has points,
/// binary-searches its few `UInt16`s (a million random prefixes: about 30 points a slot, one or
/// two cache lines). Memory: 256 KiB of directory plus 2 bytes a point.
struct IPv4SetTable {
    let directory: UnsafeMutablePointer<UInt32>
    let low: UnsafeMutablePointer<UInt16>
    let points: Int

    init(_ input: [ClosedRange<UInt32>]) {
        // Sort by start, packed into one UInt64 per range so the sort moves plain words.
        var packed = input.map { UInt64($0.lowerBound) << 32 | UInt64($0.upperBound) }
        packed.sort()
        var pts: [UInt32] = []
        pts.reserveCapacity(min(2 * packed.count, 1 << 26))
        var open = false, curLo: UInt64 = 0, curHi: UInt64 = 0
        func close() {
            pts.append(UInt32(curLo))
            if curHi < 0xFFFF_FFFF { pts.append(UInt32(curHi + 1)) }
        }
        for p in packed {
            let lo = p >> 32, hi = p & 0xFFFF_FFFF
            if open && lo <= curHi + 1 {
                curHi = max(curHi, hi)
            } else {
                if open { close() }
                open = true
                curLo = lo
                curHi = hi
            }
        }
        if open { close() }
        packed = []
        points = pts.count
        directory = .allocate(capacity: 65537)
        low = .allocate(capacity: max(1, pts.count))
        var i = 0
        for s in 0...65536 {
            while i < pts.count && Int(pts[i] >> 16) < s { i += 1 }
            directory[s] = UInt32(i)
        }
        for (k, p) in pts.enumerated() { low[k] = UInt16(truncatingIfNeeded: p) }
    }

    /// Number of points <= key (in the key's slot only; `directory` counts the ones before),
    /// odd when the key is in the set.
    @inline(__always) func contains(_ key: UInt32) -> Bool {
        let s = Int(key >> 16)
        var base = Int(directory[s])
        var n = Int(directory[s &+ 1]) &- base
        let k = UInt16(truncatingIfNeeded: key)
        while n > 0 {
            let half = n >> 1
            if low[base &+ half] <= k {
                base = base &+ half &+ 1
                n = n &- half &- 1
            } else {
                n = half
            }
        }
        return base & 1 == 1
    }

    var ranges: [ClosedRange<UInt128>] {
        var out: [ClosedRange<UInt128>] = []
        var s = 0, lo: UInt128 = 0
        for k in 0..<points {
            while Int(directory[s + 1]) <= k { s += 1 }
            let p = UInt128(s) << 16 | UInt128(low[k])
            if k & 1 == 0 { lo = p } else { out.append(lo...(p - 1)) }
        }
        if points & 1 == 1 { out.append(lo...UInt128(UInt32.max)) }
        return out
    }

    var bytes: Int { 65537 * 4 + points * 2 }

    func deallocate() {
        directory.deallocate()
        low.deallocate()
    }
}

/// IPv6: the boundary points in two arrays (high and low 64 bits), binary-searched. IPv6 sets
/// are smaller in practice, and their prefixes crowd into 2000::/3, where a directory on the top
/// bits would cut poorly.
struct IPv6SetTable {
    let hi: UnsafeMutablePointer<UInt64>
    let lo: UnsafeMutablePointer<UInt64>
    let points: Int

    init(_ input: [ClosedRange<UInt128>]) {
        let sorted = input.sorted { $0.lowerBound < $1.lowerBound }
        var pts: [UInt128] = []
        var cur: ClosedRange<UInt128>? = nil
        func close(_ r: ClosedRange<UInt128>) {
            pts.append(r.lowerBound)
            if r.upperBound < .max { pts.append(r.upperBound + 1) }
        }
        for r in sorted {
            if let c = cur, c.upperBound == .max || r.lowerBound <= c.upperBound + 1 {
                cur = c.lowerBound...max(c.upperBound, r.upperBound)
            } else {
                if let c = cur { close(c) }
                cur = r
            }
        }
        if let c = cur { close(c) }
        points = pts.count
        hi = .copying(pts.map { UInt64(truncatingIfNeeded: $0 >> 64) })
        lo = .copying(pts.map { UInt64(truncatingIfNeeded: $0) })
    }

    @inline(__always) func contains(_ key: IPAddress) -> Bool {
        var base = 0, n = points
        while n > 0 {
            let half = n >> 1
            let m = base &+ half
            if hi[m] < key.hi || (hi[m] == key.hi && lo[m] <= key.lo) {
                base = m &+ 1
                n = n &- half &- 1
            } else {
                n = half
            }
        }
        return base & 1 == 1
    }

    var ranges: [ClosedRange<UInt128>] {
        var out: [ClosedRange<UInt128>] = []
        var start: UInt128 = 0
        for k in 0..<points {
            let p = UInt128(hi[k]) << 64 | UInt128(lo[k])
            if k & 1 == 0 { start = p } else { out.append(start...(p - 1)) }
        }
        if points & 1 == 1 { out.append(start...UInt128.max) }
        return out
    }

    var bytes: Int { points * 16 }

    func deallocate() {
        hi.deallocate()
        lo.deallocate()
    }
}

/// Ports (65536 bits, 8 KiB) and protocols (256 bits): one load and a bit test.
struct BitmapSetTable {
    let words: UnsafeMutablePointer<UInt64>
    let keys: Int

    init(_ input: [ClosedRange<Int>], keys: Int) {
        self.keys = keys
        words = .allocate(capacity: keys / 64)
        words.initialize(repeating: 0, count: keys / 64)
        for r in input where r.lowerBound >= 0 && r.upperBound < keys {
            // Word by word: a range 0-65535 costs 1024 stores, not 65536.
            var k = r.lowerBound
            while k <= r.upperBound {
                let bit = k & 63, last = min(63, bit + r.upperBound - k)
                let mask: UInt64 = (last == 63 ? ~0 : (1 << UInt64(last + 1)) - 1) & ~((1 << UInt64(bit)) - 1)
                words[k >> 6] |= mask
                k += last - bit + 1
            }
        }
    }

    /// Keys past the bitmap are not in it (a protocol set never sees one; a port key fits).
    @inline(__always) func contains(_ key: Int) -> Bool {
        guard key >= 0 && key < keys else { return false }
        return words[key >> 6] & (1 << UInt64(key & 63)) != 0
    }

    var ranges: [ClosedRange<UInt128>] {
        var out: [ClosedRange<UInt128>] = []
        var k = 0
        while k < keys {
            guard contains(k) else {
                k += 1
                continue
            }
            var e = k
            while e + 1 < keys && contains(e + 1) { e += 1 }
            out.append(UInt128(k)...UInt128(e))
            k = e + 1
        }
        return out
    }

    var bytes: Int { keys / 8 }

    func deallocate() { words.deallocate() }
}
