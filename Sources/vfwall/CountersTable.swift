import FirewallCore

/// The per-rule and per-reason tables of `vfwall run`'s final report and `vfwall replay`'s
/// summary: one printer, so the two keep the same columns.
enum CountersTable {
    /// One line per rule (index, name, action, hits), then the default's. A policy longer than
    /// `listEveryRuleUpTo` shows only the rules that decided something, and says how many it left
    /// out (a table of 1,000 zeros helps no one).
    static func perRule(_ policy: Policy, _ counters: PipelineCounters, listEveryRuleUpTo: Int = Int.max) -> [String] {
        let nameWidth = max(20, (policy.rules.map(\.name.count).max() ?? 0) + 2)
        let hidden =
            policy.rules.count > listEveryRuleUpTo
            ? Set(policy.rules.indices.filter { counters.ruleHits[$0] == 0 }) : []
        var lines: [String] = []
        for (i, rule) in policy.rules.enumerated() where !hidden.contains(i) {
            lines.append(
                "  \(pad(String(i), 3))  \(pad(rule.name, -nameWidth))\(pad("\(rule.action)", 7))"
                    + pad(String(counters.ruleHits[i]), 10))
        }
        lines.append(
            "    -  \(pad("(default)", -nameWidth))\(pad("\(policy.defaultAction)", 7))"
                + pad(String(counters.defaultHits), 10))
        if !hidden.isEmpty {
            lines.append("  (\(hidden.count) rules without hits not shown; `vfwall stats` lists every rule)")
        }
        return lines
    }

    /// One line per reason that decided a frame without a rule (malformed, or a setting).
    static func perReason(_ counters: PipelineCounters) -> [String] {
        let lines = Reason.allCases.filter { $0 != .none && counters.count($0) > 0 }.map { reason in
            "  \(pad(reason.name, -34))\(pad(reason.isMalformed ? "malformed" : "setting", 10))"
                + pad(String(counters.count(reason)), 10)
        }
        return lines.isEmpty ? ["  (none)"] : lines
    }
}
