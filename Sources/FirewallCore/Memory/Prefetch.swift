// A software prefetch, which Swift does not spell: a static inline C function around the
// compiler's builtin (Sources/CPrefetch), inlined into one instruction. Unlike an early load,
// a prefetch retires at once, so a burst's misses overlap with the work on other frames.
import CPrefetch

/// Starts bringing the cache line at `address` towards L1, for reading. Never faults.
@inline(__always)
public func prefetch(_ address: UnsafeRawPointer) { cprefetch_read(address) }

/// The same, for a line that is about to be written.
@inline(__always)
public func prefetchForWriting(_ address: UnsafeRawPointer) { cprefetch_write(address) }
