import Foundation

/// The repository's top directory (this file is Tests/TestSupport/Products.swift).
public let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../..").standardized.path

/// A product of this package (`vfwall`, `vfplumb`): built beside the test bundle, since
/// `swift build --build-tests` and `swift test` build every product.
public func builtProduct(_ name: String) -> String {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var directory = URL(fileURLWithPath: exe).deletingLastPathComponent()
    while directory.path != "/" {
        let candidate = directory.appendingPathComponent(name).path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        directory.deleteLastPathComponent()
    }
    return name
}

/// Starts a product in the repository's directory (inside `netns` when given).
public func startProduct(
    _ name: String, _ arguments: [String], netns: String? = nil,
    environment: [String: String] = [:]
) throws -> BackgroundProcess {
    let path = builtProduct(name)
    guard FileManager.default.isExecutableFile(atPath: path) else { throw ProcessError("\(name) is not built") }
    return try BackgroundProcess(path, arguments, netns: netns, directory: repositoryRoot, environment: environment)
}

/// Runs a product to its end in the repository's directory, as a user runs it.
public func runProduct(
    _ name: String, _ arguments: [String], netns: String? = nil,
    environment: [String: String] = [:], timeout: Double = 60
) throws -> ProcessResult {
    try startProduct(name, arguments, netns: netns, environment: environment).wait(timeout: timeout)
}

/// Scratch files of one test in a directory of their own, removed by `remove()`.
public final class ScratchDirectory {
    public let directory: String

    public init(_ tag: String) throws {
        directory = NSTemporaryDirectory() + "\(TestNames.owner)-\(tag)"
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    public func path(_ name: String) -> String { directory + "/" + name }

    public func write(_ name: String, _ text: String) throws -> String {
        let file = path(name)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    public func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

/// configs/default.yaml on the pcap backend: the inside port reads captures/sample.pcap and both
/// ports write into `scratch`; `controlSocket` adds a socket path; `extraRules` is appended.
public func pcapDefaultConfigurationText(
    _ scratch: ScratchDirectory, controlSocket: Bool = true, extraRules: String = ""
) throws -> String {
    let base = try String(contentsOfFile: repositoryRoot + "/configs/default.yaml", encoding: .utf8)
    var text =
        base
        .replacingOccurrences(
            of: "    interface: vfw-in0 ",
            with: "    rx-pcap: \(repositoryRoot)/captures/sample.pcap\n    tx-pcap: \(scratch.path("inside.pcap")) #"
        )
        .replacingOccurrences(of: "    interface: vfw-out0", with: "    tx-pcap: \(scratch.path("outside.pcap"))")
        .replacingOccurrences(of: "backend: afpacket ", with: "backend: pcap     ")
    if controlSocket {
        text = text.replacingOccurrences(
            of: "  eal: [", with: "  control-socket: \(scratch.path("ctl.sock"))\n  eal: [")
    }
    return text + extraRules
}
