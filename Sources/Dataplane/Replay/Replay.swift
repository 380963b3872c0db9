import FirewallConfig
import FirewallCore

/// What to replay and where to put the results.
public struct ReplayOptions {
    public var input: String
    public var acceptedOutput: String?
    public var droppedOutput: String?
    public var verdictsOutput: String?
    /// Port every frame enters on, unless its source MAC is listed in `ingressByMAC`.
    public var ingress: Int = 0
    public var ingressByMAC: [(mac: [UInt8], port: Int)] = []
    public var burst: Int = 32

    public init(input: String) { self.input = input }
}

/// The outcome of a replay. `frames == accepted + dropped + rejected`, always.
public struct ReplaySummary {
    public var frames: UInt64 = 0
    public var counters: PipelineCounters
    public var flows: Int = 0
    public var flowsCreated: UInt64 = 0
    /// Set when the input was damaged part way: the frames before the damage are still counted.
    public var inputError: String?
    public var accepted: UInt64 { counters.count(.accept) }
    public var dropped: UInt64 { counters.count(.drop) }
    public var rejected: UInt64 { counters.count(.reject) }
}

/// Runs every frame of a capture through the pipeline, in bursts, as a worker would.
public enum Replay {
    public static func run(_ config: Configuration, _ o: ReplayOptions) throws -> ReplaySummary {
        try run(config, o, reader: PcapReader(path: o.input))
    }

    /// The same, from a reader already open (`o.input` is then only its name).
    public static func run(_ config: Configuration, _ o: ReplayOptions, reader: PcapReader) throws -> ReplaySummary {
        let accepted = try o.acceptedOutput.map { try PcapWriter(path: $0, dlt: reader.dlt) }
        let dropped = try o.droppedOutput.map { try PcapWriter(path: $0, dlt: reader.dlt) }
        let verdicts = try o.verdictsOutput.map { try VerdictWriter(path: $0, policy: config.policy) }
        let policy = CompiledPolicy(config.policy)
        let pipeline = Pipeline(policy: policy, conntrack: config.conntrack, burstCapacity: o.burst)
        var burst = FrameBurst(capacity: o.burst)
        defer { burst.deallocate() }
        // pcap_next_ex reuses its buffer: frames of a burst are copied into this arena.
        let arenaStride = PcapRecord.maxFrame
        let arena = UnsafeMutableRawPointer.allocate(byteCount: arenaStride * o.burst, alignment: 64)
        defer { arena.deallocate() }
        var burstIngress = o.ingress
        var index = 0
        var summary = ReplaySummary(counters: pipeline.counters)

        func flush() {
            guard burst.count > 0 else { return }
            pipeline.process(burst, ingress: burstIngress, link: reader.linkType)
            for i in 0..<burst.count {
                let v = burst.verdicts[i]
                let frame = burst.frame(i)
                if v.action == .accept { accepted?.write(frame, timestamp: burst.timestamps[i]) } else { dropped?.write(frame, timestamp: burst.timestamps[i]) }
                verdicts?.write(index: index, verdict: v, port: burstIngress)
                index += 1
            }
            burst.count = 0
        }

        while true {
            let next: (bytes: UnsafeRawBufferPointer, timestamp: UInt64)?
            do { next = try reader.next() } catch {
                summary.inputError = "\(error)"
                break
            }
            guard let (bytes, ts) = next else { break }
            let port = ingressPort(bytes, reader.linkType, o)
            if port != burstIngress || burst.count == burst.capacity { flush(); burstIngress = port }
            let slot = arena + arenaStride * burst.count
            let n = min(bytes.count, arenaStride)
            if n > 0 { slot.copyMemory(from: bytes.baseAddress!, byteCount: n) }
            burst.frames[burst.count] = UnsafeRawPointer(slot)
            burst.lengths[burst.count] = Int32(truncatingIfNeeded: n)   // n <= arenaStride
            burst.timestamps[burst.count] = ts
            burst.count += 1
        }
        flush()
        accepted?.flush(); dropped?.flush(); verdicts?.flush()
        summary.counters = pipeline.counters
        summary.frames = pipeline.counters.frames
        summary.flows = pipeline.conntrack.count
        summary.flowsCreated = pipeline.conntrack.created
        return summary
    }

    static func ingressPort(_ frame: UnsafeRawBufferPointer, _ link: LinkType, _ o: ReplayOptions) -> Int {
        guard link == .ethernet, frame.count >= 12, !o.ingressByMAC.isEmpty else { return o.ingress }
        for (mac, port) in o.ingressByMAC where mac.elementsEqual(frame[6..<12]) { return port }
        return o.ingress
    }
}
