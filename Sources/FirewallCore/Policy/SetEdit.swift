/// A change to one named set while the firewall runs (`vfwall set add|del|flush`).
public enum SetEdit: Sendable {
    /// The set gains these elements' keys (elements already covered change nothing).
    case add(SetElements)
    /// The set loses every key these elements cover (a prefix removes all its addresses, also
    /// from a larger prefix of the set, which is then split).
    case delete(SetElements)
    /// The set becomes empty.
    case flush
}

extension NamedSet {
    /// The set after `edit`, built anew with its own tables. This one is left as it is: workers
    /// may still be reading it until they install the policy that refers to the new one.
    /// Throws when the elements are of another type than the set's.
    public func applying(_ edit: SetEdit) throws(SetEditError) -> NamedSet {
        if isConcatenation { return try applyingToTuples(edit) }
        switch edit {
        case .flush:
            return NamedSet(name: name, type: type, ranges: [], keepsRuntimeChanges: keepsRuntimeChanges)
        case .add(let e):
            guard e.components == components else { throw .wrongType(set: name, type: type, given: e.type) }
            return NamedSet(
                name: name, type: type, ranges: ranges + e.ranges, keepsRuntimeChanges: keepsRuntimeChanges)
        case .delete(let e):
            guard e.components == components else { throw .wrongType(set: name, type: type, given: e.type) }
            let kept = NamedSet.subtract(NamedSet.merged(e.ranges), from: ranges)
            return NamedSet(name: name, type: type, ranges: kept, keepsRuntimeChanges: keepsRuntimeChanges)
        }
    }

    /// A set of `type` holding `ranges` (keys as in `ranges`: any order, overlaps merged).
    public convenience init(
        name: String, type: SetType, ranges: [ClosedRange<UInt128>], keepsRuntimeChanges: Bool = false
    ) {
        switch type {
        case .ipv4:
            let v4 = ranges.map {
                UInt32(truncatingIfNeeded: $0.lowerBound)...UInt32(truncatingIfNeeded: $0.upperBound)
            }
            self.init(name: name, v4Ranges: v4, keepsRuntimeChanges: keepsRuntimeChanges)
        case .ipv6:
            self.init(name: name, v6Ranges: ranges, keepsRuntimeChanges: keepsRuntimeChanges)
        case .port:
            let ports = ranges.map {
                PortRange(UInt16(truncatingIfNeeded: $0.lowerBound), UInt16(truncatingIfNeeded: $0.upperBound))
            }
            self.init(name: name, ports: ports, keepsRuntimeChanges: keepsRuntimeChanges)
        case .proto:
            let protocols = ranges.flatMap { r in
                (Int(truncatingIfNeeded: r.lowerBound)...Int(truncatingIfNeeded: r.upperBound)).map {
                    UInt8(truncatingIfNeeded: $0)
                }
            }
            self.init(name: name, protocols: protocols, keepsRuntimeChanges: keepsRuntimeChanges)
        }
    }

    /// `ranges` sorted, overlapping and adjacent ones joined.
    static func merged(_ ranges: [ClosedRange<UInt128>]) -> [ClosedRange<UInt128>] {
        var out: [ClosedRange<UInt128>] = []
        for r in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = out.last, last.upperBound == .max || r.lowerBound <= last.upperBound + 1 {
                out[out.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
            } else {
                out.append(r)
            }
        }
        return out
    }

    /// The keys of `kept` (sorted, disjoint) that no range of `removed` (sorted, disjoint)
    /// covers: one pass over both.
    static func subtract(
        _ removed: [ClosedRange<UInt128>], from kept: [ClosedRange<UInt128>]
    ) -> [ClosedRange<UInt128>] {
        var out: [ClosedRange<UInt128>] = []
        out.reserveCapacity(kept.count + removed.count)
        var j = 0
        for r in kept {
            var lo = r.lowerBound
            var open = true
            while j < removed.count && removed[j].upperBound < lo { j += 1 }
            var k = j
            while open && k < removed.count && removed[k].lowerBound <= r.upperBound {
                let cut = removed[k]
                if cut.lowerBound > lo { out.append(lo...(cut.lowerBound - 1)) }
                if cut.upperBound >= r.upperBound {
                    open = false
                } else {
                    lo = cut.upperBound + 1
                    k += 1
                }
            }
            if open { out.append(lo...r.upperBound) }
        }
        return out
    }
}

extension SetElements {
    /// The elements as key ranges (IPv4 addresses, ports and protocols as small numbers), the
    /// form of `NamedSet.ranges`.
    public var ranges: [ClosedRange<UInt128>] {
        switch type {
        case .ipv4: return v4.map { UInt128($0.lowerBound)...UInt128($0.upperBound) }
        case .ipv6: return v6
        case .port: return ports.map { UInt128($0.lo)...UInt128($0.hi) }
        case .proto: return protocols.map { UInt128($0)...UInt128($0) }
        }
    }
}

extension Policy {
    /// The policy with `set` in place of the set of the same name, in `sets` and in every rule
    /// that tests it; the other sets are shared, not copied.
    public func replacing(set: NamedSet) -> Policy {
        var p = self
        p.sets = sets.map { $0.name == set.name ? set : $0 }
        for i in p.rules.indices where p.rules[i].match.sets.contains(where: { $0.set.name == set.name }) {
            for k in p.rules[i].match.sets.indices where p.rules[i].match.sets[k].set.name == set.name {
                p.rules[i].match.sets[k].set = set
            }
        }
        for i in p.rules.indices where p.rules[i].match.concats.contains(where: { $0.set.name == set.name }) {
            for k in p.rules[i].match.concats.indices where p.rules[i].match.concats[k].set.name == set.name {
                p.rules[i].match.concats[k].set = set
            }
        }
        return p
    }

    /// The policy a reload installs: this one (read from the file), where each set marked
    /// `keep-runtime` also holds the keys of the running set of the same name and type; and a
    /// note for each set whose running keys could not be kept (the reload's answer says so).
    public func keepingRuntimeSets(of running: Policy) -> (policy: Policy, notes: [String]) {
        var p = self
        var notes: [String] = []
        for s in sets where s.keepsRuntimeChanges {
            guard let old = running.sets.first(where: { $0.name == s.name && $0.components == s.components }) else {
                continue
            }
            let tuples = s.tuples + old.tuples
            // Each part fit its size bound; a union that does not keeps the file's set.
            let width = s.components.count
            if s.isConcatenation, let problem = NamedSet.sizeProblem(s.name, width: width, tuples: tuples) {
                notes.append("\(problem) with its running elements kept; it holds the file's elements only")
                continue
            }
            let both =
                s.isConcatenation
                ? NamedSet(name: s.name, components: s.components, tuples: tuples, keepsRuntimeChanges: true)
                : NamedSet(name: s.name, type: s.type, ranges: s.ranges + old.ranges, keepsRuntimeChanges: true)
            p = p.replacing(set: both)
        }
        return (p, notes)
    }
}

/// A runtime set change that cannot apply.
public enum SetEditError: Error, Equatable, CustomStringConvertible {
    case wrongType(set: String, type: SetType, given: SetType)
    case wrongComponents(set: String, type: String, given: String)
    case tooLarge(String)

    public var description: String {
        switch self {
        case let .wrongType(set, type, given):
            return "set '\(set)' holds \(type.rawValue) elements, not \(given.rawValue)"
        case .tooLarge(let problem): return problem
        case let .wrongComponents(set, type, given):
            return "set '\(set)' holds \(type) elements, not \(given)"
        }
    }
}
