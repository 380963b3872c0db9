import Glibc
import LinuxIO
import Logging

/// Why a supervised run ended.
public enum RunEnd: Equatable, Sendable {
    /// SIGINT or SIGTERM.
    case signal(Int32)
    /// Every input file was read (pcap backend).
    case inputsExhausted
    /// These workers' loops (on these cores) did not turn for `milliseconds`.
    case stalled(workers: [Int], cores: [Int], milliseconds: Int)

    /// One line for the operator.
    public var description: String {
        switch self {
        case let .signal(n): return n == SIGINT ? "SIGINT" : "SIGTERM"
        case .inputsExhausted: return "inputs exhausted"
        case let .stalled(workers, cores, milliseconds):
            let names = zip(workers, cores).map { "worker \($0) (core \($1))" }.joined(separator: ", ")
            return "\(names) made no progress for \(milliseconds) ms"
        }
    }
}

extension Engine {
    /// A logger that drops everything (tests, and callers that log nothing).
    public static let silent = Logger(label: "vfwall", factory: { _ in SwiftLogNoOpLogHandler() })

    /// The control protocol: one request word, one answer ("ok: ..." / "error: ..." or JSON).
    /// `stats`: the counters as JSON; `health`: live and ready, or why not (`EngineHealth`);
    /// `reload`: re-read the policy source, answered once every worker runs the new policy (or
    /// naming the ones that did not). `logger` hears of reloads.
    public func answer(_ request: String, logger: Logger = Engine.silent) -> String {
        switch request {
        case "stats":
            return statistics().json() + "\n"
        case "health":
            return health().answer + "\n"
        case "reload":
            let outcome = reload()
            outcome.log(trigger: "control socket", to: logger)
            return outcome.answer + "\n"
        case let r where r.hasPrefix("set ") || r == "set":
            return answerSet(r, logger: logger)
        default:
            return "error: unknown request '\(request)' (stats, reload, health, set)\n"
        }
    }

    /// The control loop of a started engine, on the calling thread, until a stop signal, the end
    /// of its input files, or a stalled worker: SIGHUP reloads; once a second `tick` gets the
    /// seconds since the last one (a status line), the stall watch looks at the workers and
    /// `EventWatch` at the links and conntrack tables; `logger` hears of all of it.
    /// Call `ControlSignals.block()` before any thread starts. Fail closed on a stall: a stuck
    /// worker forwards nothing already; the caller says so and exits rather than quietly
    /// black-holing its share of the flows (a supervisor restarts it).
    public func supervise(tick: (Double) -> Void = { _ in }, logger: Logger = Engine.silent) -> RunEnd {
        var lastTick = monotonicNanoseconds()
        var events = EventWatch(links: ports.map { $0.linkState() })
        let limit = plan.stallMilliseconds
        let watch =
            limit > 0
            ? StallWatch(control: control, workers: workers.count, limitMilliseconds: UInt64(limit), now: lastTick)
            : nil
        while true {
            switch ControlSignals.next(timeoutMs: 100) {
            case let .stop(n)?: return .signal(n)
            case .reload?:
                reload().log(trigger: "SIGHUP", to: logger)
            case nil: break
            }
            if inputsExhausted { return .inputsExhausted }
            let now = monotonicNanoseconds()
            guard now - lastTick >= 1_000_000_000 else { continue }
            tick(Double(now - lastTick) / 1e9)
            lastTick = now
            look(&events, now: now, logger: logger)
            let stalled = watch?.stalled(now: now) ?? []
            if !stalled.isEmpty {
                let end = RunEnd.stalled(workers: stalled, cores: stalled.map { plan.cpus[$0] }, milliseconds: limit)
                logger.critical(
                    "\(end.description)",
                    metadata: [
                        "event": "stall", "workers": .array(stalled.map { .stringConvertible($0) }),
                        "cores": .array(stalled.map { .stringConvertible(plan.cpus[$0]) }),
                        "limit_ms": .stringConvertible(limit)
                    ])
                return end
            }
        }
    }
}

/// The control socket serving an engine's protocol. Bound before the engine opens (a second
/// firewall on the same socket is refused before it touches a port); it answers from `serve` on.
public final class ControlService: @unchecked Sendable {
    private let socket: ControlSocket
    private let slot: EngineSlot

    public var path: String { socket.path }

    public init(path: String, logger: Logger = Engine.silent) throws {
        let slot = EngineSlot()
        self.slot = slot
        socket = try ControlSocket(path: path) { request in
            guard let engine = slot.engine else { return "error: not running yet\n" }
            return engine.answer(request, logger: logger)
        }
    }

    /// Starts answering for `engine`.
    public func serve(_ engine: Engine) throws {
        slot.engine = engine
        try socket.start()
    }

    /// Stops answering and removes the socket. Idempotent.
    public func stop() { socket.stop() }
}

/// The engine the socket's handler answers for: set once, before the socket's thread starts
/// (pthread_create orders that write before the thread's reads).
private final class EngineSlot: @unchecked Sendable {
    var engine: Engine?
}
