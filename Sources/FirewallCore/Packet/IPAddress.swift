/// An IPv4 or IPv6 address as 128 bits. IPv4 sits in the low 32 bits of `lo` with `hi` zero;
/// whether it is v4 or v6 is carried beside it (the packet's IP version, the prefix's family).
public struct IPAddress: Hashable, Sendable, Comparable {
    public var hi: UInt64
    public var lo: UInt64

    @inlinable public init(hi: UInt64, lo: UInt64) {
        self.hi = hi
        self.lo = lo
    }
    @inlinable public init(v4: UInt32) {
        hi = 0
        lo = UInt64(v4)
    }
    public static let zero = IPAddress(hi: 0, lo: 0)

    @inlinable public var v4: UInt32 { UInt32(truncatingIfNeeded: lo) }

    @inlinable public static func < (a: IPAddress, b: IPAddress) -> Bool {
        a.hi != b.hi ? a.hi < b.hi : a.lo < b.lo
    }

    /// Dotted quad for IPv4 (when `v6` is false), RFC 5952 text for IPv6.
    public func text(v6: Bool) -> String {
        if !v6 {
            let a = v4
            return "\(a >> 24).\((a >> 16) & 255).\((a >> 8) & 255).\(a & 255)"
        }
        var groups: [UInt16] = []
        for i in 0..<4 { groups.append(UInt16(truncatingIfNeeded: hi >> (48 - 16 * UInt64(i)))) }
        for i in 0..<4 { groups.append(UInt16(truncatingIfNeeded: lo >> (48 - 16 * UInt64(i)))) }
        // Longest run of two or more zero groups becomes "::".
        var bestStart = -1, bestLen = 0, i = 0
        while i < 8 {
            if groups[i] == 0 {
                var j = i
                while j < 8 && groups[j] == 0 { j += 1 }
                if j - i > bestLen && j - i >= 2 {
                    bestStart = i
                    bestLen = j - i
                }
                i = j
            } else {
                i += 1
            }
        }
        func hex(_ r: Range<Int>) -> String { r.map { String(groups[$0], radix: 16) }.joined(separator: ":") }
        if bestStart < 0 { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLen)..<8)
    }

    /// Parses dotted-quad IPv4 or IPv6 text (with "::" and an embedded IPv4 tail).
    /// Returns the address and whether it is IPv6.
    public static func parse(_ s: Substring) -> (IPAddress, v6: Bool)? {
        if !s.contains(":") {
            guard let v = parseV4(s) else { return nil }
            return (IPAddress(v4: v), false)
        }
        guard let v = parseV6(s) else { return nil }
        return (v, true)
    }

    static func parseV4(_ s: Substring) -> UInt32? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }), let n = UInt32(p), n <= 255
            else { return nil }
            v = v << 8 | n
        }
        return v
    }

    static func parseV6(_ s: Substring) -> IPAddress? {
        var head: [UInt16] = [], tail: [UInt16] = []
        // Split at "::" by hand: FirewallCore does not import Foundation.
        var halves: [String] = []
        let chars = Array(s)
        var cut: Int? = nil
        for i in 0..<max(0, chars.count - 1) where chars[i] == ":" && chars[i + 1] == ":" {
            if cut != nil { return nil }
            cut = i
        }
        if let c = cut {
            halves = [String(chars[0..<c]), String(chars[(c + 2)...])]
            if halves[1].hasPrefix(":") || halves[0].hasSuffix(":") { return nil }
        } else {
            halves = [String(s)]
        }
        func groups(_ text: String, allowV4Tail: Bool) -> [UInt16]? {
            let text = Substring(text)
            if text.isEmpty { return [] }
            var out: [UInt16] = []
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            for (i, p) in parts.enumerated() {
                if i == parts.count - 1, allowV4Tail, p.contains(".") {
                    guard let v4 = parseV4(p) else { return nil }
                    out.append(UInt16(v4 >> 16))
                    out.append(UInt16(v4 & 0xFFFF))
                } else {
                    guard (1...4).contains(p.count), let g = UInt16(p, radix: 16) else { return nil }
                    out.append(g)
                }
            }
            return out
        }
        if halves.count == 2 {
            guard let h = groups(halves[0], allowV4Tail: false), let t = groups(halves[1], allowV4Tail: true) else {
                return nil
            }
            guard h.count + t.count <= 7 else { return nil }
            head = h
            tail = t
        } else {
            guard let h = groups(halves[0], allowV4Tail: true), h.count == 8 else { return nil }
            head = h
        }
        let all = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        var hi: UInt64 = 0, lo: UInt64 = 0
        for i in 0..<4 { hi = hi << 16 | UInt64(all[i]) }
        for i in 4..<8 { lo = lo << 16 | UInt64(all[i]) }
        return IPAddress(hi: hi, lo: lo)
    }
}
