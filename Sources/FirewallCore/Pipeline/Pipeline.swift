/// The per-burst firewall: parse, connection tracking, classify, act, count.
///
/// One pipeline per worker; it owns that worker's conntrack shard, scratch arrays and counters, so
/// nothing here is shared or locked. `process` neither allocates nor throws nor logs: a malformed
/// frame is a verdict and a counter bump.
///
/// A burst is worked in passes:
///
/// 1. `parseAll` parses every frame, computes its flow key and prefetches the line where the
///    key's lookup begins (its home entry; in a table larger than the caches, its tag line, and
///    then a short second pass prefetches the entry the tags name). So the cache misses of the
///    whole burst overlap, and no lookup stalls on a line nobody asked for.
/// 2. `decideAll` decides each frame in order (a flow opened by frame i is seen by frame i+1)
///    on one of three paths:
///
/// | Frame                                            | Path               | Decided by                        |
/// |--------------------------------------------------|--------------------|-----------------------------------|
/// | Ethernet, IPv4 without options or fragmentation, | `decideByFlow`     | its live flow alone: established  |
/// | TCP or UDP (the fast lane: parsed to its key and |                    | under `tracked: accept`, or new   |
/// | TCP flags only)                                  |                    | with a cached rule that accepts;  |
/// |                                                  |                    | else metadata filled, then rules  |
/// | any other IP packet with its transport header    | `decideByRules`    | its conntrack state, then the     |
/// |                                                  |                    | rule cached in its flow or the    |
/// |                                                  |                    | classifier                        |
/// | ARP, non-IP, malformed, a fragment               | `decideBySettings` | the policy's settings; a tracked  |
/// |                                                  |                    | first fragment goes by the rules, |
/// |                                                  |                    | a later one follows it            |
///
/// 3. Frames the rules decide are gathered, and the classifier takes them in one `classifyBurst`
///    call (`classifyGathered`), so its table loads overlap as in its benchmarks. Before a
///    gathered frame's flow is created, a later frame of the same flow would miss it: such a
///    frame settles the gathered frames first. A frame whose flow might find the table full
///    (early drop, refusal) is classified at once, after them. So every verdict is what
///    deciding the frames one by one gives (`PipelineBatchTests`).
/// 4. The verdicts are counted (a gathered frame's once it is classified), and a few flow table
///    slots swept.
public final class Pipeline {
    public private(set) var policy: CompiledPolicy
    public let conntrack: Conntrack
    public let fragments: FragmentTracker
    @usableFromInline let metas: UnsafeMutablePointer<PacketMeta>
    @usableFromInline let keys: UnsafeMutablePointer<FlowKey>
    /// Why frame i is not an IP packet the rules can see (`.arp`, `.nonIP`, a malformation), or
    /// `.none`. Written by the general parser; a fast-lane frame's is written when it leaves the lane.
    @usableFromInline let parseFailure: UnsafeMutablePointer<Reason>
    /// Whether frame i is in the fast lane (its `PacketMeta` not filled), and its TCP flags.
    @usableFromInline let lane: UnsafeMutablePointer<LaneMark>
    @usableFromInline let metaCapacity: Int
    /// Frames waiting for the classifier: see `classifyGathered`.
    let gathered: GatheredFrames
    let tally: CounterStore
    /// Live flows from which lookups go through the tags: 8,192 flows' entries (512 KiB) are
    /// what a core's L2 holds.
    public static let defaultTagLookupsFromFlows = 8192
    let tagLookupsFromFlows: Int
    /// Whether common frames take the fast lane (always, but for tests that compare the two ways).
    let fastLaneEnabled: Bool
    /// Classify each gathered frame at once (tests: the one-by-one decisions batching must equal).
    var classifiesOneByOne = false
    /// Frames of the last processed burst rejected (so callers skip looking for replies to send).
    public private(set) var rejectedInLastBurst = 0
    /// Counts installs, so a verdict cached in a flow under an older policy is never reused.
    var generation: UInt32 = 1

    /// `memory` provides the flow table's region (the dataplane passes huge pages).
    public init(
        policy: CompiledPolicy, conntrack settings: ConntrackSettings, burstCapacity: Int = 256,
        memory: RegionAllocator = .heap, tagLookupsFromFlows: Int = Pipeline.defaultTagLookupsFromFlows,
        fastLane: Bool = true
    ) {
        self.policy = policy
        self.tagLookupsFromFlows = tagLookupsFromFlows
        fastLaneEnabled = fastLane
        conntrack = Conntrack(settings: settings, memory: memory)
        fragments = FragmentTracker(
            maxDatagrams: settings.maxFragmentedDatagrams,
            timeoutSeconds: settings.timeouts.fragment)
        metaCapacity = burstCapacity
        metas = .allocate(capacity: burstCapacity)
        metas.initialize(repeating: PacketMeta(), count: burstCapacity)
        keys = .allocate(capacity: burstCapacity)
        keys.initialize(
            repeating: FlowKey(src: .zero, dst: .zero, sport: 0, dport: 0, proto: 0, v6: false),
            count: burstCapacity)
        parseFailure = .allocate(capacity: burstCapacity)
        parseFailure.initialize(repeating: .none, count: burstCapacity)
        lane = .allocate(capacity: burstCapacity)
        lane.initialize(repeating: .outOfLane, count: burstCapacity)
        gathered = GatheredFrames(capacity: burstCapacity)
        tally = CounterStore(rules: policy.ruleCount)
    }

    deinit {
        metas.deallocate()
        keys.deallocate()
        parseFailure.deallocate()
        lane.deallocate()
        gathered.deallocate()
    }

    /// A copy of the counters (off the fast path: stats requests, summaries).
    public var counters: PipelineCounters { tally.snapshot() }

    /// Swaps in a new policy between bursts. Flows stay; per-rule hit counters restart because
    /// rule indexes change meaning (unless only a set changed: `keepsRuleCounters`), and
    /// remembered first-fragment verdicts are forgotten (their later fragments drop: a verdict
    /// of the old policy must not outlive it).
    public func install(_ p: CompiledPolicy) {
        policy = p
        generation &+= 1
        if !p.keepsRuleCounters || p.ruleCount != tally.ruleSlots { tally.resetRules(p.ruleCount) }
        fragments.forgetAll()
    }

    /// Whether the next burst's lookups walk the flow table's tags rather than its entries. The
    /// lines a lookup touches lie within the live flows: while those fit in the caches, lookups
    /// walk the entries from their home slot, which the parse pass prefetches; in a larger table
    /// they walk the tags, and a second pass prefetches the entry they name. Decided once a burst
    /// and passed down as a parameter (held in a register across the loops).
    var looksUpByTags: Bool { conntrack.count >= tagLookupsFromFlows }

    /// Fills `burst.verdicts[0..<burst.count]`. Frames arrived on port `ingress` (an index into
    /// the policy's port names) with link-layer framing `link`.
    public func process(_ burst: FrameBurst, ingress: Int, link: LinkType) {
        precondition(burst.count <= metaCapacity, "burst larger than the pipeline's scratch arrays")
        let n = burst.count
        let ct = conntrack
        let byTags = looksUpByTags
        parseAll(burst, link: link, byTags: byTags)
        // The tag lines asked for while parsing are in by now: fetch the entries they point to.
        if byTags {
            for i in 0..<n where lane[i].inLane || parseFailure[i] == .none { ct.prefetchEntry(keys + i) }
        }
        decideAll(burst, ingress: ingress, byTags: byTags)
        let lastTime = n > 0 ? burst.timestamps[n - 1] : 0
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
        guard link == .ethernet && fastLaneEnabled else {
            for i in 0..<n { parseOther(burst, i, link: link, byTags: byTags) }
            return
        }
        let ct = conntrack
        for i in 0..<n {
            if let p = burst.frames[i] {
                let flags = Parser.commonIPv4Key(p, Int(burst.lengths[i]), into: keys + i)
                if flags >= 0 {
                    lane[i] = LaneMark(tcpFlags: UInt8(truncatingIfNeeded: flags))
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
        lane[i] = .outOfLane
        let r = Parser.parseAny(burst.frame(i), link: link, into: &metas[i])
        parseFailure[i] = r
        if r == .none {
            keys[i] = Conntrack.key(for: UnsafePointer(metas + i))
            conntrack.prefetchHome(keys[i].hash, byTags: byTags)
        }
    }

    /// Adds a burst's totals to the counters (its rule and reason hits are in already).
    func addBurst(_ c: BurstCounts, frames n: Int) {
        let accepted = UInt64(n) &- c.dropped &- c.rejected
        tally.add(
            accepted: accepted, dropped: c.dropped, rejected: c.rejected, byFlow: c.byFlow,
            byDefault: c.byDefault, frames: n)
        rejectedInLastBurst = Int(c.rejected)
    }
}

/// A burst's verdicts counted: rule and reason hits straight into the counter store, the
/// totals here (in registers while the burst is decided) until `Pipeline.addBurst`.
struct BurstCounts {
    var dropped: UInt64 = 0, rejected: UInt64 = 0, byFlow: UInt64 = 0, byDefault: UInt64 = 0

    @inline(__always)
    mutating func add(_ v: Verdict, reasons: UnsafeMutablePointer<UInt64>, ruleHits: UnsafeMutablePointer<UInt64>) {
        // Frames without a reason are counted per burst (`frames` minus the rest).
        if v.reason != .none { reasons[Int(v.reason.rawValue)] &+= 1 }
        if v.rule >= 0 {
            ruleHits[Int(v.rule)] &+= 1
        } else if v.rule == Verdict.byDefault {
            byDefault &+= 1
        } else if v.rule == Verdict.byConntrack {
            byFlow &+= 1
        }
        if v.action != .accept {
            if v.action == .drop { dropped &+= 1 } else { rejected &+= 1 }
        }
    }

    @inline(__always)
    mutating func add(_ o: BurstCounts) {
        dropped &+= o.dropped
        rejected &+= o.rejected
        byFlow &+= o.byFlow
        byDefault &+= o.byDefault
    }
}

/// A frame's place in the fast lane: in it, with the TCP flags its parse read (0 for UDP) and
/// its `PacketMeta` not filled; or out of it. One 16-bit word, so marking a frame is one store.
@usableFromInline struct LaneMark: Equatable {
    @usableFromInline var bits: UInt16

    @inlinable static var outOfLane: LaneMark { LaneMark(bits: 0) }
    @inlinable init(bits: UInt16) { self.bits = bits }
    /// In the lane: bit 8 set, whatever the flags.
    @inlinable init(tcpFlags: UInt8) { bits = 0x100 | UInt16(tcpFlags) }

    @inlinable var inLane: Bool { bits != 0 }
    @inlinable var tcpFlags: UInt8 { UInt8(truncatingIfNeeded: bits) }
}
