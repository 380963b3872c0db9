import ArgumentParser
import Plumbing

struct DetachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detach",
        abstract: "Put back what attach did, for one interface or everything in one target.",
        discussion: """
            Resets the VF's PF-side settings, brings it down, gives it back its MAC and MTU, moves \
            it back to the host and renames it to its recorded host name; a macvlan is deleted. \
            Safe to repeat: nothing journaled, a container that is already gone, or an earlier \
            detach that stopped half way are handled, not errors.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(
        help: ArgumentHelp(
            "The host interface name (or PCI address) given to attach, or its TARGET.", valueName: "IFACE-or-TARGET"))
    var what: String

    func run() throws {
        try reporting {
            let plumber = try Plumber(sysfs: global.sysfs(), journal: .fromEnvironment(), log: { print("  \($0)") })
            print("detaching \(what):")
            try plumber.detach(what)
            print("done")
        }
    }
}
