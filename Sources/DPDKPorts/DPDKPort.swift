import CDPDK
import FirewallCore
import LinuxIO
import Ports

/// How to open a DPDK port.
public struct DPDKPortConfig: Sendable {
    /// The port's DPDK name: a PCI address (`0000:03:02.0`, a VF) or a vdev name (`net_ring0`).
    public var device: String
    /// What vfwall calls the port in statistics (`inside`, `outside`); the device by default.
    public var name: String
    /// RX and TX queues: one per worker.
    public var queues: Int
    public var rxDescriptors: Int
    public var txDescriptors: Int
    /// Receive frames for any MAC (a VF needs `trust on` on the PF for this to take effect).
    public var promiscuous: Bool
    /// Largest burst `rxBurst` returns (and the size of the per-queue mbuf arrays).
    public var maxBurst: Int

    public init(
        device: String, name: String? = nil, queues: Int = 1, rxDescriptors: Int = 1024,
        txDescriptors: Int = 1024, promiscuous: Bool = true, maxBurst: Int = 64
    ) {
        self.device = device
        self.name = name ?? device
        self.queues = queues
        self.rxDescriptors = rxDescriptors
        self.txDescriptors = txDescriptors
        self.promiscuous = promiscuous
        self.maxBurst = maxBurst
    }
}

/// A DPDK ethdev port: a VF on its poll-mode driver, or any virtual device.
///
/// Zero copy between DPDK ports: a received burst is a set of mbufs (the burst's `handles`);
/// `send(taking:)` hands the accepted ones to this port's TX queue as they are, and the
/// receiver's `release` frees the rest in bulk. Frames of other ports are copied into mbufs
/// from this port's pool.
public final class DPDKPort: PacketPort {
    public let name: String
    public let device: String
    public let portID: UInt16
    public let queueCount: Int
    public var linkType: LinkType { .ethernet }
    /// Every DPDK port of the process: one EAL, whose mbufs any port can send.
    public var zeroCopyDomain: ObjectIdentifier? { ObjectIdentifier(DPDKPort.self) }
    public var stampsReceiptTime: Bool { true }
    public let macAddress: MACAddress?
    public let counters: PortCounters
    public let driver: String
    /// RSS hash functions enabled (0 with one queue, or when the device has no RSS).
    public let rssHashFunctions: UInt64
    /// Whether promiscuous mode is on (some virtual devices do not support it).
    public let promiscuous: Bool
    public let maxBurst: Int
    let pool: MbufPool

    /// Per queue, `maxBurst` slots each: the mbufs of the burst lent out by `rxBurst` (index i
    /// is frame i of the burst, and the burst's `handles`), and scratch arrays for the sends.
    private let rxMbufs: UnsafeMutablePointer<OpaquePointer?>
    private let txMbufs: UnsafeMutablePointer<OpaquePointer?>
    private let freeMbufs: UnsafeMutablePointer<OpaquePointer?>
    private let txLengths: UnsafeMutablePointer<Int32>
    private let copyFrames: UnsafeMutablePointer<UnsafeRawPointer?>
    /// Per queue: how many of `rxMbufs` are lent out and not yet sent or freed.
    private let lent: UnsafeMutablePointer<Int>
    private var closed = false

    /// Opens, configures and starts the port named `config.device`, its RX queues fed from `pool`.
    public init(_ config: DPDKPortConfig, pool: MbufPool) throws {
        try DPDKEnvironment.requireInitialized()
        guard config.queues >= 1, config.queues <= 128 else {
            throw PortError.invalid("port \(config.name): \(config.queues) queues requested, 1...128 allowed")
        }
        guard config.maxBurst >= 1, config.maxBurst <= 1024 else {
            throw PortError.invalid("port \(config.name): burst of \(config.maxBurst) requested, 1...1024 allowed")
        }
        var id: UInt16 = 0
        guard cdpdk_port_by_name(config.device, &id) == 0 else {
            let known = DPDKEnvironment.portNames()
            throw PortError.invalid(
                "no DPDK port \(config.device) (known: \(known.isEmpty ? "none" : known.joined(separator: ", ")))")
        }
        let what = "port \(id) (\(config.device))"
        var info = cdpdk_port_info()
        try Self.check(cdpdk_port_info(id, &info), "read device info of \(what)")
        let driver = withUnsafeBytes(of: info.driver) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        guard config.queues <= Int(info.max_rx_queues), config.queues <= Int(info.max_tx_queues) else {
            throw PortError.invalid(
                "\(what), driver \(driver), has at most \(info.max_rx_queues) RX and \(info.max_tx_queues) TX "
                    + "queues; \(config.queues) requested"
            )
        }
        let n = UInt16(config.queues)
        var rss: UInt64 = 0
        try Self.check(cdpdk_port_configure(id, n, n, &rss), "configure \(what) with \(n) RX/TX queues")
        var rxd = UInt16(clamping: config.rxDescriptors), txd = UInt16(clamping: config.txDescriptors)
        try Self.check(cdpdk_port_adjust_descriptors(id, &rxd, &txd), "adjust descriptor counts of \(what)")
        for q in 0..<n {
            try Self.check(
                cdpdk_rx_queue_setup(id, q, rxd, pool.pool), "set up RX queue \(q) of \(what) with \(rxd) descriptors")
            try Self.check(cdpdk_tx_queue_setup(id, q, txd), "set up TX queue \(q) of \(what) with \(txd) descriptors")
        }
        try Self.check(cdpdk_port_start(id), "start \(what)")
        var promiscuous = false
        if config.promiscuous {
            let rc = cdpdk_port_promiscuous(id, true)
            promiscuous = rc == 0 || cdpdk_port_is_promiscuous(id) == 1
            // A device without the operation (-ENOTSUP) takes everything anyway (virtual devices);
            // any other failure is real.
            if rc < 0 && rc != -95 /* ENOTSUP */ {
                _ = cdpdk_port_stop(id)
                throw DPDKPortError.promiscuousRefused(port: what, code: rc)
            }
        }
        var mac = [UInt8](repeating: 0, count: 6)
        macAddress = cdpdk_port_mac(id, &mac) == 0 ? MACAddress(mac) : nil

        self.name = config.name
        self.device = config.device
        self.portID = id
        self.queueCount = config.queues
        self.driver = driver
        self.rssHashFunctions = rss
        self.promiscuous = promiscuous
        self.maxBurst = config.maxBurst
        self.pool = pool
        counters = PortCounters(queues: config.queues)
        let slots = config.queues * config.maxBurst
        rxMbufs = .allocate(capacity: slots)
        rxMbufs.initialize(repeating: nil, count: slots)
        txMbufs = .allocate(capacity: slots)
        txMbufs.initialize(repeating: nil, count: slots)
        freeMbufs = .allocate(capacity: slots)
        freeMbufs.initialize(repeating: nil, count: slots)
        txLengths = .allocate(capacity: slots)
        txLengths.initialize(repeating: 0, count: slots)
        copyFrames = .allocate(capacity: slots)
        copyFrames.initialize(repeating: nil, count: slots)
        lent = .allocate(capacity: config.queues)
        lent.initialize(repeating: 0, count: config.queues)
    }

    private static func check(_ rc: Int32, _ action: @autoclosure () -> String) throws {
        if rc < 0 { throw PortError.dpdk(action: action(), code: rc) }
    }

    deinit { close() }

    /// Stops and closes the device, freeing the mbufs still lent out. The pool stays.
    public func close() {
        guard !closed else { return }
        closed = true
        for q in 0..<queueCount { freeLent(queue: q) }
        // Leave the device as found: net_af_packet sets IFF_PROMISC on the Linux interface and
        // closing the port does not clear it.
        if promiscuous { _ = cdpdk_port_promiscuous(portID, false) }
        _ = cdpdk_port_stop(portID)
        _ = cdpdk_port_close(portID)
        rxMbufs.deallocate()
        txMbufs.deallocate()
        freeMbufs.deallocate()
        txLengths.deallocate()
        copyFrames.deallocate()
        lent.deallocate()
        counters.deallocate()
    }

    public func linkState() -> LinkState {
        var link = cdpdk_link()
        guard !closed, cdpdk_port_link(portID, &link) == 0 else { return LinkState(up: false) }
        return LinkState(up: link.up, speedMbps: link.speed_mbps, fullDuplex: link.full_duplex)
    }

    /// The device's own counters (what the NIC or driver saw, including misses before vfwall).
    public func deviceStatistics() -> cdpdk_stats {
        var s = cdpdk_stats()
        _ = cdpdk_port_stats(portID, &s)
        return s
    }

    /// The driver's extended statistics, by name.
    public func extendedStatistics() -> [(name: String, value: UInt64)] {
        let nameLength = 64
        // The driver's count, bounded so a wrong one cannot ask for gigabytes of names.
        let total = Swift.min(cdpdk_port_xstats(portID, nil, nameLength, nil, 0), 1 << 16)
        guard total > 0 else { return [] }
        var names = [CChar](repeating: 0, count: Int(total) * nameLength)
        var values = [UInt64](repeating: 0, count: Int(total))
        let got = cdpdk_port_xstats(portID, &names, nameLength, &values, UInt32(total))
        guard got > 0 else { return [] }
        return (0..<Int(min(got, total))).map { i in
            let name = names[(i * nameLength)..<((i + 1) * nameLength)].prefix { $0 != 0 }
            return (String(decoding: name.map { UInt8(bitPattern: $0) }, as: UTF8.self), values[i])
        }
    }

    // MARK: fast path

    @inline(__always)
    private func freeLent(queue: Int) {
        let n = lent[queue]
        if n > 0 {
            cdpdk_free_bulk(rxMbufs + queue &* maxBurst, UInt32(n))
            lent[queue] = 0
        }
    }

    public func rxBurst(queue: Int, into burst: inout FrameBurst) -> Int {
        freeLent(queue: queue)  // a burst never given back is over now
        let want = UInt16(truncatingIfNeeded: Swift.min(burst.capacity, maxBurst))
        var bytes: UInt64 = 0
        // At most `want` by rte_eth_rx_burst's contract; bounded anyway, the arrays hold no more.
        let n = Swift.min(
            Int(
                cdpdk_rx_burst(
                    portID, UInt16(truncatingIfNeeded: queue), rxMbufs + queue &* maxBurst,
                    want, burst.frames, burst.lengths, &bytes)), Int(want))
        burst.count = n
        burst.handles = rxMbufs + queue &* maxBurst
        guard n > 0 else { return 0 }
        lent[queue] = n
        let now = monotonicNanoseconds()
        for i in 0..<n { burst.timestamps[i] = now }
        counters.add(.rx, n, queue: queue)
        counters.add(.rxBytes, Int(truncatingIfNeeded: bytes), queue: queue)
        return n
    }

    public func release(_ burst: FrameBurst, queue: Int, exceptTakenBy taken: BurstSplit?) {
        guard let taken else { return freeLent(queue: queue) }
        // The accepted mbufs belong to the sender now: free only the refused ones.
        let lentNow = lent[queue]
        let received = rxMbufs + queue &* maxBurst
        let drop = freeMbufs + queue &* maxBurst
        var n = 0
        for k in 0..<Swift.min(taken.refusedCount, maxBurst) {
            let i = Int(taken.refused[k])
            if i < lentNow {
                drop[n] = received[i]
                n &+= 1
            }
        }
        lent[queue] = 0
        if n > 0 { cdpdk_free_bulk(drop, UInt32(n)) }
    }

    /// Zero copy: the accepted mbufs of a DPDK port's burst go to this port's TX queue as they
    /// are; those the ring does not take are freed.
    public func send(taking burst: FrameBurst, _ split: BurstSplit, queue: Int) -> SendResult {
        guard let handles = burst.handles else { return send(copying: burst, split, queue: queue) }
        let count = split.acceptedCount
        let tx: UnsafeMutablePointer<OpaquePointer?>
        if split.acceptsAll {
            tx = handles  // the common case: the received array as it is
        } else {
            tx = txMbufs + queue &* maxBurst
            for k in 0..<Swift.min(count, maxBurst) { tx[k] = handles[Int(split.accepted[k])] }
        }
        let want = Swift.min(count, maxBurst)
        let sent = transmitFreeingRest(tx, count: want, queue: queue)
        var bytes = 0
        for k in 0..<sent { bytes &+= Int(burst.lengths[Int(split.accepted[k])]) }
        return SendResult(sent: sent, sentBytes: bytes, txFull: want &- sent)
    }

    /// Hands `count` mbufs to TX queue `queue` and frees those the ring did not take; returns
    /// how many it took (the first ones). rte_eth_tx_burst takes at most what it is given;
    /// bounded anyway, as the counts rely on it.
    @inline(__always)
    private func transmitFreeingRest(_ tx: UnsafeMutablePointer<OpaquePointer?>, count: Int, queue: Int) -> Int {
        let sent = Swift.min(
            Int(cdpdk_tx_burst(portID, UInt16(truncatingIfNeeded: queue), tx, UInt16(truncatingIfNeeded: count))),
            count)
        if sent < count { cdpdk_free_bulk(tx + sent, UInt32(count &- sent)) }
        return sent
    }

    /// From another backend: accepted frames are copied into mbufs of this port's pool.
    public func send(copying burst: FrameBurst, _ split: BurstSplit, queue: Int) -> SendResult {
        let tx = txMbufs + queue &* maxBurst
        let frames = copyFrames + queue &* maxBurst
        let lengths = txLengths + queue &* maxBurst
        var result = SendResult()
        var k = 0
        while k < split.acceptedCount {
            // Gather up to maxBurst accepted frames, copy them, send them.
            var n = 0
            while k < split.acceptedCount && n < maxBurst {
                let i = Int(split.accepted[k])
                frames[n] = burst.frames[i]
                lengths[n] = burst.lengths[i]
                n &+= 1
                k &+= 1
            }
            let made = Swift.min(Int(cdpdk_mbufs_from_bytes(pool.pool, frames, lengths, UInt32(n), tx)), n)
            result.errors &+= n &- made  // no mbuf left, or a frame larger than an mbuf
            let sent = transmitFreeingRest(tx, count: made, queue: queue)
            for j in 0..<sent { result.sentBytes &+= Int(lengths[j]) }
            result.sent &+= sent
            result.txFull &+= made &- sent
        }
        return result
    }

    /// Sends copies of `frames` on `queue` (slow path: tests, and the replies of `reject`).
    /// Returns how many the TX queue took.
    @discardableResult
    public func send(copying frames: [[UInt8]], queue: Int = 0) -> Int {
        guard let q = UInt16(exactly: queue), queue < queueCount else { return 0 }
        var mbufs = pool.mbufs(copying: frames).map { Optional($0) }
        let sent = Swift.min(Int(cdpdk_tx_burst(portID, q, &mbufs, UInt16(clamping: mbufs.count))), mbufs.count)
        if sent < mbufs.count {
            mbufs.withUnsafeMutableBufferPointer { cdpdk_free_bulk($0.baseAddress! + sent, UInt32($0.count - sent)) }
        }
        counters.add(.tx, sent, queue: queue)
        return sent
    }
}
