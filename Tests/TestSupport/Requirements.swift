// XCTest exists only where tests are built: `swift build` (scripts/build-release) also builds
// this target, and there the file is left out.
#if canImport(XCTest)
    import Foundation
    import XCTest

    /// Skips the test, saying why, when it does not run as root. CI runs as root, so nothing skips there.
    public func requireRoot(_ what: String) throws {
        guard geteuid() == 0 else {
            throw XCTSkip("\(what) needs root (CAP_NET_ADMIN, CAP_NET_RAW, DPDK memory); CI runs as root")
        }
    }

    /// Skips the test, naming what is missing, when one of `tools` is not in PATH.
    public func requireTools(_ tools: [String], for what: String, installedBy: String = "scripts/install-deps") throws {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"
        let directories = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin"]
        let missing = tools.filter { tool in
            !directories.contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)") }
        }
        guard missing.isEmpty else {
            throw XCTSkip("\(what) needs \(missing.joined(separator: ", ")) (\(installedBy))")
        }
    }
#endif
