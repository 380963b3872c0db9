import ArgumentParser
import Plumbing

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List SR-IOV capable NICs and their VFs.",
        discussion: """
            For each PF: PCI address, netdev, driver, link state, VFs in use out of the total, and \
            the vendor and device names from pci.ids. For each VF: index, PCI address, netdev, \
            driver (a kernel driver or vfio-pci), MAC, and where it is attached (host, a \
            container, or another namespace).
            """)

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print JSON for programs instead of a table.")
    var json = false

    func run() throws {
        try reporting {
            let inventory = Inventory(sysfs: global.sysfs(), names: PCIIDs.load(), journal: .fromEnvironment())
            if json { try printJSON(inventory) } else { print(inventory.table(), terminator: "") }
        }
    }
}
