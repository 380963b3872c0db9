import FirewallCore

/// A network port the workers read bursts from and write bursts to, whatever drives it:
/// DPDK (a VF or a virtual device), AF_PACKET sockets, pcap files, or memory (tests).
///
/// The loop of a worker that owns queue `q` of both ports of a pair:
///
///     let n = inside.rxBurst(queue: q, into: &burst)      // frames borrowed from `inside`
///     if n == 0 { continue }
///     pipeline.process(burst, ingress: 0, link: inside.linkType)
///     outside.transmit(burst, queue: q, from: inside)     // every frame ends here
///
/// Ownership: the frames of a received burst belong to the receiving port until `transmit`
/// (on any port) or `release` gives them back; they stay valid until then, and at the latest
/// until the next `rxBurst` on the same queue. Queue `q` of a port is used by one thread
/// at a time: the worker that owns it. Counters of queue `q` are written by that worker only.
///
/// The fast-path methods never allocate, throw, log or block.
public protocol PacketPort: AnyObject {
    /// What the configuration calls the port (`inside`, `net_ring0`, `veth1` ...).
    var name: String { get }
    /// How many RX (and as many TX) queues the port was opened with: one per worker.
    var queueCount: Int { get }
    /// What the first byte of a received frame is.
    var linkType: LinkType { get }
    /// Which backend drives the port; `transmit` uses it to find zero-copy paths.
    var backend: PortBackend { get }
    /// The port's own MAC address, when it has one.
    var macAddress: MACAddress? { get }
    /// Per-queue counters (rx, tx, dropped, txFull, errors); see `statistics` for totals.
    var counters: PortCounters { get }

    /// Link state now (does not wait for autonegotiation).
    func linkState() -> LinkState

    /// Fills `burst` with up to `burst.capacity` frames received on `queue` (frames, lengths,
    /// timestamps), sets `burst.count` and returns it. Returns 0 when nothing is waiting.
    func rxBurst(queue: Int, into burst: inout FrameBurst) -> Int

    /// Sends out of this port, on TX queue `queue`, the frames of `burst` whose verdict is
    /// `.accept`; `burst` was received by `source` on its queue `queue` (possibly `self`).
    /// Every frame of the burst ends here: sent, or freed and counted (`dropped` on the
    /// source for a verdict other than accept, `txFull` here when the TX ring had no room).
    @discardableResult
    func transmit(_ burst: FrameBurst, queue: Int, from source: PacketPort) -> TxResult

    /// Gives the frames of a received burst back to this port without sending them (after a
    /// copying transmit, or at shutdown). Counts nothing.
    func release(_ burst: FrameBurst, queue: Int)

    /// Stops receiving and sending and frees what the port holds. Idempotent.
    func close()
}

extension PacketPort {
    /// Totals over all queues, plus what the backend itself reports.
    public var statistics: PortStatistics { counters.totals() }
}

/// Which backend drives a port.
public enum PortBackend: UInt8, Sendable {
    case dpdk, afPacket, pcap, memory
}

/// What `transmit` did with a burst.
public struct TxResult: Equatable, Sendable {
    /// Accepted and handed to the TX ring.
    public var sent: Int
    /// Not accepted by the pipeline: freed.
    public var dropped: Int
    /// Accepted, but the TX ring had no room (or the frame did not fit): freed.
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
