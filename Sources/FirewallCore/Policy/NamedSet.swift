/// What a named set holds.
public enum SetType: String, Sendable, CaseIterable {
    /// IPv4 addresses and prefixes.
    case ipv4
    /// IPv6 addresses and prefixes.
    case ipv6
    /// Ports and port ranges.
    case port
    /// IP protocol numbers.
    case proto
}

/// The packet field a rule tests against a set.
public enum SetField: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case source, destination, proto, sourcePort, destinationPort

    /// The configuration key of the field.
    public var description: String {
        switch self {
        case .source: return "src"
        case .destination: return "dst"
        case .proto: return "proto"
        case .sourcePort: return "sport"
        case .destinationPort: return "dport"
        }
    }

    /// The set type a field can refer to (for addresses: either family).
    public func accepts(_ t: SetType) -> Bool {
        switch self {
        case .source, .destination: return t == .ipv4 || t == .ipv6
        case .proto: return t == .proto
        case .sourcePort, .destinationPort: return t == .port
        }
    }
}

/// A named set of one type, compiled once into a lookup structure fitted to the type
/// (SetTables.swift): IPv4 a 16-bit directory over sorted boundary points, IPv6 sorted boundary
/// points, ports a 65536-bit bitmap, protocols a 256-bit bitmap. Immutable once built and shared
/// by every rule that refers to it; the tables are flat memory freed in `deinit`. A
/// concatenation (`ipv4 . port`) holds tuples, one value of each component type
/// (ConcatSetTable.swift); its `type` is its first component's.
public final class NamedSet: @unchecked Sendable, CustomStringConvertible {
    public let name: String
    public let type: SetType
    /// The component types: one for a plain set, 2 or 3 for a concatenation.
    public let components: [SetType]
    /// Elements given (before overlapping ones were merged).
    public let elementCount: Int
    /// Disjoint ranges the elements merge into (a concatenation: its distinct elements).
    public let rangeCount: Int
    /// Whether a reload keeps the elements this set gained while running (`keep-runtime: true`):
    /// the reloaded set is then the file's elements plus the running set's.
    public let keepsRuntimeChanges: Bool
    let table: SetTable

    /// IPv4 address ranges (a prefix is one range). Any order; overlaps are merged.
    public init(name: String, v4Ranges: [ClosedRange<UInt32>], keepsRuntimeChanges: Bool = false) {
        self.name = name
        type = .ipv4
        components = [.ipv4]
        self.keepsRuntimeChanges = keepsRuntimeChanges
        elementCount = v4Ranges.count
        table = .v4(IPv4SetTable(v4Ranges))
        rangeCount = table.rangeCount
    }

    /// IPv6 address ranges. Any order; overlaps are merged.
    public init(name: String, v6Ranges: [ClosedRange<UInt128>], keepsRuntimeChanges: Bool = false) {
        self.name = name
        type = .ipv6
        components = [.ipv6]
        self.keepsRuntimeChanges = keepsRuntimeChanges
        elementCount = v6Ranges.count
        table = .v6(IPv6SetTable(v6Ranges))
        rangeCount = table.rangeCount
    }

    /// Prefixes of one family (`v6`); prefixes of the other family are left out.
    public convenience init(name: String, prefixes: [IPPrefix], v6: Bool) {
        let same = prefixes.filter { $0.isV6 == v6 }
        if v6 {
            self.init(name: name, v6Ranges: same.map(NamedSet.v6Range))
        } else {
            self.init(name: name, v4Ranges: same.map(NamedSet.v4Range))
        }
    }

    public init(name: String, ports: [PortRange], keepsRuntimeChanges: Bool = false) {
        self.name = name
        type = .port
        components = [.port]
        self.keepsRuntimeChanges = keepsRuntimeChanges
        elementCount = ports.count
        table = .bits(BitmapSetTable(ports.map { Int($0.lo)...Int($0.hi) }, keys: 65536))
        rangeCount = table.rangeCount
    }

    public init(name: String, protocols: [UInt8], keepsRuntimeChanges: Bool = false) {
        self.name = name
        type = .proto
        components = [.proto]
        self.keepsRuntimeChanges = keepsRuntimeChanges
        elementCount = protocols.count
        table = .bits(BitmapSetTable(protocols.map { Int($0)...Int($0) }, keys: 256))
        rangeCount = table.rangeCount
    }

    /// A concatenation of `components` (2 or 3 of one address family, checked by the readers):
    /// `tuples` holds `components.count` ranges per element, in component order.
    public init(
        name: String, components: [SetType], tuples: [ClosedRange<UInt128>], keepsRuntimeChanges: Bool = false
    ) {
        precondition((2...3).contains(components.count), "a concatenation has 2 or 3 components")
        self.name = name
        type = components[0]
        self.components = components
        self.keepsRuntimeChanges = keepsRuntimeChanges
        elementCount = tuples.count / components.count
        let tuple = UnsafeMutablePointer<ConcatSetTable>.allocate(capacity: 1)
        tuple.initialize(to: ConcatSetTable(components: components, tuples: tuples))
        table = .concat(tuple)
        rangeCount = table.rangeCount
    }

    deinit { table.deallocate() }

    public var isConcatenation: Bool { components.count > 1 }

    /// "ipv4", or a concatenation's components as written: "ipv4 . port".
    public var typeName: String { components.map(\.rawValue).joined(separator: " . ") }

    /// A concatenation's distinct elements, `components.count` ranges each; empty for a plain set.
    public var tuples: [ClosedRange<UInt128>] {
        if case .concat(let t) = table { return t.pointee.tuples }
        return []
    }

    public static func v4Range(_ p: IPPrefix) -> ClosedRange<UInt32> {
        let lo = UInt32(truncatingIfNeeded: p.address.lo)
        let host: UInt32 = p.length >= 32 ? 0 : UInt32.max >> UInt32(p.length)
        return lo...(lo | host)
    }

    public static func v6Range(_ p: IPPrefix) -> ClosedRange<UInt128> {
        let lo = UInt128(p.address.hi) << 64 | UInt128(p.address.lo)
        let host: UInt128 = p.length >= 128 ? 0 : UInt128.max >> UInt128(p.length)
        return lo...(lo | host)
    }

    /// Whether a plain set holds `key` (an address in the set's family: IPv4 in the low 32 bits of
    /// `lo`; a port; a protocol).
    public func contains(_ key: IPAddress) -> Bool { table.contains(key) }

    /// The keys the set holds as sorted, disjoint, non-adjacent ranges (for analysis, not
    /// the packet path). IPv4 addresses, ports and protocols are small numbers of UInt128.
    /// Empty for a concatenation (see `tuples`).
    public var ranges: [ClosedRange<UInt128>] { table.ranges }

    /// Bytes of the lookup structure.
    public var memoryBytes: Int { table.bytes }

    public var description: String { "@\(name)" }
}

/// One rule field tested against a set: `src: "@blocklist"`, or `"!@trusted"` (`negated`).
public struct SetMatch: Hashable, Sendable, CustomStringConvertible {
    public var field: SetField
    public var negated: Bool
    public var set: NamedSet

    public init(_ field: SetField, _ set: NamedSet, negated: Bool = false) {
        self.field = field
        self.set = set
        self.negated = negated
    }

    public static func == (a: SetMatch, b: SetMatch) -> Bool {
        a.field == b.field && a.negated == b.negated && a.set === b.set
    }

    public func hash(into h: inout Hasher) {
        h.combine(field)
        h.combine(negated)
        h.combine(ObjectIdentifier(set))
    }

    public var description: String { "\(field): \(negated ? "!" : "")@\(set.name)" }

    /// Sets of at most this many ranges are cut into the compiled classifier's fields.
    static let foldRanges = 16

    /// Whether the compiled classifier cuts this test into its field decomposition, as if the
    /// set's ranges were the rule's own list, instead of checking it per candidate: a positive
    /// test of a small set, alone on a field whose own list is empty (so the two are the same).
    func folds(into m: RuleMatch) -> Bool {
        guard !negated, set.rangeCount <= SetMatch.foldRanges else { return false }
        guard m.sets.filter({ $0.field == field }).count == 1 else { return false }
        switch field {
        case .source: return m.sources.isEmpty
        case .destination: return m.destinations.isEmpty
        case .proto: return m.protocols.isEmpty
        case .sourcePort: return m.sourcePorts.isEmpty
        case .destinationPort: return m.destinationPorts.isEmpty
        }
    }

    /// The semantics, written once: an address set tests only packets of its family, a port set
    /// only packets with ports (negated or not, as `ip saddr != @s` in nftables tests only IPv4
    /// packets); inside that, the packet's value is in the set (`negated`: is not).
    public func matches(_ m: PacketMeta) -> Bool {
        SetTest(self).matches(m)
    }
}

/// `SetMatch` or `ConcatMatch` without its reference: what the classifiers keep per rule and
/// test per packet.
struct SetTest {
    let field: SetField
    let negated: Bool
    let table: SetTable
    /// A concatenation's further fields (`width` fields in all; 1 for a plain set).
    let second: SetField
    let third: SetField
    let width: UInt8
    /// A concatenation with an address component tests only packets of its family; with a
    /// port component, only packets with ports.
    let needsFamily: Bool
    let needsPorts: Bool

    init(_ s: SetMatch) {
        field = s.field
        negated = s.negated
        table = s.set.table
        second = s.field
        third = s.field
        width = 1
        needsFamily = false
        needsPorts = false
    }

    init(_ c: ConcatMatch) {
        field = c.fields[0]
        second = c.fields[1]
        third = c.fields.count > 2 ? c.fields[2] : c.fields[1]
        width = UInt8(c.fields.count)
        negated = c.negated
        table = c.set.table
        needsFamily = c.fields.contains { $0 == .source || $0 == .destination }
        needsPorts = c.fields.contains { $0 == .sourcePort || $0 == .destinationPort }
    }

    /// Reads only the fields it tests (no copy of the whole `PacketMeta`).
    @inline(__always) func matches(_ m: UnsafePointer<PacketMeta>) -> Bool {
        if width > 1 { return matchesTuple(m) }
        let key: IPAddress
        switch field {
        case .source, .destination:
            guard table.isV6 == m.pointee.isV6 else { return false }
            key = field == .source ? m.pointee.src : m.pointee.dst
        case .proto: key = IPAddress(hi: 0, lo: UInt64(m.pointee.proto))
        case .sourcePort, .destinationPort:
            guard m.pointee.hasPorts else { return false }
            key = IPAddress(hi: 0, lo: UInt64(field == .sourcePort ? m.pointee.sport : m.pointee.dport))
        }
        return table.contains(key) != negated
    }

    @inline(__always) func matchesTuple(_ m: UnsafePointer<PacketMeta>) -> Bool {
        guard case .concat(let t) = table else { return false }
        let v6 = t.pointee.isV6
        if needsFamily && v6 != m.pointee.isV6 { return false }
        if needsPorts && !m.pointee.hasPorts { return false }
        let key = ConcatKey(
            first: SetTest.value(field, m, v6: v6), second: SetTest.value(second, m, v6: v6),
            third: width > 2 ? SetTest.value(third, m, v6: v6) : .zero)
        return t.pointee.contains(key) != negated
    }

    /// A field's value as a concatenation stores it (an IPv4 address in the low 32 bits).
    @inline(__always) static func value(_ f: SetField, _ m: UnsafePointer<PacketMeta>, v6: Bool) -> IPAddress {
        switch f {
        case .source, .destination:
            let a = f == .source ? m.pointee.src : m.pointee.dst
            return v6 ? a : IPAddress(hi: 0, lo: a.lo & 0xFFFF_FFFF)
        case .proto: return IPAddress(hi: 0, lo: UInt64(m.pointee.proto))
        case .sourcePort: return IPAddress(hi: 0, lo: UInt64(m.pointee.sport))
        case .destinationPort: return IPAddress(hi: 0, lo: UInt64(m.pointee.dport))
        }
    }

    func matches(_ m: PacketMeta) -> Bool {
        withUnsafePointer(to: m) { matches($0) }
    }
}
