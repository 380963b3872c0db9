import Yams

/// Typed reads from a YAML node that fail with the node's file:line:column.
struct NodeReader {
    let file: String

    func error(_ node: Node?, _ message: String) -> ConfigError {
        let mark = node?.mark
        return ConfigError(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1, message: message)
    }

    /// The entries of a mapping, in order, refusing duplicate keys and keys not in `allowed`.
    /// `alsoAllowed` admits keys of a pattern besides the listed ones (a rule's "dst . dport").
    func mapping(
        _ node: Node, _ what: String, allowed: [String], alsoAllowed: (String) -> Bool = { _ in false }
    ) throws -> [(key: String, keyNode: Node, value: Node)] {
        guard case .mapping(let map) = node else { throw error(node, "\(what) must be a mapping of keys to values") }
        // Labelled as returned: an unlabelled array would be copied element by element on return.
        var out: [(key: String, keyNode: Node, value: Node)] = []
        out.reserveCapacity(map.count)
        for (k, v) in map {
            guard case .scalar(let s) = k else { throw error(k, "keys of \(what) must be plain words") }
            guard allowed.contains(s.string) || alsoAllowed(s.string) else {
                throw error(
                    k, "'\(s.string)' is not a key of \(what); expected one of: \(allowed.joined(separator: ", "))")
            }
            // At most `allowed.count` keys: a scan, not a set built per mapping (one per rule).
            guard !out.contains(where: { $0.key == s.string }) else {
                throw error(k, "'\(s.string)' appears twice in \(what)")
            }
            out.append((s.string, k, v))
        }
        return out
    }

    /// A mapping whose keys are free names (port names): duplicates refused.
    func namedMapping(_ node: Node, _ what: String) throws -> [(key: String, keyNode: Node, value: Node)] {
        guard case .mapping(let map) = node else { throw error(node, "\(what) must be a mapping of names to settings") }
        var out: [(String, Node, Node)] = []
        var seen = Set<String>()
        for (k, v) in map {
            guard case .scalar(let s) = k, !s.string.isEmpty else {
                throw error(k, "names in \(what) must be plain words")
            }
            guard seen.insert(s.string).inserted else { throw error(k, "'\(s.string)' appears twice in \(what)") }
            out.append((s.string, k, v))
        }
        return out
    }

    func scalar(_ node: Node, _ key: String, expects: String) throws -> String {
        guard case .scalar(let s) = node else {
            throw error(node, "'\(key)' expects \(expects), got \(describe(node))")
        }
        return s.string
    }

    /// The elements of a list, or the node itself when a single value is given.
    func list(_ node: Node) -> [Node] {
        if case .sequence(let seq) = node { return Array(seq) }
        return [node]
    }

    func int(_ node: Node, _ key: String, in range: ClosedRange<Int>) throws -> Int {
        let s = try scalar(node, key, expects: "a whole number from \(range.lowerBound) to \(range.upperBound)")
        guard let v = Int(s), range.contains(v) else {
            throw error(
                node, "'\(key)' expects a whole number from \(range.lowerBound) to \(range.upperBound), got '\(s)'")
        }
        return v
    }

    func bool(_ node: Node, _ key: String) throws -> Bool {
        let s = try scalar(node, key, expects: "true or false")
        switch s.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error(node, "'\(key)' expects true or false, got '\(s)'")
        }
    }

    func string(_ node: Node, _ key: String) throws -> String {
        let s = try scalar(node, key, expects: "a string")
        guard !s.isEmpty else { throw error(node, "'\(key)' must not be empty") }
        return s
    }

    func strings(_ node: Node, _ key: String) throws -> [String] {
        try list(node).map { try string($0, key) }
    }

    /// One of a fixed set of words.
    func word<T>(_ node: Node, _ key: String, _ choices: [(String, T)]) throws -> T {
        // The list of names is for the error only (this runs for every rule's action).
        if case .scalar(let s) = node, let hit = choices.first(where: { $0.0 == s.string }) { return hit.1 }
        let names = choices.map(\.0).joined(separator: ", ")
        let s = try scalar(node, key, expects: "one of \(names)")
        guard let hit = choices.first(where: { $0.0 == s }) else {
            throw error(node, "'\(key)' expects one of \(names), got '\(s)'")
        }
        return hit.1
    }

    func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let s): return "'\(s.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }
}
