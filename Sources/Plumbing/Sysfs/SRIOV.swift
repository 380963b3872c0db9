/// A physical function that can create VFs (it has sriov_totalvfs).
public struct PhysicalFunction: Sendable, Equatable {
    public let device: PCIDevice
    public let totalVFs: Int
    public let numVFs: Int
    public let virtualFunctions: [VirtualFunction]

    public var address: String { device.address }
    /// "eth4 (0000:82:00.0)" or just the address, for sentences.
    public var label: String {
        device.netdevs.first.map { "\($0) (\(device.address))" } ?? device.address
    }
}

/// One VF: virtfnN under its PF.
public struct VirtualFunction: Sendable, Equatable {
    public let index: Int
    public let device: PCIDevice
    public let pfAddress: String

    public var address: String { device.address }
    /// Bound to a network driver but without a netdev here: moved to another namespace.
    public var isInAnotherNamespace: Bool {
        device.netdevs.isEmpty && device.driver != nil && !nonNetworkDrivers.contains(device.driver!)
    }
}

/// Drivers that never give a VF a netdev.
let nonNetworkDrivers: Set<String> = ["vfio-pci", "uio_pci_generic", "igb_uio", "pci-stub"]

extension Sysfs {
    /// Every PF on the machine, in PCI address order.
    public func physicalFunctions() -> [PhysicalFunction] {
        pciAddresses().compactMap(physicalFunction)
    }

    /// The PF at a PCI address, nil when the device is missing or has no SR-IOV capability.
    public func physicalFunction(_ address: String) -> PhysicalFunction? {
        guard let device = pciDevice(address),
            let total = readInt("\(device.directory)/sriov_totalvfs")
        else { return nil }
        let links = list(device.directory).compactMap { name -> (Int, String)? in
            guard name.hasPrefix("virtfn"), let index = Int(name.dropFirst(6)),
                let bdf = linkTargetName("\(device.directory)/\(name)")
            else { return nil }
            return (index, bdf)
        }.sorted { $0.0 < $1.0 }
        let vfs = links.compactMap { index, bdf in
            pciDevice(bdf).map { VirtualFunction(index: index, device: $0, pfAddress: address) }
        }
        return PhysicalFunction(
            device: device, totalVFs: total,
            numVFs: readInt("\(device.directory)/sriov_numvfs") ?? 0,
            virtualFunctions: vfs)
    }

    /// The VF at a PCI address (it has a physfn link), nil otherwise.
    public func virtualFunction(_ address: String) -> VirtualFunction? {
        guard let pf = linkTargetName("bus/pci/devices/\(address)/physfn"),
            let parent = physicalFunction(pf)
        else { return nil }
        return parent.virtualFunctions.first { $0.address == address }
    }

    /// Resolves "eth4" or "0000:82:00.0" to a PCI address; nil when neither names a device.
    public func resolvePCI(_ nameOrAddress: String) -> String? {
        if isPCIAddress(nameOrAddress) { return exists("bus/pci/devices/\(nameOrAddress)") ? nameOrAddress : nil }
        return pciAddress(ofNetdev: nameOrAddress)
    }
}
