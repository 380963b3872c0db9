/// Runtime changes of concatenated sets: the same verbs as for plain sets, on tuples. A `del`
/// removes every tuple its elements cover (an element is a box, one range per component), so
/// deleting `10.0.0.1 . 443` from `10.0.0.0/24 . 443` leaves the rest of the /24 with 443.
extension NamedSet {
    func applyingToTuples(_ edit: SetEdit) throws(SetEditError) -> NamedSet {
        let elements: SetElements
        switch edit {
        case .flush:
            return NamedSet(name: name, components: components, tuples: [], keepsRuntimeChanges: keepsRuntimeChanges)
        case .add(let e), .delete(let e): elements = e
        }
        guard elements.components == components else {
            throw .wrongComponents(
                set: name, type: typeName, given: elements.components.map(\.rawValue).joined(separator: " . "))
        }
        var kept = tuples
        if case .delete = edit {
            kept = NamedSet.subtract(tuples: elements.tuples, from: kept, width: components.count)
        } else {
            kept += elements.tuples
        }
        if let problem = NamedSet.sizeProblem(name, width: components.count, tuples: kept) {
            throw .tooLarge(problem)
        }
        return NamedSet(name: name, components: components, tuples: kept, keepsRuntimeChanges: keepsRuntimeChanges)
    }

    static func sizeProblem(_ name: String, width: Int, tuples: [ClosedRange<UInt128>]) -> String? {
        if tuples.count / max(1, width) > SetElements.maxElements {
            return "set '\(name)' would have more than \(SetElements.maxElements) elements"
        }
        let listed = ConcatSetTable.listedEntries(width: width, tuples: tuples)
        guard listed <= ConcatSetTable.maxListed else {
            return "set '\(name)': its elements with prefixes or ranges overlap too much on their first component "
                + "(\(listed) interval entries, at most \(ConcatSetTable.maxListed)); put the most specific "
                + "component first or split the set"
        }
        return nil
    }

    /// The tuples of the boxes `kept` outside every box of `removed` (`width` ranges a box).
    static func subtract(
        tuples removed: [ClosedRange<UInt128>], from kept: [ClosedRange<UInt128>], width: Int
    ) -> [ClosedRange<UInt128>] {
        var boxes = stride(from: 0, to: kept.count - kept.count % width, by: width).map {
            Array(kept[$0..<($0 + width)])
        }
        for start in stride(from: 0, to: removed.count - removed.count % width, by: width) {
            let cut = Array(removed[start..<(start + width)])
            boxes = boxes.flatMap { subtract(box: $0, minus: cut) }
        }
        return boxes.flatMap { $0 }
    }

    /// `box` minus `cut`: at most two boxes per component, the parts below and above the cut
    /// on that component (the components before it already narrowed to the cut).
    static func subtract(box: [ClosedRange<UInt128>], minus cut: [ClosedRange<UInt128>]) -> [[ClosedRange<UInt128>]] {
        guard zip(cut, box).allSatisfy({ $0.overlaps($1) }) else { return [box] }
        var out: [[ClosedRange<UInt128>]] = []
        var rest = box
        for i in rest.indices {
            if rest[i].lowerBound < cut[i].lowerBound {
                var below = rest
                below[i] = rest[i].lowerBound...(cut[i].lowerBound - 1)
                out.append(below)
            }
            if rest[i].upperBound > cut[i].upperBound {
                var above = rest
                above[i] = (cut[i].upperBound + 1)...rest[i].upperBound
                out.append(above)
            }
            rest[i] = max(rest[i].lowerBound, cut[i].lowerBound)...min(rest[i].upperBound, cut[i].upperBound)
        }
        return out
    }
}
