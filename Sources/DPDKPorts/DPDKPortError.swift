import LinuxIO

/// DPDK failures a caller acts on by kind, not by text (the rest are `PortError.dpdk`).
public enum DPDKPortError: Error, Equatable, CustomStringConvertible {
    /// The device refused promiscuous mode with this negative errno. On a VF this usually means
    /// the PF does not trust it (`ip link set PF vf N trust on`), which the caller can say.
    case promiscuousRefused(port: String, code: Int32)

    public var description: String {
        switch self {
        case let .promiscuousRefused(port, code):
            return "cannot enable promiscuous mode on \(port): err=\(code) (\(describeErrno(-code)))"
        }
    }
}
