// A software prefetch, which Swift does not spell: a static inline C function around the
// compiler's builtin (Sources/CPrefetch), which the optimiser inlines into one instruction.
// (Declaring LLVM's intrinsic by name from Swift works in plain builds but crashes the compiler
// under -sanitize=thread, which turns the call into an `invoke`.)
//
// Why not an early plain load: a load that misses holds up retirement until its line arrives, so
// with a burst's lookups in flight the core stops issuing work after a couple of hundred
// instructions. A prefetch retires at once, and the misses overlap with the work of other frames.
import CPrefetch

/// Starts bringing the cache line at `address` towards L1, for reading. Never faults.
@inline(__always)
public func prefetch(_ address: UnsafeRawPointer) { cprefetch_read(address) }

/// The same, for a line that is about to be written.
@inline(__always)
public func prefetchForWriting(_ address: UnsafeRawPointer) { cprefetch_write(address) }
