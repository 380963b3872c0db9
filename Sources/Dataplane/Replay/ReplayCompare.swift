import FirewallCore
import LinuxIO

/// Where `Replay.compare` puts what it found.
public struct CompareOptions {
    /// Frames whose verdict changed, as a capture.
    public var changedOutput: String?
    /// One JSON line per frame with both verdicts.
    public var verdictsOutput: String?
    /// How many changed frames to describe in `CompareSummary.firstChanged`.
    public var describe = 10

    public init() {}
}

/// A frame whose verdict differs between the two policies.
public struct ChangedFrame {
    public var index: Int
    public var ingress: Int
    /// "tcp 10.0.0.1:1234 -> 192.0.2.1:80", or the reason the frame did not parse.
    public var summary: String
    public var old: Verdict
    public var new: Verdict
}

/// Both replays' outcomes and what changed between them.
public struct CompareSummary {
    public var old: ReplaySummary
    public var new: ReplaySummary
    public var changed = 0
    /// Changed frames by (old action, new action).
    public var byAction: [String: Int] = [:]
    /// Changed frames by (who decided under the old policy, who under the new): rule names,
    /// "(default)", "(conntrack)" or the reason a setting decided.
    public var byDecider: [String: Int] = [:]
    public var firstChanged: [ChangedFrame] = []
}

extension Replay {
    /// Replays one capture through two policies side by side, each with its own conntrack, and
    /// reports every frame whose verdict (action or deciding rule) differs.
    public static func compare(
        _ old: ReplayPolicy, _ new: ReplayPolicy, _ o: ReplayOptions,
        _ c: CompareOptions
    ) throws -> CompareSummary {
        guard old.policy.portNames == new.policy.portNames else {
            throw PcapError(
                path: new.location,
                message: "its ports (\(new.policy.portNames.joined(separator: ", "))) differ "
                    + "from \(old.location)'s (\(old.policy.portNames.joined(separator: ", "))); a comparison needs "
                    + "the same ports"
            )
        }
        let reader = try PcapReader(path: o.input)
        let changedOut = try c.changedOutput.map { try PcapWriter(path: $0, dlt: reader.dlt, inBackground: true) }
        let verdicts = try c.verdictsOutput.map {
            try VerdictWriter(path: $0, policy: new.policy, oldPolicy: old.policy)
        }
        let before = Pipeline(policy: CompiledPolicy(old.policy), conntrack: old.conntrack, burstCapacity: o.burst)
        let after = Pipeline(policy: CompiledPolicy(new.policy), conntrack: new.conntrack, burstCapacity: o.burst)
        var oldVerdicts = [Verdict](repeating: Verdict(), count: o.burst)
        // Counted by number while replaying, named once at the end: a changed frame costs a
        // hash of two words, not two strings.
        var actionPairs = [Int](repeating: 0, count: 9)
        var deciderPairs: [Int64: Int] = [:]
        var summary = CompareSummary(
            old: ReplaySummary(counters: before.counters), new: ReplaySummary(counters: after.counters))
        let inputError = try CaptureBursts(reader: reader, options: o).forEach { burst, ingress, first in
            before.process(burst, ingress: ingress, link: reader.linkType)
            for i in 0..<burst.count { oldVerdicts[i] = burst.verdicts[i] }
            after.process(burst, ingress: ingress, link: reader.linkType)
            for i in 0..<burst.count {
                let was = oldVerdicts[i], now = burst.verdicts[i]
                verdicts?.writePair(index: first + i, old: was, new: now, port: ingress)
                guard was.action != now.action || was.rule != now.rule else { continue }
                summary.changed += 1
                actionPairs[Int(was.action.rawValue) * 3 + Int(now.action.rawValue)] += 1
                deciderPairs[deciderKey(was) << 32 | deciderKey(now), default: 0] += 1
                changedOut?.write(burst.frame(i), timestamp: burst.timestamps[i])
                if summary.firstChanged.count < c.describe {
                    let text = describe(burst.frame(i), link: reader.linkType)
                    summary.firstChanged.append(
                        ChangedFrame(
                            index: first + i, ingress: ingress, summary: text,
                            old: was, new: now))
                }
            }
            return true
        }
        try changedOut?.close()
        try verdicts?.close()
        for (i, n) in actionPairs.enumerated() where n > 0 {
            summary.byAction["\(Action(rawValue: UInt8(i / 3))!) -> \(Action(rawValue: UInt8(i % 3))!)"] = n
        }
        for (key, n) in deciderPairs {
            let was = deciderVerdict(key >> 32), now = deciderVerdict(key & 0xFFFF_FFFF)
            summary.byDecider["\(decider(was, old.policy)) -> \(decider(now, new.policy))", default: 0] += n
        }
        for (side, pipeline) in [(0, before), (1, after)] {
            var s = ReplaySummary(counters: pipeline.counters)
            s.frames = pipeline.counters.frames
            s.flows = pipeline.conntrack.count
            s.flowsCreated = pipeline.conntrack.created
            s.inputError = inputError
            if side == 0 { summary.old = s } else { summary.new = s }
        }
        return summary
    }

    /// Who decided, as a number: a rule index, or a marker, or a setting's reason (32 bits).
    static func deciderKey(_ v: Verdict) -> Int64 {
        if v.rule >= Verdict.bySetting + 1 { return Int64(v.rule) + 3 }
        return 1 << 24 | Int64(v.reason.rawValue)
    }

    static func deciderVerdict(_ key: Int64) -> Verdict {
        if key & (1 << 24) != 0 { return Verdict(reason: Reason(rawValue: UInt8(key & 0xFF)) ?? .none) }
        return Verdict(rule: Int32(key - 3))
    }

    /// Who decided a verdict, in words.
    public static func decider(_ v: Verdict, _ policy: Policy) -> String {
        if v.rule >= 0 && Int(v.rule) < policy.rules.count { return policy.rules[Int(v.rule)].name }
        if v.rule == Verdict.byDefault { return "(default)" }
        if v.rule == Verdict.byConntrack { return "(conntrack)" }
        return "(\(v.reason.name))"
    }

    /// A frame's 5-tuple in words, or the reason it does not parse.
    public static func describe(_ frame: UnsafeRawBufferPointer, link: LinkType) -> String {
        var m = PacketMeta()
        let reason = Parser.parseAny(frame, link: link, into: &m)
        guard reason == .none else { return "(\(reason.name))" }
        guard m.ipVersion == 4 || m.ipVersion == 6 else { return "(not IP)" }
        return describe(m)
    }

    /// A parsed IP packet's 5-tuple (and ICMP type and code) in words.
    public static func describe(_ m: PacketMeta) -> String {
        let names: [UInt8: String] = [1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6", 132: "sctp"]
        let proto = names[m.proto] ?? "proto \(m.proto)"
        let sep = m.isV6 ? " port " : ":"
        let src = m.src.text(v6: m.isV6) + (m.hasPorts ? "\(sep)\(m.sport)" : "")
        let dst = m.dst.text(v6: m.isV6) + (m.hasPorts ? "\(sep)\(m.dport)" : "")
        let icmp = m.hasICMP ? " type \(m.icmpType) code \(m.icmpCode)" : ""
        return "\(proto) \(src) -> \(dst)\(icmp)"
    }
}
