import Foundation

/// What attach, detach and reconcile share: sysfs, the journal, the host namespace,
/// the container CLI, and where progress lines go.
public struct Plumber {
    public let sysfs: Sysfs
    public let journal: Journal
    public let host: NetworkNamespace
    public let containerCLI: ContainerCLI
    public let log: (String) -> Void

    public init(
        sysfs: Sysfs, journal: Journal, host: NetworkNamespace? = nil,
        containerCLI: ContainerCLI = .fromEnvironment(), log: @escaping (String) -> Void = { _ in }
    ) throws {
        self.sysfs = sysfs
        self.journal = journal
        self.host = try host ?? NetworkNamespace.host()
        self.containerCLI = containerCLI
        self.log = log
    }

    /// A netlink socket in the host namespace (this thread's; the main thread never moves).
    func hostSocket() throws -> NetlinkSocket { try NetlinkSocket() }

    /// A fresh name no link has: "vfp" and eight hex digits (15 characters at most).
    static func temporaryName() -> String {
        "vfp" + String(format: "%08x", UInt32.random(in: 0...UInt32.max))
    }

    /// The VF behind a netdev, with its PF's netdev name, when it is one.
    func vf(of pci: String?) -> (vf: VirtualFunction, pfName: String)? {
        guard let pci, let vf = sysfs.virtualFunction(pci),
            let pfName = sysfs.pciDevice(vf.pfAddress)?.netdevs.first
        else { return nil }
        return (vf, pfName)
    }
}
