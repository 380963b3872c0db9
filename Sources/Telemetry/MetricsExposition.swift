import Dataplane
import FirewallCore
import Prometheus

/// The engine's statistics in the Prometheus text exposition format (version 0.0.4), written by
/// swift-prometheus. Values are read from `EngineStatistics` at scrape time: a fresh registry
/// per scrape holds each series once, set to the engine's own count, so nothing is kept between
/// scrapes and nothing is added to the packet path. docs/operations.md lists every series.
public enum MetricsExposition {
    /// The Content-Type of `/metrics`.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// The exposition text of `s`.
    public static func text(_ s: EngineStatistics) -> String {
        let r = PrometheusCollectorRegistry()
        var out = Writer(registry: r)
        out.engine(s)
        out.ports(s)
        out.rules(s)
        out.workers(s)
        return sorted(r.emitToString())
    }

    /// The families in name order and each family's samples in label order (the registry keeps
    /// them in dictionaries), so that two scrapes list their series alike.
    static func sorted(_ text: String) -> String {
        var families: [(name: Substring, lines: [Substring])] = []
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# HELP ")
                || (line.hasPrefix("# TYPE ") && families.last?.lines.last?.hasPrefix("#") != true)
            {
                families.append((line.split(separator: " ")[2], []))
            }
            families[families.count - 1].lines.append(line)
        }
        return families.sorted { $0.name < $1.name }.map { f in
            let comments = f.lines.prefix { $0.hasPrefix("#") }
            return (comments + f.lines.dropFirst(comments.count).sorted()).joined(separator: "\n") + "\n"
        }.joined()
    }

    private struct Writer {
        let registry: PrometheusCollectorRegistry

        func counter(_ name: String, _ labels: [(String, String)], _ value: UInt64, help: String) {
            let c = registry.makeCounter(descriptor: Self.descriptor(name, help), labels: labels)
            c.increment(by: Int64(truncatingIfNeeded: min(value, UInt64(Int64.max))))
        }

        func gauge(_ name: String, _ labels: [(String, String)], _ value: Double, help: String) {
            registry.makeGauge(descriptor: Self.descriptor(name, help), labels: labels).set(to: value)
        }

        /// `vfwall_<name>` (the unit, `total` or `seconds`, is part of `name`).
        static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "vfwall", metricName: name, unitName: "", helpText: help)
        }

        func counter(_ name: String, _ value: UInt64, help: String) { counter(name, [], value, help: help) }
        func gauge(_ name: String, _ value: Double, help: String) { gauge(name, [], value, help: help) }

        mutating func engine(_ s: EngineStatistics) {
            gauge("uptime_seconds", s.uptimeSeconds, help: "Seconds since the engine opened its ports.")
            gauge(
                "policy_generation", Double(s.policyGeneration),
                help: "Generation of the policy in force (1 at start, one more per applied reload).")
            gauge("policy_rules", Double(s.policy.rules.count), help: "Rules in the policy in force.")
            counter("reloads_total", UInt64(s.reloads), help: "Reloads whose policy was handed to the workers.")
            counter(
                "reload_failures_total", UInt64(s.failedReloads),
                help: "Reloads refused (the configuration did not load); the running policy stayed.")
            let t = s.total
            for action in Action.allCases {
                counter(
                    "frames_total", [("action", "\(action)")], t.count(action),
                    help: "Frames decided, by the action given (all workers, all ports).")
            }
            counter(
                "conntrack_accepted_frames_total", t.conntrackAccepted,
                help: "Frames accepted by a tracked flow without consulting the rules.")
            for reason in Reason.allCases where reason != .none {
                counter(
                    "reason_frames_total", [("reason", reason.name)], t.count(reason),
                    help: "Frames decided by a policy setting, not a rule, by reason (malformed, arp, ...).")
            }
        }

        mutating func ports(_ s: EngineStatistics) {
            let fields: [(String, KeyPath<Dataplane.EngineStatistics.Port, UInt64>, String)] = [
                ("rx_packets_total", \.counters.rx, "Frames received on the port."),
                ("rx_bytes_total", \.counters.rxBytes, "Bytes received on the port."),
                ("tx_packets_total", \.counters.tx, "Frames handed to the port's TX ring."),
                ("tx_bytes_total", \.counters.txBytes, "Bytes handed to the port's TX ring."),
                ("dropped_packets_total", \.counters.dropped, "Frames received on the port and not forwarded."),
                ("tx_full_packets_total", \.counters.txFull, "Frames for the port its TX ring refused (freed)."),
                ("errors_total", \.counters.errors, "Frames the port's backend lost.")
            ]
            for (name, path, help) in fields {
                for p in s.ports { counter("port_" + name, [("port", p.name)], p[keyPath: path], help: help) }
            }
            for p in s.ports {
                gauge("port_up", [("port", p.name)], p.link.up ? 1 : 0, help: "1 while the port's link is up.")
            }
        }

        mutating func rules(_ s: EngineStatistics) {
            let t = s.total
            for (i, rule) in s.policy.rules.enumerated() {
                counter(
                    "rule_hits_total", [("rule", rule.name), ("index", String(i)), ("action", "\(rule.action)")],
                    t.ruleHits[i], help: "Frames a rule matched, since its policy was installed.")
            }
            counter(
                "default_hits_total", [("action", "\(s.policy.defaultAction)")], t.defaultHits,
                help: "Frames no rule matched (the policy's default action), since the policy was installed.")
        }

        mutating func workers(_ s: EngineStatistics) {
            for w in s.workers {
                let l = [("worker", String(w.index))]
                let c = w.counters
                gauge("worker_cpu", l, Double(w.cpu), help: "The CPU the worker is pinned to.")
                counter("worker_frames_total", l, c?.frames ?? 0, help: "Frames the worker decided.")
                counter("worker_bursts_total", l, c?.bursts ?? 0, help: "Non-empty bursts the worker decided.")
                for action in Action.allCases {
                    counter(
                        "worker_verdicts_total", l + [("action", "\(action)")], c?.count(action) ?? 0,
                        help: "Frames the worker decided, by the action given.")
                }
                counter(
                    "worker_conntrack_accepted_frames_total", l, c?.conntrackAccepted ?? 0,
                    help: "Frames the worker accepted by a tracked flow without consulting the rules.")
                counter(
                    "worker_loop_turns_total", l, w.heartbeat,
                    help: "Turns of the worker's loop (its heartbeat; it moves while the loop runs).")
                counter(
                    "worker_reject_replies_total", l, w.rejectReplies,
                    help: "TCP RST and ICMP unreachable replies the worker sent.")
                gauge(
                    "worker_policy_generation", l, Double(w.policyGeneration),
                    help: "Policy generation the worker reports installed.")
                gauge("conntrack_flows", l, Double(w.flows), help: "Flows in the worker's table.")
                gauge("conntrack_max_flows", l, Double(w.table.maxFlows), help: "Flows the worker's table may hold.")
                let ct = w.conntrack ?? ConntrackCounters()
                counter("conntrack_created_total", l, ct.created, help: "Flows the worker's table created.")
                counter("conntrack_expired_total", l, ct.expired, help: "Flows that expired and were removed.")
                counter(
                    "conntrack_early_drops_total", l, ct.earlyDropped,
                    help: "Flows evicted to make room for a new one (no handshake yet, or expired).")
                counter(
                    "conntrack_refused_total", l, ct.refused,
                    help: "New flows refused because the table was full (dropped as conntrack-full).")
            }
        }
    }
}
