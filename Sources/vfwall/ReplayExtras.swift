import Dataplane
import EngineConfig
import FirewallCore
import PolicyAnalysis

/// `vfwall replay --compare`'s report: what changed, counted by action and by deciding rule,
/// then the first changed frames.
enum CompareReport {
    static func render(_ s: CompareSummary, old: String, new: String, input: String) -> String {
        var out = [
            "comparison of \(old) (old) and \(new) (new) over \(input)",
            "frames \(s.old.frames); changed \(s.changed)",
            "old: accepted \(s.old.accepted), dropped \(s.old.dropped), rejected \(s.old.rejected)",
            "new: accepted \(s.new.accepted), dropped \(s.new.dropped), rejected \(s.new.rejected)"
        ]
        guard s.changed > 0 else { return (out + ["", "no frame changed verdict"]).joined(separator: "\n") }
        out += ["", "by action:"]
        for (pair, n) in s.byAction.sorted(by: { ($1.value, $0.key) < ($0.value, $1.key) }) {
            out.append("  \(pad(pair, -22))\(pad(String(n), 10))")
        }
        out += ["", "by deciding rule (old -> new):"]
        for (pair, n) in s.byDecider.sorted(by: { ($1.value, $0.key) < ($0.value, $1.key) }) {
            out.append("  \(pad(pair, -46))\(pad(String(n), 10))")
        }
        out += ["", "first changed frames:"]
        for f in s.firstChanged {
            out.append("  \(pad(String(f.index), 7))  \(f.summary)")
            out.append("           old: \(describe(f.old))   new: \(describe(f.new))")
        }
        return out.joined(separator: "\n")
    }

    static func describe(_ v: Verdict) -> String {
        let by =
            v.rule >= 0
            ? "rule \(v.rule)"
            : v.rule == Verdict.byDefault
                ? "default"
                : v.rule == Verdict.byConntrack ? "conntrack" : v.reason.name
        return "\(v.action) by \(by), state \(v.state)"
    }
}

/// `vfwall replay --coverage`: each rule's hits on the capture, and the rules never hit.
enum CoverageReport {
    static func render(_ s: ReplaySummary, policy: Policy) -> String {
        var out = ["coverage: rule hits (first packets of flows, and every packet under tracked: classify)"]
        for (i, r) in policy.rules.enumerated() {
            let hits = s.counters.ruleHits[i]
            out.append(
                "  \(pad(String(i), 3))  \(pad(r.name, -28))\(pad(String(hits), 10))\(hits == 0 ? "  never hit" : "")")
        }
        out.append("    -  \(pad("(default)", -28))\(pad(String(s.counters.defaultHits), 10))")
        let never = policy.rules.indices.filter { s.counters.ruleHits[$0] == 0 }
        out.append("rules never hit: \(never.count) of \(policy.rules.count)")
        return out.joined(separator: "\n")
    }

    /// `--coverage-json`: every rule's hits and the rules never hit.
    static func json(_ s: ReplaySummary, policy: Policy, input: String) -> String {
        struct RuleCoverage: Encodable { let index: Int, name: String, action: String, origin: String, hits: UInt64 }
        struct DefaultCoverage: Encodable { let action: String, hits: UInt64 }
        struct Coverage: Encodable {
            let input: String, frames: UInt64, rules: [RuleCoverage], defaultRule: DefaultCoverage, neverHit: [String]
            enum CodingKeys: String, CodingKey {
                case input, frames, rules, defaultRule = "default", neverHit = "never_hit"
            }
        }
        let rules = policy.rules.enumerated().map { i, r in
            RuleCoverage(index: i, name: r.name, action: "\(r.action)", origin: r.origin, hits: s.counters.ruleHits[i])
        }
        let defaultRule = DefaultCoverage(action: "\(policy.defaultAction)", hits: s.counters.defaultHits)
        return jsonText(
            Coverage(
                input: input, frames: s.frames, rules: rules, defaultRule: defaultRule,
                neverHit: rules.filter { $0.hits == 0 }.map(\.name))) + "\n"
    }
}

/// `vfwall replay --explain N`: the parse, the flow before and after, and every rule's answer
/// from the reference scan (independent of the compiled classifier the pipeline used).
enum ExplainReport {
    static func render(_ e: FrameExplanation, policy: Policy) -> String {
        var out = ["frame \(e.index): \(e.length) bytes on \(port(e.ingress, policy)), time \(e.timestamp) ns"]
        let m = e.meta
        if e.parse != .none {
            out.append("parse: malformed (\(e.parse.name)); no rule sees it")
        } else if m.ipVersion != 4 && m.ipVersion != 6 {
            out.append("parse: not IP; no rule sees it")
        } else {
            var layers = ["IPv\(m.ipVersion)"]
            if m.outerVlan != PacketMeta.untagged { layers.insert("vlan \(m.outerVlan)", at: 0) }
            if m.fragment != .none { layers.append("fragment") }
            out.append("parse: " + layers.joined(separator: ", ") + "; " + flowText(m))
        }
        out.append("flow before: \(flow(e.flowBefore))")
        out.append("flow after:  \(flow(e.flowAfter))")
        out.append("verdict: \(CompareReport.describe(e.verdict))")
        guard e.parse == .none, m.ipVersion == 4 || m.ipVersion == 6, m.fragment != .later else {
            return out.joined(separator: "\n")
        }
        out.append("rules (reference scan, state \(m.state)):")
        var first: Int?
        for (i, r) in policy.rules.enumerated() {
            if let miss = r.match.firstMismatch(m, portNames: policy.portNames) {
                if first == nil {
                    out.append("  \(pad(String(i), 3))  \(pad(r.name, -24)) no: \(miss.field): \(miss.detail)")
                }
            } else if first == nil {
                first = i
                out.append("  \(pad(String(i), 3))  \(pad(r.name, -24)) MATCHES (\(r.action)): the first match")
            } else {
                out.append("  \(pad(String(i), 3))  \(pad(r.name, -24)) would also match (\(r.action))")
            }
        }
        if first == nil { out.append("  no rule matches: the default (\(policy.defaultAction)) applies") }
        let decidedByRules = e.verdict.rule >= 0 || e.verdict.rule == Verdict.byDefault
        if decidedByRules && Int32(first ?? -1) != e.verdict.rule {
            out.append(
                "DISAGREEMENT: the pipeline's classifier gave \(CompareReport.describe(e.verdict)); "
                    + "the reference scan gives \(first.map { "rule \($0)" } ?? "the default"). This is a bug.")
        } else if e.verdict.rule == Verdict.byConntrack {
            out.append("(the rules were not consulted: the tracked flow decided)")
        }
        return out.joined(separator: "\n")
    }

    static func port(_ i: Int, _ policy: Policy) -> String {
        i < policy.portNames.count ? policy.portNames[i] : "port \(i)"
    }

    static func flowText(_ m: PacketMeta) -> String {
        let flags = m.proto == IPProto.tcp && m.hasL4 ? " flags 0x" + String(m.tcpFlags, radix: 16) : ""
        return Replay.describe(m) + flags
    }

    static func flow(_ entry: FlowEntry?) -> String {
        guard let f = entry else { return "none" }
        let replied = f.flags & FlowEntry.seenReply != 0 ? "replied" : "not replied"
        let names: [TCPState: String] = [
            .none: "none", .synSent: "syn_sent", .synRecv: "syn_recv",
            .established: "established", .finWait: "fin_wait", .closeWait: "close_wait",
            .lastAck: "last_ack", .timeWait: "time_wait", .close: "close",
            .synSent2: "syn_sent2"
        ]
        let tcp = f.proto == IPProto.tcp ? "tcp state \(names[f.tcpState] ?? "\(f.tcpState)"), " : ""
        let rule = f.rule >= 0 ? "opened by rule \(f.rule)" : "opened by the default"
        return "\(tcp)\(replied), \(rule), expires at \(f.expires) ns"
    }
}
