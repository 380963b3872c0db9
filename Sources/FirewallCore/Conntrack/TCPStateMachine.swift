/// TCP connection states, as nf_conntrack names them.
public enum TCPState: UInt8, Sendable, CaseIterable {
    case none = 0, synSent, synRecv, established, finWait, closeWait, lastAck, timeWait, close, synSent2

    public var name: String {
        [
            "none", "syn_sent", "syn_recv", "established", "fin_wait", "close_wait", "last_ack", "time_wait", "close",
            "syn_sent2"
        ][Int(rawValue)]
    }
}

/// The TCP state machine of connection tracking: for a tracked flow in state S, a segment of kind
/// K travelling in direction D moves it to a new state, leaves it alone (ignored, e.g. a
/// retransmitted SYN/ACK), or is invalid. The transitions follow nf_conntrack's table (without its
/// sequence-window tracking).
public enum TCPStateMachine {
    public enum Segment: Int { case syn = 0, synAck, fin, ack, rst, none }

    public enum Outcome: Equatable { case move(TCPState), ignore, invalid }

    @inlinable @inline(__always)
    public static func segment(flags: UInt8) -> Segment {
        if flags & TCPFlag.rst != 0 { return .rst }
        if flags & TCPFlag.syn != 0 { return flags & TCPFlag.ack != 0 ? .synAck : .syn }
        if flags & TCPFlag.fin != 0 { return .fin }
        if flags & TCPFlag.ack != 0 { return .ack }
        return .none
    }

    // One row per segment kind and direction; nibble S of a row is the code for current state S
    // (none=0 syn_sent=1 syn_recv=2 established=3 fin_wait=4 close_wait=5 last_ack=6
    // time_wait=7 close=8 syn_sent2=9; 0xE = ignore, 0xF = invalid): the table as written down,
    // one row a line. The fast path does not decode them per segment: `transitionCodes`
    // flattens them once, into the table connection tracking indexes.
    //            state:      s2 cl tw la cw fw es sr ss no
    @usableFromInline static let originalRows: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (
        /* syn    */ 0x9_1_1_E_E_E_E_E_1_1,
        /* synack */ 0x2_F_F_F_F_F_F_2_F_F,
        /* fin    */ 0xF_8_7_6_6_6_4_4_F_F,
        /* ack    */ 0xF_8_7_7_5_5_3_3_F_3,
        /* rst    */ 0x8_8_8_8_8_8_8_8_8_F,
        /* none   */ 0xF_F_F_F_F_F_F_F_F_F
    )
    @usableFromInline static let replyRows: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (
        /* syn    */ 0x9_F_1_F_F_F_F_F_9_F,
        /* synack */ 0x2_E_E_E_E_E_E_E_2_F,
        /* fin    */ 0xF_8_7_6_6_6_4_4_F_F,
        /* ack    */ 0xE_8_7_7_5_5_3_2_E_F,
        /* rst    */ 0x8_8_8_8_8_8_8_8_8_F,
        /* none   */ 0xF_F_F_F_F_F_F_F_F_F
    )

    @inlinable
    static func row(_ seg: Segment, fromOriginator: Bool) -> UInt64 {
        let t = fromOriginator ? originalRows : replyRows
        switch seg {
        case .syn: return t.0
        case .synAck: return t.1
        case .fin: return t.2
        case .ack: return t.3
        case .rst: return t.4
        case .none: return t.5
        }
    }

    /// `next` for every direction, flags byte and state, flattened for connection tracking's fast
    /// path (one load per segment instead of classifying the flags and picking a row). Codes: a
    /// state's raw value, `ignoreCode` or `invalidCode`; indexed by `transitionIndex`. 8 KiB, of
    /// which the few flag combinations real traffic uses touch a few lines.
    public static func transitionCodes() -> [UInt8] {
        var codes = [UInt8](repeating: invalidCode, count: 2 << 12)
        for fromOriginator in [false, true] {
            for flags in 0...255 {
                for state in TCPState.allCases {
                    let i = transitionIndex(state, flags: UInt8(flags), fromOriginator: fromOriginator)
                    switch next(state, segment(flags: UInt8(flags)), fromOriginator: fromOriginator) {
                    case .invalid: codes[i] = invalidCode
                    case .ignore: codes[i] = ignoreCode
                    case .move(let s): codes[i] = s.rawValue
                    }
                }
            }
        }
        return codes
    }

    public static let ignoreCode: UInt8 = 0xE
    public static let invalidCode: UInt8 = 0xF

    /// Where `transitionCodes` keeps the outcome of a segment with `flags` for a flow in `state`.
    @inlinable @inline(__always)
    public static func transitionIndex(_ state: TCPState, flags: UInt8, fromOriginator: Bool) -> Int {
        (fromOriginator ? 1 << 12 : 0) | Int(flags) << 4 | Int(state.rawValue)
    }

    /// The transition for a segment in the original (`fromOriginator`) or reply direction.
    @inlinable @inline(__always)
    public static func next(_ state: TCPState, _ seg: Segment, fromOriginator: Bool) -> Outcome {
        let code =
            UInt8(truncatingIfNeeded: row(seg, fromOriginator: fromOriginator) >> (UInt64(state.rawValue) &* 4)) & 0xF
        switch code {
        case invalidCode: return .invalid
        case ignoreCode: return .ignore
        // Every other code in the rows is a state (0...9, `testRowsHoldOnlyStates`): no
        // failable initialiser call per segment.
        default: return .move(unsafeBitCast(code, to: TCPState.self))
        }
    }
}
