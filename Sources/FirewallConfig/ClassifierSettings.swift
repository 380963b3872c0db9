import FirewallCore
import Yams

/// `classifier:`: limits on the compiled classifier.
public struct ClassifierConfig: Equatable, Sendable {
    /// The most memory the classifier's lookup structures may take. A policy whose estimate is
    /// larger is refused before anything is built (and a reload over it keeps the running policy).
    public var maxMemoryBytes: Int = ClassifierConfig.defaultMaxMemory

    public static let defaultMaxMemory = 1 << 30

    public init() {}

    static let keys = ["max-memory", "comment"]

    /// A size in bytes: a whole number, optionally followed by B, KiB, MiB, GiB or TiB.
    static func parseSize(_ text: String) -> Int? {
        let units: [(String, Int)] = [("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1)]
        var digits = Substring(text), scale = 1
        while digits.last == " " { digits = digits.dropLast() }
        for (suffix, s) in units where digits.hasSuffix(suffix) {
            digits = digits.dropLast(suffix.count)
            scale = s
            break
        }
        while digits.last == " " { digits = digits.dropLast() }
        guard let n = Int(digits), n > 0 else { return nil }
        let (bytes, overflow) = n.multipliedReportingOverflow(by: scale)
        return overflow ? nil : bytes
    }
}

extension ConfigLoader {
    static func readClassifier(_ node: Node, _ r: NodeReader) throws -> ClassifierConfig {
        var c = ClassifierConfig()
        let entries = try r.mapping(node, "'classifier'", allowed: ClassifierConfig.keys)
        for (key, _, v) in entries where key == "max-memory" {
            let expects = "a size such as 1GiB, 512MiB or a number of bytes"
            let s = try r.scalar(v, key, expects: expects)
            guard let bytes = ClassifierConfig.parseSize(s) else {
                throw r.error(v, "'\(key)' expects \(expects), got '\(s)'")
            }
            c.maxMemoryBytes = bytes
        }
        return c
    }

    /// Refuses a policy whose classifier would take more than the limit, at the rules list (or
    /// at the limit, when the file sets one), saying how big it would be.
    static func checkClassifierMemory(
        _ policy: Policy, _ config: ClassifierConfig, at node: Node, _ r: NodeReader
    ) throws {
        let plan = CompiledClassifier.plan(policy.rules.map(\.match))
        guard plan.estimatedBytes <= config.maxMemoryBytes else {
            let e = ClassifierMemoryError(
                estimatedBytes: plan.estimatedBytes, limitBytes: config.maxMemoryBytes, rules: policy.rules.count)
            throw r.error(node, "\(e); raise classifier.max-memory or split the policy")
        }
    }
}
