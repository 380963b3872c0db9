import FirewallCore
import Workloads

/// Random small policies over a few shared values (prefixes nest, ranges share edges), and every
/// packet shape they can tell apart: one value from each elementary interval of every field.
enum RandomRules {
    static let prefixes = ["10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3/32", "10.128.0.0/9", "0.0.0.0/0"]
    static let protocols: [UInt8] = [1, 6, 17, 47]
    static let ranges = [PortRange(0, 1023), PortRange(22), PortRange(80, 90), PortRange(1024, 65535), PortRange(53)]
    static let flags = [TCPFlagsMatch(mask: 0x12, value: 0x02), TCPFlagsMatch(mask: 0x02, value: 0x00)]

    static func randomRule(_ index: Int, _ g: inout SplitMix64) -> Rule {
        var m = RuleMatch()
        func chance(_ n: UInt64) -> Bool { g.next() % n == 0 }
        func pick<T>(_ from: [T]) -> T { from[Int(g.next() % UInt64(from.count))] }
        if chance(4) { m.ingress = [Int(g.next() % 2)] }
        if chance(2) { m.sources = [IPPrefix.parse(pick(prefixes))!] }
        if chance(3) { m.destinations = [IPPrefix.parse(pick(prefixes))!] }
        if chance(2) {
            m.protocols = chance(3) ? [6, 17] : [pick(protocols)]
            if m.protocols.allSatisfy({ $0 == 6 || $0 == 17 }) {
                if chance(2) { m.destinationPorts = [pick(ranges)] }
                if chance(4) { m.sourcePorts = [pick(ranges)] }
            }
            if m.protocols == [6] && chance(3) { m.tcpFlags = pick(flags) }
        }
        if chance(4) { m.states = UInt8(1 + g.next() % 15) }
        if !(m.sources + m.destinations).isEmpty { m.ipVersion = 4 }
        let action: Action = [.accept, .drop, .reject][Int(g.next() % 3)]
        return Rule(name: "r\(index)", action: action, match: m)
    }

    /// The lowest address of every elementary interval the rules' prefixes cut.
    static func addressValues(_ rules: [Rule], _ field: KeyPath<RuleMatch, [IPPrefix]>) -> [UInt32] {
        var cuts: Set<UInt64> = [0]
        for r in rules {
            for p in r.match[keyPath: field] {
                let lo = p.address.lo & 0xFFFF_FFFF
                cuts.insert(lo)
                cuts.insert(lo + (UInt64(1) << (32 - UInt64(p.length))))
            }
        }
        return cuts.filter { $0 <= UInt64(UInt32.max) }.map { UInt32($0) }.sorted()
    }

    static func portValues(_ rules: [Rule]) -> [UInt16] {
        var cuts: Set<Int> = [0]
        for r in rules {
            for p in r.match.sourcePorts + r.match.destinationPorts {
                cuts.insert(Int(p.lo))
                cuts.insert(Int(p.hi) + 1)
            }
        }
        return cuts.filter { $0 <= 65535 }.map { UInt16($0) }.sorted()
    }

    /// Every packet shape the rules can tell apart.
    static func packets(_ rules: [Rule], onlyNew: Bool) -> [PacketMeta] {
        var out: [PacketMeta] = []
        let states: [ConnState] = onlyNew ? [.new] : ConnState.allCases
        let ports = portValues(rules)
        // IPv4 packets from every interval of the rules' prefixes; IPv6 ones, which no prefix
        // here cuts, from one address.
        let v4 = addressValues(rules, \.sources).flatMap { s in
            addressValues(rules, \.destinations).map { d in (UInt8(4), IPAddress(v4: s), IPAddress(v4: d)) }
        }
        let v6 = [(UInt8(6), IPAddress(hi: 0x2001_0db8 << 32, lo: 1), IPAddress(hi: 0x2001_0db8 << 32, lo: 2))]
        for (family, src, dst) in v4 + v6 {
            for proto in RandomRules.protocols + [58] {
                var base = PacketMeta()
                base.ipVersion = family
                base.src = src
                base.dst = dst
                base.proto = proto
                base.hasL4 = true
                base.hasICMP = proto == (family == 4 ? 1 : 58)
                base.hasPorts = proto == 6 || proto == 17
                var l4: [PacketMeta] = [base]
                if base.hasPorts {
                    l4 = ports.flatMap { s in
                        ports.map { d in
                            var m = base
                            m.sport = s
                            m.dport = d
                            return m
                        }
                    }
                }
                if proto == 6 {
                    l4 = l4.flatMap { m in
                        [UInt8(0), 0x02, 0x10, 0x12].map { f in
                            var c = m
                            c.tcpFlags = f
                            return c
                        }
                    }
                }
                for m in l4 {
                    for ingress in [UInt8(0), 1] {
                        for state in states {
                            var c = m
                            c.ingress = ingress
                            c.state = state
                            out.append(c)
                        }
                    }
                }
            }
        }
        return out
    }
}
