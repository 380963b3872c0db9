/// What a router does to a packet it forwards (RFC 1812 5.3.1, RFC 8200 3): new Ethernet
/// addresses, one less TTL or hop limit, and for IPv4 the header checksum patched rather than
/// recomputed (RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), m the 16-bit word holding the TTL).
/// A handful of loads and stores, as DPDK's l3fwd and VPP's ip4-rewrite do it.
public enum HopRewrite {
    /// Outcome of `forward`.
    public enum Result: UInt8, Sendable {
        /// Rewritten, ready to send.
        case forwarded
        /// The TTL or hop limit would reach zero: answer with time exceeded, do not forward.
        case ttlExceeded
    }

    /// Rewrites the frame for its next hop: destination `nextHopMAC`, source `egressMAC` (both
    /// 48-bit values, first octet highest), the IP header at `l3`. The frame is left untouched
    /// when the TTL or hop limit is 1 or 0.
    @inlinable @inline(__always)
    public static func forward(
        _ frame: UnsafeMutableRawPointer, l3: Int, v6: Bool, nextHopMAC: UInt64, egressMAC: UInt64
    ) -> Result {
        if v6 {
            let hop = frame.load(fromByteOffset: l3 &+ 7, as: UInt8.self)
            guard hop > 1 else { return .ttlExceeded }
            frame.storeBytes(of: hop &- 1, toByteOffset: l3 &+ 7, as: UInt8.self)
        } else {
            let ttl = frame.load(fromByteOffset: l3 &+ 8, as: UInt8.self)
            guard ttl > 1 else { return .ttlExceeded }
            decrementTTL(frame, l3: l3)
        }
        setMACs(frame, destination: nextHopMAC, source: egressMAC)
        return .forwarded
    }

    /// TTL - 1 and the checksum patched (the caller checked TTL > 1). One less in the TTL's
    /// 16-bit word is 0x0100 more in its complement, the checksum (RFC 1624 eqn. 3 comes to
    /// that for this change): a one's complement add whose result is never 0xFFFF, the zero a
    /// full recomputation never gives (as Linux's ip_decrease_ttl). One's complement sums do not
    /// depend on byte order (RFC 1071 2.B), so it is done on the bytes as they lie.
    @inlinable @inline(__always)
    public static func decrementTTL(_ frame: UnsafeMutableRawPointer, l3: Int) {
        let ttl = frame.load(fromByteOffset: l3 &+ 8, as: UInt8.self)
        frame.storeBytes(of: ttl &- 1, toByteOffset: l3 &+ 8, as: UInt8.self)
        let checksum = frame.loadUnaligned(fromByteOffset: l3 &+ 10, as: UInt16.self)
        var sum = UInt32(checksum) &+ UInt32(UInt16(0x0100).bigEndian)
        sum &+= sum >= 0xFFFF ? 1 : 0
        frame.storeBytes(of: UInt16(truncatingIfNeeded: sum), toByteOffset: l3 &+ 10, as: UInt16.self)
    }

    /// Destination and source MAC addresses (bytes 0-11), 48-bit values, first octet highest.
    @inlinable @inline(__always)
    public static func setMACs(_ frame: UnsafeMutableRawPointer, destination: UInt64, source: UInt64) {
        frame.storeBytes(of: UInt32(truncatingIfNeeded: destination >> 16).bigEndian, toByteOffset: 0, as: UInt32.self)
        frame.storeBytes(of: UInt16(truncatingIfNeeded: destination).bigEndian, toByteOffset: 4, as: UInt16.self)
        frame.storeBytes(of: UInt16(truncatingIfNeeded: source >> 32).bigEndian, toByteOffset: 6, as: UInt16.self)
        frame.storeBytes(of: UInt32(truncatingIfNeeded: source).bigEndian, toByteOffset: 8, as: UInt32.self)
    }

    /// A 48-bit MAC value from six bytes at `offset`.
    @inlinable @inline(__always)
    public static func mac(_ frame: UnsafeRawPointer, at offset: Int) -> UInt64 {
        let high = UInt64(UInt16(bigEndian: frame.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
        let low = UInt64(UInt32(bigEndian: frame.loadUnaligned(fromByteOffset: offset &+ 2, as: UInt32.self)))
        return high << 32 | low
    }
}
