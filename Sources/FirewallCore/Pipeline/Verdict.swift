/// What happens to a frame.
public enum Action: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    /// Freed and counted.
    case drop = 0
    /// Forwarded to the paired port.
    case accept = 1
    /// Dropped, and answered with a TCP RST or an ICMP unreachable where the protocol has one.
    case reject = 2

    public var description: String {
        switch self {
        case .drop: return "drop"
        case .accept: return "accept"
        case .reject: return "reject"
        }
    }
}

/// The pipeline's answer for one frame: what to do, and why.
public struct Verdict: Equatable, Sendable {
    public var action: Action
    /// Why the frame got this action when no rule decided it (malformed, non-IP, table full, ...);
    /// `.none` when a rule, the default action or a tracked flow decided.
    public var reason: Reason
    /// The connection-tracking state the frame was classified in.
    public var state: ConnState
    /// Who decided: a rule index (0-based), or one of the `Verdict.by*` markers below.
    public var rule: Int32

    /// The policy's default action decided.
    public static let byDefault: Int32 = -1
    /// A tracked flow decided (established or related traffic, accepted without classification).
    public static let byConntrack: Int32 = -2
    /// A policy setting decided (invalid, ARP, non-IP, fragments): see `reason`.
    public static let bySetting: Int32 = -3

    public init(
        action: Action = .drop, reason: Reason = .none, state: ConnState = .invalid, rule: Int32 = Verdict.bySetting
    ) {
        self.action = action
        self.reason = reason
        self.state = state
        self.rule = rule
    }
}
