import FirewallCore

/// The packets a rule can see, as a product of field values, and each rule's match as a region
/// of it. One space per IP family (a rule matches IPv4 or IPv6 packets or both).
///
/// Fields without a value in a packet (ports of ICMP, flags of UDP) take a "none" value of their
/// own, so a rule's match is a plain product of per-field sets, exactly as `RuleMatch.matches`
/// tests it. What the parser guarantees of a classified packet (TCP, UDP and SCTP have ports,
/// ICMP has a type and code, TCP has flags, nothing else has them) is subtracted as `impossible`.
public struct PacketSpace: Sendable {
    public enum Field: Int, CaseIterable, Sendable {
        case ingress, vlan, source, destination, proto, sourcePort, destinationPort
        case icmpType, icmpCode, tcpFlags, state
    }

    public static let noPort: UInt128 = 65536
    public static let noICMP: UInt128 = 256
    public static let noFlags: UInt128 = 256
    static let portProtocols: [UInt8] = [IPProto.tcp, IPProto.udp, 132]

    public let family: UInt8
    public let universe: Box
    public let impossible: [Box]

    /// `portCount` ports; `onlyNew` when the rules see only packets in state new (tracked: accept).
    public init(family: UInt8, portCount: Int, onlyNew: Bool) {
        self.family = family
        let addresses: UInt128 = family == 4 ? UInt128(UInt32.max) : .max
        var dims = [IntervalSet](repeating: .empty, count: Field.allCases.count)
        dims[Field.ingress.rawValue] = IntervalSet(0...UInt128(max(1, portCount) - 1))
        dims[Field.vlan.rawValue] = IntervalSet([0...4095, UInt128(PacketMeta.untagged)...UInt128(PacketMeta.untagged)])
        dims[Field.source.rawValue] = IntervalSet(0...addresses)
        dims[Field.destination.rawValue] = IntervalSet(0...addresses)
        dims[Field.proto.rawValue] = IntervalSet(0...255)
        dims[Field.sourcePort.rawValue] = IntervalSet(0...Self.noPort)
        dims[Field.destinationPort.rawValue] = IntervalSet(0...Self.noPort)
        dims[Field.icmpType.rawValue] = IntervalSet(0...Self.noICMP)
        dims[Field.icmpCode.rawValue] = IntervalSet(0...Self.noICMP)
        dims[Field.tcpFlags.rawValue] = IntervalSet(0...Self.noFlags)
        let new = UInt128(ConnState.new.rawValue)
        dims[Field.state.rawValue] = onlyNew ? IntervalSet(point: new) : IntervalSet(0...3)
        let universe = Box(dims)
        self.universe = universe

        func box(_ pairs: [(Field, IntervalSet)]) -> Box {
            var b = universe
            for (f, s) in pairs { b.dims[f.rawValue] = b.dims[f.rawValue].intersection(s) }
            return b
        }
        let withPorts = IntervalSet(Self.portProtocols.map { UInt128($0)...UInt128($0) })
        let withoutPorts = IntervalSet(0...255).subtracting(withPorts)
        let icmp = IntervalSet(point: UInt128(family == 4 ? IPProto.icmp : IPProto.icmpv6))
        let tcp = IntervalSet(point: UInt128(IPProto.tcp))
        let portValue = IntervalSet(0...65535), none = IntervalSet(point: Self.noPort)
        let icmpValue = IntervalSet(0...255), noICMP = IntervalSet(point: Self.noICMP)
        let noFlags = IntervalSet(point: Self.noFlags)
        var impossible: [Box] = []
        for f in [Field.sourcePort, .destinationPort] {
            impossible.append(box([(.proto, withPorts), (f, none)]))
            impossible.append(box([(.proto, withoutPorts), (f, portValue)]))
        }
        for f in [Field.icmpType, .icmpCode] {
            impossible.append(box([(.proto, icmp), (f, noICMP)]))
            impossible.append(box([(.proto, IntervalSet(0...255).subtracting(icmp)), (f, icmpValue)]))
        }
        impossible.append(box([(.proto, tcp), (.tcpFlags, noFlags)]))
        impossible.append(box([(.proto, IntervalSet(0...255).subtracting(tcp)), (.tcpFlags, IntervalSet(0...255))]))
        self.impossible = impossible
    }

    /// The packets of this family `m` matches, or nil when it matches none of them. A test of a
    /// concatenated set (`m.concats`) is left out: its packets are a union of boxes, not one, so
    /// for such a rule this is a superset of its packets (`PolicyLint` uses it only where a
    /// superset keeps a finding true).
    public func region(of m: RuleMatch) -> Box? {
        if let v = m.ipVersion, v != family { return nil }
        var b = universe
        func narrow(_ f: Field, _ s: IntervalSet) { b.dims[f.rawValue] = b.dims[f.rawValue].intersection(s) }
        if !m.ingress.isEmpty { narrow(.ingress, IntervalSet(m.ingress.map { UInt128($0)...UInt128($0) })) }
        if !m.vlans.isEmpty { narrow(.vlan, IntervalSet(m.vlans.map { UInt128($0.lo)...UInt128($0.hi) })) }
        for (field, prefixes) in [(Field.source, m.sources), (.destination, m.destinations)] where !prefixes.isEmpty {
            narrow(field, IntervalSet(prefixes.filter { $0.isV6 == (family == 6) }.map(addressRange)))
        }
        if !m.protocols.isEmpty { narrow(.proto, IntervalSet(m.protocols.map { UInt128($0)...UInt128($0) })) }
        if !m.sourcePorts.isEmpty {
            narrow(.sourcePort, IntervalSet(m.sourcePorts.map { UInt128($0.lo)...UInt128($0.hi) }))
        }
        if !m.destinationPorts.isEmpty {
            narrow(.destinationPort, IntervalSet(m.destinationPorts.map { UInt128($0.lo)...UInt128($0.hi) }))
        }
        if let t = m.icmpType { narrow(.icmpType, IntervalSet(point: UInt128(t))) }
        if let c = m.icmpCode { narrow(.icmpCode, IntervalSet(point: UInt128(c))) }
        if let f = m.tcpFlags {
            let values = (0...255).filter { UInt8($0) & f.mask == f.value }.map { UInt128($0)...UInt128($0) }
            narrow(.tcpFlags, IntervalSet(values))
        }
        if m.states != 0 {
            let states = ConnState.allCases.filter { m.states & $0.bit != 0 }.map {
                UInt128($0.rawValue)...UInt128($0.rawValue)
            }
            narrow(.state, IntervalSet(states))
        }
        for t in m.sets {
            guard let s = setValues(t) else { return nil }
            narrow(t.field.packetField, s)
        }
        return b.isEmpty ? nil : b
    }

    /// The field values a set test matches in this family (a set of the other family: none).
    func setValues(_ t: SetMatch) -> IntervalSet? {
        let inSet = IntervalSet(normalized: t.set.ranges)
        switch t.set.type {
        case .ipv4, .ipv6:
            guard (t.set.type == .ipv6) == (family == 6) else { return nil }
            let all = IntervalSet(0...(family == 4 ? UInt128(UInt32.max) : .max))
            return t.negated ? all.subtracting(inSet) : inSet
        case .port: return t.negated ? IntervalSet(0...65535).subtracting(inSet) : inSet
        case .proto: return t.negated ? IntervalSet(0...255).subtracting(inSet) : inSet
        }
    }

    /// The packets of `box` that a classified packet can be (the impossible combinations removed).
    public func possible(_ box: Box, limit: Int) -> Region? {
        var r = Region([box])
        for cut in impossible {
            guard let next = r.subtracting(cut, limit: limit) else { return nil }
            r = next
        }
        return r
    }

    func addressRange(_ p: IPPrefix) -> ClosedRange<UInt128> {
        let bits = family == 4 ? 32 : 128
        let value =
            family == 4 ? UInt128(p.address.lo & 0xFFFF_FFFF) : UInt128(p.address.hi) << 64 | UInt128(p.address.lo)
        let hostBits = bits - Int(p.length)
        let span: UInt128 = hostBits >= 128 ? .max : (UInt128(1) << hostBits) - 1
        return value...(value | span)
    }
}

extension SetField {
    var packetField: PacketSpace.Field {
        switch self {
        case .source: return .source
        case .destination: return .destination
        case .proto: return .proto
        case .sourcePort: return .sourcePort
        case .destinationPort: return .destinationPort
        }
    }
}
