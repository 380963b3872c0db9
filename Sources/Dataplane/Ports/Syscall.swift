import Glibc

/// The text for an errno value, thread-safe.
func describeErrno(_ errno: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: 128)
    // Glibc's module imports the XSI strerror_r: 0 on success, the text in `buffer`.
    guard strerror_r(errno, &buffer, buffer.count) == 0 else { return "errno \(errno)" }
    return String(cString: buffer)
}

/// Runs a call that returns a value >= 0 or -errno (the CLinux/CDPDK convention), retrying on
/// EINTR, and turns a failure into a `PortError.system` naming the call and its subject.
@discardableResult
func checked(_ call: String, _ subject: String, _ body: () -> Int32) throws -> Int32 {
    while true {
        let rc = body()
        if rc >= 0 { return rc }
        if rc == -EINTR { continue }
        throw PortError.system(call: call, subject: subject, errno: -rc)
    }
}

/// Monotonic time in nanoseconds: the timestamps of frames from backends that carry none.
@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}
