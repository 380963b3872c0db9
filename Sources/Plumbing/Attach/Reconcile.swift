import Foundation

extension Plumber {
    /// A direct-mode record's link when it is on the host (perhaps as devN or under its
    /// in-container name): by our alias, else by PCI address.
    func findOnHost(_ record: AttachmentRecord, sock: NetlinkSocket) throws -> LinkInfo? {
        let links = try sock.links()
        if let link = links.first(where: { $0.alias == record.alias }) { return link }
        if let pci = record.pciAddress {
            return links.first { sysfs.pciAddress(ofNetdev: $0.name) == pci }
        }
        return nil
    }

    /// Gives the link its host name, MAC, MTU, alias and state back, and resets the VF's
    /// PF-side settings.
    func restoreOnHost(_ record: AttachmentRecord, currentName: String, sock: NetlinkSocket) throws -> [String] {
        var done: [String] = []
        if let vf = record.vf {
            try sock.setVFSettings(pf: vf.pfName, index: vf.index, vf.original)
            done.append("reset VF \(vf.index) of \(vf.pfName)")
        }
        if currentName != record.hostName {
            if try sock.link(named: record.hostName) != nil {
                throw PlumbingError(
                    "\(record.hostName) is taken on the host by another interface, so \(currentName) cannot get its "
                        + "name back; rename that one and retry."
                )
            }
            try sock.change(currentName, LinkChange(name: record.hostName, up: false))
            done.append("rename \(currentName) back to \(record.hostName)")
        }
        let name = record.hostName
        if record.vf == nil {
            try sock.change(name, LinkChange(mtu: record.mtu, mac: record.mac))
        } else {
            try sock.change(name, LinkChange(mtu: record.mtu))
        }
        try sock.change(name, LinkChange(up: record.wasUp, alias: record.originalAlias ?? ""))
        done.append("restore MAC \(record.mac), MTU \(record.mtu) and state \(record.wasUp ? "up" : "down") of \(name)")
        done.forEach(log)
        return done
    }

    /// After containers stopped: finds VFs the kernel returned under another name (devN,
    /// or the in-container name) and gives them their host names back. Records whose
    /// interface is still inside a live namespace are left alone.
    @discardableResult
    public func reconcile() throws -> [String] {
        try Safety.requireNetAdmin("reconcile")
        let sock = try hostSocket()
        var done: [String] = []
        for record in journal.all() where record.mode == .direct {
            guard let link = try findOnHost(record, sock: sock) else {
                if liveNamespace(record) == nil {
                    log("\(record.hostName) is gone with its namespace (\(record.target)); forgetting it")
                    journal.remove(record)
                }
                continue
            }
            done += try restoreOnHost(record, currentName: link.name, sock: sock)
            journal.remove(record)
        }
        // Links that carry our alias without a journal entry (the journal was lost).
        let journaled = Set(journal.all().map(\.alias))
        for link in try sock.links() {
            guard let alias = link.alias, alias.hasPrefix(AttachmentRecord.aliasPrefix), !journaled.contains(alias),
                link.kind != "macvlan"
            else { continue }
            let name = String(alias.dropFirst(AttachmentRecord.aliasPrefix.count))
            guard !name.isEmpty, name != link.name, try sock.link(named: name) == nil else { continue }
            try sock.change(link.name, LinkChange(name: name, up: false, alias: ""))
            log("rename \(link.name) back to \(name) (from its alias; no journal entry)")
            done.append("rename \(link.name) back to \(name)")
        }
        if done.isEmpty { log("every journaled interface is where it should be; nothing to do") }
        return done
    }
}
