import CDPDK
import Ports

/// The DPDK side as a `DeviceBackend`: initialises EAL, creates the virtual devices asked for,
/// allocates one mbuf pool for every queue, opens the ports and runs workers on EAL's worker
/// lcores. The program hands it to the engine, which links no DPDK library itself.
public struct DPDKDevices: DeviceBackend {
    public init() {}

    public func open(environment: [String], devices: [DeviceRequest], queues: Int, burst: Int) throws
        -> OpenedDevices
    {
        try DPDKEnvironment.initialize(arguments: environment)
        var ports: [DPDKPort] = []
        var pool: MbufPool?
        do {
            for request in devices {
                guard let arguments = request.vdevArguments else { continue }
                do { try DPDKEnvironment.createVirtualDevice(name: request.device, arguments: arguments) } catch {
                    throw DeviceError("port '\(request.name)': \(error)")
                }
            }
            // Enough mbufs for every descriptor of every queue, the bursts in flight and the caches.
            let needed = queues * devices.count * (1024 + 1024 + 2 * burst) + queues * 256 + 1024
            var count = 8191
            while count < needed { count = count * 2 + 1 }
            let shared = try MbufPool(name: "vfwall_mbufs", count: count, cacheSize: 256)
            pool = shared
            for request in devices {
                do {
                    let config = DPDKPortConfig(
                        device: request.device, name: request.name, queues: queues, maxBurst: burst)
                    ports.append(try DPDKPort(config, pool: shared))
                } catch {
                    var hint = ""
                    if case DPDKPortError.promiscuousRefused = error { hint = Self.trustHint }
                    throw DeviceError("port '\(request.name)' (device \(request.device)): \(error)\(hint)")
                }
            }
        } catch {
            ports.forEach { $0.close() }
            pool?.free()
            DPDKEnvironment.cleanup()
            throw error
        }
        return DPDKOpenedDevices(ports: ports, pool: pool, ownsEnvironment: true)
    }

    /// What a VF needs from its PF to carry other hosts' frames.
    static let trustHint =
        "; a VF needs its PF to trust it and not check spoofing: vfplumb attach ... "
        + "--trust on --spoofchk off (ip link set PF vf N trust on spoofchk off)"

    /// A PCI address (`0000:03:02.0`, `03:02.0`): a device that is a (virtual) function, not a vdev.
    static func isPCIAddress(_ device: String) -> Bool {
        let parts = device.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3, let last = parts.last, last.contains(".") else { return false }
        return parts.allSatisfy { part in part.allSatisfy { $0.isHexDigit || $0 == "." } && !part.isEmpty }
    }
}

/// Why the DPDK side did not open: the message names the port.
public struct DeviceError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// The ports, their pool and EAL, kept together so `close()` releases them in order.
public final class DPDKOpenedDevices: OpenedDevices {
    public let dpdkPorts: [DPDKPort]
    let pool: MbufPool?
    let ownsEnvironment: Bool
    public private(set) var warnings: [String] = []
    private var lcores: [UInt32] = []
    private var closed = false

    /// `pool` and EAL (with `ownsEnvironment`) are released by `close()` after the ports.
    public init(ports: [DPDKPort], pool: MbufPool?, ownsEnvironment: Bool) {
        dpdkPorts = ports
        self.pool = pool
        self.ownsEnvironment = ownsEnvironment
        for port in ports where !port.promiscuous && DPDKDevices.isPCIAddress(port.device) {
            warnings.append(
                "port '\(port.name)' (\(port.device), \(port.driver)): promiscuous mode is off, so it "
                    + "receives only frames for its own MAC\(DPDKDevices.trustHint)")
        }
    }

    public var ports: [PacketPort] { dpdkPorts }

    public func launch(workers count: Int, _ body: @escaping (Int) -> Void) throws {
        var lcore = cdpdk_next_lcore(UInt32.max, true)
        for worker in 0..<count {
            // On error the workers launched run on until the caller stops them and waits.
            guard lcore < cdpdk_max_lcores() else {
                throw DeviceError(
                    "\(count) workers but EAL has only \(lcores.count) worker lcores: "
                        + "give EAL more cores (-l/--lcores)")
            }
            let context = Unmanaged.passRetained(LaunchContext { body(worker) }).toOpaque()
            let rc = cdpdk_remote_launch(
                { raw in
                    Unmanaged<LaunchContext>.fromOpaque(raw!).takeRetainedValue().body()
                    return 0
                }, context, lcore)
            if rc < 0 {
                Unmanaged<LaunchContext>.fromOpaque(context).release()
                throw PortError.dpdk(action: "launch worker \(worker) on lcore \(lcore)", code: rc)
            }
            lcores.append(lcore)
            lcore = cdpdk_next_lcore(lcore, true)
        }
    }

    public func waitForWorkers() {
        for lcore in lcores { _ = cdpdk_wait_lcore(lcore) }
        lcores.removeAll()
    }

    public func close() {
        guard !closed else { return }
        closed = true
        for port in dpdkPorts { port.close() }
        pool?.free()
        if ownsEnvironment { DPDKEnvironment.cleanup() }
    }
}

/// A worker's body, retained across the C boundary of `rte_eal_remote_launch`.
private final class LaunchContext {
    let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }
}
