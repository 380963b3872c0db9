import Dataplane
import FirewallConfig
import LinuxIO

/// vfwall's YAML configuration mapped to the engine's plan: every check that needs the
/// backend's point of view, with the file and the port named.
extension EnginePlan {
    /// `environment` is where ports given by `from-env` or `network-status` are looked up.
    public static func make(_ c: Configuration, environment: PortEnvironment = .process) throws -> EnginePlan {
        let d = c.dataplane
        // Capture files have no MAC: a routed pcap port must be given one.
        if d.mode == .route && d.backend == .pcap, let p = c.ports.first(where: { $0.mac == nil }) {
            throw EngineError(
                "\(c.file): port '\(p.name)': route mode on the pcap backend needs 'mac' (a file has none)")
        }
        guard c.ports.count == 2 else {
            throw EngineError(
                "\(c.file): vfwall run forwards between exactly two ports (inside and outside); the configuration "
                    + "has \(c.ports.count): \(c.portNames.joined(separator: ", "))"
            )
        }
        if d.backend == .pcap && d.cores.count > 1 {
            throw EngineError(
                "\(c.file): the pcap backend reads each file in order with one worker; 'cores' lists "
                    + "\(d.cores.count) (\(d.cores.map(String.init).joined(separator: ", ")))"
            )
        }
        var ports: [PortPlan] = []
        var vdevNumber = 0
        for configured in c.ports {
            let p = try PortDiscovery.resolve(configured, backend: d.backend, file: c.file, environment: environment)
            let port = "\(c.file): port '\(p.name)'"
            switch d.backend {
            case .afpacket:
                guard let iface = p.interface, !iface.isEmpty else {
                    throw EngineError("\(port): the afpacket backend needs 'interface' (a Linux network interface)")
                }
                ports.append(.afpacket(name: p.name, interface: iface))
            case .pcap:
                guard p.rxPcap != nil || p.txPcap != nil else {
                    throw EngineError(
                        "\(port): the pcap backend needs 'rx-pcap' (frames in), 'tx-pcap' (frames out), or both")
                }
                ports.append(.pcap(name: p.name, input: p.rxPcap, output: p.txPcap))
            case .dpdk:
                ports.append(try dpdkPort(p, queues: d.cores.count, number: &vdevNumber, what: port, eal: d.eal))
            case .afXDP:
                // af_xdp is the dpdk backend on DPDK's net_af_xdp: `interface` names the Linux
                // interface (a `device` given anyway wins, as under dpdk).
                var q = p
                if (q.device ?? "").isEmpty, let iface = q.interface, !iface.isEmpty {
                    while d.eal.contains(where: { $0.hasPrefix("net_af_xdp\(vdevNumber)") }) { vdevNumber += 1 }
                    q.device = "net_af_xdp\(vdevNumber),iface=\(iface)"
                    vdevNumber += 1
                } else if (q.device ?? "").isEmpty {
                    throw EngineError(
                        "\(port): the af_xdp backend needs 'interface' (the Linux interface for net_af_xdp)")
                }
                ports.append(try dpdkPort(q, queues: d.cores.count, number: &vdevNumber, what: port, eal: d.eal))
            }
        }
        let backend: Backend =
            switch d.backend {
            case .dpdk, .afXDP: .dpdk
            case .afpacket: .afpacket
            case .pcap: .pcap
            }
        return EnginePlan(
            backend: backend, ports: ports, cpus: d.cores, burst: d.burst,
            ealArguments: backend == .dpdk
                ? ealArguments(d, ports, configFile: c.file, allowedCPUs: environment.allowedCPUs()) : [],
            idleSleepMicroseconds: d.backend == .afpacket ? 50 : 0,
            controlSocket: d.controlSocket ?? ControlSocket.defaultPath(forConfig: c.file),
            conntrack: c.conntrack, stallMilliseconds: d.stallMilliseconds, routing: c.routingPlan)
    }

    /// A DPDK port from `device` (a PCI address, a vdev name, or a vdev with arguments) or, with
    /// only `interface`, a net_af_packet device on it.
    static func dpdkPort(_ p: PortConfig, queues: Int, number: inout Int, what: String, eal: [String]) throws
        -> PortPlan
    {
        var device = p.device ?? ""
        if device.isEmpty {
            guard let iface = p.interface, !iface.isEmpty else {
                throw EngineError(
                    "\(what): the dpdk backend needs 'device' (a PCI address such as 0000:03:02.0, or a vdev such "
                        + "as net_af_packet0,iface=veth0) or 'interface' (for net_af_packet)"
                )
            }
            while eal.contains(where: { $0.hasPrefix("net_af_packet\(number)") }) { number += 1 }
            device = "net_af_packet\(number),iface=\(iface)"
            number += 1
        }
        if let pci = normalizedPCIAddress(device) {
            if eal.contains("--no-pci") {
                throw EngineError("\(what): device \(device) is a PCI address, but the EAL arguments include --no-pci")
            }
            return .dpdk(name: p.name, device: pci, vdevArguments: nil, interface: nil)
        }
        let parts = device.split(separator: ",", maxSplits: 1).map(String.init)
        let vdev = parts[0]
        guard vdev.hasPrefix("net_") || vdev.hasPrefix("eth_") else {
            throw EngineError(
                "\(what): device '\(device)' is neither a PCI address (0000:03:02.0) nor a DPDK virtual device "
                    + "(net_af_packet0,iface=veth0; net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap; net_null0 ...)"
            )
        }
        var args = parts.count > 1 ? parts[1] : nil
        var iface: String?
        if vdev.hasPrefix("net_af_packet") {
            let kv = (args ?? "").split(separator: ",").map { $0.split(separator: "=", maxSplits: 1).map(String.init) }
            iface = kv.first { $0.count == 2 && $0[0] == "iface" }?[1]
            // One queue pair per worker, unless the device says otherwise.
            if queues > 1 && !kv.contains(where: { $0.first == "qpairs" }) {
                args = (args.map { $0 + "," } ?? "") + "qpairs=\(queues)"
            }
        }
        // A vdev declared in the EAL arguments already exists; one named here is created by the engine.
        let declared = eal.contains { $0 == vdev || $0.hasPrefix(vdev + ",") }
        return .dpdk(name: p.name, device: vdev, vdevArguments: declared ? nil : (args ?? ""), interface: iface)
    }

    /// "0000:03:02.0" or "03:02.0" -> "0000:03:02.0"; nil for anything else.
    static func normalizedPCIAddress(_ s: String) -> String? {
        let parts = s.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 || parts.count == 3 else { return nil }
        let hex = { (t: Substring, n: Int) -> Bool in t.count == n && t.allSatisfy(\.isHexDigit) }
        let domain = parts.count == 3 ? parts[0] : "0000"
        let bus = parts[parts.count - 2]
        let devfn = parts[parts.count - 1].split(separator: ".", omittingEmptySubsequences: false)
        guard hex(domain, 4), hex(bus, 2), devfn.count == 2, hex(devfn[0], 2), devfn[1].count == 1,
            devfn[1].allSatisfy(\.isNumber)
        else { return nil }
        return "\(domain):\(bus):\(devfn[0]).\(devfn[1])".lowercased()
    }

    /// The configuration's EAL arguments, plus: an lcore map (main lcore 0 floating over the CPUs
    /// the workers leave free, or over theirs when they take every allowed one; worker lcore i+1
    /// on CPU i) unless the arguments already choose lcores; an
    /// allow-list entry for each PCI port not already named; no telemetry socket (the control
    /// socket answers for vfwall, and EAL's would outlive its runtime directory's cleanup); and
    /// a file prefix of the configuration's name, so two firewalls on one host do not clash.
    static func ealArguments(
        _ d: DataplaneConfig, _ ports: [PortPlan], configFile: String, allowedCPUs: [Int]
    ) -> [String] {
        var args = d.eal
        if !args.contains(where: { $0.hasPrefix("--telemetry") || $0 == "--no-telemetry" }) {
            args.append("--no-telemetry")
        }
        if !args.contains(where: { $0.hasPrefix("--file-prefix") }) {
            let base = ControlSocket.defaultPath(forConfig: configFile).split(separator: "/").last!.dropLast(5)
            args += ["--file-prefix", "vfwall-\(base)"]
        }
        let lcoreFlags = ["-l", "-c", "--lcores"]
        if !args.contains(where: { a in lcoreFlags.contains { a == $0 || a.hasPrefix("--lcores=") } }) {
            // The main lcore is the control thread (reloads, statistics, the metrics listener):
            // on a worker's CPU it would take turns with a loop that never yields.
            let free = allowedCPUs.filter { !d.cores.contains($0) }
            let main = (free.isEmpty ? d.cores : free).map(String.init).joined(separator: ",")
            let workers = d.cores.enumerated().map { "\($0.offset + 1)@\($0.element)" }
            args += ["--lcores", (["0@(\(main))"] + workers).joined(separator: ",")]
        }
        for case let .dpdk(_, device, nil, nil) in ports where normalizedPCIAddress(device) != nil {
            if !args.contains(where: { $0 == device || $0.hasPrefix(device + ",") }) { args += ["-a", device] }
        }
        return args
    }
}
