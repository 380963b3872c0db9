import CLinux
import Glibc
import Ports
import SystemPackage

/// The text for an errno value (swift-system's `Errno`, the one errno layer).
package func describeErrno(_ errno: Int32) -> String { Errno(rawValue: errno).description }

/// Runs a call that returns a value >= 0 or -errno (the CLinux/CDPDK convention), retrying on
/// EINTR, and turns a failure into a `PortError.system` naming the call and its subject.
@discardableResult
package func checked(_ call: String, _ subject: String, _ body: () -> Int32) throws -> Int32 {
    while true {
        let rc = body()
        if rc >= 0 { return rc }
        if rc == -EINTR { continue }
        throw PortError.system(call: call, subject: subject, errno: -rc)
    }
}

/// The CPUs this process may run on (its affinity), ascending; empty if it cannot be read.
public func allowedCPUs() -> [Int] {
    var cpus = [Int32](repeating: 0, count: 1024)
    let n = clinux_allowed_cpus(&cpus, Int32(cpus.count))
    return n > 0 ? cpus[0..<Int(min(n, 1024))].map(Int.init) : []
}

/// Monotonic time in nanoseconds: the timestamps of frames from backends that carry none.
@inline(__always)
public func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}
