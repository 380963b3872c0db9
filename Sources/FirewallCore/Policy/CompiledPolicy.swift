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

    /// Builds the policy's classifier: the compiled one unless another is given (the linear-scan
    /// `ReferenceClassifier` is the oracle tests compare it with).
    public init(_ policy: Policy, classifier: (any Classifier)? = nil) {
        self.policy = policy
        self.classifier = classifier ?? BitVectorClassifier(rules: policy.rules)
        testsTCPFlags = policy.rules.contains { $0.match.tcpFlags != nil }
        actions = .allocate(capacity: max(1, policy.rules.count))
        for (i, r) in policy.rules.enumerated() { actions[i] = r.action }
    }

    deinit { actions.deallocate() }

    @inlinable public func action(ofRule i: Int32) -> Action { actions[Int(i)] }
}
