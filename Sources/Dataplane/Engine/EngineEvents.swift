import Logging
import Ports

/// What the supervisor tells the operator between reloads: a port's link going down or coming
/// back, and connection-tracking tables refusing new flows. It looks once a second at what the
/// ports report and the workers already publish; nothing here touches the packet path.
///
/// A full table refuses flows at packet rate, so refusals are summed and reported at most once
/// per `conntrackReportNanoseconds` (the first at once), with the count since the last report.
public struct EventWatch {
    private var links: [LinkState]
    private var refusedSeen: [Int: UInt64] = [:]
    private var refusedUnreported: UInt64 = 0
    private var workersRefusing: Set<Int> = []
    private var lastConntrackReport: UInt64?
    public let conntrackReportNanoseconds: UInt64

    /// `links`: the ports' links as the run started (what the start record said).
    public init(links: [LinkState], conntrackReportSeconds: UInt64 = 10) {
        self.links = links
        conntrackReportNanoseconds = conntrackReportSeconds * 1_000_000_000
    }

    /// Logs the links that went down or came up since the last look.
    public mutating func look(links now: [(name: String, link: LinkState)], logger: Logger) {
        for (i, port) in now.enumerated() where i < links.count {
            defer { links[i] = port.link }
            guard links[i].up != port.link.up else { continue }
            let metadata: Logger.Metadata = [
                "event": "link", "port": "\(port.name)", "up": .stringConvertible(port.link.up), "link": "\(port.link)"
            ]
            if port.link.up {
                logger.notice("port '\(port.name)' link is up again (\(port.link))", metadata: metadata)
            } else {
                logger.error("port '\(port.name)' link went down", metadata: metadata)
            }
        }
    }

    /// Logs refused flows (conntrack table full) once per report interval. `refused` is each
    /// worker's running total; `maxFlows` what one worker's table holds.
    public mutating func look(refused: [Int: UInt64], maxFlows: Int, now: UInt64, logger: Logger) {
        for (worker, total) in refused {
            let before = refusedSeen[worker] ?? 0
            // A counter never goes back; if one did (a worker restarted), count from there.
            let added = total >= before ? total - before : total
            if added > 0 {
                refusedUnreported &+= added
                workersRefusing.insert(worker)
            }
            refusedSeen[worker] = total
        }
        guard refusedUnreported > 0 else { return }
        if let last = lastConntrackReport, now &- last < conntrackReportNanoseconds { return }
        let workers = workersRefusing.sorted()
        let since = lastConntrackReport.map { "in the last \(Double(now &- $0) / 1e9) s" } ?? "so far"
        let line =
            "conntrack table full: \(refusedUnreported) new flows refused \(since) by worker(s) "
            + "\(workers.map(String.init).joined(separator: ", ")) (max-flows \(maxFlows) per worker)"
        logger.warning(
            "\(line)",
            metadata: [
                "event": "conntrack-full", "refused": .stringConvertible(refusedUnreported),
                "workers": .array(workers.map { .stringConvertible($0) }), "max_flows": .stringConvertible(maxFlows)
            ])
        lastConntrackReport = now
        refusedUnreported = 0
        workersRefusing = []
    }
}

extension Engine {
    /// One look of `events` at the ports' links and at what the workers last published (the
    /// supervisor's tick), then a request for fresh counters for the next look: each worker copies
    /// its counters between two bursts, and nobody waits for it here.
    public func look(_ events: inout EventWatch, now: UInt64, logger: Logger) {
        events.look(links: ports.map { ($0.name, $0.linkState()) }, logger: logger)
        events.look(
            refused: control.conntrackCounters().mapValues(\.refused), maxFlows: plan.conntrack.maxFlows, now: now,
            logger: logger)
        _ = control.requestSnapshots()
    }
}

extension Engine.ReloadOutcome {
    /// Logs a reload's outcome: accepted (info), not acknowledged by every worker or refused
    /// (error, with the file:line:column of a configuration error as `position`).
    public func log(trigger: String, to logger: Logger) {
        let line = "reload (\(trigger)): \(answer.split(separator: "\n").joined(separator: "; "))"
        var metadata: Logger.Metadata = ["event": "reload", "trigger": "\(trigger)"]
        switch self {
        case let .applied(rules, notes):
            metadata["outcome"] = "accepted"
            metadata["rules"] = .stringConvertible(rules)
            if !notes.isEmpty { metadata["notes"] = .array(notes.map { "\($0)" }) }
            logger.info("\(line)", metadata: metadata)
        case .unacknowledged:
            metadata["outcome"] = "unacknowledged"
            logger.error("\(line)", metadata: metadata)
        case let .refused(message):
            metadata["outcome"] = "refused"
            if let position = Self.position(in: message) { metadata["position"] = "\(position)" }
            logger.error("\(line)", metadata: metadata)
        }
    }

    /// "FILE:LINE:COLUMN" at the start of a configuration error ("FILE:LINE:COLUMN: MESSAGE").
    static func position(in message: String) -> String? {
        guard let end = message.range(of: ": ") else { return nil }
        let head = message[..<end.lowerBound]
        let parts = head.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 3, parts.suffix(2).allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) else {
            return nil
        }
        return String(head)
    }
}
