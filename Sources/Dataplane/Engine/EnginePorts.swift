import CLinux
import DPDKPorts
import Glibc
import LinuxIO
import Ports

/// The two ports of a plan, opened on its backend and checked up, with what they need kept
/// alive (the DPDK mbuf pool, EAL). Opening is all or nothing: when a port cannot be opened or
/// its link stays down, whatever was opened is closed again before the error is thrown, so a
/// refused start leaves nothing behind (fail closed).
final class EnginePorts {
    let ports: [PacketPort]
    /// What the operator should know but that does not stop the start (a VF not promiscuous).
    private(set) var warnings: [String] = []
    private let pool: MbufPool?
    private let usesEAL: Bool
    private var closed = false

    init(ports: [PacketPort], pool: MbufPool? = nil, usesEAL: Bool = false) {
        self.ports = ports
        self.pool = pool
        self.usesEAL = usesEAL
    }

    /// Closes the ports, then frees the pool and releases EAL. Idempotent.
    func close() {
        guard !closed else { return }
        closed = true
        for p in ports { p.close() }
        pool?.free()
        if usesEAL { DPDKEnvironment.cleanup() }
    }

    /// Opens every port of `plan` and waits up to `linkWaitSeconds` for each link to be up.
    static func open(_ plan: EnginePlan, linkWaitSeconds: Double) throws -> EnginePorts {
        let opened: EnginePorts
        switch plan.backend {
        case .afpacket: opened = try openAFPacket(plan)
        case .pcap: opened = try openPcap(plan)
        case .dpdk, .afXDP: opened = try openDPDK(plan)   // a plan says dpdk for af_xdp
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
                    ports.append(try AFPacketPort(AFPacketPortConfig(interface: interface, name: name, queues: plan.workers,
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
        let inputs = plan.ports.map { p -> String? in if case let .pcap(_, input, _) = p { return input }; return nil }
        do {
            var dlts: [Int32?] = []
            for input in inputs { dlts.append(try input.map { try PcapReader(path: $0).dlt }) }
            for (i, p) in plan.ports.enumerated() {
                guard case let .pcap(name, input, output) = p else { continue }
                let peerDLT = dlts[1 - i] ?? dlts[i]
                do {
                    ports.append(try PcapPort(name: name, input: input, output: output, outputDLT: peerDLT, maxBurst: plan.burst))
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

    private static func openDPDK(_ plan: EnginePlan) throws -> EnginePorts {
        do {
            try DPDKEnvironment.initialize(arguments: plan.ealArguments)
        } catch {
            throw EngineError("\(error)")
        }
        var ports: [PacketPort] = []
        var pool: MbufPool?
        do {
            for case let .dpdk(name, device, vdevArguments?, _) in plan.ports {
                do { try DPDKEnvironment.createVirtualDevice(name: device, arguments: vdevArguments) } catch {
                    throw EngineError("port '\(name)': \(error)")
                }
            }
            // Enough mbufs for every descriptor of every queue, the bursts in flight and the caches.
            let queues = plan.workers * plan.ports.count
            let needed = queues * (1024 + 1024 + 2 * plan.burst) + plan.workers * 256 + 1024
            var count = 8191
            while count < needed { count = count * 2 + 1 }
            pool = try MbufPool(name: "vfwall_mbufs", count: count, cacheSize: 256)
            for case let .dpdk(name, device, _, _) in plan.ports {
                do {
                    ports.append(try DPDKPort(DPDKPortConfig(device: device, name: name, queues: plan.workers,
                                                             maxBurst: plan.burst), pool: pool!))
                } catch {
                    let hint = "\(error)".contains("promiscuous") ? trustHint : ""
                    throw EngineError("port '\(name)' (device \(device)): \(error)\(hint)")
                }
            }
        } catch {
            ports.forEach { $0.close() }
            pool?.free()
            DPDKEnvironment.cleanup()
            throw error is EngineError ? error : EngineError("\(error)")
        }
        let opened = EnginePorts(ports: ports, pool: pool, usesEAL: true)
        for case let port as DPDKPort in ports where !port.promiscuous && EnginePlan.normalizedPCIAddress(port.device) != nil {
            opened.warnings.append("port '\(port.name)' (\(port.device), \(port.driver)): promiscuous mode is off, so it receives only frames for its own MAC\(trustHint)")
        }
        return opened
    }

    /// What a VF needs from its PF to carry other hosts' frames.
    static let trustHint = "; a VF needs its PF to trust it and not check spoofing: vfplumb attach ... --trust on --spoofchk off (ip link set PF vf N trust on spoofchk off)"

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
                    throw EngineError("port '\(port.name)' is down (\(what) not up after \(waitSeconds) s): check the cable, the VF's link state on the PF (ip link set PF vf N state auto|enable), and that the interface is up; vfwall does not start on a down port")
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
