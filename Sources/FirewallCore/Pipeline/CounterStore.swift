/// The pipeline's counters in flat memory: written only by the owning worker, once per frame for
/// rules and reasons and once per burst for the totals; copied out as `PipelineCounters`.
final class CounterStore {
    private(set) var ruleHits: UnsafeMutablePointer<UInt64>
    private(set) var ruleSlots: Int
    let reasons: UnsafeMutablePointer<UInt64>
    let actions: UnsafeMutablePointer<UInt64>
    var defaultHits: UInt64 = 0
    var conntrackAccepted: UInt64 = 0
    var frames: UInt64 = 0
    var bursts: UInt64 = 0

    init(rules: Int) {
        ruleSlots = rules
        ruleHits = .allocate(capacity: max(1, rules))
        ruleHits.initialize(repeating: 0, count: max(1, rules))
        reasons = .allocate(capacity: Reason.allCases.count)
        reasons.initialize(repeating: 0, count: Reason.allCases.count)
        actions = .allocate(capacity: Action.allCases.count)
        actions.initialize(repeating: 0, count: Action.allCases.count)
    }

    deinit {
        ruleHits.deallocate()
        reasons.deallocate()
        actions.deallocate()
    }

    /// A new policy: its rules count from zero (between bursts, on the worker's thread).
    func resetRules(_ rules: Int) {
        ruleHits.deallocate()
        ruleSlots = rules
        ruleHits = .allocate(capacity: max(1, rules))
        ruleHits.initialize(repeating: 0, count: max(1, rules))
        defaultHits = 0
    }

    @inline(__always)
    func add(accepted: UInt64, dropped: UInt64, rejected: UInt64, byFlow: UInt64, byDefault: UInt64, frames n: Int) {
        actions[Int(Action.accept.rawValue)] &+= accepted
        actions[Int(Action.drop.rawValue)] &+= dropped
        actions[Int(Action.reject.rawValue)] &+= rejected
        conntrackAccepted &+= byFlow
        defaultHits &+= byDefault
        frames &+= UInt64(n)
        bursts &+= 1
    }

    func snapshot() -> PipelineCounters {
        var c = PipelineCounters(rules: ruleSlots)
        for i in 0..<ruleSlots { c.ruleHits[i] = ruleHits[i] }
        c.ruleHits[ruleSlots] = defaultHits
        var withReason: UInt64 = 0
        for i in 1..<Reason.allCases.count {
            c.reasons[i] = reasons[i]
            withReason &+= reasons[i]
        }
        c.reasons[Int(Reason.none.rawValue)] = frames &- withReason
        for i in 0..<Action.allCases.count { c.actions[i] = actions[i] }
        c.conntrackAccepted = conntrackAccepted
        c.frames = frames
        c.bursts = bursts
        return c
    }
}
