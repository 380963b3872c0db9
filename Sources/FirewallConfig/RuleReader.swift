import FirewallCore
import Yams

/// Reads the `rules:` list into `Rule`s.
struct RuleReader {
    let r: NodeReader
    let portNames: [String]
    /// The configuration's `sets:`, by name.
    var sets: [String: NamedSet] = [:]
    /// Route mode: the destinations routed out of each port (`EgressRegions`); nil in bridge mode.
    var egressRegions: [[IPPrefix]]?

    static let keys = [
        "name", "action", "ingress", "egress", "vlan", "ip", "src", "dst", "proto", "sport", "dport",
        "icmp-type", "icmp-code", "tcp-flags", "state", "comment"
    ]

    static let protocols = SetElements.protocolNames
    static let icmpTypes: [(String, UInt8)] = [
        ("echo-reply", 0), ("destination-unreachable", 3), ("redirect", 5),
        ("echo-request", 8), ("time-exceeded", 11), ("parameter-problem", 12)
    ]
    static let icmpv6Types: [(String, UInt8)] = [
        ("destination-unreachable", 1), ("packet-too-big", 2),
        ("time-exceeded", 3), ("parameter-problem", 4), ("echo-request", 128),
        ("echo-reply", 129), ("router-solicitation", 133),
        ("router-advertisement", 134), ("neighbor-solicitation", 135),
        ("neighbor-advertisement", 136), ("redirect", 137)
    ]

    func rules(_ node: Node) throws -> [Rule] {
        guard case .sequence(let seq) = node else { throw r.error(node, "'rules' expects a list of rules") }
        var rules: [Rule] = []
        rules.reserveCapacity(seq.count)
        // Per-rule counters are keyed by name: names are unique. (Indexes, not nodes: copying a
        // node per rule is most of the cost of this loop on 200,000 rules.)
        var firstNamed: [String: Int] = [:]
        firstNamed.reserveCapacity(seq.count)
        for (index, element) in seq.enumerated() {
            let rule = try rule(element, index: index)
            if let earlier = firstNamed.updateValue(index, forKey: rule.name) {
                let first = seq[earlier]["name"] ?? seq[earlier]
                let line = first.mark?.line ?? 0, column = first.mark?.column ?? 0
                throw r.error(
                    element["name"] ?? element,
                    "rule name '\(rule.name)' is already used by the rule at \(r.file):\(line):\(column)")
            }
            rules.append(rule)
        }
        return rules
    }

    func rule(_ node: Node, index: Int) throws -> Rule {
        let entries = try r.mapping(node, "a rule", allowed: RuleReader.keys) { $0.contains(" . ") }
        var name = "rule-\(index)"
        var action: Action?
        var m = RuleMatch()
        var protoNode: Node?, icmpTypeNode: Node?, flagsNode: Node?, portNode: Node?
        var egress: [Int] = [], egressNode: Node?
        for (key, keyNode, v) in entries {
            switch key {
            case "name": name = try r.string(v, key)
            case "comment": _ = try r.scalar(v, key, expects: "text")
            case "action":
                action = try r.word(v, key, [("accept", Action.accept), ("drop", .drop), ("reject", .reject)])
            case "ingress": m.ingress = try portIndexes(v, key)
            case "egress":
                egress = try portIndexes(v, key)
                egressNode = keyNode
            case "vlan": m.vlans = try r.list(v).map { try vlan($0) }
            case "ip": m.ipVersion = try r.word(v, key, [("4", UInt8(4)), ("6", UInt8(6))])
            case "src", "dst", "proto", "sport", "dport":
                if let s = try setReference(v, key) {
                    m.sets.append(s)
                } else {
                    try readField(key, v, into: &m)
                }
                if key == "proto" { protoNode = v }
                if key == "sport" || key == "dport" { portNode = v }
            case "icmp-type": icmpTypeNode = v
            case "icmp-code": m.icmpCode = UInt8(try r.int(v, key, in: 0...255))
            case "tcp-flags":
                m.tcpFlags = try tcpFlags(v)
                flagsNode = v
            case "state": m.states = try r.list(v).reduce(0) { $0 | (try state($1)).bit }
            default:
                guard key.contains(" . ") else { throw r.error(keyNode, "'\(key)' is not handled") }
                let c = try concatReference(key, keyNode, v)
                if c.fields.contains(where: { $0 == .sourcePort || $0 == .destinationPort }) { portNode = keyNode }
                m.concats.append(c)
            }
        }
        guard let act = action else { throw r.error(node, "rule '\(name)' has no 'action' (accept, drop or reject)") }
        try checkFamilies(&m, node)
        if let n = egressNode { try applyEgress(egress, to: &m, rule: name, at: n) }
        if let n = icmpTypeNode { m.icmpType = try icmpType(n, m) }
        if let n = portNode, !m.protocols.isEmpty, !m.protocols.allSatisfy({ [6, 17, 132].contains($0) }) {
            throw r.error(
                n, "ports apply to tcp, udp and sctp only; rule '\(name)' also lists another protocol in 'proto'")
        }
        if let n = flagsNode, m.protocols != [IPProto.tcp] {
            throw r.error(protoNode ?? n, "'tcp-flags' needs 'proto: tcp' in the same rule")
        }
        let origin = "\(r.file):\(node.mark?.line ?? 0)"
        return Rule(name: name, action: act, match: m, origin: origin)
    }

    /// Port names to indexes.
    func portIndexes(_ node: Node, _ key: String) throws -> [Int] {
        try r.list(node).map { n in
            let s = try r.string(n, key)
            guard let i = portNames.firstIndex(of: s) else {
                throw r.error(n, "'\(key)' names port '\(s)', but the ports are: \(portNames.joined(separator: ", "))")
            }
            return i
        }
    }

    func readField(_ key: String, _ v: Node, into m: inout RuleMatch) throws {
        switch key {
        case "src": m.sources = try prefixes(v, key)
        case "dst": m.destinations = try prefixes(v, key)
        case "proto": m.protocols = try r.list(v).map { try proto($0) }
        case "sport": m.sourcePorts = try r.list(v).map { try portRange($0, key) }
        default: m.destinationPorts = try r.list(v).map { try portRange($0, key) }
        }
    }

    /// IPv4 and IPv6 prefixes (and address sets) may not be mixed within a rule, and must agree
    /// with `ip:`.
    func checkFamilies(_ m: inout RuleMatch, _ node: Node) throws {
        let setFamilies = m.sets.compactMap { s -> Bool? in
            s.set.type == .ipv4 ? false : (s.set.type == .ipv6 ? true : nil)
        }
        let concatFamilies = m.concats.compactMap { c -> Bool? in
            c.set.components.contains(.ipv6) ? true : (c.set.components.contains(.ipv4) ? false : nil)
        }
        let families = Set((m.sources + m.destinations).map(\.isV6) + setFamilies + concatFamilies)
        if families.count > 1 { throw r.error(node, "a rule cannot mix IPv4 and IPv6 prefixes; write two rules") }
        if let v6 = families.first {
            let v: UInt8 = v6 ? 6 : 4
            if let given = m.ipVersion, given != v {
                throw r.error(node, "'ip: \(given)' contradicts the rule's IPv\(v) prefixes")
            }
            m.ipVersion = v
        }
        if m.protocols.contains(IPProto.icmpv6) && m.ipVersion == 4 {
            throw r.error(node, "icmpv6 cannot match IPv4 traffic")
        }
        if m.protocols.contains(IPProto.icmp) && m.ipVersion == 6 {
            throw r.error(node, "icmp cannot match IPv6 traffic; use icmpv6")
        }
    }

    func prefixes(_ node: Node, _ key: String) throws -> [IPPrefix] {
        try r.list(node).map { n in
            let s = try r.scalar(n, key, expects: "an address or prefix like 10.0.0.0/8 or 2001:db8::/32")
            guard let p = IPPrefix.parse(s) else {
                throw r.error(n, "'\(key)' expects an address or prefix like 10.0.0.0/8 or 2001:db8::/32, got '\(s)'")
            }
            return p
        }
    }

    func proto(_ node: Node) throws -> UInt8 {
        let s = try r.scalar(node, "proto", expects: "a protocol name or number")
        if let hit = RuleReader.protocols.first(where: { $0.0 == s }) { return hit.1 }
        if let n = UInt8(s) { return n }
        let names = RuleReader.protocols.map(\.0).joined(separator: ", ")
        throw r.error(node, "'proto' expects \(names) or a number 0-255, got '\(s)'")
    }

    func portRange(_ node: Node, _ key: String) throws -> PortRange {
        let expects = "a port, a range 1000-2000 or a list"
        let s = try r.scalar(node, key, expects: expects)
        if let port = UInt16(s) { return PortRange(port, port) }  // the common case, without splitting
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        let nums = parts.map { UInt16($0.trimmingSpaces) }
        guard (1...2).contains(parts.count), nums.allSatisfy({ $0 != nil }) else {
            throw r.error(node, "'\(key)' expects \(expects), got '\(s)'")
        }
        let lo = nums[0]!, hi = nums.last!!
        guard lo <= hi else { throw r.error(node, "'\(key)' range \(s) is empty: its start is above its end") }
        return PortRange(lo, hi)
    }

    func vlan(_ node: Node) throws -> PortRange {
        let s = try r.scalar(node, "vlan", expects: "a VLAN ID 0-4095, a range, or 'untagged'")
        if s == "untagged" { return PortRange(PacketMeta.untagged) }
        let range = try portRange(node, "vlan")
        guard range.hi <= 4095 else {
            throw r.error(node, "'vlan' expects a VLAN ID 0-4095, a range, or 'untagged', got '\(s)'")
        }
        return range
    }

    func icmpType(_ node: Node, _ m: RuleMatch) throws -> UInt8 {
        let s = try r.scalar(node, "icmp-type", expects: "an ICMP type name or number")
        if let n = UInt8(s) { return n }
        let v6 = m.protocols == [IPProto.icmpv6] || m.ipVersion == 6
        let table = v6 ? RuleReader.icmpv6Types : RuleReader.icmpTypes
        if let hit = table.first(where: { $0.0 == s }) { return hit.1 }
        throw r.error(
            node, "'icmp-type' expects a number or one of \(table.map(\.0).joined(separator: ", ")), got '\(s)'")
    }

    /// "syn", "syn,!ack", [syn, "!ack"]: listed flags must be set, "!" flags must be clear.
    func tcpFlags(_ node: Node) throws -> TCPFlagsMatch {
        var mask: UInt8 = 0, value: UInt8 = 0
        for n in r.list(node) {
            let s = try r.scalar(n, "tcp-flags", expects: "flag names like syn,!ack")
            for part in s.split(separator: ",") {
                let word = part.trimmingSpaces
                let negated = word.hasPrefix("!")
                let flagName = negated ? String(word.dropFirst()) : word
                guard let bit = TCPFlag.names.first(where: { $0.0 == flagName })?.1 else {
                    throw r.error(
                        n,
                        "'tcp-flags' expects names from fin, syn, rst, psh, ack, urg, ece, cwr (! to require "
                            + "clear), got '\(word)'"
                    )
                }
                mask |= bit
                if !negated { value |= bit }
            }
        }
        return TCPFlagsMatch(mask: mask, value: value)
    }

    func state(_ node: Node) throws -> ConnState {
        try r.word(node, "state", ConnState.allCases.map { ($0.description, $0) })
    }
}

extension Substring {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
