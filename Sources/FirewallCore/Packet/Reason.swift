/// Why a frame was not decided by a rule. Every malformed frame lands under exactly one of these,
/// so an operator can tell garbage from policy. Declared once, with a description, as VPP does
/// with its error counters.
public enum Reason: UInt8, Sendable, CaseIterable {
    case none = 0

    // Link layer.
    case truncatedEthernet
    case truncatedVlanTag
    case tooManyVlanTags
    case truncatedLinuxCooked
    case truncatedArp
    case truncatedLoopback

    // IPv4.
    case truncatedIPv4Header
    case badIPv4Version
    case badIPv4HeaderLength
    case ipv4TotalLengthBeyondFrame
    case ipv4TotalLengthBelowHeader

    // IPv6.
    case truncatedIPv6Header
    case badIPv6Version
    case ipv6PayloadBeyondFrame
    case truncatedIPv6Extension
    case ipv6ExtensionChainTooLong
    case ipv6HopByHopNotFirst

    // Transport.
    case truncatedTCPHeader
    case badTCPDataOffset
    case truncatedUDPHeader
    case badUDPLength
    case truncatedICMPHeader
    case truncatedICMPv6Header
    case badFragment
    case truncatedSCTPHeader

    // Decided by a policy setting rather than a rule.
    case nonIP
    case arp
    case fragment
    case invalidState
    case conntrackFull

    /// The counter's name, as printed in summaries and stats.
    public var name: String {
        switch self {
        case .none: return "none"
        case .truncatedEthernet: return "truncated-ethernet"
        case .truncatedVlanTag: return "truncated-vlan-tag"
        case .tooManyVlanTags: return "too-many-vlan-tags"
        case .truncatedLinuxCooked: return "truncated-linux-cooked-header"
        case .truncatedArp: return "truncated-arp"
        case .truncatedLoopback: return "truncated-loopback-header"
        case .truncatedIPv4Header: return "truncated-ipv4-header"
        case .badIPv4Version: return "bad-ipv4-version"
        case .badIPv4HeaderLength: return "bad-ipv4-ihl"
        case .ipv4TotalLengthBeyondFrame: return "ipv4-total-length-beyond-frame"
        case .ipv4TotalLengthBelowHeader: return "ipv4-total-length-below-header"
        case .truncatedIPv6Header: return "truncated-ipv6-header"
        case .badIPv6Version: return "bad-ipv6-version"
        case .ipv6PayloadBeyondFrame: return "ipv6-payload-beyond-frame"
        case .truncatedIPv6Extension: return "truncated-ipv6-extension"
        case .ipv6ExtensionChainTooLong: return "ipv6-extension-chain-too-long"
        case .ipv6HopByHopNotFirst: return "ipv6-hop-by-hop-not-first"
        case .truncatedTCPHeader: return "truncated-tcp-header"
        case .badTCPDataOffset: return "bad-tcp-data-offset"
        case .truncatedUDPHeader: return "truncated-udp-header"
        case .badUDPLength: return "bad-udp-length"
        case .truncatedICMPHeader: return "truncated-icmp-header"
        case .truncatedICMPv6Header: return "truncated-icmpv6-header"
        case .badFragment: return "bad-fragment"
        case .truncatedSCTPHeader: return "truncated-sctp-header"
        case .nonIP: return "non-ip"
        case .arp: return "arp"
        case .fragment: return "fragment"
        case .invalidState: return "invalid-state"
        case .conntrackFull: return "conntrack-full"
        }
    }

    /// True for reasons that mean the frame itself is malformed (as opposed to a policy setting).
    public var isMalformed: Bool {
        switch self {
        case .none, .nonIP, .arp, .fragment, .invalidState, .conntrackFull: return false
        default: return true
        }
    }

    public init?(name: String) {
        guard let r = Reason.allCases.first(where: { $0.name == name }) else { return nil }
        self = r
    }
}
