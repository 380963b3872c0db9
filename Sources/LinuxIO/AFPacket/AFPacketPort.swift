import CLinux
import FirewallCore
import Glibc
import Ports

/// How to open an AF_PACKET port.
public struct AFPacketPortConfig: Sendable {
    /// The network interface, in the network namespace of the calling thread.
    public var interface: String
    /// What vfwall calls the port (`inside`, `outside`); the interface by default.
    public var name: String
    /// RX sockets joined in one PACKET_FANOUT_HASH group (and as many TX sockets): one per worker.
    public var queues: Int
    /// TPACKET_V3 RX ring of each queue: `rxBlockCount` blocks of `rxBlockSize` bytes.
    public var rxBlockSize: Int
    public var rxBlockCount: Int
    /// A block still filling is handed over after this long, so slow traffic is not held back.
    public var rxBlockTimeoutMs: Int
    /// TPACKET_V2 TX ring of each queue: `txSlots` slots of `txSlotSize` bytes (frame + 32).
    public var txSlots: Int
    public var txSlotSize: Int
    /// Receive frames for any MAC (PACKET_MR_PROMISC, undone when the port closes).
    public var promiscuous: Bool
    /// Largest burst `rxBurst` returns.
    public var maxBurst: Int

    public init(
        interface: String, name: String? = nil, queues: Int = 1, rxBlockSize: Int = 1 << 18,
        rxBlockCount: Int = 32, rxBlockTimeoutMs: Int = 1, txSlots: Int = 1024, txSlotSize: Int = 2048,
        promiscuous: Bool = true, maxBurst: Int = 64
    ) {
        self.interface = interface
        self.name = name ?? interface
        self.queues = queues
        self.rxBlockSize = rxBlockSize
        self.rxBlockCount = rxBlockCount
        self.rxBlockTimeoutMs = rxBlockTimeoutMs
        self.txSlots = txSlots
        self.txSlotSize = txSlotSize
        self.promiscuous = promiscuous
        self.maxBurst = maxBurst
    }
}

/// A Linux interface driven through AF_PACKET sockets: per queue, one RX socket with a
/// memory-mapped TPACKET_V3 ring and one TX socket with a TPACKET_V2 ring. With several queues
/// the RX sockets form a PACKET_FANOUT_HASH group: the kernel hashes each flow, both directions
/// alike, to one socket, so one worker sees all of a connection. RX sockets ignore what the
/// port itself sends (PACKET_IGNORE_OUTGOING).
///
/// Frames are copied once on the way out (RX ring to TX ring); received frames are timestamped
/// with CLOCK_MONOTONIC per burst, like DPDK ports, so both ports of a pair share one clock.
public final class AFPacketPort: PacketPort {
    public let name: String
    public let interface: String
    public let interfaceIndex: Int32
    public let queueCount: Int
    public var linkType: LinkType { .ethernet }
    public var stampsReceiptTime: Bool { true }
    public let macAddress: MACAddress?
    public let counters: PortCounters
    /// The PACKET_FANOUT group id (0 with one queue).
    public let fanoutGroup: UInt16
    public let maxBurst: Int
    private let rx: UnsafeMutablePointer<PacketRxRing>
    private let tx: UnsafeMutablePointer<PacketTxRing>
    private var closed = false

    nonisolated(unsafe) private static var instances: UInt16 = 0

    /// Opens the port on `config.interface` in the calling thread's network namespace.
    public init(_ config: AFPacketPortConfig) throws {
        let iface = config.interface
        guard config.queues >= 1, config.queues <= 64 else {
            throw PortError.invalid("port \(config.name): \(config.queues) queues requested, 1...64 allowed")
        }
        guard config.maxBurst >= 1, config.maxBurst <= 1024 else {
            throw PortError.invalid("port \(config.name): burst of \(config.maxBurst) requested, 1...1024 allowed")
        }
        // sysconf answers -1 when it cannot tell: then the smallest page there is.
        let page = Swift.max(4096, Int(sysconf(Int32(_SC_PAGESIZE))))
        // Upper bounds keep the UInt32 conversions and the ring-size products below from trapping.
        guard config.rxBlockSize >= page, config.rxBlockSize <= 1 << 30, config.rxBlockSize % page == 0,
            config.rxBlockCount >= 2, config.rxBlockCount <= 1 << 16,
            config.rxBlockTimeoutMs >= 0, config.rxBlockTimeoutMs <= 60_000,
            config.txSlotSize >= 128, config.txSlotSize <= 1 << 16, config.txSlotSize % 16 == 0,
            config.txSlots >= 1, config.txSlots <= 1 << 20
        else {
            throw PortError.invalid(
                "port \(config.name): RX blocks must be page multiples (\(page)) up to 1 GiB, 2 to "
                    + "65536 of them, retired within 0 to 60000 ms; TX slots 16-byte multiples of 128 to "
                    + "65536 bytes, 1 to 2^20 of them")
        }
        let index = try checked("if_nametoindex", iface) { clinux_interface_index(iface) }

        var rxRings: [PacketRxRing] = []
        var txRings: [PacketTxRing] = []
        var group: UInt16 = 0
        do {
            for q in 0..<config.queues {
                rxRings.append(try Self.openRx(config, index: index, promiscuous: config.promiscuous && q == 0))
                txRings.append(try Self.openTx(config, index: index))
            }
            if config.queues > 1 { group = try Self.joinFanout(rxRings.map(\.fd), interface: iface) }
        } catch {
            rxRings.forEach { $0.unmap() }
            txRings.forEach { $0.unmap() }
            throw error
        }
        var mac = [UInt8](repeating: 0, count: 6)
        macAddress = clinux_interface_mac(rxRings[0].fd, iface, &mac) == 0 ? MACAddress(mac) : nil

        name = config.name
        interface = iface
        interfaceIndex = index
        queueCount = config.queues
        fanoutGroup = group
        maxBurst = config.maxBurst
        counters = PortCounters(queues: config.queues)
        rx = .allocate(capacity: config.queues)
        rx.initialize(from: rxRings, count: config.queues)
        tx = .allocate(capacity: config.queues)
        tx.initialize(from: txRings, count: config.queues)
    }

    private static func openRx(_ c: AFPacketPortConfig, index: Int32, promiscuous: Bool) throws -> PacketRxRing {
        let iface = c.interface
        let fd = try checked("socket(AF_PACKET, SOCK_RAW, ETH_P_ALL)", iface) {
            clinux_packet_socket(UInt16(ETH_P_ALL))
        }
        do {
            try checked("setsockopt(PACKET_VERSION, TPACKET_V3)", iface) {
                clinux_packet_set_version(fd, Int32(TPACKET_V3.rawValue))
            }
            try checked("setsockopt(PACKET_RX_RING, \(c.rxBlockCount) blocks of \(c.rxBlockSize) bytes)", iface) {
                clinux_packet_rx_ring_v3(
                    fd, UInt32(c.rxBlockSize), UInt32(c.rxBlockCount), 2048, UInt32(c.rxBlockTimeoutMs))
            }
        } catch {
            Glibc.close(fd)
            throw error
        }
        let base = try mapRing(fd: fd, bytes: c.rxBlockSize * c.rxBlockCount, interface: iface)
        let ring = PacketRxRing(
            fd: fd, base: base, blockSize: c.rxBlockSize, blockCount: c.rxBlockCount,
            filterOutgoing: clinux_packet_ignore_outgoing(fd) != 0)
        do {
            try checked("bind(AF_PACKET)", iface) { clinux_packet_bind(fd, index, UInt16(ETH_P_ALL)) }
            if promiscuous {
                try checked("setsockopt(PACKET_ADD_MEMBERSHIP, PACKET_MR_PROMISC)", iface) {
                    clinux_packet_promiscuous(fd, index)
                }
            }
        } catch {
            ring.unmap()
            throw error
        }
        return ring
    }

    private static func openTx(_ c: AFPacketPortConfig, index: Int32) throws -> PacketTxRing {
        let iface = c.interface
        // Protocol 0: a socket that only sends, never queues received frames.
        let fd = try checked("socket(AF_PACKET, SOCK_RAW, 0)", iface) { clinux_packet_socket(0) }
        let perBlock = max(1, (1 << 16) / c.txSlotSize)  // 64 KiB blocks
        let blocks = (c.txSlots + perBlock - 1) / perBlock
        do {
            try checked("setsockopt(PACKET_VERSION, TPACKET_V2)", iface) {
                clinux_packet_set_version(fd, Int32(TPACKET_V2.rawValue))
            }
            _ = clinux_packet_qdisc_bypass(fd)  // an optimisation only; fine if refused
            try checked("setsockopt(PACKET_TX_RING, \(blocks * perBlock) slots of \(c.txSlotSize) bytes)", iface) {
                clinux_packet_tx_ring_v2(fd, UInt32(perBlock * c.txSlotSize), UInt32(blocks), UInt32(c.txSlotSize))
            }
        } catch {
            Glibc.close(fd)
            throw error
        }
        let base = try mapRing(fd: fd, bytes: blocks * perBlock * c.txSlotSize, interface: iface)
        let ring = PacketTxRing(fd: fd, base: base, slotSize: c.txSlotSize, slotCount: blocks * perBlock)
        do {
            try checked("bind(AF_PACKET)", iface) { clinux_packet_bind(fd, index, 0) }
        } catch {
            ring.unmap()
            throw error
        }
        return ring
    }

    /// Joins every RX socket to one fanout group. Group ids are per network namespace: if the
    /// first socket cannot join one (EINVAL: taken by another interface or other settings), try
    /// the next id; once one socket is in, the others join the same group or the open fails.
    private static func joinFanout(_ fds: [Int32], interface: String) throws -> UInt16 {
        var attempt = 0
        while true {
            instances &+= 1
            attempt += 1
            let group = UInt16(truncatingIfNeeded: Int(getpid()) &* 64 &+ Int(instances))
            let rc = clinux_packet_fanout_hash(fds[0], group)
            if rc == -EINVAL && attempt < 16 { continue }
            if rc < 0 {
                throw PortError.system(
                    call: "setsockopt(PACKET_FANOUT, hash|defrag, group \(group))", subject: interface, errno: -rc)
            }
            for fd in fds.dropFirst() {
                try checked("setsockopt(PACKET_FANOUT, hash|defrag, group \(group))", interface) {
                    clinux_packet_fanout_hash(fd, group)
                }
            }
            return group
        }
    }

    deinit { close() }

    public func close() {
        guard !closed else { return }
        closed = true
        for q in 0..<queueCount {
            rx[q].unmap()
            tx[q].unmap()
        }
        rx.deinitialize(count: queueCount)
        rx.deallocate()
        tx.deinitialize(count: queueCount)
        tx.deallocate()
        counters.deallocate()
    }

    public func linkState() -> LinkState {
        guard !closed else { return LinkState(up: false) }
        return LinkState(up: clinux_interface_running(rx[0].fd, interface) == 1)
    }

    /// Kernel counters of the RX socket of `queue` since the last call: frames the ring took,
    /// frames dropped because the ring was full.
    public func kernelStatistics(queue: Int) -> (packets: UInt32, drops: UInt32) {
        var packets: UInt32 = 0, drops: UInt32 = 0, freezes: UInt32 = 0
        _ = clinux_packet_stats_v3(rx[queue].fd, &packets, &drops, &freezes)
        return (packets, drops)
    }

    /// Waits until the RX ring of `queue` has a frame, or `timeoutMs` (for idle workers and
    /// tests; the poll-mode loop does not need it). Returns whether frames are waiting.
    @discardableResult
    public func waitForFrames(queue: Int, timeoutMs: Int32) -> Bool {
        var p = pollfd(fd: rx[queue].fd, events: Int16(POLLIN), revents: 0)
        return poll(&p, 1, timeoutMs) > 0
    }

    // MARK: fast path

    public func rxBurst(queue: Int, into burst: inout FrameBurst) -> Int {
        let n = rx[queue].receive(into: &burst, max: Swift.min(burst.capacity, maxBurst), now: monotonicNanoseconds())
        burst.count = n
        guard n > 0 else { return 0 }
        var bytes = 0
        for i in 0..<n { bytes &+= Int(burst.lengths[i]) }
        counters.add(.rx, n, queue: queue)
        counters.add(.rxBytes, bytes, queue: queue)
        return n
    }

    public func release(_ burst: FrameBurst, queue: Int, exceptTakenBy taken: BurstSplit?) {
        rx[queue].retireExhaustedBlock()
    }

    public func send(copying burst: FrameBurst, _ split: BurstSplit, queue: Int) -> SendResult {
        let ring = tx + queue
        var result = SendResult()
        for k in 0..<split.acceptedCount {
            let i = Int(split.accepted[k])
            let length = Int(burst.lengths[i])
            switch ring.pointee.enqueue(burst.frames[i], length: length, errors: &result.errors) {
            case .queued:
                result.sent &+= 1
                result.sentBytes &+= length
            case .full:
                result.txFull &+= 1
            case .tooLong:
                result.errors &+= 1
            }
        }
        if result.sent > 0 { ring.pointee.kick() }
        return result
    }
}
