import FirewallCore

/// A worker router's counters and neighbour table at one moment, copied by the worker between
/// bursts when asked (with its other counters), for `vfwall stats`.
public struct RouterSnapshot: Sendable {
    public var counters: [RouterCounters.Field: UInt64]
    public var neighbours: [NeighbourTable.Entry]
    /// The worker's clock when it copied them (to tell an entry's age).
    public var takenAt: UInt64
}

extension Router {
    func snapshot(now: UInt64) -> RouterSnapshot {
        RouterSnapshot(
            counters: Dictionary(uniqueKeysWithValues: RouterCounters.Field.allCases.map { ($0, counters.value($0)) }),
            neighbours: neighbours.entries, takenAt: now)
    }
}

/// Route mode in `vfwall stats`: the forwarding table, the routers' counters summed over the
/// workers, and every worker's neighbour entries.
public struct RoutingStatistics: Sendable {
    public struct Neighbour: Sendable, Encodable {
        public var worker: Int
        public var port: String
        public var address: String
        public var mac: String
        public var state: String
        /// Seconds since the entry's state last changed.
        public var ageSeconds: Double

        enum CodingKeys: String, CodingKey {
            case worker, port, address, mac, state, ageSeconds = "age_seconds"
        }
    }

    public var routes: [String]
    public var counters: [String: UInt64]
    public var neighbours: [Neighbour]

    public init(plan: RoutingPlan, portNames: [String], snapshots: [Int: RouterSnapshot]) {
        let name = { (port: UInt8) in Int(port) < portNames.count ? portNames[Int(port)] : "\(port)" }
        routes = RouteTable(plan.forwardingRoutes).routes.map { r in
            "\(r.prefix) " + (r.nextHop.map { "via \($0.text(v6: r.prefix.isV6))" } ?? "connected") + " \(name(r.port))"
        }
        var sums: [String: UInt64] = [:]
        for field in RouterCounters.Field.allCases {
            sums[field.name] = snapshots.values.reduce(0) { $0 + ($1.counters[field] ?? 0) }
        }
        counters = sums
        neighbours = snapshots.sorted { $0.key < $1.key }.flatMap { worker, s in
            s.neighbours.map { e in
                Neighbour(
                    worker: worker, port: name(e.port), address: e.address.text(v6: e.v6),
                    mac: e.state == .incomplete || e.state == .failed ? "" : macText(e.mac), state: "\(e.state)",
                    ageSeconds: Double(s.takenAt &- min(s.takenAt, e.since)) / 1e9)
            }
        }
    }
}

extension RoutingStatistics: Encodable {}

extension RouterCounters.Field {
    /// The counter's key in `vfwall stats`: its name in snake case.
    public var name: String {
        var out = ""
        var previousWasLower = false
        for c in String(describing: self) {
            if c.isUppercase && previousWasLower { out += "_" }
            out += c.lowercased()
            previousWasLower = c.isLowercase
        }
        return out
    }
}
