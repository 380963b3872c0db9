/// A PCI function as sysfs shows it under bus/pci/devices/BDF.
public struct PCIDevice: Sendable, Equatable {
    public let address: String  // "0000:03:00.0"
    public let vendorID: String  // "8086"
    public let deviceID: String  // "10fb"
    public let driver: String?  // "ixgbe", "vfio-pci", nil when unbound
    public let netdevs: [String]  // names in this network namespace, usually one
    public let iommuGroup: String?  // "42"
    public let numaNode: Int?

    var directory: String { "bus/pci/devices/\(address)" }
}

extension Sysfs {
    /// Reads one PCI function; nil when no such device exists.
    public func pciDevice(_ address: String) -> PCIDevice? {
        let dir = "bus/pci/devices/\(address)"
        guard exists(dir) else { return nil }
        func id(_ name: String) -> String {
            let raw = read("\(dir)/\(name)") ?? ""
            return raw.hasPrefix("0x") ? String(raw.dropFirst(2)) : raw
        }
        let numa = readInt("\(dir)/numa_node")
        return PCIDevice(
            address: address, vendorID: id("vendor"), deviceID: id("device"),
            driver: linkTargetName("\(dir)/driver"),
            netdevs: list("\(dir)/net"),
            iommuGroup: linkTargetName("\(dir)/iommu_group"),
            numaNode: numa.flatMap { $0 >= 0 ? $0 : nil })
    }

    /// The PCI address behind a netdev name (class/net/IF/device), nil for virtual links.
    public func pciAddress(ofNetdev name: String) -> String? {
        guard !name.isEmpty, !name.contains("/") else { return nil }
        let device = linkTargetName("class/net/\(name)/device")
        return device.flatMap { isPCIAddress($0) ? $0 : nil }
    }

    public func pciAddresses() -> [String] { list("bus/pci/devices").filter(isPCIAddress) }
}

/// "0000:03:00.0": domain, bus, device and function in hex.
public func isPCIAddress(_ text: String) -> Bool {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false)
    guard parts.count == 3, parts[0].count == 4, parts[1].count == 2 else { return false }
    let devfn = parts[2].split(separator: ".", omittingEmptySubsequences: false)
    guard devfn.count == 2, devfn[0].count == 2, devfn[1].count == 1 else { return false }
    return [parts[0], parts[1], devfn[0], devfn[1]].allSatisfy { $0.allSatisfy(\.isHexDigit) }
}
