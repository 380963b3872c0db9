import ArgumentParser
import Plumbing

extension DriverBinding.Target: ExpressibleByArgument {}

struct BindCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bind",
        abstract: "Bind a PCI function to vfio-pci (for DPDK) or back to its kernel driver.",
        discussion: """
            To vfio-pci: unbind from the current driver, write vfio-pci to driver_override, bind, \
            and clear driver_override; prints the /dev/vfio group file to hand to the container. \
            To the kernel: unbind, clear driver_override, and let drivers_probe pick the driver.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: ArgumentHelp("A PCI address (or the netdev of one).", valueName: "PCI"))
    var device: String
    @Option(help: "vfio-pci or kernel.")
    var driver: DriverBinding.Target

    func run() throws {
        try reporting {
            let result = try DriverBinding(sysfs: global.sysfs()).bind(device, to: driver)
            let was = result.previousDriver ?? "no driver"
            if !result.changed {
                print("\(result.address) is already bound to \(result.driver ?? "-"); nothing changed")
            } else {
                print("\(result.address): \(was) -> \(result.driver ?? "-")")
            }
            if let group = result.vfioGroupPath { print("vfio group: \(group)") }
        }
    }
}
