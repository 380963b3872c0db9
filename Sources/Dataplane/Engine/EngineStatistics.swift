import FirewallCore
import LinuxIO
import Ports

/// The counters of a running engine at one moment, summed over workers where that makes sense,
/// and their JSON form for `vfwall stats` (Encodable: vfwall encodes it with Foundation's
/// JSONEncoder, which the dataplane does not link). Rule hits count since the policy was installed (a
/// reload restarts them: rule indexes change meaning).
public struct EngineStatistics {
    public struct Port {
        public var name: String
        public var counters: PortStatistics
        public var link: LinkState
    }

    public struct Worker {
        public var index: Int
        public var cpu: Int
        public var queue: Int
        /// The policy generation the worker reports installed (0 before its loop first turned);
        /// below the engine's `policyGeneration` while a reload is still on its way to it.
        public var policyGeneration: Int
        /// nil until the worker has published once.
        public var counters: PipelineCounters?
        public var flows: Int
        public var rejectReplies: UInt64
        /// Loop turns so far (the heartbeat `StallWatch` watches): it moves while the loop turns.
        public var heartbeat: UInt64 = 0
        /// Flows created, expired, early-dropped and refused (nil until the worker has published).
        public var conntrack: ConntrackCounters?
        /// The worker's flow table: what it may hold, its size, and what backs it.
        public var table: FlowTableFacts
    }

    /// A flow table's fixed facts, and how much of it the kernel holds on huge pages now.
    public struct FlowTableFacts {
        public var maxFlows: Int
        public var bytes: Int
        public var backing: String
        /// nil when unknown (heap tables, or /proc unreadable).
        public var hugePageBytes: Int?

        public init(_ t: FlowTable) {
            maxFlows = t.maxFlows
            bytes = t.bytes
            backing = t.backing
            hugePageBytes = t.backing == HugePageRegion.allocator.name ? HugePageRegion.hugeBytes(in: t.region) : nil
        }
    }

    public var configFile: String
    public var backend: String
    public var policy: Policy
    public var policyGeneration: Int
    public var reloads: Int
    public var failedReloads: Int
    public var lastReloadError: String?
    public var uptimeSeconds: Double
    public var ports: [Port]
    public var workers: [Worker]
    /// Route mode: routes, the routers' counters, the neighbour tables; nil for a bridge.
    public var routing: RoutingStatistics?

    /// All workers' pipeline counters added up (rule hits only from workers on the current policy).
    public var total: PipelineCounters {
        var t = PipelineCounters(rules: policy.rules.count)
        for w in workers { if let c = w.counters { t.add(c) } }
        return t
    }

    public var flows: Int { workers.reduce(0) { $0 + $1.flows } }
    public var rejectReplies: UInt64 { workers.reduce(0) { $0 + $1.rejectReplies } }
}

/// The document `vfwall stats` prints (docs/dataplane.md): snake_case keys, integers for
/// counts, null for a reload error that never happened.
extension EngineStatistics: Encodable {
    private enum Key: String, CodingKey {
        case config, backend, uptimeSeconds = "uptime_seconds", policyGeneration = "policy_generation", reloads
        case failedReloads = "failed_reloads", lastReloadError = "last_reload_error", ports, workers, totals
        case rules, defaultRule = "default", reasons, conntrack, sets, routing
    }

    private struct Totals: Encodable {
        let frames, accepted, dropped, rejected: UInt64
        let acceptedByConntrack: UInt64, rejectReplies: UInt64
        enum CodingKeys: String, CodingKey {
            case frames, accepted, dropped, rejected
            case acceptedByConntrack = "accepted_by_conntrack", rejectReplies = "reject_replies"
        }
    }

    private struct RuleHits: Encodable { let index: Int?, name: String?, action: String, hits: UInt64 }

    private struct Conntrack: Encodable {
        let flows, maxFlows, tableBytes: Int
        let tableBacking: String
        let tableHugePageBytes: Int?  // left out when unknown
        let counts: ConntrackCounts
        enum CodingKeys: String, CodingKey {
            case flows, maxFlows = "max_flows", tableBytes = "table_bytes", tableBacking = "table_backing"
            case tableHugePageBytes = "table_huge_page_bytes"
        }

        func encode(to encoder: Encoder) throws {
            var o = encoder.container(keyedBy: CodingKeys.self)
            try o.encode(flows, forKey: .flows)
            try o.encode(maxFlows, forKey: .maxFlows)
            try o.encode(tableBytes, forKey: .tableBytes)
            try o.encode(tableBacking, forKey: .tableBacking)
            try o.encodeIfPresent(tableHugePageBytes, forKey: .tableHugePageBytes)
            try counts.encode(to: encoder)
        }
    }

    public func encode(to encoder: Encoder) throws {
        let t = total
        var o = encoder.container(keyedBy: Key.self)
        try o.encode(configFile, forKey: .config)
        try o.encode(backend, forKey: .backend)
        try o.encode(Int(uptimeSeconds), forKey: .uptimeSeconds)
        try o.encode(policyGeneration, forKey: .policyGeneration)
        try o.encode(reloads, forKey: .reloads)
        try o.encode(failedReloads, forKey: .failedReloads)
        try o.encode(lastReloadError, forKey: .lastReloadError)  // null, not left out
        try o.encode(ports, forKey: .ports)
        try o.encode(workers, forKey: .workers)
        try o.encode(
            Totals(
                frames: t.frames, accepted: t.count(.accept), dropped: t.count(.drop),
                rejected: t.count(.reject), acceptedByConntrack: t.conntrackAccepted,
                rejectReplies: rejectReplies), forKey: .totals)
        try o.encode(
            policy.rules.enumerated().map { i, r in
                RuleHits(index: i, name: r.name, action: "\(r.action)", hits: t.ruleHits[i])
            }, forKey: .rules)
        try o.encode(
            RuleHits(index: nil, name: nil, action: "\(policy.defaultAction)", hits: t.defaultHits),
            forKey: .defaultRule)
        try o.encode(SetFacts.all(policy, t), forKey: .sets)
        var reasons: [String: UInt64] = [:]
        for r in Reason.allCases where r != .none { reasons[r.name] = t.count(r) }
        try o.encode(reasons, forKey: .reasons)
        try o.encodeIfPresent(routing, forKey: .routing)
        let huge = workers.compactMap(\.table.hugePageBytes)
        try o.encode(
            Conntrack(
                flows: flows, maxFlows: workers.reduce(0) { $0 + $1.table.maxFlows },
                tableBytes: workers.reduce(0) { $0 + $1.table.bytes },
                tableBacking: workers.first?.table.backing ?? "none",
                tableHugePageBytes: huge.isEmpty ? nil : huge.reduce(0, +),
                counts: ConntrackCounts(workers.compactMap(\.conntrack))), forKey: .conntrack)
    }
}

extension EngineStatistics.Port: Encodable {
    private enum Key: String, CodingKey {
        case name, link, rx, rxBytes = "rx_bytes", tx, txBytes = "tx_bytes", dropped, txFull = "tx_full", errors
    }

    public func encode(to encoder: Encoder) throws {
        var o = encoder.container(keyedBy: Key.self)
        try o.encode(name, forKey: .name)
        try o.encode(link.up ? "up" : "down", forKey: .link)
        try o.encode(counters.rx, forKey: .rx)
        try o.encode(counters.rxBytes, forKey: .rxBytes)
        try o.encode(counters.tx, forKey: .tx)
        try o.encode(counters.txBytes, forKey: .txBytes)
        try o.encode(counters.dropped, forKey: .dropped)
        try o.encode(counters.txFull, forKey: .txFull)
        try o.encode(counters.errors, forKey: .errors)
    }
}

extension EngineStatistics.Worker: Encodable {
    private enum Key: String, CodingKey {
        case index, cpu, queue, policyGeneration = "policy_generation", frames, accepted, dropped, rejected
        case acceptedByConntrack = "accepted_by_conntrack", rejectReplies = "reject_replies", flows
        case loopTurns = "loop_turns", conntrack
    }

    /// A worker that has not published yet counts zeros.
    public func encode(to encoder: Encoder) throws {
        var o = encoder.container(keyedBy: Key.self)
        try o.encode(index, forKey: .index)
        try o.encode(cpu, forKey: .cpu)
        try o.encode(queue, forKey: .queue)
        try o.encode(policyGeneration, forKey: .policyGeneration)
        try o.encode(counters?.frames ?? 0, forKey: .frames)
        try o.encode(counters?.count(.accept) ?? 0, forKey: .accepted)
        try o.encode(counters?.count(.drop) ?? 0, forKey: .dropped)
        try o.encode(counters?.count(.reject) ?? 0, forKey: .rejected)
        try o.encode(counters?.conntrackAccepted ?? 0, forKey: .acceptedByConntrack)
        try o.encode(rejectReplies, forKey: .rejectReplies)
        try o.encode(flows, forKey: .flows)
        try o.encode(heartbeat, forKey: .loopTurns)
        try o.encode(ConntrackCounts(conntrack.map { [$0] } ?? []), forKey: .conntrack)
    }
}

/// Flows created, expired, early-dropped and refused, summed over workers (keys beside others').
private struct ConntrackCounts: Encodable {
    let created, expired, earlyDropped, refused: UInt64
    enum CodingKeys: String, CodingKey { case created, expired, earlyDropped = "early_dropped", refused }

    init(_ counters: [ConntrackCounters]) {
        created = counters.reduce(0) { $0 + $1.created }
        expired = counters.reduce(0) { $0 + $1.expired }
        earlyDropped = counters.reduce(0) { $0 + $1.earlyDropped }
        refused = counters.reduce(0) { $0 + $1.refused }
    }
}
