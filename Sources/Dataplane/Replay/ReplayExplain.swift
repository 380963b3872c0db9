import FirewallCore
import LinuxIO

/// One frame of a replay, taken apart: how it parsed, its flow before and after it, and the
/// verdict the pipeline gave (`vfwall replay --explain`).
public struct FrameExplanation {
    public var index: Int
    public var ingress: Int
    public var timestamp: UInt64
    public var length: Int
    public var link: LinkType
    /// `.none` when the frame parsed; else the reason it is malformed.
    public var parse: Reason
    /// The parsed fields, with `ingress` and the conntrack `state` the frame was classified in.
    public var meta: PacketMeta
    /// The frame's flow entry just before and just after it (nil: no live flow).
    public var flowBefore: FlowEntry?
    public var flowAfter: FlowEntry?
    public var verdict: Verdict
}

extension Replay {
    /// Replays the capture up to frame `index` (0-based, as in `--verdicts`), which runs alone
    /// in its burst, and explains it; nil when the capture has fewer frames.
    public static func explain(_ config: ReplayPolicy, _ o: ReplayOptions, frame index: Int) throws -> FrameExplanation?
    {
        let reader = try PcapReader(path: o.input)
        let pipeline = Pipeline(
            policy: CompiledPolicy(config.policy), conntrack: config.conntrack, burstCapacity: o.burst)
        var found: FrameExplanation?
        let table = pipeline.conntrack.table

        func liveFlow(_ key: FlowKey, at time: UInt64) -> FlowEntry? {
            let slot = table.find(key)
            guard slot >= 0 else { return nil }
            let entry = table[slot]
            return entry.expires > time ? entry : nil
        }

        let error = try CaptureBursts(reader: reader, options: o, isolating: index).forEach { burst, ingress, first in
            guard first == index else {
                pipeline.process(burst, ingress: ingress, link: reader.linkType)
                return true
            }
            var meta = PacketMeta()
            let reason = Parser.parseAny(burst.frame(0), link: reader.linkType, into: &meta)
            let key = Conntrack.key(for: meta)
            let time = burst.timestamps[0]
            let before = reason == .none ? liveFlow(key, at: time) : nil
            pipeline.process(burst, ingress: ingress, link: reader.linkType)
            let verdict = burst.verdicts[0]
            meta.ingress = UInt8(truncatingIfNeeded: ingress)
            meta.state = verdict.state
            found = FrameExplanation(
                index: index, ingress: ingress, timestamp: time, length: Int(burst.lengths[0]),
                link: reader.linkType, parse: reason, meta: meta, flowBefore: before,
                flowAfter: reason == .none ? liveFlow(key, at: time) : nil, verdict: verdict)
            return false
        }
        if found == nil, let error {
            throw PcapError(path: o.input, message: "unreadable before frame \(index): \(error)")
        }
        return found
    }
}
