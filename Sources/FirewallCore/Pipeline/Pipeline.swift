/// The per-burst firewall: parse, connection tracking, classify on a miss, act, count.
///
/// One pipeline per worker; it owns that worker's conntrack shard and scratch arrays, so nothing
/// here is shared or locked. `process` neither allocates nor throws nor logs: a malformed frame
/// is a verdict and a counter bump.
public final class Pipeline {
    public private(set) var policy: CompiledPolicy
    public let conntrack: Conntrack
    public private(set) var counters: PipelineCounters
    /// Scratch: the parsed metadata of the current burst.
    @usableFromInline let metas: UnsafeMutablePointer<PacketMeta>
    @usableFromInline let metaCapacity: Int

    public init(policy: CompiledPolicy, conntrack settings: ConntrackSettings, burstCapacity: Int = 256) {
        self.policy = policy
        conntrack = Conntrack(settings: settings)
        counters = PipelineCounters(rules: policy.ruleCount)
        metaCapacity = burstCapacity
        metas = .allocate(capacity: burstCapacity)
        metas.initialize(repeating: PacketMeta(), count: burstCapacity)
    }

    deinit { metas.deallocate() }

    /// Swaps in a new policy between bursts. Flows stay; per-rule hit counters restart because
    /// rule indexes change meaning.
    public func install(_ p: CompiledPolicy) {
        policy = p
        counters.ruleHits = Array(repeating: 0, count: p.ruleCount + 1)
    }

    /// Fills `burst.verdicts[0..<burst.count]`. Frames arrived on port `ingress` (an index into
    /// the policy's port names) with link-layer framing `link`.
    public func process(_ burst: FrameBurst, ingress: Int, link: LinkType) {
        precondition(burst.count <= metaCapacity, "burst larger than the pipeline's scratch arrays")
        let p = policy
        let rules = p.policy
        var accepted: UInt64 = 0, dropped: UInt64 = 0, rejected: UInt64 = 0, byFlow: UInt64 = 0
        var lastTime: UInt64 = 0
        for i in 0..<burst.count {
            let now = burst.timestamps[i]
            lastTime = now
            let reason = Parser.parse(burst.frame(i), link: link, into: &metas[i])
            var v: Verdict
            switch reason {
            case .none:
                v = decideIP(&metas[i], ingress: ingress, now: now, p)
            case .arp:
                v = Verdict(action: rules.arpAction, reason: .arp, state: .invalid, rule: Verdict.bySetting)
            case .nonIP:
                v = Verdict(action: rules.nonIPAction, reason: .nonIP, state: .invalid, rule: Verdict.bySetting)
            default:
                v = Verdict(action: rules.invalidAction, reason: reason, state: .invalid, rule: Verdict.bySetting)
            }
            burst.verdicts[i] = v
            counters.reasons[Int(v.reason.rawValue)] &+= 1
            if v.rule >= 0 { counters.ruleHits[Int(v.rule)] &+= 1 }
            else if v.rule == Verdict.byDefault { counters.ruleHits[counters.ruleHits.count - 1] &+= 1 }
            else if v.rule == Verdict.byConntrack { byFlow &+= 1 }
            switch v.action {
            case .accept: accepted &+= 1
            case .drop: dropped &+= 1
            case .reject: rejected &+= 1
            }
        }
        counters.actions[0] &+= dropped
        counters.actions[1] &+= accepted
        counters.actions[2] &+= rejected
        counters.conntrackAccepted &+= byFlow
        counters.frames &+= UInt64(burst.count)
        counters.bursts &+= 1
        conntrack.sweep(now: lastTime, budget: 2 * burst.count + 8)
    }

    /// The verdict for a well-formed IP packet.
    @inline(__always)
    func decideIP(_ m: inout PacketMeta, ingress: Int, now: UInt64, _ p: CompiledPolicy) -> Verdict {
        let rules = p.policy
        if m.fragment != .none {
            // Fragments carry no ports (or may lie about them): never let one past the rules.
            return Verdict(action: .drop, reason: .fragment, state: .invalid, rule: Verdict.bySetting)
        }
        let obs = conntrack.observe(m, now: now)
        m.state = obs.state
        m.ingress = UInt8(truncatingIfNeeded: ingress)
        if rules.tracked == .accept {
            switch obs.state {
            case .established, .related:
                return Verdict(action: .accept, reason: .none, state: obs.state, rule: Verdict.byConntrack)
            case .invalid:
                return Verdict(action: rules.invalidAction, reason: .invalidState, state: .invalid, rule: Verdict.bySetting)
            case .new:
                break
            }
        }
        let r = withUnsafePointer(to: &m) { p.classifier.classify($0) }
        var action = r >= 0 ? p.action(ofRule: r) : rules.defaultAction
        var reason = Reason.none
        if action == .accept && obs.state == .new && obs.slot < 0 && obs.trackable {
            reason = conntrack.confirm(m, now: now, rule: r)
            if reason != .none { action = .drop }
        }
        return Verdict(action: action, reason: reason, state: obs.state, rule: reason == .none ? (r >= 0 ? r : Verdict.byDefault) : Verdict.bySetting)
    }
}
