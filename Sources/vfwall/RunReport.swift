import Dataplane
import EngineConfig
import FirewallCore

/// The final statistics `vfwall run` prints when it stops: ports, workers, rules, reasons.
enum RunReport {
    static func render(_ s: EngineStatistics) -> String {
        let t = s.total
        var out: [String] = []
        out.append(
            "vfwall run of \(s.configFile) (\(s.backend)), \(fixed(s.uptimeSeconds, 1)) s, "
                + "\(s.reloads) reload(s)")
        out.append(
            "frames \(t.frames) = accepted \(t.count(.accept)) + dropped \(t.count(.drop)) "
                + "+ rejected \(t.count(.reject))")
        out.append(
            "accepted by conntrack \(t.conntrackAccepted); flows tracked at end \(s.flows); "
                + "reject replies sent \(s.rejectReplies)")
        out.append("")
        out.append(
            "per port:      \(pad("rx", 12))\(pad("tx", 12))\(pad("dropped", 12))"
                + "\(pad("tx-full", 10))\(pad("errors", 10))")
        for p in s.ports {
            let c = p.counters
            out.append(
                "  \(pad(p.name, -12))\(pad(String(c.rx), 12))\(pad(String(c.tx), 12))"
                    + pad(String(c.dropped), 12)
                    + "\(pad(String(c.txFull), 10))\(pad(String(c.errors), 10))")
        }
        out.append("")
        out.append("per worker:")
        for w in s.workers {
            let c = w.counters
            out.append(
                "  worker \(w.index) (cpu \(w.cpu)): frames \(c?.frames ?? 0), "
                    + "accepted \(c?.count(.accept) ?? 0), dropped \(c?.count(.drop) ?? 0), "
                    + "rejected \(c?.count(.reject) ?? 0), flows \(w.flows)")
        }
        out.append("")
        out.append("per rule (since the policy was installed):")
        out += CountersTable.perRule(s.policy, t, listEveryRuleUpTo: 40)
        out.append("")
        out.append("per reason (not decided by a rule):")
        out += CountersTable.perReason(t)
        return out.joined(separator: "\n")
    }
}
