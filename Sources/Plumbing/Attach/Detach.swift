import Foundation

extension Plumber {
    /// Puts back everything attached under `what`: a host interface name, an in-container
    /// name, or a TARGET as given to attach. Idempotent: nothing journaled is not an error.
    @discardableResult
    public func detach(_ what: String) throws -> [String] {
        let records = journal.all().filter {
            $0.hostName == what || $0.target == what || $0.key == what || $0.pciAddress == what
        }
        if records.isEmpty {
            log("nothing is attached under \(what); nothing to do")
            return []
        }
        try Safety.requireNetAdmin("detaching \(what)")
        var done: [String] = []
        var failures: [String] = []
        for record in records {
            do {
                done += try (record.mode == .direct ? detachDirect(record) : detachMacvlan(record))
                journal.remove(record)
            } catch {
                failures.append("\(record.hostName): \(plainCause(error))")
            }
        }
        if !failures.isEmpty {
            throw PlumbingError(
                "detach left work undone (\(failures.joined(separator: "; "))); fix the cause and run `vfplumb "
                    + "detach \(what)` again."
            )
        }
        return done
    }

    /// The namespace the record points at, when it still exists and is the same one.
    func liveNamespace(_ record: AttachmentRecord) -> NetworkNamespace? {
        guard let ns = try? NetworkNamespace(path: record.namespacePath), ns.inode == record.namespaceInode else {
            return nil
        }
        return ns
    }

    /// The order drivers need: VF settings reset, down, a neutral name, MAC and MTU,
    /// then back to the host, where it gets its host name (renaming inside could clash
    /// with the container's own interfaces).
    func detachDirect(_ record: AttachmentRecord) throws -> [String] {
        let sock = try hostSocket()
        if let current = try findOnHost(record, sock: sock) {
            return try restoreOnHost(record, currentName: current.name, sock: sock)
        }
        guard let ns = liveNamespace(record) else {
            log(
                "\(record.hostName) is gone: its namespace (\(record.target)) no longer exists and it did not come "
                    + "back to the host; forgetting it"
            )
            return []
        }
        let temp = record.temporaryName, hostFD = host.fd
        let moved: Bool = try ns.run { inside in
            guard let link = try findInside(record, sock: inside) else { return false }
            try inside.change(link.name, LinkChange(name: temp, up: false))
            // A VF's MAC may be the PF's to set; the PF-side reset below restores it.
            if record.vf == nil {
                try inside.change(temp, LinkChange(mtu: record.mtu, mac: record.mac))
            } else {
                try inside.change(temp, LinkChange(mtu: record.mtu))
            }
            try inside.change(temp, LinkChange(namespaceFD: hostFD))
            return true
        }
        guard moved else {
            log("\(record.hostName) is neither on the host nor inside \(record.target); forgetting it")
            return []
        }
        log("moved \(record.nameInside) out of \(record.target) as \(temp)")
        return ["move \(record.nameInside) out of \(record.target)"]
            + (try restoreOnHost(record, currentName: temp, sock: sock))
    }

    /// Macvlan: delete it inside (or wherever it went); the lower link stays where it is.
    func detachMacvlan(_ record: AttachmentRecord) throws -> [String] {
        let sock = try hostSocket()
        if let ns = liveNamespace(record) {
            let deleted: String? = try ns.run { inside in
                guard let link = try findInside(record, sock: inside) else { return nil }
                try inside.deleteLink(named: link.name)
                return link.name
            }
            if let deleted { log("deleted macvlan \(deleted) inside \(record.target)") }
        }
        // Half-finished attach: the macvlan may still sit on the host under its temporary name.
        if try sock.link(named: record.temporaryName) != nil {
            try sock.deleteLink(named: record.temporaryName)
            log("deleted macvlan \(record.temporaryName) on the host")
        }
        let others = journal.all().filter { $0.hostName == record.hostName && $0.key != record.key }
        if !record.wasUp && others.isEmpty, try sock.link(named: record.hostName) != nil {
            try sock.change(record.hostName, LinkChange(up: false))
            log("brought \(record.hostName) back down")
        }
        return ["delete the macvlan of \(record.hostName) inside \(record.target)"]
    }

    /// The record's link inside a namespace: by in-container name with our alias, else
    /// by alias alone, else under the temporary name.
    func findInside(_ record: AttachmentRecord, sock: NetlinkSocket) throws -> LinkInfo? {
        if let link = try sock.link(named: record.nameInside), link.alias == record.alias { return link }
        if let link = try sock.links().first(where: { $0.alias == record.alias }) { return link }
        return try sock.link(named: record.temporaryName)
    }
}
