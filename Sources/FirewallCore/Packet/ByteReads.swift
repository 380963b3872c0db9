// Network-order reads from raw frame bytes. Callers check bounds first; these never do.
// Public: the router (Dataplane) reads headers the same way.

extension UnsafeRawPointer {
    @inlinable @inline(__always)
    public func u8(_ offset: Int) -> UInt8 { load(fromByteOffset: offset, as: UInt8.self) }

    @inlinable @inline(__always)
    public func be16(_ offset: Int) -> UInt16 {
        UInt16(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inlinable @inline(__always)
    public func be32(_ offset: Int) -> UInt32 {
        UInt32(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    @inlinable @inline(__always)
    public func be64(_ offset: Int) -> UInt64 {
        UInt64(bigEndian: loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }
}
