import Dataplane
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// The metrics listener: HTTP/1.1 on a TCP address or a Unix socket (swift-nio), serving
///
/// - `GET /metrics`: the engine's statistics in the Prometheus text format (`MetricsExposition`);
/// - `GET /healthz`: 200 while the engine is live (every worker's loop turning), else 503;
/// - `GET /readyz`: 200 while it is ready (ports up, the policy in force on every worker), else 503;
///
/// each with a one-line reason ("ok: ..." / "error: ..."). Bound before the engine opens, like
/// the control socket (an address in use is refused before any port is touched); it answers 503
/// "not running yet" until `serve`. The engine is asked on a thread of the listener's own pool,
/// never on a worker: a scrape reads what the workers publish between bursts on request.
public final class MetricsService: @unchecked Sendable {
    /// Where to listen.
    public enum Endpoint: Equatable, Sendable {
        /// Port 0 picks a free port (`boundPort` says which).
        case tcp(host: String, port: Int)
        case unix(path: String)
    }

    private let group: MultiThreadedEventLoopGroup
    private let pool: NIOThreadPool
    private let slot: EngineSlot
    private let channel: Channel

    /// The TCP port bound (nil on a Unix socket).
    public var boundPort: Int? { channel.localAddress?.port }

    /// Where the listener is: "127.0.0.1:9469" or "unix:/run/x.sock".
    public let address: String

    /// Where to scrape, for the log: "http://127.0.0.1:9469/metrics" or "unix:/run/x.sock /metrics".
    public var scrapeLocation: String {
        address.hasPrefix("unix:") ? "\(address) /metrics" : "http://\(address)/metrics"
    }

    /// Binds `endpoint`; throws a message naming it when that fails (in use, no such host). A
    /// connection that sends nothing for `idleTimeoutMs` is closed.
    public init(endpoint: Endpoint, idleTimeoutMs: Int64 = 10_000) throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let slot = EngineSlot()
        self.slot = slot
        let pool = self.pool
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 16)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline(withErrorHandling: true).flatMapThrowing {
                    // A client that sends nothing for a while is let go: no connection is held open.
                    try channel.pipeline.syncOperations.addHandlers(
                        IdleStateHandler(readTimeout: .milliseconds(idleTimeoutMs)),
                        MetricsHTTPHandler(slot: slot, pool: pool))
                }
            }
        do {
            switch endpoint {
            case let .tcp(host, port):
                channel = try bootstrap.bind(host: host, port: port).wait()
            case let .unix(path):
                channel = try bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).wait()
            }
        } catch {
            try? pool.syncShutdownGracefully()
            try? group.syncShutdownGracefully()
            let what: String
            switch endpoint {
            case let .tcp(host, port): what = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            case let .unix(path): what = "unix:\(path)"
            }
            throw TelemetryError("cannot listen for metrics on \(what): \(error)")
        }
        switch endpoint {
        case let .tcp(host, _):
            let port = channel.localAddress?.port ?? 0
            address = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case let .unix(path):
            address = "unix:\(path)"
        }
    }

    /// Starts answering for `engine`.
    public func serve(_ engine: Engine) { slot.set(engine) }

    /// Closes the listener and its threads. Idempotent.
    public func stop() {
        guard slot.close() else { return }
        try? channel.close().wait()
        try? pool.syncShutdownGracefully()
        try? group.syncShutdownGracefully()
    }

    /// The answer to `GET path` for `engine` (nil: not serving yet): status, content type, body.
    public static func respond(to path: String, engine: Engine?) -> (status: Int, contentType: String, body: String) {
        let plain = "text/plain; charset=utf-8"
        let route = path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? path
        guard ["/metrics", "/healthz", "/readyz"].contains(route) else {
            return (404, plain, "error: no such path; try /metrics, /healthz or /readyz\n")
        }
        guard let engine else { return (503, plain, "error: not running yet\n") }
        switch route {
        case "/metrics":
            return (200, MetricsExposition.contentType, MetricsExposition.text(engine.statistics()))
        case "/healthz":
            let h = engine.health()
            return (h.live ? 200 : 503, plain, h.liveAnswer + "\n")
        default:
            let h = engine.health()
            return (h.ready ? 200 : 503, plain, h.readyAnswer + "\n")
        }
    }
}

/// Why the listener could not start.
public struct TelemetryError: Error, CustomStringConvertible {
    public var description: String
    init(_ message: String) { description = message }
}

/// The engine the listener answers for, set once `serve` is called; `closed` once stopped.
final class EngineSlot: @unchecked Sendable {
    private let lock = NIOLock()
    private var engine: Engine?
    private var closed = false

    var current: Engine? { lock.withLock { engine } }
    func set(_ e: Engine) { lock.withLock { engine = e } }

    /// Marks the slot closed; false when it already was.
    func close() -> Bool {
        lock.withLock {
            defer { closed = true }
            return !closed
        }
    }
}

/// One request at a time per connection: the answer is computed on the pool, written back on
/// the channel's event loop, and the connection closed (Prometheus reconnects per scrape anyway).
final class MetricsHTTPHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let slot: EngineSlot
    private let pool: NIOThreadPool
    private var head: HTTPRequestHead?

    init(slot: EngineSlot, pool: NIOThreadPool) {
        self.slot = slot
        self.pool = pool
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case let .head(h): head = h
        case .body: break
        case .end:
            guard let h = head else { return }
            head = nil
            let loop = context.eventLoop
            let slot = self.slot
            let answer: EventLoopFuture<(status: Int, contentType: String, body: String)>
            if h.method == .GET || h.method == .HEAD {
                answer = pool.runIfActive(eventLoop: loop) { MetricsService.respond(to: h.uri, engine: slot.current) }
            } else {
                answer = loop.makeSucceededFuture((405, "text/plain; charset=utf-8", "error: only GET\n"))
            }
            let context = NIOLoopBound(context, eventLoop: loop)
            answer.whenComplete { result in
                let r = (try? result.get()) ?? (500, "text/plain; charset=utf-8", "error: the listener is stopping\n")
                self.write(r, head: h, context: context.value)
            }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    private func write(
        _ r: (status: Int, contentType: String, body: String), head h: HTTPRequestHead, context: ChannelHandlerContext
    ) {
        var body = context.channel.allocator.buffer(capacity: r.body.utf8.count)
        body.writeString(r.body)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: r.contentType)
        headers.add(name: "Content-Length", value: String(body.readableBytes))
        headers.add(name: "Connection", value: "close")
        let status = HTTPResponseStatus(statusCode: r.status)
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: h.version, status: status, headers: headers))), promise: nil
        )
        if h.method != .HEAD { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
    }
}
