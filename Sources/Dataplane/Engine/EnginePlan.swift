import FirewallCore

/// Why the engine would not start, or stopped starting: the message names the port or the key.
public struct EngineError: Error, CustomStringConvertible, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// What `Engine.open` will do, decided and checked before anything is opened: the program maps
/// its configuration to a plan (EngineConfig does, for vfwall's YAML), so a configuration that
/// does not fit its backend fails there, with nothing to undo. The engine never reads files.
public struct EnginePlan: Equatable, Sendable {
    /// What drives the ports (af_xdp is planned as dpdk on DPDK's net_af_xdp).
    public enum Backend: String, Sendable {
        case dpdk, afpacket, pcap
    }

    /// How one port is opened.
    public enum PortPlan: Equatable, Sendable {
        /// `device` is the DPDK port name (a PCI address, a vdev name); `vdevArguments` is set
        /// when the engine creates the virtual device itself; `interface` is the Linux interface
        /// behind a net_af_packet device (its carrier is checked too: the PMD reports its link up).
        case dpdk(name: String, device: String, vdevArguments: String?, interface: String?)
        case afpacket(name: String, interface: String)
        case pcap(name: String, input: String?, output: String?)

        public var name: String {
            switch self {
            case let .dpdk(name, _, _, _), let .afpacket(name, _), let .pcap(name, _, _): return name
            }
        }
    }

    public var backend: Backend
    public var ports: [PortPlan]
    /// One worker per CPU, pinned to it; worker i owns queue i of both ports.
    public var cpus: [Int]
    public var burst: Int
    /// EAL arguments (dpdk backend): the configuration's, plus the lcore map and PCI allow-list.
    public var ealArguments: [String]
    /// After 1024 idle rounds a worker sleeps this long between rounds (0: busy polling).
    public var idleSleepMicroseconds: UInt32
    public var controlSocket: String
    /// Each worker's flow table.
    public var conntrack: ConntrackSettings
    /// A worker whose loop has not turned for this long stops the run (0: never).
    public var stallMilliseconds: Int
    /// Route mode: the interfaces and routes; nil for a bridge.
    public var routing: RoutingPlan?

    public var workers: Int { cpus.count }

    public init(
        backend: Backend, ports: [PortPlan], cpus: [Int], burst: Int, ealArguments: [String],
        idleSleepMicroseconds: UInt32, controlSocket: String, conntrack: ConntrackSettings,
        stallMilliseconds: Int = 0, routing: RoutingPlan? = nil
    ) {
        self.backend = backend
        self.ports = ports
        self.cpus = cpus
        self.burst = burst
        self.ealArguments = ealArguments
        self.idleSleepMicroseconds = idleSleepMicroseconds
        self.controlSocket = controlSocket
        self.conntrack = conntrack
        self.stallMilliseconds = stallMilliseconds
        self.routing = routing
    }

    /// The port names, in the order rules index them.
    public var portNames: [String] { ports.map(\.name) }
}
