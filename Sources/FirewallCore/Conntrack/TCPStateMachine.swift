/// TCP connection states, as nf_conntrack names them.
public enum TCPState: UInt8, Sendable, CaseIterable {
    case none = 0, synSent, synRecv, established, finWait, closeWait, lastAck, timeWait, close, synSent2

    public var name: String {
        ["none", "syn_sent", "syn_recv", "established", "fin_wait", "close_wait", "last_ack", "time_wait", "close", "syn_sent2"][Int(rawValue)]
    }
}

/// The TCP state machine of connection tracking: for a tracked flow in state S, a segment of kind
/// K travelling in direction D moves it to a new state, leaves it alone (ignored, e.g. a
/// retransmitted SYN/ACK), or is invalid. The transitions follow nf_conntrack's table (without its
/// sequence-window tracking).
public enum TCPStateMachine {
    public enum Segment: Int { case syn = 0, synAck, fin, ack, rst, none }

    public enum Outcome: Equatable { case move(TCPState), ignore, invalid }

    @inlinable
    public static func segment(flags: UInt8) -> Segment {
        if flags & TCPFlag.rst != 0 { return .rst }
        if flags & TCPFlag.syn != 0 { return flags & TCPFlag.ack != 0 ? .synAck : .syn }
        if flags & TCPFlag.fin != 0 { return .fin }
        if flags & TCPFlag.ack != 0 { return .ack }
        return .none
    }

    // Rows: segment kind; columns: current state (none ... synSent2). 255 = invalid, 254 = ignore.
    @usableFromInline static let iv: UInt8 = 255
    @usableFromInline static let ig: UInt8 = 254
    // State codes: no=0 ss=1 sr=2 es=3 fw=4 cw=5 la=6 tw=7 cl=8 s2=9
    @usableFromInline static let original: [[UInt8]] = [
        /* syn    */ [1, 1, ig, ig, ig, ig, ig, 1, 1, 9],
        /* synack */ [iv, iv, 2, iv, iv, iv, iv, iv, iv, 2],
        /* fin    */ [iv, iv, 4, 4, 6, 6, 6, 7, 8, iv],
        /* ack    */ [3, iv, 3, 3, 5, 5, 7, 7, 8, iv],
        /* rst    */ [iv, 8, 8, 8, 8, 8, 8, 8, 8, 8],
        /* none   */ [iv, iv, iv, iv, iv, iv, iv, iv, iv, iv],
    ]
    @usableFromInline static let reply: [[UInt8]] = [
        /* syn    */ [iv, 9, iv, iv, iv, iv, iv, 1, iv, 9],
        /* synack */ [iv, 2, ig, ig, ig, ig, ig, ig, ig, 2],
        /* fin    */ [iv, iv, 4, 4, 6, 6, 6, 7, 8, iv],
        /* ack    */ [iv, ig, 2, 3, 5, 5, 7, 7, 8, ig],
        /* rst    */ [iv, 8, 8, 8, 8, 8, 8, 8, 8, 8],
        /* none   */ [iv, iv, iv, iv, iv, iv, iv, iv, iv, iv],
    ]

    /// The transition for a segment in the original (`fromOriginator`) or reply direction.
    @inlinable
    public static func next(_ state: TCPState, _ seg: Segment, fromOriginator: Bool) -> Outcome {
        let code = (fromOriginator ? original : reply)[seg.rawValue][Int(state.rawValue)]
        switch code {
        case iv: return .invalid
        case ig: return .ignore
        default: return .move(TCPState(rawValue: code)!)
        }
    }
}
