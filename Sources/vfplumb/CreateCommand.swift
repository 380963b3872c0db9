import ArgumentParser
import Foundation
import Plumbing

struct CreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Set the number of VFs of a PF.",
        discussion: """
            PF is a netdev name (eth4) or a PCI address (0000:82:00.0). When the count changes, \
            vfplumb writes 0 to sriov_numvfs first (the kernel refuses a new non-zero count over \
            an old one), then N, and waits up to --timeout seconds for the VFs' netdevs. Asking \
            for the count already set changes nothing. VFs attached to containers are never \
            dropped unless --force is given.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: ArgumentHelp("The PF: a netdev name or a PCI address.", valueName: "PF"))
    var pf: String
    @Option(help: "The number of VFs wanted (0 removes them all).")
    var count: Int
    @Flag(help: "Change the count even when VFs are attached to containers.")
    var force = false
    @Option(help: "Seconds to wait for the VFs' netdevs.")
    var timeout: Double = 10
    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        if count < 0 { throw ValidationError("--count must be 0 or more; got \(count).") }
        if timeout < 0 { throw ValidationError("--timeout must be 0 or more; got \(timeout).") }
    }

    func run() throws {
        try reporting {
            let creator = VFCount(sysfs: global.sysfs(), journal: .fromEnvironment())
            let outcome = try creator.set(pf, count: count, force: force, timeout: timeout)
            let (result, changed): (PhysicalFunction, Bool)
            switch outcome {
            case .unchanged(let p): (result, changed) = (p, false)
            case .changed(let p): (result, changed) = (p, true)
            }
            if json {
                struct Out: Encodable {
                    let pf: String
                    let numVFs: Int
                    let changed: Bool
                    let netdevs: [String]
                }
                try printJSON(
                    Out(
                        pf: result.address, numVFs: result.numVFs, changed: changed,
                        netdevs: result.virtualFunctions.compactMap(\.device.netdevs.first)))
                return
            }
            print(
                changed
                    ? "\(result.label): \(result.numVFs) VFs"
                    : "\(result.label) already has \(result.numVFs) VFs; nothing changed")
            for vf in result.virtualFunctions {
                print("  vf \(vf.index)  \(vf.address)  \(vf.device.netdevs.first ?? "-")  \(vf.device.driver ?? "-")")
            }
        }
    }
}
