/// Elements of one set as they are read (a set file, a YAML list, a runtime `vfwall set`
/// command), kept compact (a million IPv4 prefixes: 8 MB). One parser for every source, so
/// the same text is accepted or refused with the same message everywhere.
public struct SetElements: Sendable {
    public let type: SetType
    public private(set) var v4: [ClosedRange<UInt32>] = []
    public private(set) var v6: [ClosedRange<UInt128>] = []
    public private(set) var ports: [PortRange] = []
    public private(set) var protocols: [UInt8] = []
    /// The component types: `[type]` for a plain set, 2 or 3 for a concatenation.
    public let components: [SetType]
    /// A concatenation's elements, `components.count` ranges each, in component order.
    public private(set) var tuples: [ClosedRange<UInt128>] = []

    /// Protocol names a set (and a rule's `proto`) accepts besides numbers.
    public static let protocolNames: [(String, UInt8)] = [
        ("icmp", 1), ("tcp", 6), ("udp", 17), ("gre", 47), ("esp", 50),
        ("ah", 51), ("icmpv6", 58), ("sctp", 132)
    ]

    /// More elements than this is refused: the tables index points with 32-bit offsets.
    public static let maxElements = 1 << 24

    public init(_ type: SetType) {
        self.type = type
        components = [type]
    }

    /// Elements of a set of `components` (more than one: a concatenation, `type` its first).
    public init(components: [SetType]) {
        type = components.first ?? .ipv4
        self.components = components.isEmpty ? [.ipv4] : components
    }

    public var count: Int { v4.count + v6.count + ports.count + protocols.count + tuples.count / components.count }

    mutating func appendTuple(_ values: [ClosedRange<UInt128>]) { tuples.append(contentsOf: values) }

    public static func expects(_ t: SetType) -> String {
        switch t {
        case .ipv4: return "an IPv4 address or prefix like 192.0.2.0/24"
        case .ipv6: return "an IPv6 address or prefix like 2001:db8::/32"
        case .port: return "a port or a range like 8000-8080"
        case .proto: return "a protocol name (\(protocolNames.map(\.0).joined(separator: ", "))) or number"
        }
    }

    /// What an element of a set of `components` looks like.
    public static func expects(_ components: [SetType]) -> String {
        guard components.count > 1 else { return expects(components.first ?? .ipv4) }
        let sample: [SetType: String] = [.ipv4: "192.0.2.1", .ipv6: "2001:db8::1", .port: "443", .proto: "tcp"]
        let text = components.map { sample[$0] ?? "" }.joined(separator: joiner)
        return "a tuple like '\(text)' (\(components.map(\.rawValue).joined(separator: joiner)))"
    }

    /// Adds one element from a file line; returns what is wrong with it, or nil.
    public mutating func add(_ text: UnsafeBufferPointer<UInt8>) -> String? {
        if type == .ipv4, components.count == 1, let range = SetElements.fastV4(text) {
            v4.append(range)
            return nil
        }
        return add(Substring(String(decoding: text, as: UTF8.self)))
    }

    /// Adds one element; returns what is wrong with it, or nil.
    public mutating func add(_ s: Substring) -> String? {
        if components.count > 1 { return addTuple(s) }
        let bad = "expected \(SetElements.expects(type)), got '\(s)'"
        switch type {
        case .ipv4, .ipv6:
            guard let p = IPPrefix.parse(String(s)) else { return bad }
            guard p.isV6 == (type == .ipv6) else {
                return "'\(s)' is not an \(type == .ipv6 ? "IPv6" : "IPv4") address"
            }
            if p.isV6 { v6.append(NamedSet.v6Range(p)) } else { v4.append(NamedSet.v4Range(p)) }
        case .port:
            let parts = s.split(separator: "-", omittingEmptySubsequences: false)
            let nums = parts.map { UInt16(String($0.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())) }
            guard (1...2).contains(parts.count), let lo = nums.first ?? nil, let hi = nums.last ?? nil else {
                return bad
            }
            guard lo <= hi else { return "range '\(s)' is empty: its start is above its end" }
            ports.append(PortRange(lo, hi))
        case .proto:
            if let hit = SetElements.protocolNames.first(where: { $0.0 == s }) {
                protocols.append(hit.1)
            } else if let n = UInt8(s) {
                protocols.append(n)
            } else {
                return bad
            }
        }
        return nil
    }

    /// Where a line of set text is wrong (1-based), and what is wrong (naming the set).
    public struct LineProblem: Error, Equatable, Sendable {
        public var line: Int
        public var column: Int
        public var message: String
    }

    /// Adds the elements of `text`, one a line: `#` starts a comment, blank lines and spaces
    /// around an element are skipped. Stops at the first bad line (or past `maxElements`
    /// elements in all) and says where; the elements before it stay added.
    public mutating func addLines(_ all: UnsafeBufferPointer<UInt8>, set name: String) -> LineProblem? {
        var line = 1, start = 0
        while start < all.count {
            var end = start
            while end < all.count && all[end] != UInt8(ascii: "\n") { end += 1 }
            var a = start, b = end
            if let hash = all[a..<b].firstIndex(of: UInt8(ascii: "#")) { b = hash }
            while a < b && SetElements.isSpace(all[a]) { a += 1 }
            while b > a && SetElements.isSpace(all[b - 1]) { b -= 1 }
            if a < b {
                guard count < SetElements.maxElements else {
                    return LineProblem(
                        line: line, column: a - start + 1,
                        message: "set '\(name)' has more than \(SetElements.maxElements) elements")
                }
                if let problem = add(UnsafeBufferPointer(rebasing: all[a..<b])) {
                    return LineProblem(line: line, column: a - start + 1, message: "set '\(name)': \(problem)")
                }
            }
            line += 1
            start = end + 1
        }
        return nil
    }

    static func isSpace(_ c: UInt8) -> Bool { c == 32 || c == 9 || c == 13 }

    /// "a.b.c.d" or "a.b.c.d/len" straight from bytes (no String per line: a million-line file
    /// is read in a fraction of a second); nil sends the text to the general parser, which
    /// accepts the same and explains a refusal.
    public static func fastV4(_ t: UnsafeBufferPointer<UInt8>) -> ClosedRange<UInt32>? {
        var i = 0, value: UInt32 = 0
        for part in 0..<4 {
            if part > 0 {
                guard i < t.count, t[i] == UInt8(ascii: ".") else { return nil }
                i += 1
            }
            var n: UInt32 = 0, digits = 0
            while i < t.count, t[i] >= 48, t[i] <= 57, digits < 3 {
                n = n * 10 + UInt32(t[i] - 48)
                digits += 1
                i += 1
            }
            guard digits > 0, n <= 255 else { return nil }
            value = value << 8 | n
        }
        var length: UInt32 = 32
        if i < t.count {
            guard t[i] == UInt8(ascii: "/"), i + 1 < t.count, t.count - i - 1 <= 2 else { return nil }
            length = 0
            for c in t[(i + 1)...] {
                guard c >= 48, c <= 57 else { return nil }
                length = length * 10 + UInt32(c - 48)
            }
            guard length <= 32 else { return nil }
        }
        let host: UInt32 = length == 32 ? 0 : UInt32.max >> length
        return (value & ~host)...(value | host)
    }

    func buildPlain(_ name: String, keepsRuntimeChanges: Bool) -> NamedSet {
        switch type {
        case .ipv4: return NamedSet(name: name, v4Ranges: v4, keepsRuntimeChanges: keepsRuntimeChanges)
        case .ipv6: return NamedSet(name: name, v6Ranges: v6, keepsRuntimeChanges: keepsRuntimeChanges)
        case .port: return NamedSet(name: name, ports: ports, keepsRuntimeChanges: keepsRuntimeChanges)
        case .proto: return NamedSet(name: name, protocols: protocols, keepsRuntimeChanges: keepsRuntimeChanges)
        }
    }
}
