import CPcap
import FirewallCore
import Ports
#if canImport(Glibc)
    import Glibc
#endif

/// A capture file could not be read or written.
public struct PcapError: Error, CustomStringConvertible {
    public var path: String
    public var message: String
    public var description: String { "\(path): \(message)" }

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
}

/// The link types vfwall understands, by libpcap DLT value.
enum PcapLinkTypes {
    static func linkType(dlt: Int32) -> LinkType? {
        switch dlt {
        case DLT_EN10MB: return .ethernet
        case DLT_LINUX_SLL: return .linuxCooked
        case 276: return .linuxCooked2  // DLT_LINUX_SLL2
        case DLT_RAW, 101, 228, 229: return .rawIP  // DLT_RAW (and LINKTYPE_RAW), IPV4, IPV6
        case DLT_NULL: return .null
        case 108: return .loop  // DLT_LOOP (12 on OpenBSD itself, 108 in files)
        default: return nil
        }
    }

    /// What the refusal of another link type lists.
    static let supported = "Ethernet, Linux cooked (SLL, SLL2), raw IP and BSD loopback (NULL, LOOP)"

    static func name(dlt: Int32) -> String {
        if let n = pcap_datalink_val_to_name(dlt) { return String(cString: n) }
        return "DLT \(dlt)"
    }
}

/// What vfwall takes from a record header libpcap hands over, and what it writes into one. The
/// fields come from the file: none is trusted to be in range (docs/dataplane.md, "Capture files").
package enum PcapRecord {
    /// Longest frame kept: the longest IP packet (IPv6: 40 + 65535 bytes) behind two VLAN tags
    /// and a link header still fits, so the cut never changes a verdict. libpcap itself refuses
    /// records longer than 262144 bytes (a damaged capture) and cuts those past the file's
    /// snaplen to it; a record longer than this is cut here. `len`, the length on the wire, is
    /// not used: a record whose caplen exceeds it still gives its caplen bytes.
    package static let maxFrame = 65536 + 256
    package static let nanosPerSecond: UInt64 = 1_000_000_000
    /// The last second whose nanoseconds fit in a UInt64 (2554-07-21).
    package static let maxSeconds = Int(UInt64.max / nanosPerSecond)

    @inline(__always)
    package static func length(_ h: pcap_pkthdr) -> Int { Swift.min(Int(h.caplen), maxFrame) }

    /// Nanoseconds since 1970 of a record libpcap read with nanosecond precision (`fraction` is
    /// its tv_usec, in nanoseconds). Never traps:
    /// - seconds in -2^31..<0 are the pcap header's unsigned 32-bit field read as signed (libpcap
    ///   1.10 does so when the file is in the machine's byte order): 2038 to 2106, taken unsigned
    ///   (a pcapng time up to 68 years before 1970 looks the same and reads the same way);
    /// - other negative seconds (a pcapng time further before 1970) give 0, the epoch;
    /// - a fraction outside 0..<1e9 (a microsecond field of 1,000,000 or more, a nanosecond field
    ///   of 1e9 or more, in either byte order) gives 999,999,999: the record keeps its second;
    /// - past 2554 (nanoseconds beyond UInt64) saturates at UInt64.max.
    @inline(__always)
    package static func timestamp(seconds: Int, fraction: Int) -> UInt64 {
        var s = seconds
        if s < 0 { s = s >= -0x8000_0000 ? s &+ 0x1_0000_0000 : 0 }
        let f = fraction >= 0 && fraction < 1_000_000_000 ? UInt64(truncatingIfNeeded: fraction) : 999_999_999
        guard s <= maxSeconds else { return .max }
        // s <= maxSeconds: the product fits; the fraction may still carry past UInt64.max.
        let (t, overflow) = (UInt64(truncatingIfNeeded: s) &* nanosPerSecond).addingReportingOverflow(f)
        return overflow ? .max : t
    }

    @inline(__always)
    package static func timestamp(_ h: pcap_pkthdr) -> UInt64 {
        timestamp(seconds: Int(truncatingIfNeeded: h.ts.tv_sec), fraction: Int(truncatingIfNeeded: h.ts.tv_usec))
    }

    /// The header of a record written with nanosecond precision. The pcap format holds seconds in
    /// 32 bits: a later timestamp is written as the last nanosecond of 2106-02-07 06:28:15.
    @inline(__always)
    package static func header(timestamp: UInt64, length: Int) -> pcap_pkthdr {
        var h = pcap_pkthdr()
        let seconds = timestamp / nanosPerSecond
        if seconds > UInt64(UInt32.max) {
            h.ts.tv_sec = Int(UInt32.max)
            h.ts.tv_usec = 999_999_999
        } else {
            h.ts.tv_sec = Int(truncatingIfNeeded: seconds)
            h.ts.tv_usec = Int(truncatingIfNeeded: timestamp % nanosPerSecond)
        }
        h.caplen = UInt32(clamping: Swift.max(0, length))
        h.len = h.caplen
        return h
    }
}

/// Reads pcap and pcapng files (libpcap reads both) with nanosecond timestamps.
public final class PcapReader {
    public let path: String
    public let dlt: Int32
    public let linkType: LinkType
    let handle: OpaquePointer

    public convenience init(path: String) throws {
        var err = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        let h = pcap_open_offline_with_tstamp_precision(path, UInt32(PCAP_TSTAMP_PRECISION_NANO), &err)
        try self.init(handle: h, path: path, error: err)
    }

    /// Reads an open stdio stream (for example `fmemopen` over bytes in memory), which the reader
    /// owns from here on: closed with it, or at once when it is not a capture. `path` names it.
    public convenience init(file: UnsafeMutablePointer<FILE>, path: String) throws {
        var err = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        let h = pcap_fopen_offline_with_tstamp_precision(file, UInt32(PCAP_TSTAMP_PRECISION_NANO), &err)
        if h == nil { fclose(file) }
        try self.init(handle: h, path: path, error: err)
    }

    private init(handle h: OpaquePointer?, path: String, error err: [CChar]) throws {
        self.path = path
        guard let h else {
            let message = String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw PcapError(path: path, message: "cannot read capture: \(message)")
        }
        let dlt = pcap_datalink(h)
        guard let lt = PcapLinkTypes.linkType(dlt: dlt) else {
            pcap_close(h)
            throw PcapError(
                path: path,
                message: "link type \(PcapLinkTypes.name(dlt: dlt)) (\(dlt)) is not supported; "
                    + "vfwall reads \(PcapLinkTypes.supported) captures")
        }
        handle = h
        self.dlt = dlt
        linkType = lt
    }

    deinit { pcap_close(handle) }

    /// The next frame (valid until the next call; at most `PcapRecord.maxFrame` bytes) and its
    /// timestamp in nanoseconds (`PcapRecord.timestamp`), or nil at the end. Throws when the file
    /// is damaged (for example truncated mid-record).
    public func next() throws -> (bytes: UnsafeRawBufferPointer, timestamp: UInt64)? {
        var hdr: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        switch pcap_next_ex(handle, &hdr, &data) {
        case 1:
            guard let h = hdr?.pointee else { break }
            let length = data == nil ? 0 : PcapRecord.length(h)
            return (UnsafeRawBufferPointer(start: data, count: length), PcapRecord.timestamp(h))
        case PCAP_ERROR_BREAK:
            return nil
        default:
            break
        }
        throw PcapError(path: path, message: "damaged capture: \(String(cString: pcap_geterr(handle)))")
    }
}

/// Writes a pcap file with nanosecond timestamps and a given link type. libpcap creates it and
/// writes its header. Records then go through `pcap_dump` (`PcapPort` calls it on `dumper`
/// directly), or, made `inBackground`, gather in buffers that a `BackgroundWriter` thread
/// writes while the caller goes on: `pcap_dump` costs two stdio calls a frame, and a replay's
/// outputs are several times the capture's size.
public final class PcapWriter {
    public let path: String
    let dead: OpaquePointer
    let dumper: OpaquePointer
    private let background: BackgroundWriter?
    private var buffer: UnsafeMutableRawPointer?
    private var used = 0
    private var finished = false

    public init(path: String, dlt: Int32, snaplen: Int32 = 262144, inBackground: Bool = false) throws {
        self.path = path
        guard let d = pcap_open_dead_with_tstamp_precision(dlt, snaplen, UInt32(PCAP_TSTAMP_PRECISION_NANO)) else {
            throw PcapError(path: path, message: "libpcap cannot write link type \(dlt)")
        }
        guard let w = pcap_dump_open(d, path) else {
            let msg = String(cString: pcap_geterr(d))
            pcap_close(d)
            throw PcapError(path: path, message: "cannot create capture: \(msg)")
        }
        dead = d
        dumper = w
        if inBackground, let file = pcap_dump_file(w) {
            pcap_dump_flush(w)  // the file header goes out first; records bypass stdio from here
            let writer = BackgroundWriter(fd: fileno(file))
            background = writer
            buffer = writer.take()
        } else {
            background = nil
        }
    }

    deinit {
        _ = try? close()
        pcap_dump_close(dumper)
        pcap_close(dead)
    }

    public func write(_ frame: UnsafeRawBufferPointer, timestamp: UInt64) {
        let length = Swift.min(frame.count, PcapRecord.maxFrame)
        var h = PcapRecord.header(timestamp: timestamp, length: length)
        guard let background, var out = buffer else {
            pcap_dump(
                UnsafeMutableRawPointer(dumper).assumingMemoryBound(to: UInt8.self), &h,
                frame.baseAddress?.assumingMemoryBound(to: UInt8.self))
            return
        }
        if used + 16 + length > BackgroundWriter.bufferBytes {
            background.handOver(out, count: used)
            out = background.take()
            buffer = out
            used = 0
        }
        // The record header as libpcap writes it: four 32-bit words in host order.
        let words = out + used
        words.storeBytes(of: UInt32(truncatingIfNeeded: h.ts.tv_sec), as: UInt32.self)
        words.storeBytes(of: UInt32(truncatingIfNeeded: h.ts.tv_usec), toByteOffset: 4, as: UInt32.self)
        words.storeBytes(of: h.caplen, toByteOffset: 8, as: UInt32.self)
        words.storeBytes(of: h.len, toByteOffset: 12, as: UInt32.self)
        if let base = frame.baseAddress, length > 0 { (words + 16).copyMemory(from: base, byteCount: length) }
        used += 16 + length
    }

    /// Pushes what `pcap_dump` buffered to the file (records written in the background reach it
    /// at `close`).
    public func flush() {
        if background == nil { pcap_dump_flush(dumper) }
    }

    /// Writes what is left and waits for it; throws when a write failed (a full disk, say).
    public func close() throws {
        guard !finished else { return }
        finished = true
        guard let background, let out = buffer else {
            pcap_dump_flush(dumper)
            return
        }
        background.handOver(out, count: used)
        buffer = nil
        let error = background.finish()
        if error != 0 { throw PcapError(path: path, message: "cannot write: \(describeErrno(error))") }
    }
}
