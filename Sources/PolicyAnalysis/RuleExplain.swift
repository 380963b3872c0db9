import FirewallCore

extension RuleMatch {
    /// The first field, in `RuleMatch.matches`' order, whose test `m` fails, with the packet's
    /// value and what the rule asks; nil when the rule matches. `portNames` names ingress ports.
    public func firstMismatch(_ m: PacketMeta, portNames: [String] = []) -> (field: String, detail: String)? {
        func port(_ i: Int) -> String { i < portNames.count ? portNames[i] : "port \(i)" }
        if !ingress.isEmpty && !ingress.contains(Int(m.ingress)) {
            return (
                "ingress", "arrived on \(port(Int(m.ingress))), rule wants \(ingress.map(port).joined(separator: ", "))"
            )
        }
        if !vlans.isEmpty && !vlans.contains(where: { $0.contains(m.outerVlan) }) {
            let vlan = m.outerVlan == PacketMeta.untagged ? "untagged" : "vlan \(m.outerVlan)"
            return ("vlan", "\(vlan), rule wants \(vlans.map(\.description).joined(separator: ", "))")
        }
        if let v = ipVersion, v != m.ipVersion { return ("ip", "IPv\(m.ipVersion), rule wants IPv\(v)") }
        if !sources.isEmpty && !sources.contains(where: { $0.contains(m.src, v6: m.isV6) }) {
            return ("src", "\(m.src.text(v6: m.isV6)) not in \(sources.map(\.description).joined(separator: ", "))")
        }
        if !destinations.isEmpty && !destinations.contains(where: { $0.contains(m.dst, v6: m.isV6) }) {
            return (
                "dst", "\(m.dst.text(v6: m.isV6)) not in \(destinations.map(\.description).joined(separator: ", "))"
            )
        }
        if !protocols.isEmpty && !protocols.contains(m.proto) {
            return ("proto", "protocol \(m.proto), rule wants \(protocols.map(String.init).joined(separator: ", "))")
        }
        for (field, ranges, value) in [("sport", sourcePorts, m.sport), ("dport", destinationPorts, m.dport)]
        where !ranges.isEmpty && !(m.hasPorts && ranges.contains(where: { $0.contains(value) })) {
            let have = m.hasPorts ? "port \(value)" : "no ports"
            return (field, "\(have), rule wants \(ranges.map(\.description).joined(separator: ", "))")
        }
        if let t = icmpType, !(m.hasICMP && m.icmpType == t) {
            return ("icmp-type", m.hasICMP ? "type \(m.icmpType), rule wants \(t)" : "not ICMP, rule wants type \(t)")
        }
        if let c = icmpCode, !(m.hasICMP && m.icmpCode == c) {
            return ("icmp-code", m.hasICMP ? "code \(m.icmpCode), rule wants \(c)" : "not ICMP, rule wants code \(c)")
        }
        if let f = tcpFlags, !(m.proto == IPProto.tcp && m.hasL4 && m.tcpFlags & f.mask == f.value) {
            let have = m.proto == IPProto.tcp ? "flags 0x" + String(m.tcpFlags, radix: 16) : "not TCP"
            return (
                "tcp-flags",
                "\(have), rule wants (flags & 0x\(String(f.mask, radix: 16))) == 0x\(String(f.value, radix: 16))"
            )
        }
        if states != 0 && states & m.state.bit == 0 {
            let wanted = ConnState.allCases.filter { states & $0.bit != 0 }.map(\.description)
            return ("state", "state \(m.state), rule wants \(wanted.joined(separator: ", "))")
        }
        for s in sets where !s.matches(m) {
            let field = s.field.description, set = "\(s.negated ? "!" : "")@\(s.set.name)"
            switch s.field {
            case .source, .destination:
                let a = s.field == .source ? m.src : m.dst
                if (s.set.type == .ipv6) != m.isV6 { return (field, "IPv\(m.ipVersion), rule wants \(set)") }
                return (field, "\(a.text(v6: m.isV6)) \(s.negated ? "in" : "not in") @\(s.set.name)")
            case .proto: return (field, "protocol \(m.proto) \(s.negated ? "in" : "not in") @\(s.set.name)")
            case .sourcePort, .destinationPort:
                guard m.hasPorts else { return (field, "no ports, rule wants \(set)") }
                let p = s.field == .sourcePort ? m.sport : m.dport
                return (field, "port \(p) \(s.negated ? "in" : "not in") @\(s.set.name)")
            }
        }
        for c in concats where !c.matches(m) {
            let set = "\(c.negated ? "!" : "")@\(c.set.name)"
            if c.set.components.contains(where: { $0 == .ipv4 || $0 == .ipv6 })
                && c.set.components.contains(.ipv6) != m.isV6
            {
                return (c.key, "IPv\(m.ipVersion), rule wants \(set)")
            }
            if c.fields.contains(where: { $0 == .sourcePort || $0 == .destinationPort }) && !m.hasPorts {
                return (c.key, "no ports, rule wants \(set)")
            }
            let values = c.fields.map { f -> String in
                switch f {
                case .source: return m.src.text(v6: m.isV6)
                case .destination: return m.dst.text(v6: m.isV6)
                case .proto: return "\(m.proto)"
                case .sourcePort: return "\(m.sport)"
                case .destinationPort: return "\(m.dport)"
                }
            }
            return (c.key, "\(values.joined(separator: " . ")) \(c.negated ? "in" : "not in") @\(c.set.name)")
        }
        return nil
    }
}
