/// Where a flow table's memory comes from. FirewallCore makes no system calls, so the default is
/// the heap; the dataplane passes one backed by huge pages (`HugePageRegion`), which keeps a
/// table of millions of flows from costing a TLB miss per lookup.
public struct RegionAllocator: Sendable {
    /// Returns `bytes` bytes aligned to at least 64, or nil (the heap is then used instead).
    public var allocate: @Sendable (_ bytes: Int) -> UnsafeMutableRawPointer?
    /// Gives back a region `allocate` returned, with the same byte count.
    public var release: @Sendable (_ region: UnsafeMutableRawPointer, _ bytes: Int) -> Void
    /// Names the backing in statistics ("heap", "huge pages", ...).
    public var name: String

    public init(
        name: String, allocate: @escaping @Sendable (Int) -> UnsafeMutableRawPointer?,
        release: @escaping @Sendable (UnsafeMutableRawPointer, Int) -> Void
    ) {
        self.name = name
        self.allocate = allocate
        self.release = release
    }

    /// Plain heap memory. Over-allocated by 64 bytes and aligned by hand: malloc interposers (as
    /// the benchmarks use) do not all handle aligned allocation.
    public static let heap = RegionAllocator(name: "heap", allocate: { _ in nil }, release: { _, _ in })
}
