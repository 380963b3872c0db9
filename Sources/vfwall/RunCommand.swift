import ArgumentParser
import Dataplane
import EngineConfig
import DPDKPorts
import FirewallConfig
import Logging
import Telemetry
#if canImport(Glibc)
    import Glibc
#endif

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Filter traffic between the configuration's two ports until SIGINT or SIGTERM.",
        discussion: """
            Opens the two ports of CONFIG on its backend (dpdk: VFs by PCI address or DPDK virtual \
            devices; afpacket: Linux interfaces; pcap: capture files in and out), checks that both \
            links are up, and starts one pinned worker per configured core. Frames accepted on one \
            port leave by the other; rejected ones are answered (TCP RST, ICMP unreachable) out of \
            the port they came in on.

            SIGINT or SIGTERM: stop, drain, print the final statistics, close the ports, exit 0. \
            SIGHUP, or `vfwall reload`: re-read CONFIG and swap its policy in without stopping; an \
            invalid configuration is refused and the running policy stays. `vfwall stats` prints the \
            counters as JSON. Both talk to the control socket (dataplane.control-socket, by default \
            /run/vfwall/<config name>.sock), which only the owner may use; so does `vfwall health` \
            (live: every worker's loop turning; ready: ports up, the policy installed on every worker). \
            With dataplane.metrics.listen set (HOST:PORT or a Unix socket path), Prometheus metrics are \
            served at /metrics and health at /healthz and /readyz (docs/operations.md). With the pcap \
            backend the run ends by itself once every input file is exhausted.

            Log records go to stderr, readable by default or one JSON object a line with \
            --log-format json: the start (ports, cores, backend, policy size), each reload (accepted or \
            refused, with the error's position), port link changes, stalled workers, full conntrack \
            tables (at most one record in 10 s) and the shutdown with the final counters.

            On a terminal, one status line a second shows packets per second in, out and dropped per \
            port, and the tracked flows (--no-status turns it off; it is off when stdout is not a \
            terminal).

            Exits 1 before opening anything when CONFIG is invalid (FILE:LINE:COLUMN: MESSAGE) or \
            does not fit its backend, and 1 with everything closed again when a port cannot be \
            opened or its link is down.

            Example:
              vfwall run --config configs/default.yaml
            """)

    @Option(name: .long, help: "The YAML configuration file.")
    var config: String

    @Flag(name: .customLong("no-status"), help: "Do not print the status line every second.")
    var noStatus = false

    @Option(name: .customLong("link-wait"), help: "Seconds to wait for the ports' links to come up.")
    var linkWait: Double = 3

    @Flag(
        name: .customLong("busy-poll"),
        help: """
            Idle workers keep polling instead of sleeping (afpacket: 50 us naps after 1024 empty \
            polls save the core but add up to ~0.1 ms to a frame arriving at an idle port; dpdk and \
            af_xdp always poll). Latency over power.
            """)
    var busyPoll = false

    @Option(name: .customLong("log-format"), help: "Log records on stderr: text (readable lines) or json (JSON lines).")
    var logFormat: LogFormat = .text

    @Option(name: .customLong("log-level"), help: "The least level logged: debug, info, notice, warning, error.")
    var logLevel: Logger.Level = .info

    func validate() throws {
        guard linkWait >= 0 && linkWait <= 120 else {
            throw ValidationError("--link-wait must be between 0 and 120 seconds")
        }
    }

    func run() throws {
        ControlSignals.block()  // before any thread exists: every thread inherits the mask
        LogOutput.bootstrap(format: logFormat, level: logLevel)
        let logger = Logger(label: "vfwall")
        let c = try loadConfiguration(config)
        var plan: EnginePlan
        do { plan = try EnginePlan.make(c) } catch { try fail("\(error)") }
        if busyPoll { plan.idleSleepMicroseconds = 0 }

        // The socket first: a second vfwall on the same socket is refused before it touches a port.
        let service: ControlService
        do { service = try ControlService(path: plan.controlSocket, logger: logger) } catch { try fail("\(error)") }
        let metrics: MetricsService?
        do { metrics = try c.dataplane.metricsListen.map { try MetricsService(endpoint: .init($0)) } } catch {
            service.stop()
            try fail("\(error)")
        }
        let engine: Engine
        do {
            engine = try Engine.open(
                plan: plan, policy: c.policy, source: ConfigurationFile(c.file),
                devices: DPDKDevices(), linkWaitSeconds: linkWait)
        } catch {
            service.stop()
            metrics?.stop()
            try fail("\(error)")
        }
        do {
            try engine.start()
            try service.serve(engine)
            metrics?.serve(engine)
        } catch {
            engine.close()
            service.stop()
            metrics?.stop()
            try fail("\(error)")
        }
        for w in engine.warnings { logger.warning("\(w)", metadata: ["event": "start-warning"]) }
        let (started, facts) = RunEvents.start(engine, controlSocket: service.path, metrics: metrics?.scrapeLocation)
        logger.info(started, metadata: facts)

        let status = StatusLine(enabled: !noStatus && isatty(1) == 1)
        let end = engine.supervise(tick: { status.update(engine, seconds: $0) }, logger: logger)
        status.finish()
        service.stop()
        metrics?.stop()
        if case .stalled = end {
            // No join: a stuck worker might never return. Exiting releases its queues to nobody,
            // so nothing passes unfiltered; a supervisor (the container's restart policy) restarts us.
            logger.critical("\(end.description); exiting with status 3", metadata: ["event": "exit", "status": "3"])
            Glibc.exit(3)
        }
        engine.stop()
        let final = engine.statistics(fresh: false)
        let (stopping, counters) = RunEvents.shutdown(final, end: end)
        logger.info(stopping, metadata: counters)
        print(RunReport.render(final))
        engine.close()
    }

    /// A run that cannot start says why as the command's error output, and as a record too when
    /// a collector reads JSON lines.
    func fail(_ message: String) throws -> Never {
        if logFormat == .json {
            Logger(label: "vfwall").error("vfwall run: \(message)", metadata: ["event": "start-failed"])
        } else {
            printError("vfwall run: \(message)")
        }
        throw ExitCode(1)
    }
}

extension MetricsService.Endpoint {
    init(_ listen: MetricsListen) {
        switch listen {
        case let .tcp(host, port): self = .tcp(host: host, port: port)
        case let .unix(path): self = .unix(path: path)
        }
    }
}

extension LogFormat: ExpressibleByArgument {}

extension Logger.Level: @retroactive ExpressibleByArgument {}
