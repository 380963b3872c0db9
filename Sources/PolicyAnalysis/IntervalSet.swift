/// A set of integers kept as sorted, disjoint, non-adjacent closed intervals.
public struct IntervalSet: Equatable, Sendable {
    public private(set) var ranges: [ClosedRange<UInt128>]

    public static let empty = IntervalSet(normalized: [])

    init(normalized: [ClosedRange<UInt128>]) { ranges = normalized }

    /// Any ranges, in any order, overlapping or not.
    public init(_ input: [ClosedRange<UInt128>]) {
        let sorted = input.sorted { $0.lowerBound < $1.lowerBound }
        var out: [ClosedRange<UInt128>] = []
        for r in sorted {
            if let last = out.last, last.upperBound == .max || r.lowerBound <= last.upperBound + 1 {
                out[out.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
            } else {
                out.append(r)
            }
        }
        ranges = out
    }

    public init(_ single: ClosedRange<UInt128>) { ranges = [single] }
    public init(point: UInt128) { ranges = [point...point] }

    public var isEmpty: Bool { ranges.isEmpty }
    public var lowest: UInt128? { ranges.first?.lowerBound }

    public func contains(_ v: UInt128) -> Bool { ranges.contains { $0.contains(v) } }

    public func intersection(_ other: IntervalSet) -> IntervalSet {
        var out: [ClosedRange<UInt128>] = []
        var i = 0, j = 0
        while i < ranges.count && j < other.ranges.count {
            let a = ranges[i], b = other.ranges[j]
            let lo = max(a.lowerBound, b.lowerBound), hi = min(a.upperBound, b.upperBound)
            if lo <= hi { out.append(lo...hi) }
            if a.upperBound < b.upperBound { i += 1 } else { j += 1 }
        }
        return IntervalSet(normalized: out)
    }

    public func subtracting(_ other: IntervalSet) -> IntervalSet {
        var out: [ClosedRange<UInt128>] = []
        var j = 0
        for r in ranges {
            var lo = r.lowerBound
            var open = true  // lo...r.upperBound is still to place
            while j < other.ranges.count && other.ranges[j].upperBound < lo { j += 1 }
            var k = j
            while open && k < other.ranges.count && other.ranges[k].lowerBound <= r.upperBound {
                let cut = other.ranges[k]
                if cut.lowerBound > lo { out.append(lo...(cut.lowerBound - 1)) }
                if cut.upperBound >= r.upperBound { open = false } else { lo = cut.upperBound + 1 }
                k += 1
            }
            if open { out.append(lo...r.upperBound) }
        }
        return IntervalSet(normalized: out)
    }

    public func isSubset(of other: IntervalSet) -> Bool { subtracting(other).isEmpty }
}

/// A product of interval sets, one per dimension: the packets whose every field value lies in
/// its dimension's set.
public struct Box: Equatable, Sendable {
    public var dims: [IntervalSet]

    public init(_ dims: [IntervalSet]) { self.dims = dims }

    public var isEmpty: Bool { dims.contains { $0.isEmpty } }

    public func intersection(_ other: Box) -> Box {
        Box(zip(dims, other.dims).map { $0.intersection($1) })
    }

    public func intersects(_ other: Box) -> Bool {
        for d in dims.indices where dims[d].intersection(other.dims[d]).isEmpty { return false }
        return true
    }

    /// self minus other, as disjoint boxes: for each dimension in turn, the part outside `other`
    /// with the earlier dimensions already narrowed to `other`.
    public func subtracting(_ other: Box) -> [Box] {
        guard intersects(other) else { return [self] }
        var pieces: [Box] = []
        var inside = self
        for d in dims.indices {
            let outside = inside.dims[d].subtracting(other.dims[d])
            if !outside.isEmpty {
                var piece = inside
                piece.dims[d] = outside
                pieces.append(piece)
            }
            inside.dims[d] = inside.dims[d].intersection(other.dims[d])
        }
        return pieces
    }
}

/// A union of disjoint boxes, bounded in size: an operation that would need more than `limit`
/// boxes gives up (returns nil), so an analysis stays bounded on any policy.
public struct Region: Sendable {
    public var boxes: [Box]

    public init(_ boxes: [Box]) { self.boxes = boxes.filter { !$0.isEmpty } }

    public var isEmpty: Bool { boxes.isEmpty }

    public func subtracting(_ box: Box, limit: Int) -> Region? {
        var out: [Box] = []
        for b in boxes {
            out.append(contentsOf: b.subtracting(box))
            if out.count > limit { return nil }
        }
        return Region(out)
    }

    public func intersection(_ box: Box) -> Region {
        Region(boxes.map { $0.intersection(box) })
    }
}
