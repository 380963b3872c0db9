import SystemPackage

/// Why a port could not be opened or set up. Fast-path methods never throw: they count.
public enum PortError: Error, Equatable, CustomStringConvertible {
    /// A system call failed: `call` on `subject`, with the errno it returned.
    case system(call: String, subject: String, errno: Int32)
    /// DPDK refused: what we were doing, and the negative errno DPDK returned.
    case dpdk(action: String, code: Int32)
    /// The request itself is wrong (unknown port, bad queue count ...).
    case invalid(String)

    public var description: String {
        switch self {
        case let .system(call, subject, errno):
            return "\(call) on \(subject) failed: \(Errno(rawValue: errno)) (errno \(errno))"
        case let .dpdk(action, code):
            return "cannot \(action): err=\(code) (\(Errno(rawValue: -code)))"
        case let .invalid(message):
            return message
        }
    }
}
