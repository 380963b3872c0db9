import Foundation

/// Moves a PCI function between its kernel driver and vfio-pci through driver_override,
/// the sequence dpdk-devbind and the kernel documentation use.
public struct DriverBinding {
    public let sysfs: Sysfs
    /// Where the /dev/vfio group files live (reported, and checked when present).
    public let vfioDevDirectory: String

    public init(sysfs: Sysfs, vfioDevDirectory: String = "/dev/vfio") {
        self.sysfs = sysfs
        self.vfioDevDirectory = vfioDevDirectory
    }

    public enum Target: String, CaseIterable, Sendable { case vfio = "vfio-pci", kernel }

    public struct Result: Equatable, Sendable {
        public let address: String
        public let previousDriver: String?
        public let driver: String?
        /// /dev/vfio/N for vfio-pci, nil for the kernel driver.
        public let vfioGroupPath: String?
        public let changed: Bool
    }

    public func bind(_ nameOrAddress: String, to target: Target) throws -> Result {
        guard let address = sysfs.resolvePCI(nameOrAddress), let device = sysfs.pciDevice(address) else {
            throw PlumbingError(
                "\(nameOrAddress) is not a PCI device in \(sysfs.root)/bus/pci/devices; give a PCI address from "
                    + "`vfplumb list`."
            )
        }
        let dir = device.directory
        switch target {
        case .vfio:
            guard let group = device.iommuGroup else {
                throw PlumbingError(
                    "\(address) has no IOMMU group, so vfio-pci cannot take it; enable the IOMMU (intel_iommu=on or "
                        + "amd_iommu=on on the kernel command line) or load vfio with enable_unsafe_noiommu_mode=1."
                )
            }
            guard sysfs.exists("bus/pci/drivers/vfio-pci") else {
                throw PlumbingError(
                    "the vfio-pci driver is not loaded, so \(address) cannot be bound to it; run `modprobe "
                        + "vfio-pci` first."
                )
            }
            let groupPath = vfioDevDirectory + "/" + group
            if device.driver == "vfio-pci" {
                return Result(
                    address: address, previousDriver: "vfio-pci", driver: "vfio-pci", vfioGroupPath: groupPath,
                    changed: false)
            }
            if device.driver != nil { try sysfs.write("\(dir)/driver/unbind", address) }
            try sysfs.write("\(dir)/driver_override", "vfio-pci")
            try sysfs.write("bus/pci/drivers/vfio-pci/bind", address)
            // Cleared so a later reprobe (or `bind --driver kernel`) is not pinned to vfio.
            try sysfs.write("\(dir)/driver_override", "")
            let now = sysfs.pciDevice(address)?.driver
            guard now == "vfio-pci" else {
                throw PlumbingError("\(address) did not bind to vfio-pci (driver now: \(now ?? "none")); check dmesg.")
            }
            return Result(
                address: address, previousDriver: device.driver, driver: now, vfioGroupPath: groupPath, changed: true)
        case .kernel:
            if let current = device.driver, !nonNetworkDrivers.contains(current) {
                return Result(
                    address: address, previousDriver: current, driver: current, vfioGroupPath: nil, changed: false)
            }
            if device.driver != nil { try sysfs.write("\(dir)/driver/unbind", address) }
            try sysfs.write("\(dir)/driver_override", "")
            try sysfs.write("bus/pci/drivers_probe", address)
            let now = sysfs.pciDevice(address)?.driver
            guard let bound = now, !nonNetworkDrivers.contains(bound) else {
                throw PlumbingError(
                    "no kernel driver took \(address) after drivers_probe; load its driver (for example `modprobe "
                        + "ixgbevf`) and retry."
                )
            }
            return Result(
                address: address, previousDriver: device.driver, driver: bound, vfioGroupPath: nil, changed: true)
        }
    }
}
