import FirewallCore

/// A network port the workers read bursts from and write bursts to, whatever drives it:
/// DPDK (a VF or a virtual device), AF_PACKET sockets, pcap files, or memory (tests).
///
/// The loop of a worker that owns queue `q` of both ports of a pair:
///
///     let n = inside.rxBurst(queue: q, into: &burst)      // frames lent by `inside`
///     if n == 0 { continue }
///     pipeline.process(burst, ingress: 0, link: inside.linkType)
///     forwarder.forward(burst, from: inside, to: outside, queue: q)   // every frame ends here
///
/// Ownership: the frames of a received burst are lent by the receiving port until `release`
/// gives them back, and stay valid until then (at the latest until the next `rxBurst` on the
/// same queue). Sending is separate: `send(copying:)` copies accepted frames and leaves them
/// with the receiver; `send(taking:)`, only between ports of one `zeroCopyDomain`, takes them
/// (each is sent or freed by the sender) and the receiver then releases only the others.
/// `BurstForwarder` is the one step that splits a burst by verdict, sends, releases and counts;
/// ports count only what they receive.
///
/// Queue `q` of a port is used by one thread at a time: the worker that owns it. Counters of
/// queue `q` are written by that worker only. The fast-path methods never allocate, throw, log
/// or block.
public protocol PacketPort: AnyObject {
    /// What the configuration calls the port (`inside`, `net_ring0`, `veth1` ...).
    var name: String { get }
    /// How many RX (and as many TX) queues the port was opened with: one per worker.
    var queueCount: Int { get }
    /// What the first byte of a received frame is.
    var linkType: LinkType { get }
    /// Ports of one domain send each other's frames by handle, without a copy (DPDK ports of
    /// one EAL: mbufs of shared pools). nil: frames are copied.
    var zeroCopyDomain: ObjectIdentifier? { get }
    /// The port's own MAC address, when it has one.
    var macAddress: MACAddress? { get }
    /// Per-queue counters (rx, tx, dropped, txFull, errors); see `statistics` for totals.
    var counters: PortCounters { get }
    /// Whether `rxBurst` stamps frames with `monotonicNanoseconds()` read as they are received,
    /// so a burst's stamp stands for the time now (a capture's or a test's times do not).
    var stampsReceiptTime: Bool { get }

    /// Link state now (does not wait for autonegotiation).
    func linkState() -> LinkState

    /// Fills `burst` with up to `burst.capacity` frames received on `queue` (frames, lengths,
    /// timestamps, handles), sets `burst.count` and returns it; counts rx. Returns 0 when
    /// nothing is waiting.
    func rxBurst(queue: Int, into burst: inout FrameBurst) -> Int

    /// Copies the frames `split.accepted` of `burst` onto TX queue `queue`. The frames stay
    /// their owner's. Counts nothing: the caller counts the result.
    func send(copying burst: FrameBurst, _ split: BurstSplit, queue: Int) -> SendResult

    /// Hands the frames `split.accepted` of `burst`, received by a port of this port's
    /// `zeroCopyDomain`, to TX queue `queue` by handle: each becomes this port's, sent or freed.
    /// Counts nothing.
    func send(taking burst: FrameBurst, _ split: BurstSplit, queue: Int) -> SendResult

    /// Gives back the frames of `burst` this port lent on `queue`: all of them, or, when `taken`
    /// is the split of a `send(taking:)`, only its refused frames. Counts nothing.
    func release(_ burst: FrameBurst, queue: Int, exceptTakenBy taken: BurstSplit?)

    /// Stops receiving and sending and frees what the port holds. Idempotent.
    func close()
}

extension PacketPort {
    /// Totals over all queues, plus what the backend itself reports.
    public var statistics: PortStatistics { counters.totals() }

    public var stampsReceiptTime: Bool { false }

    /// No zero copy unless a port says so.
    public var zeroCopyDomain: ObjectIdentifier? { nil }

    /// A port without a zero-copy domain is never asked to take frames; if it is, it copies.
    public func send(taking burst: FrameBurst, _ split: BurstSplit, queue: Int) -> SendResult {
        send(copying: burst, split, queue: queue)
    }

    /// Gives back every frame of `burst` lent on `queue` (nothing was taken).
    public func release(_ burst: FrameBurst, queue: Int) {
        release(burst, queue: queue, exceptTakenBy: nil)
    }
}

/// What a port's `send` did with the frames it was given.
public struct SendResult: Equatable, Sendable {
    /// Handed to the TX ring, and their bytes.
    public var sent: Int
    public var sentBytes: Int
    /// The TX ring had no room: freed (or left with their owner, when copied).
    public var txFull: Int
    /// Lost to the backend: too long for a slot, no buffer to copy into.
    public var errors: Int

    @inlinable
    public init(sent: Int = 0, sentBytes: Int = 0, txFull: Int = 0, errors: Int = 0) {
        self.sent = sent
        self.sentBytes = sentBytes
        self.txFull = txFull
        self.errors = errors
    }
}

/// What forwarding a burst did, over both ports.
public struct TxResult: Equatable, Sendable {
    /// Accepted and handed to the TX ring.
    public var sent: Int
    /// Not accepted by the pipeline: freed.
    public var dropped: Int
    /// Accepted, but the TX ring had no room (or the frame could not be sent): freed.
    public var txFull: Int

    @inlinable
    public init(sent: Int = 0, dropped: Int = 0, txFull: Int = 0) {
        self.sent = sent
        self.dropped = dropped
        self.txFull = txFull
    }
}

/// Whether a port can carry traffic.
public struct LinkState: Equatable, Sendable, CustomStringConvertible {
    public var up: Bool
    /// 0 when unknown (virtual devices).
    public var speedMbps: UInt32
    public var fullDuplex: Bool

    public init(up: Bool, speedMbps: UInt32 = 0, fullDuplex: Bool = true) {
        self.up = up
        self.speedMbps = speedMbps
        self.fullDuplex = fullDuplex
    }

    public var description: String {
        guard up else { return "down" }
        let speed = speedMbps == 0 ? "speed unknown" : "\(speedMbps) Mb/s"
        return "up, \(speed), \(fullDuplex ? "full" : "half") duplex"
    }
}

/// An Ethernet MAC address.
public struct MACAddress: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var bytes: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)

    public init(_ b: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8)) { bytes = b }

    /// The address as a 48-bit value, first octet highest (the router's form).
    public var value: UInt64 {
        let b = bytes
        return [b.0, b.1, b.2, b.3, b.4, b.5].reduce(0) { $0 << 8 | UInt64($1) }
    }

    public init?(_ array: [UInt8]) {
        guard array.count == 6 else { return nil }
        bytes = (array[0], array[1], array[2], array[3], array[4], array[5])
    }

    public var array: [UInt8] { [bytes.0, bytes.1, bytes.2, bytes.3, bytes.4, bytes.5] }

    public static func == (a: MACAddress, b: MACAddress) -> Bool { a.array == b.array }
    public func hash(into h: inout Hasher) { h.combine(array) }

    public var description: String {
        array.map { b in
            let s = String(b, radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined(separator: ":")
    }
}
