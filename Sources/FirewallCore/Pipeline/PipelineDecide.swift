// The three decide paths of `Pipeline` (the table in Pipeline.swift), and the gathered frames
// the classifier takes in one call. Every path returns the frame's verdict, or nil when the frame
// is gathered for the classifier: `classifyGathered` then stores and counts its verdict.

extension Pipeline {
    /// The second pass: a verdict for every frame of the burst, in order, and the counters.
    /// (A function of its own, so the compiler inlines the per-frame work.)
    @inline(never)
    func decideAll(_ burst: FrameBurst, ingress: Int, byTags: Bool) {
        let n = burst.count
        let p = policy
        let settings = p.settings
        let g = gathered
        let reasons = tally.reasons, ruleHits = tally.ruleHits
        var counts = BurstCounts()
        // The parts of a flow's verdict tag that are the same for the whole burst.
        let tagBase = UInt64(generation) | UInt64(ingress & 0xFF) << 32 | 1 << 63
        let untaggedTag = tagBase | UInt64(PacketMeta.untagged) << 40
        for i in 0..<n {
            let now = burst.timestamps[i]
            let decided: Verdict?
            if lane[i].inLane {
                decided = decideByFlow(
                    burst, i, ingress: ingress, now: now, p, settings, tagBase: tagBase,
                    untaggedTag: untaggedTag, byTags: byTags)
            } else if parseFailure[i] == .none && metas[i].fragment == .none {
                let obs = observe(burst, i, now: now, p, byTags: byTags)
                decided = decideByRules(burst, i, obs, ingress: ingress, p, settings, tagBase: tagBase)
            } else {
                decided = decideBySettings(
                    burst, i, ingress: ingress, now: now, p, settings, tagBase: tagBase,
                    byTags: byTags)
            }
            if let v = decided {
                burst.verdicts[i] = v
                counts.add(v, reasons: reasons, ruleHits: ruleHits)
            }
        }
        classifyGathered(burst, p)
        counts.add(g.counts)
        g.counts = BurstCounts()
        addBurst(counts, frames: n)
    }

    /// Path 1, a fast-lane frame: its flow decides when it is live and established (with
    /// `tracked: accept`), or unanswered with a cached rule that accepts; nothing else of the
    /// frame is read. Otherwise the frame leaves the lane for `decideByRules`.
    @inline(__always)
    func decideByFlow(
        _ burst: FrameBurst, _ i: Int, ingress: Int, now: UInt64, _ p: CompiledPolicy,
        _ s: PolicySettings, tagBase: UInt64, untaggedTag: UInt64, byTags: Bool
    ) -> Verdict? {
        let kp = UnsafePointer(keys + i)
        let ct = conntrack
        if gathered.openers != 0 { settleIfOpening(kp.pointee.hash, burst, p) }
        let slot = ct.live(at: kp, now: now, byTags: byTags, v4Key: true)
        if slot < 0 { return leaveLane(burst, i, nil, ingress: ingress, p, s, tagBase: tagBase) }
        let e = ct.table.slots + slot
        let obs = ct.advance(
            e, slot: slot, keyAt: kp, proto: kp.pointee.proto, hasL4: true,
            tcpFlags: lane[i].tcpFlags, now: now)
        if obs.state == .established && s.trackedBypassRules {
            return Verdict(action: .accept, reason: .none, state: .established, rule: Verdict.byConntrack)
        }
        // (A TCP flow opened under TCP-flag rules holds no tag, `decideByRules`: no match here.)
        if obs.state == .new, let r = ct.cachedRule(entry: e, verdictTag: untaggedTag), r >= 0,
            p.action(ofRule: r) == .accept
        {
            return Verdict(action: .accept, reason: .none, state: .new, rule: r)
        }
        return leaveLane(burst, i, obs, ingress: ingress, p, s, tagBase: tagBase)
    }

    /// A fast-lane frame its flow does not decide: its metadata filled (it passed the same checks
    /// in `parseAll`), then the rules. `obs` is what its live flow made of it, nil for no flow.
    /// (Out of line: the loop keeps its registers for the frames the flow decides.)
    @inline(never)
    func leaveLane(
        _ burst: FrameBurst, _ i: Int, _ obs: Conntrack.Observation?, ingress: Int, _ p: CompiledPolicy,
        _ s: PolicySettings, tagBase: UInt64
    ) -> Verdict? {
        let frame = burst.frame(i)
        let filled = Parser.parseCommonIPv4(frame.baseAddress!, frame.count, &metas[i])
        assert(filled, "a fast-lane frame failed the checks it passed")
        parseFailure[i] = .none
        lane[i] = .outOfLane
        // No flow: the lookup has just missed (and removed an expired one), so this is `observe`'s answer.
        let observed = obs ?? conntrack.observeMiss(UnsafePointer(metas + i))
        return decideByRules(burst, i, observed, ingress: ingress, p, s, tagBase: tagBase)
    }

    /// Frame i's flow looked up and moved on (the general path's lookup, ICMP errors included).
    @inline(__always)
    func observe(
        _ burst: FrameBurst, _ i: Int, now: UInt64, _ p: CompiledPolicy,
        byTags: Bool
    ) -> Conntrack.Observation {
        if gathered.openers != 0 { settleIfOpening(keys[i].hash, burst, p) }
        return conntrack.observe(UnsafePointer(metas + i), keyAt: UnsafePointer(keys + i), now: now, byTags: byTags)
    }

    /// Path 2, a packet with its transport header, once conntrack has seen it (`obs`): its state
    /// decides under `tracked: accept`, else the rule cached in its flow, else the classifier
    /// (the frame is gathered, `classifyGathered`).
    @inline(__always)
    func decideByRules(
        _ burst: FrameBurst, _ i: Int, _ obs: Conntrack.Observation, ingress: Int, _ p: CompiledPolicy,
        _ s: PolicySettings, tagBase: UInt64
    ) -> Verdict? {
        let m = metas + i
        m.pointee.state = obs.state
        m.pointee.ingress = UInt8(truncatingIfNeeded: ingress)
        if s.trackedBypassRules {
            switch obs.state {
            case .established, .related:
                return Verdict(action: .accept, reason: .none, state: obs.state, rule: Verdict.byConntrack)
            case .invalid:
                return Verdict(
                    action: s.invalidAction, reason: .invalidState, state: .invalid,
                    rule: Verdict.bySetting)
            case .new:
                break
            }
        }
        // A new packet of a known, unanswered flow (one-way UDP, a retransmitted SYN) matches the
        // rule its first packet matched, when nothing that varies within a flow can change that:
        // same policy, ingress port and VLAN, and no TCP-flag rules for TCP.
        let tag =
            obs.state == .new && !(m.pointee.proto == IPProto.tcp && s.testsTCPFlags)
            ? tagBase | UInt64(m.pointee.outerVlan) << 40 : 0
        if obs.slot >= 0, let cached = conntrack.cachedRule(slot: obs.slot, verdictTag: tag) {
            return Pipeline.ruleVerdict(cached, state: obs.state, refusal: .none, p)
        }
        return gather(burst, i, verdictTag: tag, opensFlow: obs.state == .new && obs.slot < 0 && obs.trackable, p)
    }

    /// Path 3, a frame the rules cannot see whole: ARP, non-IP and malformed frames get the
    /// policy's setting; fragments carry no ports (or may lie about them), so they never meet
    /// the rules, except a first fragment when fragments are tracked: its later fragments then
    /// follow its verdict.
    @inline(never)
    func decideBySettings(
        _ burst: FrameBurst, _ i: Int, ingress: Int, now: UInt64, _ p: CompiledPolicy,
        _ s: PolicySettings, tagBase: UInt64, byTags: Bool
    ) -> Verdict? {
        switch parseFailure[i] {
        case .none:
            break
        case .arp:
            return Verdict(action: s.arpAction, reason: .arp, state: .invalid, rule: Verdict.bySetting)
        case .nonIP:
            return Verdict(action: s.nonIPAction, reason: .nonIP, state: .invalid, rule: Verdict.bySetting)
        case let reason:
            return Verdict(action: s.invalidAction, reason: reason, state: .invalid, rule: Verdict.bySetting)
        }
        switch metas[i].fragment {
        case .first where s.trackFragments:
            let obs = observe(burst, i, now: now, p, byTags: byTags)
            if let v = decideByRules(burst, i, obs, ingress: ingress, p, s, tagBase: tagBase) {
                fragments.remember(metas[i], v, now: now)
                return v
            }
            // Gathered: its verdict now (stored and counted there), for a later fragment in this burst.
            classifyGathered(burst, p)
            fragments.remember(metas[i], burst.verdicts[i], now: now)
            return nil
        case .later where s.trackFragments:
            return fragments.follow(metas[i], now: now)
        default:
            return Verdict(action: .drop, reason: .fragment, state: .invalid, rule: Verdict.bySetting)
        }
    }

    /// The verdict of rule `r` (-1: none matched, the default action), or of a flow the table
    /// refused to open (`refusal`).
    @inline(__always)
    static func ruleVerdict(_ r: Int32, state: ConnState, refusal: Reason, _ p: CompiledPolicy) -> Verdict {
        if refusal != .none { return Verdict(action: .drop, reason: refusal, state: state, rule: Verdict.bySetting) }
        return Verdict(
            action: r >= 0 ? p.action(ofRule: r) : p.settings.defaultAction, reason: .none, state: state,
            rule: r >= 0 ? r : Verdict.byDefault)
    }

    /// Adds frame i to the frames the classifier takes together. A frame that opens a flow if
    /// accepted waits too, unless the table might be too full for it once the frames gathered
    /// before it are in: early drop and refusals must see the table a frame-by-frame pass sees,
    /// so that frame is decided now, after those before it. Nil when the frame is gathered.
    @inline(never)
    func gather(_ burst: FrameBurst, _ i: Int, verdictTag: UInt64, opensFlow: Bool, _ p: CompiledPolicy) -> Verdict? {
        let g = gathered
        if classifiesOneByOne || opensFlow && conntrack.count &+ g.openers >= conntrack.table.maxFlows {
            classifyGathered(burst, p)
            let r = p.classifier.classify(UnsafePointer(metas + i))
            return verdictOfRule(r, i, verdictTag: verdictTag, opensFlow: opensFlow, burst, p)
        }
        let k = g.count
        g.frames[k] = Int32(truncatingIfNeeded: i)
        g.verdictTags[k] = verdictTag
        g.opensFlow[k] = opensFlow
        g.count = k &+ 1
        if opensFlow {
            g.openers &+= 1
            g.markOpener(keys[i].hash)
        }
        return nil
    }

    /// The verdict of rule `r` for frame i, whose flow is opened now if the frame opens one and
    /// the rule accepts it.
    @inline(__always)
    func verdictOfRule(
        _ r: Int32, _ i: Int, verdictTag: UInt64, opensFlow: Bool, _ burst: FrameBurst,
        _ p: CompiledPolicy
    ) -> Verdict {
        var refusal = Reason.none
        if opensFlow && (r >= 0 ? p.action(ofRule: r) : p.settings.defaultAction) == .accept {
            refusal = conntrack.confirm(
                UnsafePointer(metas + i), key: keys[i], now: burst.timestamps[i], rule: r,
                verdictTag: verdictTag)
        }
        return Pipeline.ruleVerdict(r, state: metas[i].state, refusal: refusal, p)
    }

    /// Settles the gathered frames if one of them opens the flow of `hash` (a later frame of
    /// that flow must find it open, as a frame-by-frame pass would).
    @inline(__always)
    func settleIfOpening(_ hash: UInt32, _ burst: FrameBurst, _ p: CompiledPolicy) {
        if gathered.mayOpen(hash) && gathered.opens(hash, keys) {
            classifyGathered(burst, p)
        }
    }

    /// Classifies the gathered frames in one call, then, in frame order, gives each its verdict
    /// and opens the flows of the accepted ones that open one.
    @inline(never)
    func classifyGathered(_ burst: FrameBurst, _ p: CompiledPolicy) {
        let g = gathered
        let c = g.count
        guard c > 0 else { return }
        let first = Int(g.frames[0])
        if Int(g.frames[c - 1]) - first == c - 1 {
            // Frames first..<first+c, all gathered (a burst of new flows): their metadata lies side by side.
            p.classifier.classifyBurst(metas + first, count: c, results: g.rules)
        } else {
            for k in 0..<c { g.metas[k] = metas[Int(g.frames[k])] }
            p.classifier.classifyBurst(g.metas, count: c, results: g.rules)
        }
        let reasons = tally.reasons, ruleHits = tally.ruleHits
        for k in 0..<c {
            let i = Int(g.frames[k])
            let v = verdictOfRule(g.rules[k], i, verdictTag: g.verdictTags[k], opensFlow: g.opensFlow[k], burst, p)
            burst.verdicts[i] = v
            g.counts.add(v, reasons: reasons, ruleHits: ruleHits)
        }
        g.count = 0
        g.openers = 0
        g.openerHashes.update(repeating: 0, count: GatheredFrames.filterWords)
    }
}

/// The frames of a burst waiting for the classifier: their indexes (ascending), room for copies
/// of their metadata side by side (as `classifyBurst` reads them, when they are not already),
/// the verdict tags their flows would keep, the rules found. Allocated once per pipeline.
final class GatheredFrames {
    let frames: UnsafeMutablePointer<Int32>
    let metas: UnsafeMutablePointer<PacketMeta>
    let verdictTags: UnsafeMutablePointer<UInt64>
    /// Whether the frame opens a flow if a rule accepts it.
    let opensFlow: UnsafeMutablePointer<Bool>
    let rules: UnsafeMutablePointer<Int32>
    var count = 0
    /// The verdicts given by `classifyGathered` this burst, counted.
    var counts = BurstCounts()
    /// How many gathered frames open a flow, and a 256-bit filter of their keys' hashes (the
    /// top 8 bits pick the bit; the low bits pick table slots): a frame whose bit is clear
    /// cannot be of their flows, and passes without a look at them.
    var openers = 0
    let openerHashes: UnsafeMutablePointer<UInt64>
    static var filterWords: Int { 4 }

    init(capacity: Int) {
        frames = .allocate(capacity: capacity)
        frames.initialize(repeating: 0, count: capacity)
        metas = .allocate(capacity: capacity)
        metas.initialize(repeating: PacketMeta(), count: capacity)
        verdictTags = .allocate(capacity: capacity)
        verdictTags.initialize(repeating: 0, count: capacity)
        opensFlow = .allocate(capacity: capacity)
        opensFlow.initialize(repeating: false, count: capacity)
        rules = .allocate(capacity: capacity)
        rules.initialize(repeating: -1, count: capacity)
        openerHashes = .allocate(capacity: GatheredFrames.filterWords)
        openerHashes.initialize(repeating: 0, count: GatheredFrames.filterWords)
    }

    func deallocate() {
        frames.deallocate()
        metas.deallocate()
        verdictTags.deallocate()
        opensFlow.deallocate()
        rules.deallocate()
        openerHashes.deallocate()
    }

    @inline(__always)
    func markOpener(_ hash: UInt32) { openerHashes[Int(hash >> 30)] |= 1 << UInt64((hash >> 24) & 63) }

    @inline(__always)
    func mayOpen(_ hash: UInt32) -> Bool { openerHashes[Int(hash >> 30)] & 1 << UInt64((hash >> 24) & 63) != 0 }

    /// Whether a gathered frame opens the flow of `hash` (whose key is in `keys`, by frame).
    @inline(never)
    func opens(_ hash: UInt32, _ keys: UnsafePointer<FlowKey>) -> Bool {
        for k in 0..<count where opensFlow[k] && keys[Int(frames[k])].hash == hash { return true }
        return false
    }
}
