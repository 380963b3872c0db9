import FirewallCore
import Yams

extension RuleReader {
    /// A rule's `egress`, the port the packet will leave by, turned into what the classifier
    /// already tests. Bridge mode: a frame leaves by the port it did not come in on, so it is
    /// `ingress` (the other ports). Route mode: the route decides, so it is `dst`, narrowed to the
    /// destinations the routes send out of those ports (`EgressRegions`). A rule that could then
    /// match nothing is refused: an empty list would match anything.
    func applyEgress(_ egress: [Int], to m: inout RuleMatch, rule name: String, at node: Node) throws {
        let names = egress.map { "'\(portNames[$0])'" }.joined(separator: ", ")
        guard let regions = egressRegions else {
            let arriving = (m.ingress.isEmpty ? Array(portNames.indices) : m.ingress).filter { !egress.contains($0) }
            guard !arriving.isEmpty else {
                throw r.error(
                    node,
                    "rule '\(name)' can never match: in bridge mode a frame leaves by the port it did not "
                        + "arrive on, and its 'ingress' and 'egress' name the same ports")
            }
            m.ingress = arriving
            return
        }
        if m.sets.contains(where: { $0.field == .destination }) {
            throw r.error(node, "rule '\(name)': 'egress' in route mode narrows 'dst', which cannot be a set then")
        }
        var routed = egress.flatMap { regions[$0] }
        if let version = m.ipVersion { routed = routed.filter { $0.isV6 == (version == 6) } }
        if Set(routed.map(\.isV6)).count > 1 {
            throw r.error(
                node,
                "rule '\(name)': IPv4 and IPv6 routes lead out of \(names); add 'ip: 4' or 'ip: 6' "
                    + "(or write a rule for each)")
        }
        let narrowed =
            m.destinations.isEmpty
            ? routed : m.destinations.flatMap { d in routed.compactMap { EgressRegions.intersect(d, $0) } }
        guard !narrowed.isEmpty else {
            let what = m.destinations.isEmpty ? "no route leads out of \(names)" : "no 'dst' is routed out of \(names)"
            throw r.error(node, "rule '\(name)' can never match: \(what)")
        }
        m.destinations = narrowed
        if m.ipVersion == nil { m.ipVersion = narrowed[0].isV6 ? 6 : 4 }
    }
}
