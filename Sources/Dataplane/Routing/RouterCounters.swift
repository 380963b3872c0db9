import CLinux

/// What a worker's router did, one counter each, written only by that worker (relaxed adds, as
/// `PortCounters`) and read by anyone (`vfwall stats`).
public struct RouterCounters {
    public enum Field: Int, CaseIterable, Sendable {
        /// Packets rewritten and handed to a port (including those sent from the queue).
        case forwarded
        /// No route: ICMP net unreachable.
        case noRoute
        /// TTL or hop limit exhausted: ICMP time exceeded.
        case ttlExceeded
        /// Larger than the egress MTU with DF (or IPv6): fragmentation needed / packet too big.
        case tooBig
        /// Larger than the egress MTU without DF: dropped (vfwall does not fragment).
        case fragmentationNotDone
        /// Next hop unknown: the packet waited in the queue for resolution.
        case neighbourMiss
        /// Resolution failed (or the table was full): ICMP host unreachable.
        case neighbourFailed
        /// The resolution queue was full: dropped.
        case queueFull
        /// ARP requests and NS answered, for our addresses.
        case neighbourAnswered
        /// ARP requests and NS sent (broadcast or unicast probes), and announcements.
        case neighbourRequested
        /// ARP and ND messages not for us, or malformed: dropped.
        case neighbourIgnored
        /// Echo requests to our addresses answered.
        case echoAnswered
        /// Other packets to our addresses: dropped.
        case toUsDropped
        /// Packets claiming one of our addresses as their source: dropped.
        case martianSource
        /// Accepted frames that are not IP (routing has nothing to do with them): dropped.
        case notIP
        /// Accepted IP frames not addressed to our MAC (for another host, broadcast, multicast).
        case notOurMAC
        /// ICMP errors and echo replies sent, and those the rate limit held back.
        case icmpSent, icmpRateLimited
        /// Control frames (replies, requests, queued packets) a full TX ring refused.
        case controlTxFull
    }

    let base: UnsafeMutablePointer<UInt64>

    init() {
        base = .allocate(capacity: Field.allCases.count)
        base.initialize(repeating: 0, count: Field.allCases.count)
    }

    func deallocate() { base.deallocate() }

    @inline(__always) func add(_ field: Field, _ n: Int = 1) {
        clinux_counter_add(base + field.rawValue, UInt64(truncatingIfNeeded: n))
    }

    public func value(_ field: Field) -> UInt64 { clinux_counter_load(base + field.rawValue) }
}
