import FirewallCore
import Yams

extension RuleReader {
    static let setFields: [(String, SetField)] = [
        ("src", .source), ("dst", .destination), ("proto", .proto), ("sport", .sourcePort),
        ("dport", .destinationPort)
    ]

    /// `"@name"` or `"!@name"` (alone, or as the only element of a list): the set test of a
    /// field; nil when the value holds no set reference. A reference among other values, an
    /// unknown set and a set of the wrong type are refused at the reference.
    func setReference(_ node: Node, _ key: String) throws -> SetMatch? {
        let nodes = r.list(node)
        for n in nodes {
            // `src: !@trusted` unquoted is a YAML tag on an empty value, not a string.
            if case .scalar(let s) = n, s.tag.description.hasPrefix("!@") {
                throw r.error(n, "quote a set reference, YAML reads a leading '!' as a tag: '\(key): \"!@name\"'")
            }
        }
        let refs = nodes.filter { n in
            if case .scalar(let s) = n { return s.string.hasPrefix("@") || s.string.hasPrefix("!@") }
            return false
        }
        guard let ref = refs.first else { return nil }
        guard nodes.count == 1 else {
            throw r.error(ref, "'\(key)' refers to a set, so the set must be its only value")
        }
        guard case .scalar(let scalar) = ref else { return nil }
        let text = scalar.string
        let negated = text.hasPrefix("!")
        let name = String(text.dropFirst(negated ? 2 : 1))
        guard let set = sets[name] else {
            let known = sets.keys.sorted()
            let hint =
                known.isEmpty ? "no sets are declared under 'sets:'" : "the sets are: \(known.joined(separator: ", "))"
            throw r.error(ref, "'\(key)' refers to set '\(name)', which is not declared; \(hint)")
        }
        let field = RuleReader.setFields.first { $0.0 == key }!.1
        guard field.accepts(set.type) else {
            let address = field == .source || field == .destination
            let wants = field == .proto ? "proto" : (address ? "ipv4 or ipv6" : "port")
            throw r.error(
                ref, "'\(key)' needs a set of type \(wants), but set '\(name)' is of type \(set.type.rawValue)")
        }
        return SetMatch(field, set, negated: negated)
    }
}
