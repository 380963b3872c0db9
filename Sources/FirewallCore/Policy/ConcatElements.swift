/// Elements of concatenated sets: each component in the syntax of a plain set of its type.
extension SetElements {
    /// The separator of a concatenation's components, in types and elements: " . ".
    public static let joiner = " . "

    /// Splits `s` at each "." that has blanks on both sides (addresses and ranges hold none),
    /// blanks around each part dropped.
    public static func splitComponents(_ s: Substring) -> [Substring] {
        var parts: [Substring] = []
        var start = s.startIndex, i = s.startIndex
        while i < s.endIndex {
            let next = s.index(after: i)
            if s[i] == ".", i > s.startIndex, next < s.endIndex,
                s[s.index(before: i)] == " " || s[s.index(before: i)] == "\t", s[next] == " " || s[next] == "\t"
            {
                parts.append(s[start..<i])
                start = next
            }
            i = next
        }
        parts.append(s[start..<s.endIndex])
        return parts.map { p in
            let blank = { (c: Character) in c == " " || c == "\t" }
            let first = p.firstIndex { !blank($0) } ?? p.endIndex
            let last = p.lastIndex { !blank($0) }.map { p.index(after: $0) } ?? first
            return p[first..<max(first, last)]
        }
    }

    /// A concatenation's type written like nftables' ("ipv4 . port"): 2 or 3 of ipv4, ipv6,
    /// port and proto, of one address family. Returns the components or what is wrong.
    public static func concatenation(_ text: String) -> Result<[SetType], SetTypeProblem> {
        let parts = splitComponents(Substring(text))
        func refuse(_ message: String) -> Result<[SetType], SetTypeProblem> {
            .failure(SetTypeProblem(message: message))
        }
        var types: [SetType] = []
        for p in parts {
            guard let t = SetType(rawValue: String(p)) else {
                return refuse("'\(p)' in type '\(text)' is not a set type (ipv4, ipv6, port or proto)")
            }
            types.append(t)
        }
        guard (2...3).contains(types.count) else {
            return refuse("a concatenation has 2 or 3 components joined by ' . ', type '\(text)' has \(types.count)")
        }
        guard !(types.contains(.ipv4) && types.contains(.ipv6)) else {
            return refuse("type '\(text)' mixes IPv4 and IPv6; a concatenation holds one address family")
        }
        return .success(types)
    }

    /// Adds one element of a concatenation, "10.0.0.0/24 . 8000-8080": each component in the
    /// syntax (and with the messages) of a plain set of its type.
    mutating func addTuple(_ s: Substring) -> String? {
        let parts = SetElements.splitComponents(s)
        guard parts.count == components.count else {
            let written = components.map(\.rawValue).joined(separator: SetElements.joiner)
            return "expected \(components.count) components joined by ' . ' (\(written)), got \(parts.count) in '\(s)'"
        }
        var values: [ClosedRange<UInt128>] = []
        for (i, (part, type)) in zip(parts, components).enumerated() {
            var one = SetElements(type)
            if let problem = one.add(part) { return "component \(i + 1) (\(type.rawValue)): \(problem)" }
            guard let r = one.ranges.first else { return "component \(i + 1) (\(type.rawValue)): no value" }
            values.append(r)
        }
        appendTuple(values)
        return nil
    }

    /// What makes a concatenation's elements too costly to build, naming the set; nil when
    /// they fit (`ConcatSetTable.maxListed`).
    public func sizeProblem(set name: String) -> String? {
        NamedSet.sizeProblem(name, width: components.count, tuples: tuples)
    }

    public func build(_ name: String, keepsRuntimeChanges: Bool = false) -> NamedSet {
        guard components.count > 1 else { return buildPlain(name, keepsRuntimeChanges: keepsRuntimeChanges) }
        return NamedSet(name: name, components: components, tuples: tuples, keepsRuntimeChanges: keepsRuntimeChanges)
    }
}

/// What is wrong with a set type as written.
public struct SetTypeProblem: Error, Equatable, Sendable {
    public var message: String
}
