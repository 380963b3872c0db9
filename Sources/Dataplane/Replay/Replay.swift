import FirewallCore
import LinuxIO
import Ports

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

/// Runs every frame of a capture through the pipeline as a worker would: read by a `PcapPort`,
/// decided and forwarded by the worker's own pass (`WorkerPass`), the accepted frames written by
/// the output port; the dropped ones and the verdicts are written as the pass hears them.
public enum Replay {
    public static func run(_ config: ReplayPolicy, _ o: ReplayOptions) throws -> ReplaySummary {
        try run(config, o, reader: PcapReader(path: o.input))
    }

    /// The same, from a reader already open (`o.input` is then only its name).
    public static func run(_ config: ReplayPolicy, _ o: ReplayOptions, reader: PcapReader) throws -> ReplaySummary {
        let capture = try PcapPort(name: "capture", reader: reader, output: nil, maxBurst: o.burst)
        defer { capture.close() }
        let accepted = try PcapPort(
            name: "accepted", reader: nil, output: o.acceptedOutput, outputDLT: reader.dlt,
            maxBurst: o.burst, outputInBackground: true)
        defer { accepted.close() }
        let outputs = ReplayOutputs(
            dropped: try o.droppedOutput.map { try PcapWriter(path: $0, dlt: reader.dlt, inBackground: true) },
            verdicts: try o.verdictsOutput.map { try VerdictWriter(path: $0, policy: config.policy) })
        let pipeline = Pipeline(
            policy: CompiledPolicy(config.policy), conntrack: config.conntrack, burstCapacity: o.burst)
        let rejects = RejectAnswers(burst: o.burst, queues: 1)
        var burst = FrameBurst(capacity: o.burst)
        var forwarder = BurstForwarder(capacity: o.burst)
        defer {
            rejects.deallocate()
            burst.deallocate()
            forwarder.deallocate()
        }
        var ingress = CaptureIngress(o)
        while !capture.inputExhausted {
            _ = WorkerPass.pass(
                from: capture, to: accepted, zeroCopy: false, ingress: &ingress, queue: 0, pipeline,
                rejects, &burst, &forwarder, outputs)
        }
        try accepted.finishOutput()
        try outputs.dropped?.close()
        try outputs.verdicts?.close()
        var summary = ReplaySummary(counters: pipeline.counters)
        summary.inputError = capture.inputError
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

/// What a replay writes beside the accepted frames: the others, and one verdict per frame.
final class ReplayOutputs: DecisionObserver {
    let dropped: PcapWriter?
    let verdicts: VerdictWriter?
    /// Frames of the capture before the current run.
    var framesBefore = 0

    init(dropped: PcapWriter?, verdicts: VerdictWriter?) {
        self.dropped = dropped
        self.verdicts = verdicts
    }

    func decided(_ run: FrameBurst, ingress: Int, link: LinkType) {
        for i in 0..<run.count {
            let verdict = run.verdicts[i]
            if verdict.action != .accept { dropped?.write(run.frame(i), timestamp: run.timestamps[i]) }
            verdicts?.write(index: framesBefore + i, verdict: verdict, port: ingress)
        }
        framesBefore += run.count
    }
}
