import FirewallCore

/// The lowest packet of a box, in words: "tcp 10.0.0.0:0 -> 192.0.2.0:80 flags 0x02 on inside,
/// untagged, state new".
struct PacketExample: CustomStringConvertible {
    let box: Box
    let family: UInt8
    let portNames: [String]

    init(_ box: Box, family: UInt8, portNames: [String]) {
        self.box = box
        self.family = family
        self.portNames = portNames
    }

    func value(_ f: PacketSpace.Field) -> UInt128 { box.dims[f.rawValue].lowest ?? 0 }

    func address(_ f: PacketSpace.Field) -> String {
        let v = value(f)
        let a = IPAddress(hi: UInt64(truncatingIfNeeded: v >> 64), lo: UInt64(truncatingIfNeeded: v))
        return a.text(v6: family == 6)
    }

    var description: String {
        let proto = UInt8(truncatingIfNeeded: value(.proto))
        let names: [UInt8: String] = [1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6", 132: "sctp"]
        var text = "\(names[proto] ?? "ip proto \(proto)") \(address(.source))"
        let sport = value(.sourcePort), dport = value(.destinationPort)
        if sport != PacketSpace.noPort { text += (family == 6 ? " port " : ":") + "\(sport)" }
        text += " -> \(address(.destination))"
        if dport != PacketSpace.noPort { text += (family == 6 ? " port " : ":") + "\(dport)" }
        if value(.icmpType) != PacketSpace.noICMP { text += " type \(value(.icmpType)) code \(value(.icmpCode))" }
        if value(.tcpFlags) != PacketSpace.noFlags { text += " flags 0x" + String(value(.tcpFlags), radix: 16) }
        let port = Int(truncatingIfNeeded: value(.ingress))
        text += " on " + (port < portNames.count ? portNames[port] : "port \(port)")
        let vlan = value(.vlan)
        text += vlan == UInt128(PacketMeta.untagged) ? ", untagged" : ", vlan \(vlan)"
        let state = ConnState(rawValue: UInt8(truncatingIfNeeded: value(.state))) ?? .new
        return text + ", state \(state)"
    }
}
