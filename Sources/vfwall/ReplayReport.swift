import Dataplane
import EngineConfig
import FirewallCore

/// The human summary of a replay: totals, per rule, per reason.
enum ReplayReport {
    static func render(_ s: ReplaySummary, policy: Policy, input: String) -> String {
        var out: [String] = []
        out.append("replay of \(input)")
        out.append("frames \(s.frames) = accepted \(s.accepted) + dropped \(s.dropped) + rejected \(s.rejected)")
        out.append(
            "flows tracked at end \(s.flows) (created \(s.flowsCreated)); "
                + "accepted by conntrack \(s.counters.conntrackAccepted)")
        out.append("")
        out.append("per rule:")
        out += CountersTable.perRule(policy, s.counters)
        out.append("")
        out.append("per reason (not decided by a rule):")
        out += CountersTable.perReason(s.counters)
        return out.joined(separator: "\n")
    }
}
