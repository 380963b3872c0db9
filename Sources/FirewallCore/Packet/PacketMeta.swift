/// What the parser learned about one frame: the fields rules match on and connection tracking
/// keys on. A plain value type, stored in a preallocated per-burst array.
public struct PacketMeta: Sendable, Equatable {
    /// Outer and inner VLAN IDs; `PacketMeta.untagged` when absent.
    public var outerVlan: UInt16 = PacketMeta.untagged
    public var innerVlan: UInt16 = PacketMeta.untagged
    /// 4 or 6 for IP packets, 0 otherwise.
    public var ipVersion: UInt8 = 0
    /// IP protocol / IPv6 upper-layer next header (after the extension chain).
    public var proto: UInt8 = 0
    public var src = IPAddress.zero
    public var dst = IPAddress.zero
    /// TCP/UDP/SCTP ports; for ICMP echo, both hold the identifier.
    public var sport: UInt16 = 0
    public var dport: UInt16 = 0
    /// ICMP or ICMPv6 type and code (valid when `hasICMP`).
    public var icmpType: UInt8 = 0
    public var icmpCode: UInt8 = 0
    public var hasICMP = false
    /// True when the transport header was parsed (ports or ICMP fields are valid).
    public var hasL4 = false
    /// True when `sport`/`dport` are real ports (TCP, UDP, SCTP), so port rules apply.
    public var hasPorts = false
    /// TCP flags byte (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20, ECE 0x40, CWR 0x80).
    public var tcpFlags: UInt8 = 0
    /// Fragment position: not a fragment, the first fragment, or a later one (no transport header).
    public var fragment: FragmentKind = .none
    /// IPv4 identification or IPv6 fragment identification.
    public var fragmentID: UInt32 = 0
    /// Offset of the network header in the frame, and of the transport header (0 if none).
    public var l3Offset: Int32 = 0
    public var l4Offset: Int32 = 0

    /// For ICMP errors: the connection the quoted header belongs to (as the quoted packet travelled).
    public var hasInner = false
    public var innerProto: UInt8 = 0
    public var innerSrc = IPAddress.zero
    public var innerDst = IPAddress.zero
    public var innerSport: UInt16 = 0
    public var innerDport: UInt16 = 0

    /// Filled by the pipeline before classification: ingress port index and connection state.
    public var ingress: UInt8 = 0
    public var state: ConnState = .invalid

    public static let untagged: UInt16 = 0xFFFF

    @inlinable public init() {}

    @inlinable public var isV6: Bool { ipVersion == 6 }
}

public enum FragmentKind: UInt8, Sendable {
    case none = 0
    case first = 1
    case later = 2
}

/// TCP flag bits as they appear in byte 13 of the TCP header.
public enum TCPFlag {
    public static let fin: UInt8 = 0x01
    public static let syn: UInt8 = 0x02
    public static let rst: UInt8 = 0x04
    public static let psh: UInt8 = 0x08
    public static let ack: UInt8 = 0x10
    public static let urg: UInt8 = 0x20
    public static let ece: UInt8 = 0x40
    public static let cwr: UInt8 = 0x80
    public static let names: [(String, UInt8)] = [
        ("fin", fin), ("syn", syn), ("rst", rst), ("psh", psh),
        ("ack", ack), ("urg", urg), ("ece", ece), ("cwr", cwr)
    ]
}

/// Well-known protocol numbers.
public enum IPProto {
    public static let icmp: UInt8 = 1
    public static let tcp: UInt8 = 6
    public static let udp: UInt8 = 17
    public static let icmpv6: UInt8 = 58
    public static let sctp: UInt8 = 132
}
