/// The values of a packet a concatenated set tests, one per component (unused ones zero).
/// IPv4 addresses, ports and protocols are small numbers in `lo`.
struct ConcatKey {
    var first: IPAddress
    var second: IPAddress
    var third: IPAddress

    @inline(__always) subscript(_ i: Int) -> IPAddress {
        i == 0 ? first : (i == 1 ? second : third)
    }
}

/// Lookup structure of a concatenated set (`ipv4 . port`), in two parts fitted to its elements:
///
/// - exact tuples (every component one value) in an open-addressing hash table over the packed
///   keys (one word a component, two for an IPv6 address), linear probing, at most half full;
/// - tuples with a prefix or range somewhere, by the elementary intervals of their first
///   component: the sorted points where some element's first range starts or ends cut the first
///   component's values into intervals, and each interval lists the elements whose first range
///   covers it. A lookup binary-searches the interval and checks the other components of the
///   elements listed there only.
///
/// Flat memory allocated at build time and freed by `deallocate`: a lookup allocates nothing,
/// takes no lock and touches no reference count.
struct ConcatSetTable {
    /// Components, 2 or 3.
    let width: Int
    /// Bit i set when component i is an IPv6 address (two words of the key).
    let wide: UInt8
    let isV6: Bool
    let keyWords: Int
    let slots: UnsafeMutablePointer<UInt64>
    let occupied: UnsafeMutablePointer<Bool>
    /// Slot count - 1 (a power of two).
    let mask: Int
    let exactCount: Int
    let points: UnsafeMutablePointer<UInt128>
    let pointCount: Int
    /// The elements of interval j are `listed[listStart[j]..<listStart[j + 1]]`.
    let listStart: UnsafeMutablePointer<UInt32>
    let listed: UnsafeMutablePointer<UInt32>
    let listedCount: Int
    /// Per ranged element, `width` pairs of (lower, upper) bounds.
    let bounds: UnsafeMutablePointer<UInt128>
    let rangedCount: Int

    /// `tuples`: `components.count` ranges per element, in order. Duplicates are dropped.
    init(components: [SetType], tuples: [ClosedRange<UInt128>]) {
        width = components.count
        isV6 = components.contains(.ipv6)
        var wide: UInt8 = 0
        for (i, c) in components.enumerated() where c == .ipv6 { wide |= 1 << UInt8(i) }
        self.wide = wide
        keyWords = width + wide.nonzeroBitCount
        // Split by index (no array per element: a million tuples build in a fraction of a second).
        let step = max(1, width)
        var exactStarts: [Int] = [], rangedStarts: [Int] = []
        for start in stride(from: 0, to: tuples.count - tuples.count % step, by: step) {
            let single = tuples[start..<(start + width)].allSatisfy { $0.lowerBound == $0.upperBound }
            if single { exactStarts.append(start) } else { rangedStarts.append(start) }
        }
        var capacity = 2
        while capacity < 2 * exactStarts.count { capacity <<= 1 }
        mask = capacity - 1
        slots = .allocate(capacity: capacity * keyWords)
        slots.initialize(repeating: 0, count: capacity * keyWords)
        occupied = .allocate(capacity: capacity)
        occupied.initialize(repeating: false, count: capacity)
        var placed = 0
        for start in exactStarts {
            let key = ConcatKey(
                first: ConcatSetTable.address(tuples[start].lowerBound),
                second: ConcatSetTable.address(tuples[start + 1].lowerBound),
                third: width > 2 ? ConcatSetTable.address(tuples[start + 2].lowerBound) : .zero)
            var s = ConcatSetTable.hash(key, width: width, wide: wide) & mask
            var duplicate = false
            while occupied[s] && !duplicate {
                duplicate = ConcatSetTable.holds(slots, s, key, width: width, wide: wide, keyWords: keyWords)
                s = (s + 1) & mask
            }
            if duplicate { continue }
            occupied[s] = true
            placed += 1
            var w = s * keyWords
            for i in 0..<width {
                if wide & (1 << UInt8(i)) != 0 {
                    slots[w] = key[i].hi
                    w += 1
                }
                slots[w] = key[i].lo
                w += 1
            }
        }
        exactCount = placed
        // Duplicates dropped by sorting: equal elements end up next to each other.
        let n = components.count
        rangedStarts.sort { a, b in
            for i in 0..<n where tuples[a + i] != tuples[b + i] {
                let x = tuples[a + i], y = tuples[b + i]
                return x.lowerBound != y.lowerBound ? x.lowerBound < y.lowerBound : x.upperBound < y.upperBound
            }
            return false
        }
        var ranged: [[ClosedRange<UInt128>]] = []
        for start in rangedStarts {
            let element = Array(tuples[start..<(start + width)])
            if ranged.last != element { ranged.append(element) }
        }
        rangedCount = ranged.count
        var cuts: [UInt128] = []
        for e in ranged {
            cuts.append(e[0].lowerBound)
            if e[0].upperBound < .max { cuts.append(e[0].upperBound + 1) }
        }
        cuts = Array(Set(cuts)).sorted()
        pointCount = cuts.count
        points = .copying(cuts)
        // Two passes: count each interval's elements, then place them.
        func intervals(_ e: [ClosedRange<UInt128>]) -> Range<Int> {
            let a = ConcatSetTable.atOrBelow(e[0].lowerBound, cuts) - 1
            let b = e[0].upperBound == .max ? cuts.count : ConcatSetTable.atOrBelow(e[0].upperBound + 1, cuts) - 1
            return a..<b
        }
        var start = [UInt32](repeating: 0, count: cuts.count + 1)
        for e in ranged { for j in intervals(e) { start[j + 1] += 1 } }
        for j in 0..<cuts.count { start[j + 1] += start[j] }
        listedCount = Int(start[cuts.count])
        var next = start, list = [UInt32](repeating: 0, count: listedCount)
        for (k, e) in ranged.enumerated() {
            for j in intervals(e) {
                list[Int(next[j])] = UInt32(k)
                next[j] += 1
            }
        }
        listStart = .copying(start)
        listed = .copying(list)
        bounds = .copying(ranged.flatMap { $0.flatMap { [$0.lowerBound, $0.upperBound] } })
    }

    /// More interval entries than this is refused (`listedEntries`): 128 MiB of lists.
    public static let maxListed = 1 << 25

    /// How many (interval, element) entries the ranged elements of `tuples` would list, at most
    /// (duplicates counted): nested or overlapping first ranges are listed in every interval
    /// they cover, so a few thousand elements could otherwise ask for gigabytes.
    public static func listedEntries(width: Int, tuples: [ClosedRange<UInt128>]) -> Int {
        guard width > 1 else { return 0 }
        var firsts: [ClosedRange<UInt128>] = []
        for start in stride(from: 0, to: tuples.count - tuples.count % width, by: width)
        where !tuples[start..<(start + width)].allSatisfy({ $0.lowerBound == $0.upperBound }) {
            firsts.append(tuples[start])
        }
        var cuts: [UInt128] = []
        for r in firsts {
            cuts.append(r.lowerBound)
            if r.upperBound < .max { cuts.append(r.upperBound + 1) }
        }
        cuts = Array(Set(cuts)).sorted()
        var total = 0
        for r in firsts {
            let a = atOrBelow(r.lowerBound, cuts)
            let b = r.upperBound == .max ? cuts.count + 1 : atOrBelow(r.upperBound + 1, cuts)
            total += b - a
        }
        return total
    }

    static func address(_ v: UInt128) -> IPAddress {
        IPAddress(hi: UInt64(truncatingIfNeeded: v >> 64), lo: UInt64(truncatingIfNeeded: v))
    }

    /// How many of the sorted `points` are <= `v`.
    @inline(__always) static func atOrBelow(_ v: UInt128, _ points: UnsafePointer<UInt128>, _ count: Int) -> Int {
        var base = 0, n = count
        while n > 0 {
            let half = n >> 1
            if points[base &+ half] <= v {
                base = base &+ half &+ 1
                n = n &- half &- 1
            } else {
                n = half
            }
        }
        return base
    }

    static func atOrBelow(_ v: UInt128, _ points: [UInt128]) -> Int {
        points.withUnsafeBufferPointer { atOrBelow(v, $0.baseAddress!, $0.count) }
    }

    @inline(__always) static func mix(_ h: UInt64, _ w: UInt64) -> UInt64 {
        var x = (h ^ w) &* 0xBF58_476D_1CE4_E5B9
        x ^= x >> 31
        return x
    }

    @inline(__always) static func hash(_ k: ConcatKey, width: Int, wide: UInt8) -> Int {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15
        for i in 0..<width {
            if wide & (1 << UInt8(i)) != 0 { h = ConcatSetTable.mix(h, k[i].hi) }
            h = ConcatSetTable.mix(h, k[i].lo)
        }
        return Int(truncatingIfNeeded: h ^ (h >> 32))
    }

    @inline(__always) func contains(_ k: ConcatKey) -> Bool {
        if exactCount > 0 {
            var s = ConcatSetTable.hash(k, width: width, wide: wide) & mask
            while occupied[s] {
                if slotHolds(s, k) { return true }
                s = (s &+ 1) & mask
            }
        }
        guard rangedCount > 0 else { return false }
        let n = ConcatSetTable.atOrBelow(ConcatSetTable.value(k.first), points, pointCount)
        guard n > 0 else { return false }
        for at in Int(listStart[n &- 1])..<Int(listStart[n]) {
            let b = Int(listed[at]) &* width &* 2
            var inside = true
            for i in 1..<width {
                let v = ConcatSetTable.value(k[i])
                if v < bounds[b &+ 2 &* i] || v > bounds[b &+ 2 &* i &+ 1] {
                    inside = false
                    break
                }
            }
            if inside { return true }
        }
        return false
    }

    @inline(__always) static func value(_ a: IPAddress) -> UInt128 { UInt128(a.hi) << 64 | UInt128(a.lo) }

    @inline(__always) func slotHolds(_ s: Int, _ k: ConcatKey) -> Bool {
        ConcatSetTable.holds(slots, s, k, width: width, wide: wide, keyWords: keyWords)
    }

    @inline(__always) static func holds(
        _ slots: UnsafeMutablePointer<UInt64>, _ s: Int, _ k: ConcatKey, width: Int, wide: UInt8, keyWords: Int
    ) -> Bool {
        var w = s &* keyWords
        for i in 0..<width {
            if wide & (1 << UInt8(i)) != 0 {
                if slots[w] != k[i].hi { return false }
                w &+= 1
            }
            if slots[w] != k[i].lo { return false }
            w &+= 1
        }
        return true
    }

    /// The distinct elements, `width` ranges each (exact ones first), for listing and editing.
    var tuples: [ClosedRange<UInt128>] {
        var out: [ClosedRange<UInt128>] = []
        for s in 0...mask where occupied[s] {
            var w = s * keyWords
            for i in 0..<width {
                var v = UInt128(0)
                if wide & (1 << UInt8(i)) != 0 {
                    v = UInt128(slots[w]) << 64
                    w += 1
                }
                v |= UInt128(slots[w])
                w += 1
                out.append(v...v)
            }
        }
        for b in 0..<(rangedCount * width) { out.append(bounds[2 * b]...bounds[2 * b + 1]) }
        return out
    }

    var elementCount: Int { exactCount + rangedCount }

    var bytes: Int {
        (mask + 1) * (keyWords * 8 + 1) + pointCount * 16 + (pointCount + 1) * 4 + listedCount * 4
            + rangedCount * width * 32
    }

    func deallocate() {
        slots.deallocate()
        occupied.deallocate()
        points.deallocate()
        listStart.deallocate()
        listed.deallocate()
        bounds.deallocate()
    }
}
