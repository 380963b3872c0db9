/// Finds the first rule of a policy that matches a packet. Implementations must agree exactly
/// with `ReferenceClassifier`, the linear-scan oracle.
public protocol Classifier: AnyObject {
    /// Index of the first matching rule, or -1 when none matches (the default action applies).
    func classify(_ meta: UnsafePointer<PacketMeta>) -> Int32

    /// Classifies `count` packets at once; compiled classifiers override this to batch lookups.
    func classifyBurst(_ metas: UnsafePointer<PacketMeta>, count: Int, results: UnsafeMutablePointer<Int32>)
}

extension Classifier {
    public func classifyBurst(_ metas: UnsafePointer<PacketMeta>, count: Int, results: UnsafeMutablePointer<Int32>) {
        for i in 0..<count { results[i] = classify(metas + i) }
    }
}

extension RuleMatch {
    /// The match semantics, written once, field by field. The reference classifier is this in a loop.
    @inlinable
    public func matches(_ m: PacketMeta) -> Bool {
        if !ingress.isEmpty && !ingress.contains(Int(m.ingress)) { return false }
        if !vlans.isEmpty && !vlans.contains(where: { $0.contains(m.outerVlan) }) { return false }
        if let v = ipVersion, v != m.ipVersion { return false }
        if !sources.isEmpty && !sources.contains(where: { $0.contains(m.src, v6: m.isV6) }) { return false }
        if !destinations.isEmpty && !destinations.contains(where: { $0.contains(m.dst, v6: m.isV6) }) { return false }
        if !protocols.isEmpty && !protocols.contains(m.proto) { return false }
        if !sourcePorts.isEmpty && !(m.hasPorts && sourcePorts.contains(where: { $0.contains(m.sport) })) {
            return false
        }
        if !destinationPorts.isEmpty && !(m.hasPorts && destinationPorts.contains(where: { $0.contains(m.dport) })) {
            return false
        }
        if let t = icmpType, !(m.hasICMP && m.icmpType == t) { return false }
        if let c = icmpCode, !(m.hasICMP && m.icmpCode == c) { return false }
        if let f = tcpFlags, !(m.proto == IPProto.tcp && m.hasL4 && m.tcpFlags & f.mask == f.value) { return false }
        if states != 0 && states & m.state.bit == 0 { return false }
        for s in sets where !s.matches(m) { return false }
        for c in concats where !c.matches(m) { return false }
        return true
    }
}

/// The oracle: a plain linear scan over the rules, obviously correct and slow with many rules.
public final class ReferenceClassifier: Classifier {
    public let matches: [RuleMatch]

    public init(rules: [Rule]) { matches = rules.map(\.match) }
    public init(matches: [RuleMatch]) { self.matches = matches }

    public func classify(_ meta: UnsafePointer<PacketMeta>) -> Int32 {
        let m = meta.pointee
        for (i, r) in matches.enumerated() where r.matches(m) { return Int32(i) }
        return -1
    }
}
