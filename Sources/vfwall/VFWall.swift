import ArgumentParser

@main
struct VFWall: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "vfwall", abstract: "A user-space firewall on SR-IOV VFs.")
}
