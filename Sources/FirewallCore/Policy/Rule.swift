/// An inclusive range of ports (or VLAN IDs).
public struct PortRange: Hashable, Sendable, CustomStringConvertible {
    public var lo: UInt16
    public var hi: UInt16
    public init(_ lo: UInt16, _ hi: UInt16) {
        self.lo = lo
        self.hi = hi
    }
    public init(_ single: UInt16) {
        lo = single
        hi = single
    }
    @inlinable public func contains(_ v: UInt16) -> Bool { v >= lo && v <= hi }
    public var description: String { lo == hi ? "\(lo)" : "\(lo)-\(hi)" }
    public static let any = PortRange(0, 65535)
}

/// TCP flags test: `(flags & mask) == value`, e.g. "syn,!ack" is mask SYN|ACK, value SYN.
public struct TCPFlagsMatch: Hashable, Sendable {
    public var mask: UInt8
    public var value: UInt8
    public init(mask: UInt8, value: UInt8) {
        self.mask = mask
        self.value = value
    }
}

/// What a rule matches. Every field left empty/nil matches anything; a rule matches when all its
/// fields match (and any one element of a list field).
public struct RuleMatch: Hashable, Sendable {
    /// Indexes into `Policy.portNames` of the ports the frame may arrive on.
    public var ingress: [Int] = []
    /// Outer VLAN IDs (`PacketMeta.untagged` for untagged frames).
    public var vlans: [PortRange] = []
    /// 4 or 6, or nil for either (implied by address families when prefixes are given).
    public var ipVersion: UInt8?
    public var sources: [IPPrefix] = []
    public var destinations: [IPPrefix] = []
    public var protocols: [UInt8] = []
    public var sourcePorts: [PortRange] = []
    public var destinationPorts: [PortRange] = []
    public var icmpType: UInt8?
    public var icmpCode: UInt8?
    public var tcpFlags: TCPFlagsMatch?
    /// Bit set of `ConnState.bit`; 0 for any state.
    public var states: UInt8 = 0
    /// Fields tested against named sets (at most one per field; the field's own list is then
    /// empty). All must match, as every other field must.
    public var sets: [SetMatch] = []
    /// Fields tested together against concatenated sets; all must match.
    public var concats: [ConcatMatch] = []

    public init() {}
}

/// One rule of a policy: first match wins.
public struct Rule: Hashable, Sendable {
    public var name: String
    public var action: Action
    public var match: RuleMatch
    /// Where the rule was written ("configs/x.yaml:14"), for messages and `vfwall check`.
    public var origin: String

    public init(name: String, action: Action, match: RuleMatch, origin: String = "") {
        self.name = name
        self.action = action
        self.match = match
        self.origin = origin
    }
}
