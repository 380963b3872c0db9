/// A device for a backend that owns its devices and its threads (DPDK): what the engine asks
/// for, by name, without knowing the backend.
public struct DeviceRequest: Equatable, Sendable {
    /// What the configuration calls the port (`inside`).
    public var name: String
    /// The backend's name of the device: a PCI address (a VF) or a virtual device (`net_ring0`).
    public var device: String
    /// Set when the backend is to create the virtual device itself, with these arguments.
    public var vdevArguments: String?

    public init(name: String, device: String, vdevArguments: String? = nil) {
        self.name = name
        self.device = device
        self.vdevArguments = vdevArguments
    }
}

/// Opens ports on a backend that the engine does not link (the DPDK side implements it, and
/// the program hands it to the engine). Opening is all or nothing: on error nothing stays open.
public protocol DeviceBackend: Sendable {
    /// Starts the backend with `environment` (DPDK: EAL arguments), then opens `devices`, each
    /// with `queues` RX/TX queues and bursts of up to `burst` frames.
    func open(environment: [String], devices: [DeviceRequest], queues: Int, burst: Int) throws -> OpenedDevices
}

/// Ports a `DeviceBackend` opened, and the backend's own threads to run workers on.
public protocol OpenedDevices: AnyObject {
    var ports: [PacketPort] { get }
    /// What the operator should know but that does not stop the start (a VF not promiscuous).
    var warnings: [String] { get }
    /// Runs `body(i)` for worker i in 0..<count, each on a thread of the backend's (DPDK: the
    /// worker lcores, in order). Throws, after waiting for those started, when it cannot.
    func launch(workers count: Int, _ body: @escaping (Int) -> Void) throws
    /// Waits until every launched body has returned.
    func waitForWorkers()
    /// Closes the ports, then the backend (DPDK: pools and EAL). Idempotent.
    func close()
}
