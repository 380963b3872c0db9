import CLinux
import CPcap
import FirewallCore
import Ports

/// A port on capture files, for the `pcap` backend: it receives the frames of its input file,
/// in order and with the capture's timestamps (so a live run over files decides exactly as
/// `vfwall replay` does), and writes what it sends to its output file. When the input is
/// exhausted it receives nothing more and says so (`inputExhausted`), so the engine can stop.
///
/// One queue. A port without an input receives nothing (and is exhausted from the start); a port
/// without an output counts what it is given as sent and discards it, as DPDK's net_null does.
public final class PcapPort: PacketPort {
    public let name: String
    public var queueCount: Int { 1 }
    public let linkType: LinkType
    public var macAddress: MACAddress? { nil }
    public let counters: PortCounters
    public let inputPath: String?
    public let outputPath: String?
    /// The libpcap link type (DLT) of the input, or Ethernet without one.
    public let dlt: Int32

    private let reader: PcapReader?
    private var writer: PcapWriter?
    /// libpcap's read handle and the writer, unmanaged, so the fast path touches no reference count.
    private let readHandle: OpaquePointer?
    private let output: Unmanaged<PcapWriter>?
    /// Why the input ended early (a damaged capture): set once, when it happens.
    public private(set) var inputError: String?
    /// The bytes of the burst lent out: pcap_next_ex reuses its buffer, so frames are copied.
    private let arena: UnsafeMutableRawPointer
    private let arenaSlots: Int
    /// [0]: 1 once the input is exhausted (release store: the frames before it were handled).
    private let state: UnsafeMutablePointer<UInt64>
    private var closed = false
    static let slotSize = PcapRecord.maxFrame
    /// `state`: frames may come; the input ended (end of file or damage) after the burst just
    /// lent; every frame has been received and the burst before handled.
    static let reading: UInt64 = 0, endedAfterBurst: UInt64 = 2, exhausted: UInt64 = 1

    /// Opens `input` for reading and creates `output` (frames written with link type
    /// `outputDLT`, by default the input's). Throws `PcapError` naming the file.
    public convenience init(
        name: String, input: String?, output: String?, outputDLT: Int32? = nil,
        maxBurst: Int = 64
    ) throws {
        try self.init(
            name: name, reader: input.map { try PcapReader(path: $0) }, output: output,
            outputDLT: outputDLT, maxBurst: maxBurst)
    }

    /// Reads from `reader`, already open (a replay's capture); `outputInBackground` writes the
    /// output from a thread of its own (`PcapWriter`), for outputs larger than the input.
    public init(
        name: String, reader: PcapReader?, output: String?, outputDLT: Int32? = nil, maxBurst: Int = 64,
        outputInBackground: Bool = false
    ) throws {
        self.name = name
        inputPath = reader?.path
        outputPath = output
        let writer = try output.map {
            try PcapWriter(path: $0, dlt: outputDLT ?? reader?.dlt ?? DLT_EN10MB, inBackground: outputInBackground)
        }
        self.reader = reader
        self.writer = writer
        dlt = reader?.dlt ?? DLT_EN10MB
        linkType = reader?.linkType ?? .ethernet
        readHandle = reader?.handle
        self.output = writer.map { Unmanaged.passUnretained($0) }
        counters = PortCounters(queues: 1)
        arenaSlots = max(1, maxBurst)
        arena = .allocate(byteCount: arenaSlots * Self.slotSize, alignment: 64)
        state = .allocate(capacity: 1)
        state.initialize(to: reader == nil ? Self.exhausted : Self.reading)
    }

    /// Writes what is left of the output and closes it; throws when a write failed (a full
    /// disk). `close()` does the same but cannot say so.
    public func finishOutput() throws {
        try writer?.close()
    }

    deinit { close() }

    public func close() {
        guard !closed else { return }
        closed = true
        try? writer?.close()
        writer = nil  // closes the file
        arena.deallocate()
        state.deallocate()
        counters.deallocate()
    }

    /// Whether every frame of the input has been received (and the burst before handled).
    public var inputExhausted: Bool { closed || clinux_load_acquire(state) == Self.exhausted }

    public func linkState() -> LinkState { LinkState(up: !closed) }

    // MARK: fast path

    public func rxBurst(queue: Int, into burst: inout FrameBurst) -> Int {
        burst.count = 0
        guard let readHandle else { return 0 }
        switch clinux_load_acquire(state) {
        case Self.reading: break
        case Self.endedAfterBurst:
            // The burst before the end or the damage has been handled: now the input is exhausted.
            clinux_store_release(state, Self.exhausted)
            return 0
        default: return 0
        }
        let want = Swift.min(burst.capacity, arenaSlots)
        var n = 0, bytes = 0
        while n < want {
            var header: UnsafeMutablePointer<pcap_pkthdr>?
            var data: UnsafePointer<UInt8>?
            let rc = pcap_next_ex(readHandle, &header, &data)
            if rc != 1 {
                // End of file, or damage (counted as one error): nothing more comes from here.
                if rc != PCAP_ERROR_BREAK {
                    counters.add(.errors, 1, queue: 0)
                    if inputError == nil {
                        let why = "damaged capture: \(String(cString: pcap_geterr(readHandle)))"
                        inputError = PcapError(path: inputPath ?? name, message: why).description
                    }
                }
                // No second read after an error: libpcap would go on from wherever it stopped.
                clinux_store_release(state, n == 0 ? Self.exhausted : Self.endedAfterBurst)
                break
            }
            guard let h = header?.pointee else {
                counters.add(.errors, 1, queue: 0)
                clinux_store_release(state, n == 0 ? Self.exhausted : Self.endedAfterBurst)
                break
            }
            // Length and timestamp checked as the reader checks them (PcapRecord).
            let length = data == nil ? 0 : PcapRecord.length(h)
            let slot = arena + n &* Self.slotSize
            if length > 0, let data { slot.copyMemory(from: data, byteCount: length) }
            burst.frames[n] = UnsafeRawPointer(slot)
            burst.lengths[n] = Int32(truncatingIfNeeded: length)  // at most PcapRecord.maxFrame
            burst.timestamps[n] = PcapRecord.timestamp(h)
            bytes &+= length
            n &+= 1
        }
        burst.count = n
        if n > 0 {
            counters.add(.rx, n, queue: 0)
            counters.add(.rxBytes, bytes, queue: 0)
        }
        return n
    }

    public func release(_ burst: FrameBurst, queue: Int, exceptTakenBy taken: BurstSplit?) {}

    public func send(copying burst: FrameBurst, _ split: BurstSplit, queue: Int) -> SendResult {
        var result = SendResult()
        for k in 0..<split.acceptedCount {
            let i = Int(split.accepted[k])
            output?._withUnsafeGuaranteedRef { $0.write(burst.frame(i), timestamp: burst.timestamps[i]) }
            result.sent &+= 1
            result.sentBytes &+= Int(burst.lengths[i])
        }
        return result
    }
}
