/// Packet fields tested together against a concatenated set: `"dst . dport": "@backends"`, or
/// `"!@pairs"` (`negated`). The fields' types match the set's components, in order.
public struct ConcatMatch: Hashable, Sendable, CustomStringConvertible {
    public var fields: [SetField]
    public var negated: Bool
    public var set: NamedSet

    public init(_ fields: [SetField], _ set: NamedSet, negated: Bool = false) {
        self.fields = fields
        self.set = set
        self.negated = negated
    }

    public static func == (a: ConcatMatch, b: ConcatMatch) -> Bool {
        a.fields == b.fields && a.negated == b.negated && a.set === b.set
    }

    public func hash(into h: inout Hasher) {
        h.combine(fields)
        h.combine(negated)
        h.combine(ObjectIdentifier(set))
    }

    /// The rule key: the fields joined by " . ".
    public var key: String { fields.map(\.description).joined(separator: " . ") }

    public var description: String { "\(key): \(negated ? "!" : "")@\(set.name)" }

    /// As for plain sets: a concatenation with an address component tests only packets of its
    /// family, with a port component only packets with ports (negated or not); inside that, the
    /// tuple of the packet's values is in the set (`negated`: is not).
    public func matches(_ m: PacketMeta) -> Bool {
        SetTest(self).matches(m)
    }
}
