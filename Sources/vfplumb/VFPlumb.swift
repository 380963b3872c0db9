import ArgumentParser
import Plumbing

@main
struct VFPlumb: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "vfplumb", abstract: "Create SR-IOV VFs and plumb them into containers.")
}
