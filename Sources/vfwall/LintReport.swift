import FirewallCore
import PolicyAnalysis

/// `vfwall check --lint`'s text: one line per finding, rules named with where they were written.
enum LintReport {
    static func render(_ lint: PolicyLint, policy: Policy) -> String {
        func name(_ i: Int) -> String {
            let r = policy.rules[i]
            return "\(i) '\(r.name)' (\(r.action))"
        }
        func names(_ rules: [Int]) -> String { rules.map(name).joined(separator: ", ") }
        var lines = ["lint: \(lint.findings.count) finding\(lint.findings.count == 1 ? "" : "s")"]
        for f in lint.findings {
            let rule = policy.rules[f.rule]
            let at = rule.origin.isEmpty ? "" : " at \(rule.origin)"
            switch f.kind {
            case .shadowed:
                let by =
                    f.others.isEmpty ? "it matches no packet" : "earlier rules take all its packets: \(names(f.others))"
                lines.append("  shadowed   rule \(name(f.rule))\(at): \(by)")
            case .redundant:
                var by = f.others.isEmpty ? [] : [names(f.others)]
                if f.byDefault { by.append("the default (\(policy.defaultAction))") }
                lines.append(
                    "  redundant  rule \(name(f.rule))\(at): removing it changes no verdict (only its hit count); "
                        + "its packets get the same action from \(by.joined(separator: " and "))")
            case .tracked:
                lines.append(
                    "  tracked    rule \(name(f.rule))\(at): never consulted; with tracked: accept the rules "
                        + "see only new packets (established and related are accepted, invalid get policy.invalid)")
            case .overlap:
                let other = f.others.first ?? 0
                lines.append(
                    "  overlap    rules \(name(other)) and \(name(f.rule))\(at) overlap and neither covers the "
                        + "other; rule \(other) decides, e.g. \(f.example ?? "")")
            }
        }
        if !lint.undecided.isEmpty {
            lines.append(
                "  (not analysed, too many pieces: rules \(lint.undecided.map(String.init).joined(separator: ", ")))")
        }
        if !lint.overlapsChecked {
            lines.append("  (overlaps are looked for in policies of at most \(PolicyLint.maxOverlapRules) rules)")
        }
        return lines.joined(separator: "\n")
    }
}
