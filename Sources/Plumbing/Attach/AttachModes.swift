extension Plumber {
    /// Direct: the VF's own netdev goes into the namespace under a temporary name, so it
    /// never clashes with a name there, and gets its final name inside.
    func directSteps(_ record: AttachmentRecord, _ request: AttachRequest, ns: NetworkNamespace, sock: NetlinkSocket)
        -> [Step]
    {
        var request = request
        var insideMAC = request.mac
        if record.vf != nil, let mac = request.mac {
            request.vf.mac = mac  // a VF's MAC is the PF's to give
            insideMAC = nil
        }
        let host = record.hostName, temp = record.temporaryName, target = record.target
        var steps: [Step] = []
        if let vf = vfStep(record, request, sock: sock) { steps.append(vf) }
        steps.append(
            Step(
                "bring \(host) down and set its alias to \(record.alias) (how reconcile finds it later)",
                apply: { try sock.change(host, LinkChange(up: false, alias: record.alias)) },
                undo: { try sock.change(host, LinkChange(up: record.wasUp, alias: record.originalAlias ?? "")) }))
        steps.append(
            Step(
                "rename \(host) to \(temp) on the host",
                apply: { try sock.change(host, LinkChange(name: temp)) },
                undo: { try sock.change(temp, LinkChange(name: host)) }))
        let hostFD = self.host.fd
        steps.append(
            Step(
                "move \(temp) into \(target) (\(record.namespacePath))",
                apply: { try sock.change(temp, LinkChange(namespaceFD: ns.fd)) },
                undo: { try ns.run { try $0.change(temp, LinkChange(namespaceFD: hostFD)) } }))
        return steps + insideSteps(record, request, ns: ns, mac: insideMAC)
    }

    /// Macvlan: a bridge-mode macvlan on the interface goes in; the interface stays.
    func macvlanSteps(
        _ record: AttachmentRecord, _ request: AttachRequest, lowerIndex: Int32,
        ns: NetworkNamespace, sock: NetlinkSocket
    ) -> [Step] {
        let host = record.hostName, temp = record.temporaryName, target = record.target
        var steps: [Step] = []
        if !record.wasUp {
            steps.append(
                Step(
                    "bring \(host) up (a macvlan passes traffic only over a running lower link)",
                    apply: { try sock.change(host, LinkChange(up: true)) },
                    undo: { try sock.change(host, LinkChange(up: false)) }))
        }
        steps.append(
            Step(
                "create macvlan \(temp) in bridge mode on \(host)\(request.mac.map { " with MAC \($0)" } ?? "")",
                apply: {
                    try sock.addMacvlan(named: temp, on: lowerIndex, mac: request.mac)
                    try sock.change(temp, LinkChange(alias: record.alias))
                },
                undo: { try sock.deleteLink(named: temp) }))
        steps.append(
            Step(
                "move \(temp) into \(target) (\(record.namespacePath))",
                apply: { try sock.change(temp, LinkChange(namespaceFD: ns.fd)) },
                undo: { try ns.run { try $0.deleteLink(named: temp) } }))
        return steps + insideSteps(record, request, ns: ns, mac: nil)
    }
}
