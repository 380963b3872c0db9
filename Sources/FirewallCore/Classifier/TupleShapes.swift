/// Which fields a rule's IPv4 keys fix, and how far: a source and a destination prefix length,
/// and whether the protocol and each port are one value or any. Rules of one shape are found by
/// one hash probe (tuple-space search, as Srinivasan, Suri and Varghese named it in 1999).
struct TupleShape: Hashable, Comparable {
    let sourceLength: UInt8
    let destinationLength: UInt8
    let proto: Bool
    let sourcePort: Bool
    let destinationPort: Bool

    var sourceMask: UInt32 { TupleShape.mask(sourceLength) }
    var destinationMask: UInt32 { TupleShape.mask(destinationLength) }

    /// The bits of the second key word (protocol, source port, destination port) this shape fixes.
    var fieldMask: UInt64 {
        (proto ? 0xFF << 32 : 0) | (sourcePort ? 0xFFFF << 16 : 0) | (destinationPort ? 0xFFFF : 0)
    }

    static func mask(_ length: UInt8) -> UInt32 { length == 0 ? 0 : ~0 << UInt32(32 - min(32, length)) }

    /// Every field in one number, for a stable order of shapes.
    var rank: Int {
        Int(sourceLength) << 11 | Int(destinationLength) << 3 | (proto ? 4 : 0) | (sourcePort ? 2 : 0)
            | (destinationPort ? 1 : 0)
    }

    static func < (a: TupleShape, b: TupleShape) -> Bool { a.rank < b.rank }
}

/// A packet's key in one shape: the masked addresses, then protocol, source and destination port.
struct TupleKey: Hashable {
    let addresses: UInt64
    let fields: UInt64

    @inline(__always) var hash: UInt64 {
        var h = addresses &* 0x9E37_79B9_7F4A_7C15 ^ fields &* 0xC2B2_AE3D_27D4_EB4F
        h ^= h >> 29
        return h &* 0xBF58_476D_1CE4_E5B9
    }
}

/// A rule's IPv4 keys, each with its shape: the cross product of its prefixes, protocols and
/// ports. Nil when the rule does not fit (a port range wider than `maxRange`, or more than
/// `maxKeys` keys); empty when it cannot match IPv4 packets.
enum TupleExpansion {
    static let maxRange = 16
    static let maxKeys = 64

    static func keys(_ m: RuleMatch) -> [(TupleShape, TupleKey)]? {
        if let version = m.ipVersion, version != 4 { return [] }
        let sources = m.sources.filter { !$0.isV6 }, destinations = m.destinations.filter { !$0.isV6 }
        // Only IPv6 prefixes listed: no IPv4 packet matches.
        if sources.isEmpty != m.sources.isEmpty || destinations.isEmpty != m.destinations.isEmpty { return [] }
        guard let sourcePorts = ports(m.sourcePorts), let destinationPorts = ports(m.destinationPorts) else {
            return nil
        }
        let sourceKeys: [(UInt32, UInt8)] = sources.isEmpty ? [(0, 0)] : sources.map { ($0.address.v4, $0.length) }
        let destinationKeys: [(UInt32, UInt8)] =
            destinations.isEmpty ? [(0, 0)] : destinations.map { ($0.address.v4, $0.length) }
        let protos: [UInt8?] = m.protocols.isEmpty ? [nil] : m.protocols.map { $0 }
        let count = sourceKeys.count * destinationKeys.count * protos.count * sourcePorts.count * destinationPorts.count
        guard count <= maxKeys else { return nil }
        var out: [(TupleShape, TupleKey)] = []
        out.reserveCapacity(count)
        for s in sourceKeys {
            for d in destinationKeys {
                for p in protos {
                    for sp in sourcePorts {
                        for dp in destinationPorts {
                            let shape = TupleShape(
                                sourceLength: s.1, destinationLength: d.1, proto: p != nil, sourcePort: sp != nil,
                                destinationPort: dp != nil)
                            let fields = UInt64(p ?? 0) << 32 | UInt64(sp ?? 0) << 16 | UInt64(dp ?? 0)
                            out.append((shape, TupleKey(addresses: UInt64(s.0) << 32 | UInt64(d.0), fields: fields)))
                        }
                    }
                }
            }
        }
        return out
    }

    /// A port list as single ports ([nil] for any port), or nil when a range is too wide to list.
    static func ports(_ ranges: [PortRange]) -> [UInt16?]? {
        if ranges.isEmpty { return [nil] }
        var out: [UInt16?] = []
        for r in ranges where r.lo <= r.hi {  // (an empty range adds no port)
            guard Int(r.hi) - Int(r.lo) < maxRange else { return nil }
            out += (r.lo...r.hi).map { $0 }
        }
        return out
    }
}
