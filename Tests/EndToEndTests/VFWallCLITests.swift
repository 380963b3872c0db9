import TestSupport
import XCTest

/// The `vfwall` command as a user runs it: exit codes, messages, the replay summary.
final class VFWallCLITests: XCTestCase {
    /// `vfwall args...` in the repository's directory, both outputs read (see `BackgroundProcess`).
    func run(_ args: [String]) throws -> ProcessResult { try runProduct("vfwall", args) }

    func tmpFile(_ name: String, _ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vfwall-e2e-\(getpid())-\(name)").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testCheckAcceptsTheDefault() throws {
        let r = try run(["check", "configs/default.yaml"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("rules: 9"))
        let text = try String(contentsOfFile: repositoryRoot + "/configs/default.yaml", encoding: .utf8)
        let line =
            text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex {
                $0.contains("- name: allow-ssh-in")
            }! + 1
        XCTAssertTrue(r.stdout.contains("6: accept allow-ssh-in  (configs/default.yaml:\(line))"), r.stdout)
    }

    func testCheckRefusesWithPositionAndExit1() throws {
        let bad = try tmpFile(
            "bad.yaml", "rules:\n  - name: web\n    proto: tcp\n    dport: http\n    action: accept\n")
        defer { unlink(bad) }
        let r = try run(["check", bad])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "\(bad):4:12: 'dport' expects a port, a range 1000-2000 or a list, got 'http'\n")
        XCTAssertEqual(r.stdout, "")
    }

    func testReplaySummaryAddsUp() throws {
        let r = try run([
            "replay", "--config", "configs/default.yaml", "captures/sample.pcap", "--ingress-mac",
            "02:00:00:00:00:fe=outside"
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("frames 482 = accepted 338 + dropped 138 + rejected 6"), r.stdout)
        XCTAssertTrue(r.stdout.range(of: #"allow-web-out\s+accept\s+32"#, options: .regularExpression) != nil, r.stdout)
        XCTAssertNotNil(r.stdout.range(of: #"bad-ipv4-ihl\s+malformed\s+1"#, options: .regularExpression), r.stdout)
        XCTAssertNotNil(r.stdout.range(of: #"invalid-state\s+setting\s+\d+"#, options: .regularExpression), r.stdout)
    }

    func testReplayWithABadConfigOpensNothing() throws {
        let bad = try tmpFile("bad2.yaml", "rules: [\n")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("vfwall-e2e-\(getpid())-never.pcap")
            .path
        defer { unlink(bad) }
        let r = try run(["replay", "--config", bad, "captures/sample.pcap", "--accepted", out])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.hasPrefix("\(bad):"), r.stderr)
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: out), "no output file is created when the config is refused")
    }

    func testReplayErrorsAreOneLineNamingTheFile() throws {
        let r = try run(["replay", "--config", "configs/default.yaml", "/nonexistent/in.pcap"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.hasPrefix("vfwall replay: /nonexistent/in.pcap: cannot read capture"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1)
        let u = try run(["replay", "--config", "configs/default.yaml", "captures/sample.pcap", "--ingress", "dmz"])
        XCTAssertEqual(u.status, 64)
        XCTAssertTrue(u.stderr.contains("no port named 'dmz'"), u.stderr)
        let v = try run(["replay", "--config", "configs/default.yaml", "captures/sample.pcap", "--burst", "0"])
        XCTAssertEqual(v.status, 64)
    }

    func testHelpReadsLikeAManPage() throws {
        let r = try run(["replay", "--help"])
        XCTAssertEqual(r.status, 0)
        XCTAssertTrue(r.stdout.contains("--ingress-mac <mac=port>"), r.stdout)
        XCTAssertTrue(r.stdout.contains("EXAMPLE") || r.stdout.contains("Example:"), r.stdout)
    }
}
