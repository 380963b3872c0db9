/// A burst of frames and the verdicts the pipeline fills for them.
///
/// Plain pointers, allocated once by the owner (a worker, a replay loop) and reused for every
/// burst: the fast path neither allocates nor touches a reference count. The struct itself is
/// a bundle of pointers, so passing it by value costs nothing.
public struct FrameBurst {
    public let capacity: Int
    /// How many of the slots below hold a frame in this burst.
    public var count: Int
    /// Start of each frame's bytes (the first byte of its link-layer header).
    public let frames: UnsafeMutablePointer<UnsafeRawPointer?>
    /// Length of each frame in bytes.
    public let lengths: UnsafeMutablePointer<Int32>
    /// Arrival time of each frame in nanoseconds (any epoch, monotonic per port). Connection
    /// tracking reads time only from here, so a replay is deterministic.
    public let timestamps: UnsafeMutablePointer<UInt64>
    /// Filled by `Pipeline.process`: one verdict per frame.
    public let verdicts: UnsafeMutablePointer<Verdict>
    /// The receiving port's own handle of each frame (DPDK: its mbuf), in the port's memory and
    /// valid until the frames are released; nil when the port's frames need none. Set by
    /// `rxBurst`; the core never reads it. A port of the same zero-copy domain sends by handle.
    public var handles: UnsafeMutablePointer<OpaquePointer?>?

    public init(capacity: Int) {
        precondition(capacity > 0, "a burst holds at least one frame")
        self.capacity = capacity
        self.count = 0
        frames = .allocate(capacity: capacity)
        frames.initialize(repeating: nil, count: capacity)
        lengths = .allocate(capacity: capacity)
        lengths.initialize(repeating: 0, count: capacity)
        timestamps = .allocate(capacity: capacity)
        timestamps.initialize(repeating: 0, count: capacity)
        verdicts = .allocate(capacity: capacity)
        verdicts.initialize(repeating: Verdict(), count: capacity)
        handles = nil
    }

    /// A view of frames `start ..< start + count` of `burst`: the same arrays, so verdicts
    /// written through it land in `burst`. Never deallocated itself; valid while `burst` is.
    @inlinable
    public init(viewing burst: FrameBurst, from start: Int, count: Int) {
        precondition(start >= 0 && count > 0 && start + count <= burst.capacity, "a view inside the burst")
        capacity = count
        self.count = count
        frames = burst.frames + start
        lengths = burst.lengths + start
        timestamps = burst.timestamps + start
        verdicts = burst.verdicts + start
        handles = burst.handles.map { $0 + start }
    }

    /// Frees the arrays; the burst must not be used afterwards.
    public func deallocate() {
        frames.deallocate()
        lengths.deallocate()
        timestamps.deallocate()
        verdicts.deallocate()
    }

    /// The bytes of frame `i`: none when a port left it without an address or gave a negative length.
    @inlinable
    public func frame(_ i: Int) -> UnsafeRawBufferPointer {
        guard let p = frames[i] else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: p, count: Swift.max(0, Int(lengths[i])))
    }
}
