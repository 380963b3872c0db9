import Dataplane
import FirewallConfig
import FirewallCore
import LinuxIO
import Ports

/// vfwall's configuration file as the engine's policy source: a reload reads the file again
/// and maps it to a plan and a policy (errors name file:line:column).
public struct ConfigurationFile: PolicySource {
    public let location: String

    public init(_ path: String) { location = path }

    public func load() throws -> (plan: EnginePlan, policy: Policy) {
        let configuration = try ConfigLoader.load(path: location)
        return (try EnginePlan.make(configuration), configuration.policy)
    }
}

extension Engine {
    /// Maps `configuration` to a plan and opens the engine on it, its file as the policy source.
    /// `busyPoll`: idle workers never sleep (AF_PACKET workers otherwise sleep between polls once
    /// idle, to leave the core to others; DPDK workers always poll).
    public static func open(
        _ configuration: Configuration, devices: DeviceBackend? = nil,
        linkWaitSeconds: Double = 3, busyPoll: Bool = false
    ) throws -> Engine {
        var plan = try EnginePlan.make(configuration)
        if busyPoll { plan.idleSleepMicroseconds = 0 }
        return try open(
            plan: plan, policy: configuration.policy, source: ConfigurationFile(configuration.file),
            devices: devices, linkWaitSeconds: linkWaitSeconds)
    }

    /// An engine on `configuration` over ports opened elsewhere (tests: memory ports).
    public convenience init(
        _ configuration: Configuration, ports: [PacketPort], placement: WorkerPlacement,
        idleSleepMicroseconds: UInt32 = 100
    ) throws {
        var plan = try EnginePlan.make(configuration)
        plan.idleSleepMicroseconds = idleSleepMicroseconds
        self.init(
            plan: plan, policy: configuration.policy, source: ConfigurationFile(configuration.file),
            ports: ports, placement: placement)
    }

    /// Swaps in `configuration`'s policy (see `reload(plan:policy:ackTimeoutMs:)`).
    @discardableResult
    public func reload(with configuration: Configuration, ackTimeoutMs: Int = Engine.reloadAckTimeoutMs)
        -> ReloadOutcome
    {
        reload(from: { (try EnginePlan.make(configuration), configuration.policy) }, ackTimeoutMs: ackTimeoutMs)
    }
}

extension ReplayPolicy {
    /// The policy and flow-table settings of `configuration`.
    public init(_ configuration: Configuration) {
        self.init(location: configuration.file, policy: configuration.policy, conntrack: configuration.conntrack)
    }
}

extension Replay {
    /// Replays under `configuration`'s policy (see `run(_:_:reader:)`).
    public static func run(_ configuration: Configuration, _ options: ReplayOptions) throws -> ReplaySummary {
        try run(ReplayPolicy(configuration), options)
    }

    public static func run(_ configuration: Configuration, _ options: ReplayOptions, reader: PcapReader)
        throws -> ReplaySummary
    {
        try run(ReplayPolicy(configuration), options, reader: reader)
    }

    public static func compare(
        _ old: Configuration, _ new: Configuration, _ options: ReplayOptions,
        _ compare: CompareOptions
    ) throws -> CompareSummary {
        try self.compare(ReplayPolicy(old), ReplayPolicy(new), options, compare)
    }

    public static func explain(_ configuration: Configuration, _ options: ReplayOptions, frame index: Int) throws
        -> FrameExplanation?
    {
        try explain(ReplayPolicy(configuration), options, frame: index)
    }
}
