import Dataplane
import FirewallCore
import Logging

/// The start and shutdown records of `vfwall run`: a sentence for the readable log and the same
/// facts as metadata for the JSON one (docs/operations.md#logs).
enum RunEvents {
    static func start(_ engine: Engine, controlSocket: String, metrics: String?) -> (Logger.Message, Logger.Metadata) {
        let ports = zip(engine.ports, engine.plan.ports).map { port, plan -> (name: String, opened: String) in
            switch plan {
            case let .dpdk(_, device, _, _): return (port.name, device)
            case let .afpacket(_, iface): return (port.name, iface)
            case let .pcap(_, i, o): return (port.name, "\(i ?? "-") -> \(o ?? "-")")
            }
        }
        let cores = engine.plan.cpus
        let policy = engine.statistics(fresh: false).policy
        let opened = ports.map { "\($0.name) = \($0.opened)" }.joined(separator: ", ")
        let coreList = cores.map(String.init).joined(separator: ",")
        let backend = engine.plan.backend.rawValue
        let line =
            "running (\(backend): \(opened); \(engine.workers.count) worker(s) on cores \(coreList)); "
            + "control socket \(controlSocket)" + (metrics.map { "; metrics on \($0)" } ?? "")
        var metadata: Logger.Metadata = [
            "event": "start", "backend": "\(engine.plan.backend.rawValue)",
            "ports": .dictionary(Dictionary(uniqueKeysWithValues: ports.map { ($0.name, .string($0.opened)) })),
            "workers": .stringConvertible(engine.workers.count), "cores": .array(cores.map { .stringConvertible($0) }),
            "rules": .stringConvertible(policy.rules.count), "sets": .stringConvertible(policy.sets.count),
            "config": "\(engine.source.location)",
            "control_socket": "\(controlSocket)"
        ]
        if let metrics { metadata["metrics"] = "\(metrics)" }
        return ("\(line)", metadata)
    }

    static func shutdown(_ stats: EngineStatistics, end: RunEnd) -> (Logger.Message, Logger.Metadata) {
        let total = stats.total
        let ports = stats.ports.map { p -> (String, Logger.MetadataValue) in
            let c = p.counters
            return (
                p.name,
                [
                    "rx": .stringConvertible(c.rx), "tx": .stringConvertible(c.tx),
                    "dropped": .stringConvertible(c.dropped), "tx_full": .stringConvertible(c.txFull)
                ]
            )
        }
        let metadata: Logger.Metadata = [
            "event": "shutdown", "reason": "\(end.description)",
            "uptime_seconds": .stringConvertible(Int(stats.uptimeSeconds.rounded())),
            "ports": .dictionary(Dictionary(uniqueKeysWithValues: ports)),
            "frames": .stringConvertible(total.frames), "accepted": .stringConvertible(total.count(.accept)),
            "dropped": .stringConvertible(total.count(.drop)),
            "rejected": .stringConvertible(total.count(.reject)), "flows": .stringConvertible(stats.flows),
            "reloads": .stringConvertible(stats.reloads),
            "failed_reloads": .stringConvertible(stats.failedReloads)
        ]
        return ("stopping (\(end.description)); workers drained", metadata)
    }
}
