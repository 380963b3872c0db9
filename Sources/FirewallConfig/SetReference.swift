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
        // One value naming no set, as most rules have: no list to build.
        if case .scalar(let s) = node, !s.string.hasPrefix("@"), !s.string.hasPrefix("!@"),
            !s.tag.description.hasPrefix("!@")
        {
            return nil
        }
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
        guard !set.isConcatenation else {
            let example = set.components.enumerated().map { i, _ in i == 0 ? key : "..." }.joined(separator: " . ")
            throw r.error(
                ref,
                "set '\(name)' holds \(set.typeName) tuples; test it with a key naming \(set.components.count) "
                    + "fields, like '\"\(example)\": \"@\(name)\"'")
        }
        guard field.accepts(set.type) else {
            let address = field == .source || field == .destination
            let wants = field == .proto ? "proto" : (address ? "ipv4 or ipv6" : "port")
            throw r.error(
                ref, "'\(key)' needs a set of type \(wants), but set '\(name)' is of type \(set.type.rawValue)")
        }
        return SetMatch(field, set, negated: negated)
    }

    /// `"dst . dport": "@pairs"` (or `"!@pairs"`): packet fields tested together against a
    /// concatenated set whose components have the fields' types, in order. Refused at the key
    /// when a field is unknown or the set holds other tuples; at the value when it is not one
    /// reference to a declared concatenation.
    func concatReference(_ key: String, _ keyNode: Node, _ value: Node) throws -> ConcatMatch {
        let names = SetElements.splitComponents(Substring(key)).map(String.init)
        var fields: [SetField] = []
        for n in names {
            guard let f = RuleReader.setFields.first(where: { $0.0 == n })?.1 else {
                throw r.error(
                    keyNode, "'\(n)' in '\(key)' is not a field a set can test (src, dst, proto, sport, dport)")
            }
            fields.append(f)
        }
        guard (2...3).contains(fields.count) else {
            throw r.error(keyNode, "'\(key)' joins \(fields.count) fields; a concatenation has 2 or 3")
        }
        if case .scalar(let s) = value, s.tag.description.hasPrefix("!@") {
            throw r.error(value, "quote a set reference, YAML reads a leading '!' as a tag: '\"\(key)\": \"!@name\"'")
        }
        guard case .scalar(let scalar) = value, scalar.string.hasPrefix("@") || scalar.string.hasPrefix("!@") else {
            throw r.error(value, "'\(key)' expects one set reference like \"@name\" or \"!@name\"")
        }
        let negated = scalar.string.hasPrefix("!")
        let name = String(scalar.string.dropFirst(negated ? 2 : 1))
        guard let set = sets[name] else {
            let known = sets.values.filter(\.isConcatenation).map(\.name).sorted()
            let hint =
                known.isEmpty ? "no concatenated sets are declared" : "they are: \(known.joined(separator: ", "))"
            throw r.error(value, "'\(key)' refers to set '\(name)', which is not declared; \(hint)")
        }
        let fits =
            set.components.count == fields.count && zip(fields, set.components).allSatisfy { $0.accepts($1) }
        guard fits else {
            throw r.error(
                keyNode,
                "'\(key)' does not fit set '\(name)', which holds \(set.typeName)"
                    + (set.isConcatenation ? " tuples" : " elements") + "; the fields' types must match its "
                    + "components in order")
        }
        return ConcatMatch(fields, set, negated: negated)
    }
}
