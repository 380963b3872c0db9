import Foundation

/// Sets a PF's VF count the way the kernel wants it: 0 first when the count changes
/// (it refuses N over M with EBUSY), then N, then waits (bounded) for the VFs' netdevs.
public struct VFCount {
    public let sysfs: Sysfs
    public let journal: Journal

    public init(sysfs: Sysfs, journal: Journal) {
        self.sysfs = sysfs
        self.journal = journal
    }

    public enum Outcome: Equatable {
        case unchanged(PhysicalFunction)
        case changed(PhysicalFunction)
    }

    /// Finds the PF named by netdev or PCI address, or says why it is not one.
    public func physicalFunction(_ nameOrAddress: String) throws -> PhysicalFunction {
        guard let address = sysfs.resolvePCI(nameOrAddress) else {
            throw PlumbingError(
                "\(nameOrAddress) is neither a network interface backed by a PCI device nor a PCI address; see "
                    + "`vfplumb list`."
            )
        }
        guard let pf = sysfs.physicalFunction(address) else {
            let label = address == nameOrAddress ? address : "\(nameOrAddress) (\(address))"
            if sysfs.exists("bus/pci/devices/\(address)/physfn") {
                throw PlumbingError("\(label) is a VF, not a PF; give the PF it belongs to.")
            }
            throw PlumbingError("\(label) is not SR-IOV capable (no sriov_totalvfs); pick a PF from `vfplumb list`.")
        }
        return pf
    }

    /// The VFs of a PF that sit in a container now, by journal or by a missing netdev.
    public func attachedVFs(_ pf: PhysicalFunction) -> [VirtualFunction] {
        let journaled = Set(journal.all().compactMap(\.pciAddress))
        return pf.virtualFunctions.filter { journaled.contains($0.address) || $0.isInAnotherNamespace }
    }

    public func set(
        _ nameOrAddress: String, count: Int, force: Bool = false,
        timeout: TimeInterval = 10
    ) throws -> Outcome {
        let pf = try physicalFunction(nameOrAddress)
        guard count >= 0 else { throw PlumbingError.usage("the VF count must be 0 or more; asked for \(count).") }
        // The deadline and the message's Int(timeout) need a finite number (a day is plenty).
        guard timeout.isFinite, timeout >= 0, timeout <= 86400 else {
            throw PlumbingError.usage("a timeout of \(timeout) s is out of range (0 to 86400).")
        }
        guard count <= pf.totalVFs else {
            throw PlumbingError.usage("\(pf.label) supports at most \(pf.totalVFs) VFs; asked for \(count).")
        }
        if pf.numVFs == count { return .unchanged(pf) }
        let attached = attachedVFs(pf)
        if !attached.isEmpty && !force {
            let list = attached.map { "VF \($0.index) (\($0.address))" }.joined(separator: ", ")
            throw PlumbingError(
                "\(pf.label) has VFs attached to containers (\(list)); detach them first or pass --force.")
        }
        let numvfs = "\(pf.device.directory)/sriov_numvfs"
        if pf.numVFs != 0 { try sysfs.write(numvfs, "0") }
        if count != 0 { try sysfs.write(numvfs, String(count)) }
        return .changed(try waitForVFs(pf.address, count: count, timeout: timeout))
    }

    /// Polls until the PF shows `count` VFs, each with a netdev unless its driver never
    /// makes one (or autoprobe is off). Bounded: says which VFs are late.
    func waitForVFs(_ address: String, count: Int, timeout: TimeInterval) throws -> PhysicalFunction {
        let autoprobe = sysfs.readInt("bus/pci/devices/\(address)/sriov_drivers_autoprobe") ?? 1
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            guard let pf = sysfs.physicalFunction(address) else {
                throw PlumbingError("\(address) disappeared while its VFs were being created; check dmesg.")
            }
            let late = pf.virtualFunctions.filter {
                autoprobe != 0 && $0.device.netdevs.isEmpty && !nonNetworkDrivers.contains($0.device.driver ?? "")
            }
            if pf.virtualFunctions.count == count && late.isEmpty { return pf }
            if Date() >= deadline {
                let missing =
                    pf.virtualFunctions.count == count
                    ? "VF " + late.map { String($0.index) }.joined(separator: ", ") + " have no netdev yet"
                    : "only \(pf.virtualFunctions.count) of \(count) VFs appeared"
                throw PlumbingError("\(pf.label): \(missing) after \(Int(timeout)) s; check dmesg and the VF driver.")
            }
            usleep(50_000)
        }
    }
}
