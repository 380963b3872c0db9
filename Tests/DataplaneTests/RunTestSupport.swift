import Foundation
import Glibc
import XCTest

/// The built `vfwall` binary, run as a user runs it: to completion, or in the background.
enum VFWallBinary {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized.path

    /// Beside the test bundle: `swift build --build-tests` (and `swift test`) builds every product.
    static var path: String {
        let bundle = Bundle(for: RunMarker.self).bundleURL
        for dir in [bundle.deletingLastPathComponent(), bundle] {
            let p = dir.appendingPathComponent("vfwall").path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return bundle.deletingLastPathComponent().appendingPathComponent("vfwall").path
    }

    struct Result { var status: Int32; var out: String; var err: String }

    /// Runs `vfwall args...` (inside network namespace `netns` when given) and waits for it.
    static func run(_ args: [String], netns: String? = nil, timeout: Double = 60) throws -> Result {
        let p = try Background(args, netns: netns)
        return p.wait(timeout: timeout)
    }

    /// A `vfwall` (or any command) started in the background, its output going to files.
    final class Background {
        let process = Process()
        let outPath: String, errPath: String
        private var result: Result?

        init(_ args: [String], netns: String? = nil, executable: String? = nil) throws {
            let exe = executable ?? VFWallBinary.path
            guard FileManager.default.isExecutableFile(atPath: exe) else {
                throw NSError(domain: "vfwall", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(exe) is not built"])
            }
            if let netns {
                process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
                process.arguments = ["netns", "exec", netns, exe] + args   // ip execs: same pid
            } else {
                process.executableURL = URL(fileURLWithPath: exe)
                process.arguments = args
            }
            process.currentDirectoryURL = URL(fileURLWithPath: VFWallBinary.root)
            let base = NSTemporaryDirectory() + "vfrun-\(getpid())-\(UUID().uuidString.prefix(8))"
            outPath = base + ".out"; errPath = base + ".err"
            for path in [outPath, errPath] where !FileManager.default.createFile(atPath: path, contents: nil) {
                let why = [NSLocalizedDescriptionKey: "cannot create \(path)"]
                throw NSError(domain: "vfwall", code: 1, userInfo: why)
            }
            process.standardOutput = FileHandle(forWritingAtPath: outPath)
            process.standardError = FileHandle(forWritingAtPath: errPath)
            process.standardInput = FileHandle.nullDevice
            try process.run()
        }

        var pid: Int32 { process.processIdentifier }
        var isRunning: Bool { process.isRunning }
        var errText: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

        func signal(_ s: Int32) { if process.isRunning { kill(process.processIdentifier, s) } }

        /// Waits for the exit (SIGKILL after `timeout` seconds) and collects the output.
        @discardableResult
        func wait(timeout: Double = 30) -> Result {
            if let result { return result }
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
            let r = Result(status: process.terminationStatus,
                           out: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                           err: errText)
            unlink(outPath); unlink(errPath)
            result = r
            return r
        }

        deinit { if result == nil { signal(SIGKILL); wait(timeout: 5) } }
    }
}

final class RunMarker {}

/// Scratch files of one test, removed by `remove()`.
final class RunScratch {
    let dir: String
    init(_ tag: String) throws {
        dir = NSTemporaryDirectory() + "vfrun-\(getpid())-\(tag)"
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { dir + "/" + name }
    func write(_ name: String, _ text: String) throws -> String {
        let p = path(name)
        try text.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }
    func remove() { try? FileManager.default.removeItem(atPath: dir) }
}

/// Polls `done` every 20 ms for up to `seconds`; returns whether it became true.
func eventually(_ seconds: Double = 10, _ done: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if done() { return true }
        usleep(20_000)
    }
    return done()
}

/// The JSON `vfwall stats` prints, as dictionaries.
struct RunStats {
    let json: [String: Any]
    init(_ text: String) throws {
        guard let o = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw NSError(domain: "vfwall", code: 2, userInfo: [NSLocalizedDescriptionKey: "not a JSON object: \(text)"])
        }
        json = o
    }
    func port(_ name: String) -> [String: Any] {
        ((json["ports"] as? [[String: Any]]) ?? []).first { $0["name"] as? String == name } ?? [:]
    }
    func portCount(_ name: String, _ key: String) -> Int { port(name)[key] as? Int ?? -1 }
    func ruleHits(_ name: String) -> Int {
        (((json["rules"] as? [[String: Any]]) ?? []).first { $0["name"] as? String == name }?["hits"] as? Int) ?? -1
    }
    func total(_ key: String) -> Int { ((json["totals"] as? [String: Any])?[key] as? Int) ?? -1 }
    var flows: Int { ((json["conntrack"] as? [String: Any])?["flows"] as? Int) ?? -1 }
    func conntrack(_ key: String) -> Any? { (json["conntrack"] as? [String: Any])?[key] }
}

/// The classic pcap frames of a file (any timestamp precision), for comparing bytes.
func pcapFrames(_ path: String) throws -> [[UInt8]] { try TinyPcap.read(path) }
