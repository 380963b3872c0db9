import Dataplane
import EngineConfig
import FirewallCore

/// The final statistics `vfwall run` prints when it stops: ports, workers, rules, reasons.
enum RunReport {
    static func render(_ s: EngineStatistics) -> String {
        let t = s.total
        var out: [String] = []
        out.append("vfwall run of \(s.configFile) (\(s.backend)), \(fixed(s.uptimeSeconds, 1)) s, \(s.reloads) reload(s)")
        out.append("frames \(t.frames) = accepted \(t.count(.accept)) + dropped \(t.count(.drop)) + rejected \(t.count(.reject))")
        out.append("accepted by conntrack \(t.conntrackAccepted); flows tracked at end \(s.flows); reject replies sent \(s.rejectReplies)")
        out.append("")
        out.append("per port:      \(pad("rx", 12))\(pad("tx", 12))\(pad("dropped", 12))\(pad("tx-full", 10))\(pad("errors", 10))")
        for p in s.ports {
            let c = p.counters
            out.append("  \(p.name + String(repeating: " ", count: max(0, 12 - p.name.count)))\(pad(String(c.rx), 12))\(pad(String(c.tx), 12))\(pad(String(c.dropped), 12))\(pad(String(c.txFull), 10))\(pad(String(c.errors), 10))")
        }
        out.append("")
        out.append("per worker:")
        for w in s.workers {
            let c = w.counters
            out.append("  worker \(w.index) (cpu \(w.cpu)): frames \(c?.frames ?? 0), accepted \(c?.count(.accept) ?? 0), dropped \(c?.count(.drop) ?? 0), rejected \(c?.count(.reject) ?? 0), flows \(w.flows)")
        }
        out.append("")
        out.append("per rule (since the policy was installed):")
        let width = max(20, (s.policy.rules.map(\.name.count).max() ?? 0) + 2)
        // A long policy: only the rules that decided something (a table of 1,000 zeros helps no one).
        let quiet: Set<Int> = s.policy.rules.count > 40 ? Set((0..<s.policy.rules.count).filter { t.ruleHits[$0] == 0 }) : []
        for (i, r) in s.policy.rules.enumerated() where !quiet.contains(i) {
            let name = r.name + String(repeating: " ", count: max(0, width - r.name.count))
            out.append("  \(pad(String(i), 3))  \(name)\(pad("\(r.action)", 7))\(pad(String(t.ruleHits[i]), 10))")
        }
        let d = "(default)" + String(repeating: " ", count: max(0, width - 9))
        out.append("    -  \(d)\(pad("\(s.policy.defaultAction)", 7))\(pad(String(t.defaultHits), 10))")
        if !quiet.isEmpty { out.append("  (\(quiet.count) rules without hits not shown; `vfwall stats` lists every rule)") }
        out.append("")
        out.append("per reason (not decided by a rule):")
        let reasons = Reason.allCases.filter { $0 != .none && t.count($0) > 0 }
        for r in reasons {
            out.append("  \(r.name + String(repeating: " ", count: max(0, 34 - r.name.count)))\(pad(r.isMalformed ? "malformed" : "setting", 10))\(pad(String(t.count(r)), 10))")
        }
        if reasons.isEmpty { out.append("  (none)") }
        return out.joined(separator: "\n")
    }
}
