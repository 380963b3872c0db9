import FirewallCore
import Ports

/// Which policy port the frames of a received burst entered on, run by run.
public protocol IngressMap {
    /// The ingress of frame `start` of `burst` and where its run ends: the first index after it
    /// with another ingress, or `burst.count`. Called for consecutive runs, burst after burst.
    mutating func run(_ burst: FrameBurst, link: LinkType, from start: Int) -> (ingress: Int, end: Int)
    /// The ingress of every frame, when it does not depend on the frame (a worker's port).
    var fixedIngress: Int? { get }
}

extension IngressMap {
    public var fixedIngress: Int? { nil }
}

/// A worker's map: every frame of a port enters on that port.
public struct PortIngress: IngressMap {
    public let port: Int

    public init(_ port: Int) { self.port = port }

    public var fixedIngress: Int? { port }

    @inline(__always)
    public mutating func run(_ burst: FrameBurst, link: LinkType, from start: Int) -> (ingress: Int, end: Int) {
        (port, burst.count)
    }
}

/// Hears each run of a burst just before and just after the pipeline decides it (replay's
/// outputs). The worker's is `NoObserver`, which the compiler removes. Passed by value, not
/// inout: ThreadSanitizer's tracking of an inout empty value writes the shadow of an address
/// that is not memory, and crashes.
public protocol DecisionObserver {
    func willDecide(_ run: FrameBurst, ingress: Int, link: LinkType)
    func decided(_ run: FrameBurst, ingress: Int, link: LinkType)
}

extension DecisionObserver {
    @inline(__always)
    public func willDecide(_ run: FrameBurst, ingress: Int, link: LinkType) {}
}

public struct NoObserver: DecisionObserver {
    public init() {}
    @inline(__always)
    public func decided(_ run: FrameBurst, ingress: Int, link: LinkType) {}
}

/// The one pass of a worker over one direction.
enum WorkerPass {
    /// One direction, one burst: receive, decide (run by run of one ingress), answer the
    /// rejected frames, forward. Returns the frames handled. `vfwall run`'s workers and
    /// `vfwall replay` both go through here, so a replay decides what a run decides. With a
    /// `router` (route mode) the accepted frames are routed rather than sent to `tx`.
    @inline(__always)
    static func pass<Ingress: IngressMap, Observer: DecisionObserver>(
        from rx: PacketPort, to tx: PacketPort, zeroCopy: Bool, ingress: inout Ingress, queue: Int,
        _ pipeline: Pipeline, _ rejects: RejectAnswers, _ burst: inout FrameBurst,
        _ forwarder: inout BurstForwarder, _ observer: Observer, router: Unmanaged<Router>? = nil
    ) -> Int {
        let n = rx.rxBurst(queue: queue, into: &burst)
        if n == 0 {
            if let port = ingress.fixedIngress {
                router?._withUnsafeGuaranteedRef { $0.idle(rx: rx, rxIndex: port, tx: tx, queue: queue) }
            }
            return 0
        }
        let link = rx.linkType
        var rejected = 0
        var start = 0
        var lastIngress = 0
        while start < n {
            let (port, runEnd) = ingress.run(burst, link: link, from: start)
            let end = Swift.max(start &+ 1, Swift.min(n, runEnd))
            let run = start == 0 && end == n ? burst : FrameBurst(viewing: burst, from: start, count: end &- start)
            observer.willDecide(run, ingress: port, link: link)
            pipeline.process(run, ingress: port, link: link)
            rejected &+= pipeline.rejectedInLastBurst
            observer.decided(run, ingress: port, link: link)
            lastIngress = port
            start = end
        }
        if rejected > 0 { rejects.answer(burst, from: rx, queue: queue) }
        if let router {
            router._withUnsafeGuaranteedRef {
                $0.forward(burst, rx: rx, rxIndex: lastIngress, tx: tx, queue: queue, zeroCopy: zeroCopy)
            }
        } else {
            forwarder.forward(burst, from: rx, to: tx, queue: queue, zeroCopy: zeroCopy)
        }
        return n
    }
}
