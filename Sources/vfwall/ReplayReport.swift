import Dataplane
import EngineConfig
import FirewallCore

/// The human summary of a replay: totals, per rule, per reason.
enum ReplayReport {
    static func render(_ s: ReplaySummary, policy: Policy, input: String) -> String {
        var out: [String] = []
        out.append("replay of \(input)")
        out.append("frames \(s.frames) = accepted \(s.accepted) + dropped \(s.dropped) + rejected \(s.rejected)")
        out.append("flows tracked at end \(s.flows) (created \(s.flowsCreated)); accepted by conntrack \(s.counters.conntrackAccepted)")
        out.append("")
        out.append("per rule:")
        let width = max(20, (policy.rules.map(\.name.count).max() ?? 0) + 2)
        for (i, r) in policy.rules.enumerated() {
            let name = r.name + String(repeating: " ", count: max(0, width - r.name.count))
            out.append("  \(pad(String(i), 3))  \(name)\(pad("\(r.action)", 7))\(pad(String(s.counters.ruleHits[i]), 10))")
        }
        let d = "(default)" + String(repeating: " ", count: max(0, width - 9))
        out.append("    -  \(d)\(pad("\(policy.defaultAction)", 7))\(pad(String(s.counters.defaultHits), 10))")
        out.append("")
        out.append("per reason (not decided by a rule):")
        var any = false
        for r in Reason.allCases where r != .none && s.counters.count(r) > 0 {
            any = true
            let kind = r.isMalformed ? "malformed" : "setting"
            out.append("  \(r.name + String(repeating: " ", count: max(0, 34 - r.name.count)))\(pad(kind, 10))\(pad(String(s.counters.count(r)), 10))")
        }
        if !any { out.append("  (none)") }
        return out.joined(separator: "\n")
    }
}
