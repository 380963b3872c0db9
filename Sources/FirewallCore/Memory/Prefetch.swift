// A software prefetch, which Swift does not spell. LLVM's own intrinsic is declared by name, so
// FirewallCore still imports nothing but the standard library; the optimiser turns the call into
// one instruction (`prefetcht0` on x86-64, `prfm pldl1keep` on arm64).
//
// Why not an early plain load: a load that misses holds up retirement until its line arrives, so
// with a burst's lookups in flight the core stops issuing work after a couple of hundred
// instructions. A prefetch retires at once, and the misses overlap with the work of other frames.

@_silgen_name("llvm.prefetch.p0")
func _llvmPrefetch(_ address: UnsafeRawPointer, _ write: Int32, _ locality: Int32, _ dataCache: Int32)

/// Starts bringing the cache line at `address` towards L1, for reading. Never faults.
@inline(__always)
public func prefetch(_ address: UnsafeRawPointer) { _llvmPrefetch(address, 0, 3, 1) }

/// The same, for a line that is about to be written.
@inline(__always)
public func prefetchForWriting(_ address: UnsafeRawPointer) { _llvmPrefetch(address, 1, 3, 1) }
