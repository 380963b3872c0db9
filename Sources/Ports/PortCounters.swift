import CLinux

/// Per-queue port counters in one preallocated block, one cache line per queue so that two
/// workers never write the same line. Each queue's row is written only by the worker that owns
/// the queue (relaxed load + store: a plain add, no lock prefix) and read by anyone.
///
/// A struct holding a pointer: copying it costs nothing and touches no reference count. The
/// port that allocates it frees it in `close()`.
public struct PortCounters {
    public enum Field: Int, CaseIterable, Sendable {
        case rx, rxBytes, tx, txBytes, dropped, txFull, errors
    }
    /// UInt64 slots per queue: a 64-byte cache line.
    @usableFromInline static let stride = 8

    @usableFromInline let base: UnsafeMutablePointer<UInt64>
    public let queues: Int

    public init(queues: Int) {
        precondition(queues > 0, "a port has at least one queue")
        self.queues = queues
        let raw = UnsafeMutableRawPointer.allocate(byteCount: queues * Self.stride * 8, alignment: 64)
        base = raw.initializeMemory(as: UInt64.self, repeating: 0, count: queues * Self.stride)
    }

    public func deallocate() { UnsafeMutableRawPointer(base).deallocate() }

    /// Adds `n` to `field` of `queue`. Only the queue's owner may call this. Inlinable: the ports
    /// that count on their fast path live in other modules.
    @inlinable @inline(__always)
    public func add(_ field: Field, _ n: Int, queue: Int) {
        clinux_counter_add(base + (queue &* Self.stride &+ field.rawValue), UInt64(truncatingIfNeeded: n))
    }

    public func value(_ field: Field, queue: Int) -> UInt64 {
        clinux_counter_load(base + (queue * Self.stride + field.rawValue))
    }

    public func total(_ field: Field) -> UInt64 {
        (0..<queues).reduce(0) { $0 &+ value(field, queue: $1) }
    }

    public func totals() -> PortStatistics {
        PortStatistics(
            rx: total(.rx), rxBytes: total(.rxBytes), tx: total(.tx), txBytes: total(.txBytes),
            dropped: total(.dropped), txFull: total(.txFull), errors: total(.errors))
    }

    public func statistics(queue: Int) -> PortStatistics {
        PortStatistics(
            rx: value(.rx, queue: queue), rxBytes: value(.rxBytes, queue: queue),
            tx: value(.tx, queue: queue), txBytes: value(.txBytes, queue: queue),
            dropped: value(.dropped, queue: queue), txFull: value(.txFull, queue: queue),
            errors: value(.errors, queue: queue))
    }
}

/// Counts of a port (or of one of its queues) at one moment.
public struct PortStatistics: Equatable, Sendable {
    /// Frames received.
    public var rx: UInt64
    public var rxBytes: UInt64
    /// Frames handed to the TX ring.
    public var tx: UInt64
    public var txBytes: UInt64
    /// Frames received here that the pipeline did not accept (freed).
    public var dropped: UInt64
    /// Frames accepted for this port that its TX ring could not take (freed).
    public var txFull: UInt64
    /// Frames lost to the backend: too long for a slot, malformed for the driver, no buffer.
    public var errors: UInt64

    public init(
        rx: UInt64 = 0, rxBytes: UInt64 = 0, tx: UInt64 = 0, txBytes: UInt64 = 0,
        dropped: UInt64 = 0, txFull: UInt64 = 0, errors: UInt64 = 0
    ) {
        self.rx = rx
        self.rxBytes = rxBytes
        self.tx = tx
        self.txBytes = txBytes
        self.dropped = dropped
        self.txFull = txFull
        self.errors = errors
    }
}
