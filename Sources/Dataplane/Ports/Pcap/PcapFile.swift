import CPcap
import FirewallCore

/// A capture file could not be read or written.
public struct PcapError: Error, CustomStringConvertible {
    public var path: String
    public var message: String
    public var description: String { "\(path): \(message)" }
}

/// The link types vfwall understands, by libpcap DLT value.
enum PcapLinkTypes {
    static func linkType(dlt: Int32) -> LinkType? {
        switch dlt {
        case DLT_EN10MB: return .ethernet
        case DLT_LINUX_SLL: return .linuxCooked
        case 276: return .linuxCooked2            // DLT_LINUX_SLL2
        case DLT_RAW, 101, 228, 229: return .rawIP // DLT_RAW (and LINKTYPE_RAW), IPV4, IPV6
        default: return nil
        }
    }

    static func name(dlt: Int32) -> String {
        if let n = pcap_datalink_val_to_name(dlt) { return String(cString: n) }
        return "DLT \(dlt)"
    }
}

/// Reads pcap and pcapng files (libpcap reads both) with nanosecond timestamps.
public final class PcapReader {
    public let path: String
    public let dlt: Int32
    public let linkType: LinkType
    let handle: OpaquePointer

    public init(path: String) throws {
        self.path = path
        var err = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let h = pcap_open_offline_with_tstamp_precision(path, UInt32(PCAP_TSTAMP_PRECISION_NANO), &err) else {
            throw PcapError(path: path, message: "cannot read capture: \(String(cString: err))")
        }
        let dlt = pcap_datalink(h)
        guard let lt = PcapLinkTypes.linkType(dlt: dlt) else {
            pcap_close(h)
            throw PcapError(path: path, message: "link type \(PcapLinkTypes.name(dlt: dlt)) (\(dlt)) is not supported; vfwall reads Ethernet, Linux cooked (SLL, SLL2) and raw IP captures")
        }
        handle = h; self.dlt = dlt; linkType = lt
    }

    deinit { pcap_close(handle) }

    /// The next frame (valid until the next call) and its timestamp in nanoseconds, or nil at the
    /// end. Throws when the file is damaged (for example truncated mid-record).
    public func next() throws -> (bytes: UnsafeRawBufferPointer, timestamp: UInt64)? {
        var hdr: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        switch pcap_next_ex(handle, &hdr, &data) {
        case 1:
            let h = hdr!.pointee
            let ts = UInt64(h.ts.tv_sec) &* 1_000_000_000 &+ UInt64(h.ts.tv_usec)   // tv_usec holds ns here
            return (UnsafeRawBufferPointer(start: data, count: Int(h.caplen)), ts)
        case PCAP_ERROR_BREAK:
            return nil
        default:
            throw PcapError(path: path, message: "damaged capture: \(String(cString: pcap_geterr(handle)))")
        }
    }
}

/// Writes a pcap file with nanosecond timestamps and a given link type.
public final class PcapWriter {
    public let path: String
    let dead: OpaquePointer
    let dumper: OpaquePointer

    public init(path: String, dlt: Int32, snaplen: Int32 = 262144) throws {
        self.path = path
        guard let d = pcap_open_dead_with_tstamp_precision(dlt, snaplen, UInt32(PCAP_TSTAMP_PRECISION_NANO)) else {
            throw PcapError(path: path, message: "libpcap cannot write link type \(dlt)")
        }
        guard let w = pcap_dump_open(d, path) else {
            let msg = String(cString: pcap_geterr(d))
            pcap_close(d)
            throw PcapError(path: path, message: "cannot create capture: \(msg)")
        }
        dead = d; dumper = w
    }

    deinit {
        pcap_dump_close(dumper)
        pcap_close(dead)
    }

    public func write(_ frame: UnsafeRawBufferPointer, timestamp: UInt64) {
        var h = pcap_pkthdr()
        h.ts.tv_sec = Int(timestamp / 1_000_000_000)
        h.ts.tv_usec = Int(timestamp % 1_000_000_000)
        h.caplen = UInt32(frame.count)
        h.len = UInt32(frame.count)
        pcap_dump(UnsafeMutableRawPointer(dumper).assumingMemoryBound(to: UInt8.self), &h,
                  frame.baseAddress?.assumingMemoryBound(to: UInt8.self))
    }

    /// Pushes buffered records to the file.
    public func flush() { pcap_dump_flush(dumper) }
}
