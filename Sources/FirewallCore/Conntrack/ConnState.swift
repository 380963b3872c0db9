/// The connection-tracking state a packet is classified in, as iptables' and nftables'
/// `ct state` name them.
public enum ConnState: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Not part of any valid connection (for example a TCP segment without SYN and no flow).
    case invalid = 0
    /// Starts a connection, or belongs to one that has not yet seen a reply.
    case new = 1
    /// Belongs to a connection that has seen packets both ways.
    case established = 2
    /// An ICMP error about a tracked connection.
    case related = 3

    public var description: String {
        switch self {
        case .invalid: return "invalid"
        case .new: return "new"
        case .established: return "established"
        case .related: return "related"
        }
    }

    /// Bit for sets of states in compiled rules.
    @inlinable public var bit: UInt8 { 1 << rawValue }
}
