/// The per-burst firewall: parse, connection tracking, classify on a miss, act, count.
///
/// One pipeline per worker; it owns that worker's conntrack shard, scratch arrays and counters, so
/// nothing here is shared or locked. `process` neither allocates nor throws nor logs: a malformed
/// frame is a verdict and a counter bump.
///
/// A burst is worked in passes. The first parses every frame, computes its flow key and prefetches
/// the line where the key's flow table lookup begins (its home entry; in a table larger than the
/// caches, its tag line, and then a short second pass prefetches the entry the tags name). So the
/// cache misses of the whole burst overlap, and no lookup stalls on a line nobody asked for. The
/// last pass decides each frame in order (a flow opened by frame i is seen by frame i+1).
///
/// The fast lane: a frame of the common shape (untagged Ethernet, IPv4 without options or
/// fragmentation, TCP or UDP) is parsed only as far as its flow key and TCP flags. When its flow
/// is live and decides the verdict (established and `tracked: accept`, or unanswered with the
/// rule its first packet matched still valid), that is all it ever needs. Any other outcome fills
/// its `PacketMeta` then, from the same checks, and takes the general path.
public final class Pipeline {
    public private(set) var policy: CompiledPolicy
    public let conntrack: Conntrack
    public let fragments: FragmentTracker
    @usableFromInline let metas: UnsafeMutablePointer<PacketMeta>
    @usableFromInline let keys: UnsafeMutablePointer<FlowKey>
    @usableFromInline let parsed: UnsafeMutablePointer<Reason>
    /// `Pipeline.inLane | tcpFlags` for a frame in the fast lane whose `PacketMeta` is not
    /// filled (yet; TCP flags 0 for UDP), 0 for any other frame. One array, one store a frame.
    @usableFromInline let lane: UnsafeMutablePointer<UInt16>
    @usableFromInline static let inLane: UInt16 = 0x100
    @usableFromInline let metaCapacity: Int
    let tally: CounterStore
    /// Live flows from which lookups go through the tags: 8,192 flows' entries (512 KiB) are
    /// what a core's L2 holds.
    public static let defaultTagLookupsFromFlows = 8192
    let tagLookupsFromFlows: Int
    /// Whether common frames take the fast lane (always, but for tests that compare the two ways).
    let fastLane: Bool
    /// Frames of the last processed burst rejected (so callers skip looking for replies to send).
    public private(set) var rejectedInLastBurst = 0
    /// Counts installs, so a verdict cached in a flow under an older policy is never reused.
    var generation: UInt32 = 1

    /// `memory` provides the flow table's region (the dataplane passes huge pages).
    public init(policy: CompiledPolicy, conntrack settings: ConntrackSettings, burstCapacity: Int = 256,
                memory: RegionAllocator = .heap, tagLookupsFromFlows: Int = Pipeline.defaultTagLookupsFromFlows,
                fastLane: Bool = true) {
        self.policy = policy
        self.tagLookupsFromFlows = tagLookupsFromFlows
        self.fastLane = fastLane
        conntrack = Conntrack(settings: settings, memory: memory)
        fragments = FragmentTracker(maxDatagrams: settings.maxFragmentedDatagrams, timeoutSeconds: settings.timeouts.fragment)
        metaCapacity = burstCapacity
        metas = .allocate(capacity: burstCapacity)
        metas.initialize(repeating: PacketMeta(), count: burstCapacity)
        keys = .allocate(capacity: burstCapacity)
        keys.initialize(repeating: FlowKey(src: .zero, dst: .zero, sport: 0, dport: 0, proto: 0, v6: false), count: burstCapacity)
        parsed = .allocate(capacity: burstCapacity)
        parsed.initialize(repeating: .none, count: burstCapacity)
        lane = .allocate(capacity: burstCapacity)
        lane.initialize(repeating: 0, count: burstCapacity)
        tally = CounterStore(rules: policy.ruleCount)
    }

    deinit {
        metas.deallocate(); keys.deallocate(); parsed.deallocate(); lane.deallocate()
    }

    /// A copy of the counters (off the fast path: stats requests, summaries).
    public var counters: PipelineCounters { tally.snapshot() }

    /// Swaps in a new policy between bursts. Flows stay; per-rule hit counters restart because
    /// rule indexes change meaning, and remembered first-fragment verdicts are forgotten (their
    /// later fragments drop: a verdict of the old policy must not outlive it).
    public func install(_ p: CompiledPolicy) {
        policy = p
        generation &+= 1
        tally.resetRules(p.ruleCount)
        fragments.forgetAll()
    }

    /// Fills `burst.verdicts[0..<burst.count]`. Frames arrived on port `ingress` (an index into
    /// the policy's port names) with link-layer framing `link`.
    public func process(_ burst: FrameBurst, ingress: Int, link: LinkType) {
        precondition(burst.count <= metaCapacity, "burst larger than the pipeline's scratch arrays")
        let n = burst.count
        let ct = conntrack
        // The lines a lookup touches lie within the live flows. While those fit in the caches,
        // lookups walk the entries from their home slot, which the parse pass prefetches; in a
        // larger table they walk the tags, and a second pass prefetches the entry they name.
        let byTags = ct.count >= tagLookupsFromFlows
        ct.lookupByTags = byTags
        parseAll(burst, link: link, byTags: byTags)
        // The tag lines asked for while parsing are in by now: fetch the entries they point to.
        if byTags { for i in 0..<n where lane[i] != 0 || parsed[i] == .none { ct.prefetchEntry(keys + i) } }
        let lastTime = decideAll(burst, ingress: ingress)
        // A few slots per frame keep expiry O(1) amortised; lookups and early drop also reap.
        ct.sweep(now: lastTime, budget: n / 4 + 4)
        if policy.settings.trackFragments { fragments.sweep(now: lastTime, budget: 4) }
    }

    /// The first pass: parse every frame (a fast-lane frame only to its key), compute its flow
    /// key and prefetch where its lookup begins. (A function of its own, so the compiler inlines
    /// the fast lane's parser into the loop; other frames are a call.)
    @inline(never)
    func parseAll(_ burst: FrameBurst, link: LinkType, byTags: Bool) {
        let n = burst.count
        guard link == .ethernet && fastLane else {
            for i in 0..<n { parseOther(burst, i, link: link, byTags: byTags) }
            return
        }
        let ct = conntrack
        for i in 0..<n {
            if let p = burst.frames[i] {
                let flags = Parser.commonIPv4Key(p, Int(burst.lengths[i]), into: keys + i)
                if flags >= 0 {
                    lane[i] = Pipeline.inLane | UInt16(truncatingIfNeeded: flags)
                    ct.prefetchHome(keys[i].hash, byTags: byTags)
                    continue
                }
            }
            parseOther(burst, i, link: link, byTags: byTags)
        }
    }

    /// A frame outside the fast lane: the general parser fills its metadata.
    @inline(never)
    func parseOther(_ burst: FrameBurst, _ i: Int, link: LinkType, byTags: Bool) {
        lane[i] = 0
        let r = Parser.parseAny(burst.frame(i), link: link, into: &metas[i])
        parsed[i] = r
        if r == .none {
            keys[i] = Conntrack.key(for: UnsafePointer(metas + i))
            conntrack.prefetchHome(keys[i].hash, byTags: byTags)
        }
    }

    /// The second pass: a verdict for every frame of the burst, and the counters. Returns the
    /// last frame's time. (A function of its own, so the compiler inlines the per-frame work.)
    @inline(never)
    func decideAll(_ burst: FrameBurst, ingress: Int) -> UInt64 {
        let n = burst.count
        let p = policy
        let settings = p.settings
        // The parts of a flow's verdict tag that are the same for the whole burst.
        let tagBase = UInt64(generation) | UInt64(ingress & 0xFF) << 32 | 1 << 63
        let untaggedTag = tagBase | UInt64(PacketMeta.untagged) << 40
        let byTags = conntrack.lookupByTags
        let reasons = tally.reasons, ruleHits = tally.ruleHits
        var dropped: UInt64 = 0, rejected: UInt64 = 0, byFlow: UInt64 = 0, byDefault: UInt64 = 0
        var lastTime: UInt64 = 0
        for i in 0..<n {
            let now = burst.timestamps[i]
            lastTime = now
            let v: Verdict
            if lane[i] != 0 {
                v = decideKnown(burst, i, ingress: ingress, now: now, p, settings, tagBase: tagBase, untaggedTag: untaggedTag,
                                byTags: byTags)
            } else if parsed[i] == .none && metas[i].fragment == .none {
                v = decideWhole(i, ingress: ingress, now: now, p, settings, tagBase: tagBase)
            } else {
                v = decideOther(i, ingress: ingress, now: now, p, settings, tagBase: tagBase)
            }
            burst.verdicts[i] = v
            // Frames without a reason are counted per burst (`frames` minus the rest).
            if v.reason != .none { reasons[Int(v.reason.rawValue)] &+= 1 }
            if v.rule >= 0 { ruleHits[Int(v.rule)] &+= 1 }
            else if v.rule == Verdict.byDefault { byDefault &+= 1 }
            else if v.rule == Verdict.byConntrack { byFlow &+= 1 }
            if v.action != .accept {
                if v.action == .drop { dropped &+= 1 } else { rejected &+= 1 }
            }
        }
        let accepted = UInt64(n) &- dropped &- rejected
        tally.add(accepted: accepted, dropped: dropped, rejected: rejected, byFlow: byFlow, byDefault: byDefault, frames: n)
        rejectedInLastBurst = Int(rejected)
        return lastTime
    }

    /// Frames other than whole IP packets: ARP, non-IP, malformed, fragments. Kept out of line
    /// so the loop above stays small.
    @inline(never)
    func decideOther(_ i: Int, ingress: Int, now: UInt64, _ p: CompiledPolicy, _ s: PolicySettings, tagBase: UInt64) -> Verdict {
        switch parsed[i] {
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
        case .none:
            return decideWhole(i, ingress: ingress, now: now, p, s, tagBase: tagBase)
        case .first where s.trackFragments:
            let v = decideWhole(i, ingress: ingress, now: now, p, s, tagBase: tagBase)
            fragments.remember(metas[i], v, now: now)
            return v
        case .later where s.trackFragments:
            return fragments.follow(metas[i], now: now)
        default:
            // Fragments carry no ports (or may lie about them): never let one past the rules.
            return Verdict(action: .drop, reason: .fragment, state: .invalid, rule: Verdict.bySetting)
        }
    }

    /// A fast-lane frame: its flow decides when it is live and established (with `tracked:
    /// accept`), or unanswered with a cached rule that accepts; nothing else of the frame is
    /// read. Every other case fills the frame's metadata and goes the general way.
    @inline(__always)
    func decideKnown(_ burst: FrameBurst, _ i: Int, ingress: Int, now: UInt64, _ p: CompiledPolicy, _ s: PolicySettings,
                     tagBase: UInt64, untaggedTag: UInt64, byTags: Bool) -> Verdict {
        let kp = UnsafePointer(keys + i)
        let ct = conntrack
        let slot = ct.live(at: kp, now: now, byTags: byTags, v4Key: true)
        if slot < 0 { return decideUnknown(burst, i, ingress: ingress, now: now, p, s, tagBase: tagBase) }
        let proto = kp.pointee.proto
        let e = ct.table.slots + slot
        let obs = ct.advance(e, slot: slot, keyAt: kp, proto: proto, hasL4: true, tcpFlags: UInt8(truncatingIfNeeded: lane[i]), now: now)
        if obs.state == .established && s.trackedBypassRules {
            return Verdict(action: .accept, reason: .none, state: .established, rule: Verdict.byConntrack)
        }
        // (A TCP flow opened under TCP-flag rules holds no tag, `decideObserved`: no match here.)
        if obs.state == .new, let r = ct.cachedRule(entry: e, verdictTag: untaggedTag), r >= 0, p.action(ofRule: r) == .accept {
            return Verdict(action: .accept, reason: .none, state: .new, rule: r)
        }
        return decideKnownByRules(burst, i, obs, ingress: ingress, now: now, p, s, tagBase: tagBase)
    }

    /// A fast-lane frame without a live flow: the general path, metadata filled first.
    @inline(never)
    func decideUnknown(_ burst: FrameBurst, _ i: Int, ingress: Int, now: UInt64, _ p: CompiledPolicy, _ s: PolicySettings,
                       tagBase: UInt64) -> Verdict {
        fillMeta(burst, i)
        return decideWhole(i, ingress: ingress, now: now, p, s, tagBase: tagBase)
    }

    /// A fast-lane frame of a live flow that the flow alone does not decide: the rules, on its
    /// metadata filled now (the flow has already been moved on by this packet).
    @inline(never)
    func decideKnownByRules(_ burst: FrameBurst, _ i: Int, _ obs: Conntrack.Observation, ingress: Int, now: UInt64,
                            _ p: CompiledPolicy, _ s: PolicySettings, tagBase: UInt64) -> Verdict {
        fillMeta(burst, i)
        return decideObserved(i, obs, ingress: ingress, now: now, p, s, tagBase: tagBase)
    }

    /// Parses a fast-lane frame into its `PacketMeta` (it passed the same checks in `parseAll`).
    /// After it, as for every frame outside the lane, `metas[i]` and `parsed[i]` hold the parse.
    @inline(__always)
    func fillMeta(_ burst: FrameBurst, _ i: Int) {
        let frame = burst.frame(i)
        let filled = Parser.parseCommonIPv4(frame.baseAddress!, frame.count, &metas[i])
        assert(filled, "a fast-lane frame failed the checks it passed")
        parsed[i] = .none
        lane[i] = 0
    }

    /// The verdict for a packet with its transport header: conntrack, then the rules.
    @inline(__always)
    func decideWhole(_ i: Int, ingress: Int, now: UInt64, _ p: CompiledPolicy, _ s: PolicySettings, tagBase: UInt64) -> Verdict {
        let obs = conntrack.observe(UnsafePointer(metas + i), keyAt: UnsafePointer(keys + i), now: now)
        return decideObserved(i, obs, ingress: ingress, now: now, p, s, tagBase: tagBase)
    }

    /// The rest of `decideWhole`, once conntrack has seen the packet.
    @inline(__always)
    func decideObserved(_ i: Int, _ obs: Conntrack.Observation, ingress: Int, now: UInt64, _ p: CompiledPolicy,
                        _ s: PolicySettings, tagBase: UInt64) -> Verdict {
        let m = metas + i
        m.pointee.state = obs.state
        m.pointee.ingress = UInt8(truncatingIfNeeded: ingress)
        if s.trackedBypassRules {
            switch obs.state {
            case .established, .related:
                return Verdict(action: .accept, reason: .none, state: obs.state, rule: Verdict.byConntrack)
            case .invalid:
                return Verdict(action: s.invalidAction, reason: .invalidState, state: .invalid, rule: Verdict.bySetting)
            case .new:
                break
            }
        }
        // A new packet of a known, unanswered flow (one-way UDP, a retransmitted SYN) matches the
        // rule its first packet matched, when nothing that varies within a flow can change that:
        // same policy, ingress port and VLAN, and no TCP-flag rules for TCP.
        let tag = obs.state == .new && !(m.pointee.proto == IPProto.tcp && s.testsTCPFlags)
            ? tagBase | UInt64(m.pointee.outerVlan) << 40 : 0
        let r: Int32
        if obs.slot >= 0, let cached = conntrack.cachedRule(slot: obs.slot, verdictTag: tag) {
            r = cached
        } else {
            r = p.classifier.classify(UnsafePointer(m))
        }
        var action = r >= 0 ? p.action(ofRule: r) : s.defaultAction
        var reason = Reason.none
        if action == .accept && obs.state == .new && obs.slot < 0 && obs.trackable {
            reason = confirmNew(i, now: now, rule: r, verdictTag: tag)
            if reason != .none { action = .drop }
        }
        return Verdict(action: action, reason: reason, state: obs.state, rule: reason == .none ? (r >= 0 ? r : Verdict.byDefault) : Verdict.bySetting)
    }

    /// A new flow for slot `i`'s accepted packet (out of line: once per flow, not per packet).
    @inline(never)
    func confirmNew(_ i: Int, now: UInt64, rule: Int32, verdictTag: UInt64) -> Reason {
        conntrack.confirm(UnsafePointer(metas + i), key: keys[i], now: now, rule: rule, verdictTag: verdictTag)
    }
}
