/// Connection-tracking limits and timeouts. Defaults are Linux nf_conntrack's.
public struct ConntrackSettings: Sendable, Equatable {
    /// Most flows one table holds; memory is preallocated for this many (see `Conntrack.bytesPerFlow`).
    public var maxFlows: Int = 65536
    /// Pick up TCP connections from a segment without SYN (Linux nf_conntrack_tcp_loose). Off by
    /// default here: a firewall should not let a mid-stream ACK open a hole.
    public var tcpLoose: Bool = false
    /// How many slots past a full table's probe position early drop inspects for a flow that never
    /// completed its handshake (Linux looks at a bucket chain of comparable length).
    public var earlyDropScan: Int = 64
    /// Datagrams whose first fragment's verdict is remembered at once (`fragments: track`).
    public var maxFragmentedDatagrams: Int = 4096
    public var timeouts = Timeouts()

    public init() {}

    /// Timeouts in seconds, by state.
    public struct Timeouts: Sendable, Equatable {
        public var tcpSynSent: UInt64 = 120
        public var tcpSynRecv: UInt64 = 60
        public var tcpEstablished: UInt64 = 432_000
        public var tcpFinWait: UInt64 = 120
        public var tcpCloseWait: UInt64 = 60
        public var tcpLastAck: UInt64 = 30
        public var tcpTimeWait: UInt64 = 120
        public var tcpClose: UInt64 = 10
        public var udp: UInt64 = 30
        public var udpStream: UInt64 = 120
        public var icmp: UInt64 = 30
        public var generic: UInt64 = 600
        /// How long a first fragment's verdict waits for the rest (Linux's ipfrag_time).
        public var fragment: UInt64 = 30
        public init() {}

        /// Seconds for a TCP state.
        public func tcp(_ s: TCPState) -> UInt64 {
            switch s {
            case .none, .synSent, .synSent2: return tcpSynSent
            case .synRecv: return tcpSynRecv
            case .established: return tcpEstablished
            case .finWait: return tcpFinWait
            case .closeWait: return tcpCloseWait
            case .lastAck: return tcpLastAck
            case .timeWait: return tcpTimeWait
            case .close: return tcpClose
            }
        }
    }
}
