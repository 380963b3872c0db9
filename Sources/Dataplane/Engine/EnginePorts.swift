import CLinux
import Glibc
import LinuxIO
import Ports

/// The two ports of a plan, opened on its backend and checked up, with what they need kept
/// alive (for DPDK, the `OpenedDevices` of the program's `DeviceBackend`). Opening is all or nothing: when a port
/// cannot be opened or
/// its link stays down, whatever was opened is closed again before the error is thrown, so a
/// refused start leaves nothing behind (fail closed).
final class EnginePorts {
    let ports: [PacketPort]
    /// What the operator should know but that does not stop the start (a VF not promiscuous).
    var warnings: [String] { devices?.warnings ?? [] }
    /// The backend's ports and threads, when a `DeviceBackend` opened them.
    let devices: OpenedDevices?
    private var closed = false

    init(ports: [PacketPort]) {
        self.ports = ports
        devices = nil
    }

    init(devices: OpenedDevices) {
        ports = devices.ports
        self.devices = devices
    }

    /// Closes the ports (and the backend behind them). Idempotent.
    func close() {
        guard !closed else { return }
        closed = true
        if let devices { devices.close() } else { for p in ports { p.close() } }
    }

    /// Opens every port of `plan` and waits up to `linkWaitSeconds` for each link to be up.
    /// `devices` opens DPDK ports; without it a dpdk plan is refused.
    static func open(_ plan: EnginePlan, devices: DeviceBackend?, linkWaitSeconds: Double) throws -> EnginePorts {
        let opened: EnginePorts
        switch plan.backend {
        case .afpacket: opened = try openAFPacket(plan)
        case .pcap: opened = try openPcap(plan)
        case .dpdk: opened = try openDevices(plan, devices)  // af_xdp too: DPDK's net_af_xdp
        }
        do {
            try checkLinks(plan, opened.ports, waitSeconds: linkWaitSeconds)
        } catch {
            opened.close()
            throw error
        }
        return opened
    }

    private static func openAFPacket(_ plan: EnginePlan) throws -> EnginePorts {
        var ports: [PacketPort] = []
        do {
            for case let .afpacket(name, interface) in plan.ports {
                do {
                    ports.append(
                        try AFPacketPort(
                            AFPacketPortConfig(
                                interface: interface, name: name, queues: plan.workers,
                                maxBurst: plan.burst)))
                } catch { throw EngineError("port '\(name)' (interface \(interface)): \(error)") }
            }
        } catch {
            ports.forEach { $0.close() }
            throw error
        }
        return EnginePorts(ports: ports)
    }

    private static func openPcap(_ plan: EnginePlan) throws -> EnginePorts {
        var ports: [PacketPort] = []
        // A port writes what the other port received: its output takes the other input's link type.
        let inputs = plan.ports.map { p -> String? in
            if case let .pcap(_, input, _) = p { return input }
            return nil
        }
        do {
            var dlts: [Int32?] = []
            for input in inputs { dlts.append(try input.map { try PcapReader(path: $0).dlt }) }
            for (i, p) in plan.ports.enumerated() {
                guard case let .pcap(name, input, output) = p else { continue }
                let peerDLT = dlts[1 - i] ?? dlts[i]
                do {
                    ports.append(
                        try PcapPort(name: name, input: input, output: output, outputDLT: peerDLT, maxBurst: plan.burst)
                    )
                } catch { throw EngineError("port '\(name)': \(error)") }
            }
        } catch let e as EngineError {
            ports.forEach { $0.close() }
            throw e
        } catch {
            ports.forEach { $0.close() }
            throw EngineError("\(error)")
        }
        return EnginePorts(ports: ports)
    }

    private static func openDevices(_ plan: EnginePlan, _ backend: DeviceBackend?) throws -> EnginePorts {
        guard let backend else {
            throw EngineError("the dpdk backend is not available to this engine (no DeviceBackend given)")
        }
        let requests = plan.ports.compactMap { p -> DeviceRequest? in
            guard case let .dpdk(name, device, vdevArguments, _) = p else { return nil }
            return DeviceRequest(name: name, device: device, vdevArguments: vdevArguments)
        }
        do {
            return EnginePorts(
                devices: try backend.open(
                    environment: plan.ealArguments, devices: requests,
                    queues: plan.workers, burst: plan.burst))
        } catch {
            throw EngineError("\(error)")
        }
    }

    /// Fails, naming the port, when a link is still down after `waitSeconds`. For net_af_packet
    /// the Linux interface behind it is checked too (the PMD reports its link up regardless).
    private static func checkLinks(_ plan: EnginePlan, _ ports: [PacketPort], waitSeconds: Double) throws {
        let deadline = monotonicNanoseconds() + UInt64(max(0, waitSeconds) * 1e9)
        for (port, p) in zip(ports, plan.ports) {
            var iface: String?
            if case let .dpdk(_, _, _, i) = p { iface = i }
            while true {
                let link = port.linkState()
                let carrier = iface.map(interfaceRunning) ?? true
                if link.up && carrier { break }
                if monotonicNanoseconds() >= deadline {
                    let what = iface.map { "interface \($0) behind \(port.name)" } ?? "link"
                    throw EngineError(
                        "port '\(port.name)' is down (\(what) not up after \(waitSeconds) s): check the cable, the "
                            + "VF's link state on the PF (ip link set PF vf N state auto|enable), and that the "
                            + "interface is up; vfwall does not start on a down port"
                    )
                }
                usleep(50_000)
            }
        }
    }

    static func interfaceRunning(_ name: String) -> Bool {
        let s = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else { return false }
        defer { Glibc.close(s) }
        return clinux_interface_running(s, name) == 1
    }
}
