import FirewallCore
import LinuxIO

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

/// A policy to replay under, with its flow-table settings and where it came from (messages).
public struct ReplayPolicy: Sendable {
    public var location: String
    public var policy: Policy
    public var conntrack: ConntrackSettings

    public init(location: String, policy: Policy, conntrack: ConntrackSettings) {
        self.location = location
        self.policy = policy
        self.conntrack = conntrack
    }
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
    public static func run(_ config: ReplayPolicy, _ o: ReplayOptions) throws -> ReplaySummary {
        try run(config, o, reader: PcapReader(path: o.input))
    }

    /// The same, from a reader already open (`o.input` is then only its name).
    public static func run(_ config: ReplayPolicy, _ o: ReplayOptions, reader: PcapReader) throws -> ReplaySummary {
        let accepted = try o.acceptedOutput.map { try PcapWriter(path: $0, dlt: reader.dlt, inBackground: true) }
        let dropped = try o.droppedOutput.map { try PcapWriter(path: $0, dlt: reader.dlt, inBackground: true) }
        let verdicts = try o.verdictsOutput.map { try VerdictWriter(path: $0, policy: config.policy) }
        let pipeline = Pipeline(policy: CompiledPolicy(config.policy), conntrack: config.conntrack, burstCapacity: o.burst)
        var summary = ReplaySummary(counters: pipeline.counters)
        summary.inputError = CaptureBursts(reader: reader, options: o).forEach { burst, ingress, first in
            pipeline.process(burst, ingress: ingress, link: reader.linkType)
            for i in 0..<burst.count {
                let v = burst.verdicts[i]
                let output = v.action == .accept ? accepted : dropped
                output?.write(burst.frame(i), timestamp: burst.timestamps[i])
                verdicts?.write(index: first + i, verdict: v, port: ingress)
            }
            return true
        }
        try accepted?.close(); try dropped?.close(); try verdicts?.close()
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
