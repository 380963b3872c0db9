import XCTest

/// The `vfwall` command as a user runs it: exit codes, messages, the replay summary.
final class VFWallCLITests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized

    /// The built binary sits in the build products directory with the test bundle (on Linux the
    /// bundle URL is that directory; elsewhere it is the .xctest inside it).
    static var binary: URL {
        let bundle = Bundle(for: VFWallCLITests.self).bundleURL
        let beside = bundle.appendingPathComponent("vfwall")
        return FileManager.default.isExecutableFile(atPath: beside.path) ? beside : bundle.deletingLastPathComponent().appendingPathComponent("vfwall")
    }

    struct Result { var status: Int32; var out: String; var err: String }

    func run(_ args: [String]) throws -> Result {
        // The test target depends on the vfwall target, so `swift test` always builds it.
        guard FileManager.default.isExecutableFile(atPath: Self.binary.path) else {
            XCTFail("vfwall binary not built at \(Self.binary.path)")
            return Result(status: -1, out: "", err: "")
        }
        let p = Process()
        p.executableURL = Self.binary
        p.arguments = args
        p.currentDirectoryURL = Self.root
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, out: String(decoding: o, as: UTF8.self), err: String(decoding: e, as: UTF8.self))
    }

    func tmpFile(_ name: String, _ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vfwall-e2e-\(getpid())-\(name)").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testCheckAcceptsTheDefault() throws {
        let r = try run(["check", "configs/default.yaml"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("rules: 9"))
        let text = try String(contentsOf: Self.root.appendingPathComponent("configs/default.yaml"), encoding: .utf8)
        let line = text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("- name: allow-ssh-in") }! + 1
        XCTAssertTrue(r.out.contains("6: accept allow-ssh-in  (configs/default.yaml:\(line))"), r.out)
    }

    func testCheckRefusesWithPositionAndExit1() throws {
        let bad = try tmpFile("bad.yaml", "rules:\n  - name: web\n    proto: tcp\n    dport: http\n    action: accept\n")
        defer { unlink(bad) }
        let r = try run(["check", bad])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.err, "\(bad):4:12: 'dport' expects a port, a range 1000-2000 or a list, got 'http'\n")
        XCTAssertEqual(r.out, "")
    }

    func testReplaySummaryAddsUp() throws {
        let r = try run(["replay", "--config", "configs/default.yaml", "captures/sample.pcap", "--ingress-mac", "02:00:00:00:00:fe=outside"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("frames 482 = accepted 338 + dropped 138 + rejected 6"), r.out)
        XCTAssertTrue(r.out.range(of: #"allow-web-out\s+accept\s+32"#, options: .regularExpression) != nil, r.out)
        XCTAssertTrue(r.out.range(of: #"bad-ipv4-ihl\s+malformed\s+1"#, options: .regularExpression) != nil, r.out)
        XCTAssertTrue(r.out.range(of: #"invalid-state\s+setting\s+\d+"#, options: .regularExpression) != nil, r.out)
    }

    func testReplayWithABadConfigOpensNothing() throws {
        let bad = try tmpFile("bad2.yaml", "rules: [\n")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("vfwall-e2e-\(getpid())-never.pcap").path
        defer { unlink(bad) }
        let r = try run(["replay", "--config", bad, "captures/sample.pcap", "--accepted", out])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.hasPrefix("\(bad):"), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "no output file is created when the config is refused")
    }

    func testReplayErrorsAreOneLineNamingTheFile() throws {
        let r = try run(["replay", "--config", "configs/default.yaml", "/nonexistent/in.pcap"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.err.hasPrefix("vfwall replay: /nonexistent/in.pcap: cannot read capture"), r.err)
        XCTAssertEqual(r.err.split(separator: "\n").count, 1)
        let u = try run(["replay", "--config", "configs/default.yaml", "captures/sample.pcap", "--ingress", "dmz"])
        XCTAssertEqual(u.status, 64)
        XCTAssertTrue(u.err.contains("no port named 'dmz'"), u.err)
        let v = try run(["replay", "--config", "configs/default.yaml", "captures/sample.pcap", "--burst", "0"])
        XCTAssertEqual(v.status, 64)
    }

    func testHelpReadsLikeAManPage() throws {
        let r = try run(["replay", "--help"])
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.out.contains("--ingress-mac <mac=port>"), r.out)
        XCTAssertTrue(r.out.contains("EXAMPLE") || r.out.contains("Example:"), r.out)
    }
}
