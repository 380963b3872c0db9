import FirewallCore
import LinuxIO
import Ports

/// The counters of a running engine at one moment, summed over workers where that makes sense,
/// and their JSON form for `vfwall stats`. Rule hits count since the policy was installed (a
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

    /// All workers' pipeline counters added up (rule hits only from workers on the current policy).
    public var total: PipelineCounters {
        var t = PipelineCounters(rules: policy.rules.count)
        for w in workers { if let c = w.counters { t.add(c) } }
        return t
    }

    public var flows: Int { workers.reduce(0) { $0 + $1.flows } }
    public var rejectReplies: UInt64 { workers.reduce(0) { $0 + $1.rejectReplies } }

    /// One JSON object (keys in a fixed order, numbers as integers).
    public func json() -> String {
        let t = total
        var o = JSONObject()
        o["config"] = JSON.string(configFile)
        o["backend"] = JSON.string(backend)
        o["uptime_seconds"] = String(Int(uptimeSeconds))
        o["policy_generation"] = String(policyGeneration)
        o["reloads"] = String(reloads)
        o["failed_reloads"] = String(failedReloads)
        o["last_reload_error"] = lastReloadError.map(JSON.string) ?? "null"
        o["ports"] = "[" + ports.map(Self.json).joined(separator: ",") + "]"
        o["workers"] = "[" + workers.map(Self.json).joined(separator: ",") + "]"
        var totals = JSONObject()
        totals["frames"] = String(t.frames)
        totals["accepted"] = String(t.count(.accept))
        totals["dropped"] = String(t.count(.drop))
        totals["rejected"] = String(t.count(.reject))
        totals["accepted_by_conntrack"] = String(t.conntrackAccepted)
        totals["reject_replies"] = String(rejectReplies)
        o["totals"] = totals.text
        let rules = policy.rules.enumerated().map { i, r -> String in
            var x = JSONObject()
            x["index"] = String(i)
            x["name"] = JSON.string(r.name)
            x["action"] = JSON.string("\(r.action)")
            x["hits"] = String(t.ruleHits[i])
            return x.text
        }
        o["rules"] = "[" + rules.joined(separator: ",") + "]"
        var def = JSONObject()
        def["action"] = JSON.string("\(policy.defaultAction)")
        def["hits"] = String(t.defaultHits)
        o["default"] = def.text
        var reasons = JSONObject()
        for r in Reason.allCases where r != .none { reasons[r.name] = String(t.count(r)) }
        o["reasons"] = reasons.text
        var ct = JSONObject()
        ct["flows"] = String(flows)
        ct["max_flows"] = String(workers.reduce(0) { $0 + $1.table.maxFlows })
        ct["table_bytes"] = String(workers.reduce(0) { $0 + $1.table.bytes })
        ct["table_backing"] = JSON.string(workers.first?.table.backing ?? "none")
        let huge = workers.compactMap(\.table.hugePageBytes)
        if !huge.isEmpty { ct["table_huge_page_bytes"] = String(huge.reduce(0, +)) }
        o["conntrack"] = ct.text
        return o.text
    }

    static func json(_ p: Port) -> String {
        var o = JSONObject()
        o["name"] = JSON.string(p.name)
        o["link"] = JSON.string(p.link.up ? "up" : "down")
        o["rx"] = String(p.counters.rx)
        o["rx_bytes"] = String(p.counters.rxBytes)
        o["tx"] = String(p.counters.tx)
        o["tx_bytes"] = String(p.counters.txBytes)
        o["dropped"] = String(p.counters.dropped)
        o["tx_full"] = String(p.counters.txFull)
        o["errors"] = String(p.counters.errors)
        return o.text
    }

    static func json(_ w: Worker) -> String {
        var o = JSONObject()
        o["index"] = String(w.index)
        o["cpu"] = String(w.cpu)
        o["queue"] = String(w.queue)
        o["policy_generation"] = String(w.policyGeneration)
        let c = w.counters
        o["frames"] = String(c?.frames ?? 0)
        o["accepted"] = String(c?.count(.accept) ?? 0)
        o["dropped"] = String(c?.count(.drop) ?? 0)
        o["rejected"] = String(c?.count(.reject) ?? 0)
        o["accepted_by_conntrack"] = String(c?.conntrackAccepted ?? 0)
        o["reject_replies"] = String(w.rejectReplies)
        o["flows"] = String(w.flows)
        return o.text
    }
}

/// Keys in insertion order, values already JSON text.
struct JSONObject {
    private var fields: [(String, String)] = []
    subscript(key: String) -> String? {
        get { fields.first { $0.0 == key }?.1 }
        set { if let v = newValue { fields.append((key, v)) } }
    }
    var text: String { "{" + fields.map { "\(JSON.string($0.0)):\($0.1)" }.joined(separator: ",") + "}" }
}
