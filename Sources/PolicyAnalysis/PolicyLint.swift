import FirewallCore

/// What `vfwall check --lint` says of a rule. Rules are 0-based indexes into `Policy.rules`.
public struct LintFinding: Equatable, Sendable {
    public enum Kind: String, Sendable {
        /// No packet reaches the rule: earlier rules (`others`) take every packet it matches.
        case shadowed
        /// Removing the rule changes no verdict: the later rules in `others` (and the default,
        /// when `byDefault`) decide its packets with the same action.
        case redundant
        /// `tracked: accept` hands established and related packets to conntrack and invalid ones
        /// to `policy.invalid`, so a rule for those states only is never consulted.
        case tracked
        /// Two rules with different actions match some packets in common and neither covers
        /// the other (Al-Shaer's "correlation"): the order decides, which may not be the intent.
        case overlap
    }

    public var kind: Kind
    public var rule: Int
    public var others: [Int]
    public var byDefault = false
    /// For overlaps: a packet both rules match, described in words.
    public var example: String?

    public init(kind: Kind, rule: Int, others: [Int], byDefault: Bool = false, example: String? = nil) {
        self.kind = kind
        self.rule = rule
        self.others = others
        self.byDefault = byDefault
        self.example = example
    }
}

/// The analysis of a policy's rule list: exact over the product of field values a classified
/// packet can have (see `PacketSpace`), so a finding is never wrong; a rule whose analysis
/// would need more than `pieceLimit` boxes is skipped and counted in `undecided`.
///
/// Rules that test a concatenated set are treated conservatively: such a rule's region is a
/// superset of its packets (the concatenation left out), so it covers nothing when later rules
/// are checked for shadowing or redundancy, counts wherever its action could change a verdict,
/// and is in no overlap finding. A finding stays true; some are missed.
public struct PolicyLint: Sendable {
    public var findings: [LintFinding] = []
    public var undecided: [Int] = []
    /// Overlaps are looked for only up to `maxOverlapRules` rules (pairs grow with the square).
    public var overlapsChecked = false

    public static let pieceLimit = 4096
    public static let maxOverlapRules = 2000

    public init(_ policy: Policy) {
        let onlyNew = policy.tracked == .accept
        let spaces = [UInt8(4), 6].map { PacketSpace(family: $0, portCount: policy.portNames.count, onlyNew: onlyNew) }
        let regions = spaces.map { space in policy.rules.map { space.region(of: $0.match) } }
        // What a rule surely takes: nothing claimed for a concatenation (its region is a superset).
        let covers = regions.map { r in r.indices.map { policy.rules[$0].match.concats.isEmpty ? r[$0] : nil } }
        let rules = policy.rules
        var shadowed = Set<Int>()
        for j in rules.indices {
            let m = rules[j].match
            if onlyNew && m.states != 0 && m.states & ConnState.new.bit == 0 {
                findings.append(LintFinding(kind: .tracked, rule: j, others: []))
                continue
            }
            var effective: [Region] = []
            var covering = Set<Int>()
            var decided = true
            for (s, space) in spaces.enumerated() {
                guard let box = regions[s][j] else {
                    effective.append(Region([]))
                    continue
                }
                guard var left = space.possible(box, limit: Self.pieceLimit) else {
                    decided = false
                    break
                }
                for i in 0..<j where !left.isEmpty {
                    guard let earlier = covers[s][i], left.boxes.contains(where: { $0.intersects(earlier) }) else {
                        continue
                    }
                    covering.insert(i)
                    guard let next = left.subtracting(earlier, limit: Self.pieceLimit) else {
                        decided = false
                        break
                    }
                    left = next
                }
                if !decided { break }
                effective.append(left)
            }
            guard decided else {
                undecided.append(j)
                continue
            }
            if effective.allSatisfy(\.isEmpty) {
                shadowed.insert(j)
                findings.append(LintFinding(kind: .shadowed, rule: j, others: covering.sorted()))
                continue
            }
            if let finding = Self.redundancy(j, policy, regions, covers, effective) { findings.append(finding) }
        }
        if rules.count <= Self.maxOverlapRules {
            overlapsChecked = true
            findings += Self.overlaps(policy, spaces, regions, skipping: shadowed)
        }
        findings.sort { ($0.rule, $0.kind.rawValue) < ($1.rule, $1.kind.rawValue) }
    }

    /// Whether every packet rule `j` decides would get the same action without it.
    static func redundancy(
        _ j: Int, _ policy: Policy, _ regions: [[Box?]], _ covers: [[Box?]], _ effective: [Region]
    ) -> LintFinding? {
        let action = policy.rules[j].action
        var deciders = Set<Int>()
        var byDefault = false
        for (s, start) in effective.enumerated() {
            var left = start
            for k in (j + 1)..<max(j + 1, policy.rules.count) where !left.isEmpty {
                guard let later = regions[s][k], left.boxes.contains(where: { $0.intersects(later) }) else { continue }
                if policy.rules[k].action != action { return nil }
                guard let taken = covers[s][k] else { continue }
                deciders.insert(k)
                guard let next = left.subtracting(taken, limit: pieceLimit) else { return nil }
                left = next
            }
            if !left.isEmpty {
                if policy.defaultAction != action { return nil }
                byDefault = true
            }
        }
        return LintFinding(kind: .redundant, rule: j, others: deciders.sorted(), byDefault: byDefault)
    }

    static func overlaps(
        _ policy: Policy, _ spaces: [PacketSpace], _ regions: [[Box?]],
        skipping shadowed: Set<Int>
    ) -> [LintFinding] {
        var out: [LintFinding] = []
        let rules = policy.rules
        for j in rules.indices where !shadowed.contains(j) {
            for i in 0..<j where rules[i].action != rules[j].action && !shadowed.contains(i) {
                guard rules[i].match.concats.isEmpty && rules[j].match.concats.isEmpty else { continue }
                for (s, space) in spaces.enumerated() {
                    guard let a = regions[s][i], let b = regions[s][j], a.intersects(b),
                        let common = space.possible(a.intersection(b), limit: pieceLimit), let box = common.boxes.first,
                        let aOutside = space.possible(a, limit: pieceLimit)?.subtracting(b, limit: pieceLimit),
                        let bOutside = space.possible(b, limit: pieceLimit)?.subtracting(a, limit: pieceLimit),
                        !aOutside.isEmpty, !bOutside.isEmpty
                    else { continue }
                    let example = PacketExample(box, family: space.family, portNames: policy.portNames).description
                    out.append(LintFinding(kind: .overlap, rule: j, others: [i], example: example))
                    break
                }
            }
        }
        return out
    }
}
