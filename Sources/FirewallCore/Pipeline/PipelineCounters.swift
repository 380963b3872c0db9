/// Counters of one pipeline (one worker): per rule, per reason, per action. Only the owning worker
/// writes them; readers take snapshots. Per-burst tallies are added once per burst.
public struct PipelineCounters {
    /// Hits per rule of the installed policy; the last slot counts the default action.
    public var ruleHits: [UInt64]
    /// Frames per `Reason` (index = raw value); `.none` counts frames a rule or flow decided.
    public var reasons: [UInt64]
    /// Frames per `Action` (index = raw value).
    public var actions: [UInt64]
    /// Frames accepted by a tracked flow without classification.
    public var conntrackAccepted: UInt64 = 0
    public var frames: UInt64 = 0
    public var bursts: UInt64 = 0

    public init(rules: Int) {
        ruleHits = Array(repeating: 0, count: rules + 1)
        reasons = Array(repeating: 0, count: Reason.allCases.count)
        actions = Array(repeating: 0, count: Action.allCases.count)
    }

    /// Adds another worker's counters (same policy) into these.
    public mutating func add(_ o: PipelineCounters) {
        if ruleHits.count == o.ruleHits.count { for i in ruleHits.indices { ruleHits[i] &+= o.ruleHits[i] } }
        for i in reasons.indices { reasons[i] &+= o.reasons[i] }
        for i in actions.indices { actions[i] &+= o.actions[i] }
        conntrackAccepted &+= o.conntrackAccepted
        frames &+= o.frames
        bursts &+= o.bursts
    }

    public func count(_ r: Reason) -> UInt64 { reasons[Int(r.rawValue)] }
    public func count(_ a: Action) -> UInt64 { actions[Int(a.rawValue)] }
    public var defaultHits: UInt64 { ruleHits[ruleHits.count - 1] }
}
