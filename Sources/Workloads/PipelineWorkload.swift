import FirewallCore

/// A pipeline fed with synthetic 64-byte frames, one burst per `step()`, for `vfwall
/// bench-pipeline` and Benchmarks/PipelineBenchmarks. Everything is allocated up front; a step
/// allocates nothing.
public final class PipelineWorkload {
    public enum Mode: String, CaseIterable, Sendable {
        /// Every flow has seen both directions before measuring.
        case established
        /// Every frame opens a new flow.
        case new
        /// Half established, half new.
        case mix
        /// Every flow was opened but never answered (one-way UDP): still `new`.
        case unanswered
    }

    public let mode: Mode
    public let pipeline: Pipeline
    let traffic: SyntheticTraffic
    var burst: FrameBurst
    var clock: UInt64 = 1_000_000_000
    var fresh: Int
    var next = 0
    let newEvery: Int
    let oneWay: Bool

    public init(
        mode: Mode, flows: Int, rules: Int, burstSize: Int = 32, memory: RegionAllocator = .heap,
        frames: FrameSource = .ring
    ) {
        self.mode = mode
        var settings = ConntrackSettings()
        // Room for the established set and as many new flows again: early drop then reaps new
        // flows (never answered, so never assured) instead of refusing them.
        settings.maxFlows = max(mode == .established || mode == .unanswered ? flows : 2 * flows, 1024)
        pipeline = Pipeline(
            policy: CompiledPolicy(SyntheticPolicy.make(rules: rules)), conntrack: settings, burstCapacity: burstSize,
            memory: memory)
        traffic = SyntheticTraffic(flows: flows, source: frames)
        burst = FrameBurst(capacity: burstSize)
        fresh = flows
        newEvery = mode == .new ? 1 : (mode == .mix ? 2 : 0)
        oneWay = mode == .unanswered
        if mode != .new { open(answer: mode != .unanswered) }
    }

    deinit {
        traffic.deallocate()
        burst.deallocate()
    }

    /// Opens every flow (and answers it, so it is established) before anything is measured.
    func open(answer: Bool) {
        for reply in answer ? [false, true] : [false] {
            var i = 0
            while i < traffic.flows {
                burst.count = min(burst.capacity, traffic.flows - i)
                for k in 0..<burst.count { traffic.fill(&burst, slot: k, flow: i + k, reply: reply, now: clock) }
                pipeline.process(burst, ingress: reply ? 1 : 0, link: .ethernet)
                i += burst.count
            }
        }
    }

    /// One full burst through the pipeline; returns the frames processed.
    @inline(__always)
    public func step() -> Int {
        let n = burst.capacity
        burst.count = n
        for k in 0..<n {
            if newEvery != 0 && k % newEvery == 0 {
                traffic.fillNew(&burst, slot: k, flowNumber: fresh, now: clock)
                fresh &+= 1
            } else {
                traffic.fill(&burst, slot: k, flow: next, reply: oneWay ? false : k & 1 == 1, now: clock)
                next += 1
                if next == traffic.flows { next = 0 }
            }
        }
        pipeline.process(burst, ingress: 0, link: .ethernet)
        clock &+= 1000
        return n
    }
}
