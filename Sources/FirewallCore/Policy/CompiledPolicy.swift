/// A policy ready for the fast path: validated, with its classifier built. Built off the fast
/// path (at start and on reload) and handed to workers whole, so a swap is one reference store.
public final class CompiledPolicy {
    public let policy: Policy
    public let classifier: any Classifier
    /// `policy.rules[i].action`, laid out flat for the fast path.
    @usableFromInline let actions: UnsafeMutablePointer<Action>
    public var ruleCount: Int { policy.rules.count }
    /// Whether any rule tests TCP flags: then two TCP segments of one flow may match different
    /// rules, and a flow's first verdict cannot stand for its later segments.
    public let testsTCPFlags: Bool
    /// The policy's settings as plain scalars, read once per burst by the pipeline.
    public let settings: PolicySettings
    /// Whether workers keep their per-rule hit counters when they install this policy: it has
    /// the rules of the one before, in the same order (only a set they test changed).
    public let keepsRuleCounters: Bool

    /// Builds the policy's classifier: the compiled one `CompiledClassifier` picks unless another
    /// is given (the linear-scan `ReferenceClassifier` is the oracle tests compare it with).
    public init(_ policy: Policy, classifier: (any Classifier)? = nil, keepsRuleCounters: Bool = false) {
        self.policy = policy
        self.keepsRuleCounters = keepsRuleCounters
        self.classifier = classifier ?? CompiledClassifier.make(policy.rules.map(\.match))
        testsTCPFlags = policy.rules.contains { $0.match.tcpFlags != nil }
        settings = PolicySettings(policy, testsTCPFlags: testsTCPFlags)
        actions = .allocate(capacity: max(1, policy.rules.count))
        for (i, r) in policy.rules.enumerated() { actions[i] = r.action }
    }

    deinit { actions.deallocate() }

    @inlinable public func action(ofRule i: Int32) -> Action { actions[Int(i)] }
}

/// What the pipeline needs of a policy besides its rules, with no reference inside: copying it
/// per burst costs a few loads, and no retain.
public struct PolicySettings: Sendable {
    public var defaultAction: Action
    public var invalidAction: Action
    public var arpAction: Action
    public var nonIPAction: Action
    public var trackFragments: Bool
    public var trackedBypassRules: Bool
    public var testsTCPFlags: Bool

    init(_ p: Policy, testsTCPFlags: Bool) {
        defaultAction = p.defaultAction
        invalidAction = p.invalidAction
        arpAction = p.arpAction
        nonIPAction = p.nonIPAction
        trackFragments = p.fragments == .track
        trackedBypassRules = p.tracked == .accept
        self.testsTCPFlags = testsTCPFlags
    }
}
