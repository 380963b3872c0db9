import FirewallCore

/// The load generator's frames: Ethernet/IPv4/UDP with an 18-byte header in the payload, so a
/// 64-byte frame (60 bytes plus the FCS the wire adds) still carries it:
///   magic "vg" (2) | kind (1) | 0 (1) | sequence (4) | send time in ns (8)
public enum GenFrames {
    public static let magic: UInt16 = 0x7667
    public enum Kind: UInt8 { case data = 0, probe = 1, reply = 2 }
    /// Ethernet + IPv4 + UDP headers, then the generator's header.
    static let headerOffset = 14 + 20 + 8
    public static let minimumSize = 64

    public struct Flow: Sendable {
        public var dstMAC: [UInt8], srcMAC: [UInt8]
        public var srcIP: UInt32, dstIP: UInt32
        public var sport: UInt16, dport: UInt16
        public init(dstMAC: [UInt8], srcMAC: [UInt8], srcIP: UInt32, dstIP: UInt32, sport: UInt16, dport: UInt16) {
            self.dstMAC = dstMAC
            self.srcMAC = srcMAC
            self.srcIP = srcIP
            self.dstIP = dstIP
            self.sport = sport
            self.dport = dport
        }
    }

    /// Writes one frame of `size` bytes on the wire (FCS included, so `size - 4` in memory) into
    /// `base`; returns its length in memory. The UDP checksum is left 0 (optional in IPv4) so
    /// the sequence and time can be stamped later without recomputing it.
    public static func write(_ flow: Flow, size: Int, kind: Kind, into base: UnsafeMutableRawPointer) -> Int {
        let length = max(size, minimumSize) - 4
        let w = FrameWriter(base, capacity: length)
        let l3 = w.ethernet(dst: flow.dstMAC, src: flow.srcMAC, type: 0x0800)
        let udpLength = length - l3 - 20
        let l4 = w.ipv4(at: l3, src: flow.srcIP, dst: flow.dstIP, proto: 17, payload: udpLength)
        base.storeBytes(of: flow.sport.bigEndian, toByteOffset: l4, as: UInt16.self)
        base.storeBytes(of: flow.dport.bigEndian, toByteOffset: l4 + 2, as: UInt16.self)
        base.storeBytes(of: UInt16(udpLength).bigEndian, toByteOffset: l4 + 4, as: UInt16.self)
        base.storeBytes(of: UInt16(0), toByteOffset: l4 + 6, as: UInt16.self)
        let h = headerOffset
        (base + h).initializeMemory(as: UInt8.self, repeating: 0, count: length - h)
        base.storeBytes(of: magic.bigEndian, toByteOffset: h, as: UInt16.self)
        base.storeBytes(of: kind.rawValue, toByteOffset: h + 2, as: UInt8.self)
        return length
    }

    /// Stamps the sequence number and send time into a frame `write` made.
    @inline(__always)
    public static func stamp(_ base: UnsafeMutableRawPointer, sequence: UInt32, nanos: UInt64) {
        base.storeBytes(of: sequence.bigEndian, toByteOffset: headerOffset + 4, as: UInt32.self)
        base.storeBytes(of: nanos.bigEndian, toByteOffset: headerOffset + 8, as: UInt64.self)
    }

    /// The kind, sequence and send time of a generator frame, or nil for any other frame.
    public static func read(_ frame: UnsafeRawBufferPointer) -> (kind: UInt8, sequence: UInt32, nanos: UInt64)? {
        guard frame.count >= headerOffset + 16, frame[12] == 0x08, frame[13] == 0x00, frame[23] == 17,
            UInt16(frame[headerOffset]) << 8 | UInt16(frame[headerOffset + 1]) == magic
        else { return nil }
        var seq: UInt32 = 0, nanos: UInt64 = 0
        for i in 0..<4 { seq = seq << 8 | UInt32(frame[headerOffset + 4 + i]) }
        for i in 0..<8 { nanos = nanos << 8 | UInt64(frame[headerOffset + 8 + i]) }
        return (frame[headerOffset + 2], seq, nanos)
    }

    /// Turns a received probe into its reply in `out`: addresses and ports swapped, kind reply,
    /// sequence and time kept. Returns the length.
    public static func reply(to frame: UnsafeRawBufferPointer, into out: UnsafeMutableRawPointer) -> Int {
        out.copyMemory(from: frame.baseAddress!, byteCount: frame.count)
        let b = out.assumingMemoryBound(to: UInt8.self)
        for i in 0..<6 { swap(&b[i], &b[6 + i]) }  // MACs
        for i in 0..<4 { swap(&b[26 + i], &b[30 + i]) }  // IPv4 addresses (the checksum is unchanged)
        for i in 0..<2 { swap(&b[34 + i], &b[36 + i]) }  // UDP ports
        b[headerOffset + 2] = Kind.reply.rawValue
        return frame.count
    }
}
