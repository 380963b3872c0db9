import FirewallCore

/// Everything a configuration file says, validated.
public struct Configuration {
    /// Where it was read from (for messages and reloads).
    public var file: String
    public var ports: [PortConfig]
    public var dataplane: DataplaneConfig
    public var policy: Policy
    public var conntrack: ConntrackSettings
    /// Route mode: the routes configured beside the connected prefixes of the ports' addresses.
    public var routes: [Route] = []
    public var classifier = ClassifierConfig()

    public var portNames: [String] { ports.map(\.name) }

    /// What route mode runs on; nil in bridge mode.
    public var routingPlan: RoutingPlan? {
        guard dataplane.mode == .route else { return nil }
        let interfaces = ports.enumerated().map { i, p in
            RouterInterface(
                port: UInt8(i), mac: p.mac, addresses: p.addresses, mtu: p.mtu ?? 1500, neighbours: p.neighbours)
        }
        return RoutingPlan(interfaces: interfaces, routes: routes)
    }
}

/// One port of the firewall and how to open it. Which fields matter depends on the backend.
public struct PortConfig: Equatable, Sendable {
    public var name: String
    /// afpacket: the Linux interface; dpdk with net_af_packet: the interface behind the vdev.
    public var interface: String?
    /// dpdk: a PCI address (a VF) or a vdev string such as "net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap".
    public var device: String?
    /// pcap backend: the capture read as this port's input, and the file it writes.
    public var rxPcap: String?
    public var txPcap: String?
    /// Kubernetes: the device (`from-env`) or interface (`network-status`) found at plan time.
    public var source: PortSource?
    /// Route mode: our addresses on the port, its MAC when not the one the port reports, its MTU.
    public var addresses: [InterfaceAddress] = []
    public var mac: UInt64?
    public var mtu: Int?
    /// Route mode: neighbours on the port's link given with their MAC, never asked for.
    public var neighbours: [StaticNeighbour] = []

    public init(
        name: String, interface: String? = nil, device: String? = nil, rxPcap: String? = nil, txPcap: String? = nil
    ) {
        self.name = name
        self.interface = interface
        self.device = device
        self.rxPcap = rxPcap
        self.txPcap = txPcap
    }

    static let keys = [
        "interface", "device", "rx-pcap", "tx-pcap", "from-env", "network-status", "addresses", "mac", "mtu",
        "neighbours", "comment"
    ]
}

/// How the dataplane runs: backend, cores, burst size, EAL arguments.
public struct DataplaneConfig: Equatable, Sendable {
    public enum Backend: String, Sendable, CaseIterable { case dpdk, afpacket, pcap, afXDP = "af_xdp" }
    /// A transparent bridge between the ports, or an IP router with an address on each.
    public enum Mode: String, Sendable, CaseIterable { case bridge, route }
    public var mode: Mode = .bridge
    public var backend: Backend = .afpacket
    /// One worker per listed core, pinned to it.
    public var cores: [Int] = [0]
    /// Frames per RX burst.
    public var burst: Int = 32
    /// Extra DPDK EAL arguments ("--no-huge", "-m", "256", "--vdev", ...).
    public var eal: [String] = []
    /// Control socket path; nil picks /run/vfwall/<config name>.sock.
    public var controlSocket: String?
    /// A worker whose loop has not turned for this long stops the firewall with a non-zero exit
    /// (fail closed: its queues forward nothing meanwhile). 0 turns the watch off.
    public var stallMilliseconds: Int = 2000
    /// `metrics: {listen: ...}`: serve /metrics, /healthz and /readyz there; nil: no listener.
    public var metricsListen: MetricsListen?

    public init() {}

    static let keys = ["mode", "backend", "cores", "burst", "eal", "control-socket", "stall-ms", "metrics", "comment"]
}
