@testable import FirewallCore

/// Builds frames byte by byte for parser, conntrack and pipeline tests.
enum Frames {
    static let macA: [UInt8] = [2, 0, 0, 0, 0, 0x0a]
    static let macB: [UInt8] = [2, 0, 0, 0, 0, 0xfe]

    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
    static func be32(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }

    static func v4(_ s: String) -> [UInt8] { be32(IPAddress.parse(Substring(s))!.0.v4) }
    static func v6(_ s: String) -> [UInt8] {
        let a = IPAddress.parse(Substring(s))!.0
        return (0..<8).map { UInt8(truncatingIfNeeded: a.hi >> (56 - 8 * UInt64($0))) }
            + (0..<8).map { UInt8(truncatingIfNeeded: a.lo >> (56 - 8 * UInt64($0))) }
    }

    static func ethernet(_ type: UInt16, _ payload: [UInt8], vlans: [(tpid: UInt16, vid: UInt16)] = []) -> [UInt8] {
        var f = macB + macA
        for t in vlans { f += be16(t.tpid) + be16(t.vid) }
        return f + be16(type) + payload
    }

    static func ipv4(
        _ src: String, _ dst: String, proto: UInt8, _ payload: [UInt8], ihl: UInt8 = 5,
        total: Int? = nil, id: UInt16 = 1, frag: UInt16 = 0, version: UInt8 = 4
    ) -> [UInt8] {
        let options = [UInt8](repeating: 1, count: max(0, Int(ihl) - 5) * 4)
        let tl = total ?? (20 + options.count + payload.count)
        var h: [UInt8] = [version << 4 | (ihl & 0xF), 0] + be16(UInt16(tl)) + be16(id) + be16(frag) + [64, proto, 0, 0]
        h += v4(src) + v4(dst) + options
        return h + payload
    }

    static func ipv6(_ src: String, _ dst: String, next: UInt8, _ payload: [UInt8], payloadLength: Int? = nil)
        -> [UInt8]
    {
        [0x60, 0, 0, 0] + be16(UInt16(payloadLength ?? payload.count)) + [next, 64] + v6(src) + v6(dst) + payload
    }

    static func tcp(_ sport: UInt16, _ dport: UInt16, flags: UInt8, dataOffset: UInt8 = 5, payload: [UInt8] = [])
        -> [UInt8]
    {
        var h = be16(sport) + be16(dport) + be32(1000) + be32(0) + [dataOffset << 4, flags] + be16(65535) + [0, 0, 0, 0]
        if dataOffset > 5 { h += [UInt8](repeating: 1, count: min(Int(dataOffset) - 5, 10) * 4) }
        return h + payload
    }

    static func udp(_ sport: UInt16, _ dport: UInt16, _ payload: [UInt8] = [], length: Int? = nil) -> [UInt8] {
        be16(sport) + be16(dport) + be16(UInt16(length ?? 8 + payload.count)) + [0, 0] + payload
    }

    static func icmp(type: UInt8, code: UInt8 = 0, id: UInt16 = 0, seq: UInt16 = 0, data: [UInt8] = []) -> [UInt8] {
        [type, code, 0, 0] + be16(id) + be16(seq) + data
    }

    /// TCP over IPv4 over Ethernet.
    static func tcp4(_ src: String, _ dst: String, _ sport: UInt16, _ dport: UInt16, _ flags: UInt8) -> [UInt8] {
        ethernet(0x0800, ipv4(src, dst, proto: 6, tcp(sport, dport, flags: flags)))
    }

    static func udp4(_ src: String, _ dst: String, _ sport: UInt16, _ dport: UInt16) -> [UInt8] {
        ethernet(0x0800, ipv4(src, dst, proto: 17, udp(sport, dport, [1, 2, 3])))
    }

    /// Parses one frame.
    static func parse(_ bytes: [UInt8], link: LinkType = .ethernet) -> (Reason, PacketMeta) {
        var m = PacketMeta()
        let r = bytes.withUnsafeBytes { Parser.parse($0, link: link, into: &m) }
        return (r, m)
    }
}

let SYN = TCPFlag.syn, ACK = TCPFlag.ack, FIN = TCPFlag.fin, RST = TCPFlag.rst, PSH = TCPFlag.psh
