import FirewallCore

/// The fixed policies the fuzzers classify against: every kind of match field appears at least
/// once (ports, lists, ranges, prefixes of both families, VLAN, ICMP type and code, TCP flags,
/// state), with all three actions.
public enum FuzzPolicies {
    static func rule(_ name: String, _ action: Action, _ build: (inout RuleMatch) -> Void) -> Rule {
        var m = RuleMatch()
        build(&m)
        return Rule(name: name, action: action, match: m)
    }

    public static let rules: [Rule] = [
        rule("reject-telnet", .reject) {
            $0.protocols = [IPProto.tcp]
            $0.destinationPorts = [PortRange(23)]
        },
        rule("allow-web-out", .accept) {
            $0.ingress = [0]
            $0.protocols = [IPProto.tcp]
            $0.destinationPorts = [PortRange(80), PortRange(443)]
        },
        rule("allow-dns", .accept) {
            $0.ingress = [0]
            $0.protocols = [IPProto.udp]
            $0.destinationPorts = [PortRange(53)]
        },
        rule("allow-ping-out", .accept) {
            $0.ingress = [0]
            $0.protocols = [IPProto.icmp]
            $0.icmpType = 8
        },
        rule("allow-ping6-out", .accept) {
            $0.ingress = [0]
            $0.protocols = [IPProto.icmpv6]
            $0.icmpType = 128
        },
        rule("allow-link-local-icmpv6", .accept) {
            $0.protocols = [IPProto.icmpv6]
            $0.sources = [IPPrefix.parse("fe80::/10")!]
        },
        rule("allow-ssh-in", .accept) {
            $0.ingress = [1]
            $0.sources = [IPPrefix.parse("198.51.100.0/24")!]
            $0.destinations = [IPPrefix.parse("10.0.0.22/32")!]
            $0.protocols = [IPProto.tcp]
            $0.destinationPorts = [PortRange(22)]
            $0.tcpFlags = TCPFlagsMatch(mask: TCPFlag.syn | TCPFlag.ack, value: TCPFlag.syn)
        },
        rule("drop-other-ssh", .drop) {
            $0.protocols = [IPProto.tcp]
            $0.destinationPorts = [PortRange(22)]
        },
        rule("allow-mgmt-vlan-snmp", .accept) {
            $0.vlans = [PortRange(100)]
            $0.protocols = [IPProto.udp]
            $0.destinationPorts = [PortRange(161)]
        },
        rule("reject-udp-range", .reject) {
            $0.protocols = [IPProto.udp, IPProto.sctp]
            $0.sourcePorts = [PortRange(1000, 2000)]
            $0.destinationPorts = [PortRange(30000, 40000)]
        },
        rule("established", .accept) { $0.states = ConnState.established.bit | ConnState.related.bit },
        rule("v6-range", .accept) {
            $0.ipVersion = 6
            $0.destinations = [IPPrefix.parse("2001:db8::/32")!]
            $0.protocols = [IPProto.tcp]
            $0.destinationPorts = [PortRange(1000, 2000)]
        },
        rule("unreachable-code-4", .accept) {
            $0.protocols = [IPProto.icmp]
            $0.icmpType = 3
            $0.icmpCode = 4
        },
        rule("esp-in", .drop) {
            $0.ingress = [1]
            $0.protocols = [50]
        },
        rule("vlan-range-new", .reject) {
            $0.vlans = [PortRange(200, 300)]
            $0.states = ConnState.new.bit
        }
    ]

    /// The policy a mode byte selects: its low bits pick the settings, so the fuzzer reaches each
    /// combination of fragments, tracked, default and invalid actions.
    public static func policy(mode: UInt8) -> Policy {
        var p = Policy(portNames: ["inside", "outside"], rules: mode & 16 != 0 ? rules.reversed() : rules)
        p.fragments = mode & 1 != 0 ? .track : .drop
        p.tracked = mode & 2 != 0 ? .classify : .accept
        p.defaultAction = mode & 4 != 0 ? .accept : .drop
        p.invalidAction = mode & 8 != 0 ? .reject : .drop
        return p
    }

    /// Small bounds so that full tables, early drop and eviction happen within a short input.
    public static func conntrack(mode: UInt8) -> ConntrackSettings {
        var s = ConntrackSettings()
        s.maxFlows = 8 + Int(mode >> 5)
        s.earlyDropScan = 4
        s.maxFragmentedDatagrams = 4
        s.tcpLoose = mode & 32 != 0
        return s
    }
}
