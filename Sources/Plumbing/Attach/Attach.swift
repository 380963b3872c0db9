import Foundation

extension Plumber {
    /// Checks the request, journals what will change, then moves (or macvlans) the
    /// interface into the target's namespace. Returns the steps taken (or, for a dry
    /// run, the steps it would take).
    @discardableResult
    public func attach(_ request: AttachRequest) throws -> [String] {
        let sock = try hostSocket()
        let hostName = try resolveHostInterface(request.interface, sock: sock)
        guard let link = try sock.link(named: hostName) else {
            throw PlumbingError(
                "\(request.interface) does not exist on the host; check the name with `ip link` or `vfplumb list`.")
        }
        if let existing = journal.all().first(where: { $0.hostName == hostName && $0.mode == .direct }) {
            throw PlumbingError(
                "\(hostName) is already attached to \(existing.target); detach it first with `vfplumb detach "
                    + "\(hostName)`."
            )
        }
        try checkSafety(hostName, request: request)
        let pci = sysfs.pciAddress(ofNetdev: hostName)
        let vf = vf(of: pci)
        if !request.vf.isEmpty && vf == nil {
            throw PlumbingError.usage(
                "\(hostName) is not an SR-IOV VF, so --vlan/--qos/--spoofchk/--trust/--rate cannot be set on it; "
                    + "drop them or give a VF."
            )
        }
        if request.mode == .macvlan && request.vf.mac != nil {
            throw PlumbingError.usage("--mode macvlan gives the macvlan its own MAC; use --mac without VF settings.")
        }

        let target = try Target(parsing: request.target)
        let nsPath = try target.namespacePath(containerCLI: containerCLI)
        let ns = try NetworkNamespace(path: nsPath)
        guard ns.inode != host.inode else {
            throw PlumbingError(
                "\(request.target) is the host's own network namespace; give a container or another namespace.")
        }
        let nameInside = request.name ?? hostName
        if try ns.run({ try $0.link(named: nameInside) }) != nil {
            throw PlumbingError("\(nameInside) is already taken inside \(request.target); choose another --name.")
        }

        var record = AttachmentRecord(
            hostName: hostName, pciAddress: pci, originalAlias: link.alias, mac: link.mac, mtu: link.mtu,
            wasUp: link.isUp, mode: request.mode, phase: .attaching, target: request.target,
            namespacePath: nsPath, namespaceInode: ns.inode, nameInside: nameInside,
            temporaryName: Plumber.temporaryName(), vf: nil)
        if let vf {
            record.vf = VFRecord(
                pfName: vf.pfName, index: vf.vf.index, original: try sock.vfSettings(pf: vf.pfName, index: vf.vf.index))
        }

        let steps =
            request.mode == .direct
            ? directSteps(record, request, ns: ns, sock: sock)
            : macvlanSteps(record, request, lowerIndex: link.index, ns: ns, sock: sock)
        if request.dryRun { return steps.map(\.description) }

        try Safety.requireNetAdmin("attaching \(hostName)")
        try journal.save(record)  // before anything changes
        do {
            try execute(steps, log: log)
        } catch {
            journal.remove(record)
            throw error
        }
        record.phase = .attached
        try journal.save(record)
        return steps.map(\.description)
    }

    /// A netdev name, or the netdev of a PCI address.
    func resolveHostInterface(_ text: String, sock: NetlinkSocket) throws -> String {
        guard isPCIAddress(text) else { return text }
        guard let device = sysfs.pciDevice(text) else {
            throw PlumbingError("\(text) is not a PCI device on this host; see `vfplumb list`.")
        }
        guard let name = device.netdevs.first else {
            throw PlumbingError(
                "\(text) has no network interface on the host (driver: \(device.driver ?? "none")); bind it to its "
                    + "kernel driver with `vfplumb bind \(text) --driver kernel`."
            )
        }
        return name
    }

    func checkSafety(_ hostName: String, request: AttachRequest) throws {
        guard !request.force else { return }
        if Safety.defaultRouteInterfaces().contains(hostName) {
            throw PlumbingError(
                "\(hostName) carries the host's default route, and moving it would cut the host off; pick a VF or "
                    + "pass --force."
            )
        }
        if let pci = sysfs.pciAddress(ofNetdev: hostName), sysfs.physicalFunction(pci) != nil {
            throw PlumbingError(
                "\(hostName) (\(pci)) is a PF, and moving it takes all its VFs' uplink with it; attach one of its "
                    + "VFs or pass --force."
            )
        }
    }

    /// The VF's PF-side settings, applied first and reset on rollback.
    func vfStep(_ record: AttachmentRecord, _ request: AttachRequest, sock: NetlinkSocket) -> Step? {
        guard let vf = record.vf, !request.vf.isEmpty else { return nil }
        var wanted = request.vf
        if wanted.vlan != nil && wanted.qos == nil { wanted.qos = 0 }
        return Step(
            "set VF \(vf.index) of \(vf.pfName): \(describe(wanted))",
            apply: { try sock.setVFSettings(pf: vf.pfName, index: vf.index, wanted) },
            undo: { try sock.setVFSettings(pf: vf.pfName, index: vf.index, vf.original) })
    }

    /// Inside the namespace: name, MAC, MTU, addresses, up, default route.
    func insideSteps(_ record: AttachmentRecord, _ request: AttachRequest, ns: NetworkNamespace, mac: String?) -> [Step]
    {
        let temp = record.temporaryName, name = record.nameInside, target = record.target
        var steps = [
            Step(
                "rename \(temp) to \(name) inside \(target)",
                apply: { try ns.run { try $0.change(temp, LinkChange(name: name)) } },
                undo: { try ns.run { try $0.change(name, LinkChange(name: temp, up: false)) } })
        ]
        if mac != nil || request.mtu != nil {
            let what = [mac.map { "MAC \($0)" }, request.mtu.map { "MTU \($0)" }].compactMap { $0 }.joined(
                separator: " and ")
            steps.append(
                Step(
                    "set \(what) on \(name) inside \(target)",
                    apply: { try ns.run { try $0.change(name, LinkChange(mtu: request.mtu, mac: mac)) } },
                    undo: { try ns.run { try $0.change(name, LinkChange(mtu: record.mtu, mac: record.mac)) } }))
        }
        for cidr in request.addresses {
            steps.append(
                Step(
                    "add address \(cidr) to \(name) inside \(target)",
                    apply: {
                        try ns.run { sock in
                            guard let link = try sock.link(named: name) else {
                                throw PlumbingError("\(name) vanished inside \(target).")
                            }
                            try sock.addAddress(cidr, to: link.index)
                        }
                    }))
        }
        steps.append(
            Step(
                "bring \(name) up inside \(target)",
                apply: { try ns.run { try $0.change(name, LinkChange(up: true)) } },
                undo: { try ns.run { try $0.change(name, LinkChange(up: false)) } }))
        if let gateway = request.gateway {
            steps.append(
                Step(
                    "add a default route via \(gateway) on \(name) inside \(target)",
                    apply: {
                        try ns.run { sock in
                            guard let link = try sock.link(named: name) else {
                                throw PlumbingError("\(name) vanished inside \(target).")
                            }
                            try sock.addDefaultRoute(via: gateway, on: link.index)
                        }
                    }))
        }
        return steps
    }
}

func describe(_ s: VFSettings) -> String {
    var parts: [String] = []
    if let mac = s.mac { parts.append("mac \(mac)") }
    if let vlan = s.vlan { parts.append("vlan \(vlan) qos \(s.qos ?? 0)") }
    if let spoof = s.spoofCheck { parts.append("spoofchk \(spoof ? "on" : "off")") }
    if let trust = s.trust { parts.append("trust \(trust ? "on" : "off")") }
    if let rate = s.maxTxRate { parts.append("max_tx_rate \(rate)") }
    if let rate = s.minTxRate { parts.append("min_tx_rate \(rate)") }
    return parts.joined(separator: ", ")
}
