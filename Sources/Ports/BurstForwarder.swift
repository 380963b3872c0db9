import FirewallCore

/// A burst split by verdict: the indexes of its accepted frames and of the others, in order.
/// Preallocated once for bursts of up to `capacity` frames.
public struct BurstSplit {
    public let capacity: Int
    /// Indexes into the burst of the frames to send, ascending.
    public let accepted: UnsafeMutablePointer<Int32>
    public var acceptedCount = 0
    /// Indexes of the frames not accepted (dropped or rejected), ascending.
    public let refused: UnsafeMutablePointer<Int32>
    public var refusedCount = 0

    public init(capacity: Int) {
        precondition(capacity > 0, "a burst holds at least one frame")
        self.capacity = capacity
        accepted = .allocate(capacity: capacity)
        accepted.initialize(repeating: 0, count: capacity)
        refused = .allocate(capacity: capacity)
        refused.initialize(repeating: 0, count: capacity)
    }

    public func deallocate() {
        accepted.deallocate()
        refused.deallocate()
    }

    /// Every frame accepted: a sender may hand the burst's own arrays on as they are.
    @inlinable
    public var acceptsAll: Bool { refusedCount == 0 }

    /// Splits the first `burst.count` frames (at most `capacity`) by their verdicts.
    @inlinable @inline(__always)
    public mutating func split(_ burst: FrameBurst) {
        let count = Swift.min(burst.count, capacity)
        var nAccepted = 0, nRefused = 0
        for i in 0..<count {
            if burst.verdicts[i].action == .accept {
                accepted[nAccepted] = Int32(truncatingIfNeeded: i)
                nAccepted &+= 1
            } else {
                refused[nRefused] = Int32(truncatingIfNeeded: i)
                nRefused &+= 1
            }
        }
        acceptedCount = nAccepted
        refusedCount = nRefused
    }

    /// After the caller chose `accepted` (ascending) itself: every other of the first `count`
    /// frames is refused, so a port that took the accepted ones gives back exactly the rest.
    @inlinable
    public mutating func refuseUnaccepted(of count: Int) {
        let n = Swift.min(Swift.max(0, count), capacity)
        var nRefused = 0, k = 0
        for i in 0..<n {
            if k < acceptedCount && Int(accepted[k]) == i {
                k &+= 1
            } else {
                refused[nRefused] = Int32(truncatingIfNeeded: i)
                nRefused &+= 1
            }
        }
        refusedCount = nRefused
    }

    /// Selects the first `count` frames, whatever their verdicts (frames the caller built).
    @inlinable
    public mutating func selectAll(_ count: Int) {
        let n = Swift.min(Swift.max(0, count), capacity)
        for i in 0..<n { accepted[i] = Int32(truncatingIfNeeded: i) }
        acceptedCount = n
        refusedCount = 0
    }
}

/// The one step between the pipeline and the ports: splits a burst by verdict, sends the
/// accepted frames (by handle within a zero-copy domain, else by copy), gives the rest back to
/// the receiving port, and counts each outcome once: tx, txBytes, txFull and errors on the
/// sending port, dropped on the receiving one. One per worker, allocated once.
public struct BurstForwarder {
    public var split: BurstSplit

    public init(capacity: Int) { split = BurstSplit(capacity: capacity) }

    public func deallocate() { split.deallocate() }

    /// Whether frames received by `rx` can be sent by `tx` without a copy.
    public static func zeroCopy(from rx: PacketPort, to tx: PacketPort) -> Bool {
        guard let domain = rx.zeroCopyDomain else { return false }
        return domain == tx.zeroCopyDomain
    }

    /// Forwards `burst`, received by `rx` on `queue`, out of `tx` on `queue`: every frame ends
    /// here. `zeroCopy` is `zeroCopy(from: rx, to: tx)`, worked out once by the caller.
    @inlinable @inline(__always) @discardableResult
    public mutating func forward(
        _ burst: FrameBurst, from rx: PacketPort, to tx: PacketPort, queue: Int,
        zeroCopy: Bool
    ) -> TxResult {
        split.split(burst)
        let result: SendResult
        if split.acceptedCount == 0 {
            result = SendResult()
            rx.release(burst, queue: queue, exceptTakenBy: nil)
        } else if zeroCopy {
            result = tx.send(taking: burst, split, queue: queue)
            rx.release(burst, queue: queue, exceptTakenBy: split)
        } else {
            result = tx.send(copying: burst, split, queue: queue)
            rx.release(burst, queue: queue, exceptTakenBy: nil)
        }
        Self.count(result, on: tx, queue: queue)
        if split.refusedCount > 0 { rx.counters.add(.dropped, split.refusedCount, queue: queue) }
        return TxResult(sent: result.sent, dropped: split.refusedCount, txFull: result.txFull &+ result.errors)
    }

    /// Sends the first `burst.count` frames of a burst the caller owns (replies, generated
    /// traffic) out of `tx` by copy, whatever their verdicts, and counts them on `tx`.
    @discardableResult
    public mutating func send(_ burst: FrameBurst, to tx: PacketPort, queue: Int) -> SendResult {
        split.selectAll(burst.count)
        let result = tx.send(copying: burst, split, queue: queue)
        Self.count(result, on: tx, queue: queue)
        return result
    }

    @inlinable @inline(__always)
    public static func count(_ result: SendResult, on tx: PacketPort, queue: Int) {
        let counters = tx.counters
        if result.sent > 0 {
            counters.add(.tx, result.sent, queue: queue)
            counters.add(.txBytes, result.sentBytes, queue: queue)
        }
        if result.txFull > 0 { counters.add(.txFull, result.txFull, queue: queue) }
        if result.errors > 0 { counters.add(.errors, result.errors, queue: queue) }
    }
}

extension PacketPort {
    /// Forwards `burst`, received by `source` on `queue`, out of this port: the worker's step for
    /// tests and slow paths (it allocates its split each call).
    @discardableResult
    public func forward(_ burst: FrameBurst, queue: Int, from source: PacketPort) -> TxResult {
        var forwarder = BurstForwarder(capacity: Swift.max(1, burst.count))
        defer { forwarder.deallocate() }
        return forwarder.forward(
            burst, from: source, to: self, queue: queue,
            zeroCopy: BurstForwarder.zeroCopy(from: source, to: self))
    }
}
