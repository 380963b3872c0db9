import Foundation
import TestSupport
import XCTest

/// `vfwall set` against a running `vfwall run` (pcap backend, its input a FIFO the test feeds a
/// frame at a time, so the run lasts as long as the test wants and its worker keeps turning).
final class SetCommandTests: XCTestCase {
    func frame(_ index: Int) -> [UInt8] {
        var f: [UInt8] = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]
        f += [0x45, 0, 0, 50, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 1, 0, 1, 10, 2, 0, 1]
        let sport = UInt16(1024 + index % 60000), dport = UInt16(2000 + index / 60000)
        f += [UInt8(sport >> 8), UInt8(sport & 0xff), UInt8(dport >> 8), UInt8(dport & 0xff), 0, 30, 0, 0]
        f += [UInt8](repeating: 0xab, count: 22)
        var sum: UInt32 = 0
        for i in stride(from: 14, to: 34, by: 2) { sum += UInt32(f[i]) << 8 | UInt32(f[i + 1]) }
        while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
        f[24] = UInt8(~UInt16(sum) >> 8)
        f[25] = UInt8(~UInt16(sum) & 0xff)
        return f
    }

    static func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian, Array.init) }

    func stats(_ socket: String) throws -> [String: Any] {
        let r = try runProduct("vfwall", ["stats", "--socket", socket])
        XCTAssertEqual(r.status, 0, r.stderr)
        return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] ?? [:]
    }

    /// A port counter from `vfwall stats`, or -1 while the socket does not answer yet.
    func probe(_ socket: String, port: String, _ key: String) -> Int {
        guard let r = try? runProduct("vfwall", ["stats", "--socket", socket]), r.status == 0,
            let s = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        else { return -1 }
        return count(s, port: port, key)
    }

    func count(_ s: [String: Any], port: String, _ key: String) -> Int {
        let ports = s["ports"] as? [[String: Any]] ?? []
        return ports.first { $0["name"] as? String == port }?[key] as? Int ?? -1
    }

    func testSetAddChangesVerdictsOfARunningFirewall() throws {
        signal(SIGPIPE, SIG_IGN)
        let scratch = try ScratchDirectory("vrs-cli")
        defer { scratch.remove() }
        let fifo = scratch.path("in.pcap"), socket = scratch.path("ctl.sock")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let config = try scratch.write(
            "run.yaml",
            """
            ports:
              inside:
                rx-pcap: \(fifo)
                tx-pcap: \(scratch.path("inside-out.pcap"))
              outside:
                tx-pcap: \(scratch.path("outside.pcap"))
            dataplane:
              backend: pcap
              cores: [0]
              burst: 1
              stall-ms: 0
              control-socket: \(socket)
            policy:
              default: accept
            sets:
              blocked:
                type: ipv4
                elements: [192.0.2.1]
              pairs:
                type: "ipv4 . port"
                elements: ["192.0.2.1 . 443"]
            rules:
              - name: drop-blocked
                src: "@blocked"
                action: drop

            """)
        let fw = try startProduct("vfwall", ["run", "--config", config, "--no-status"])
        var writer: Int32 = -1
        defer {
            if writer >= 0 { close(writer) }
            fw.signal(SIGTERM)
            _ = fw.wait(timeout: 10)
        }
        // The run opens its input twice: once to read the link type from the header, then to
        // receive. The first reader takes one header; the second header waits in the FIFO (kept
        // open here throughout) for the second.
        waitUntil(timeout: 20, what: "vfwall run to open its input") {
            writer = open(fifo, O_WRONLY | O_NONBLOCK)
            return writer >= 0
        }
        guard writer >= 0 else { return }
        _ = fcntl(writer, F_SETFL, 0)
        let header =
            Self.le32(0xa1b2_c3d4) + [2, 0, 4, 0] + Self.le32(0) + Self.le32(0) + Self.le32(65535) + Self.le32(1)
        XCTAssertEqual(write(writer, header, header.count), header.count)
        waitUntil(timeout: 20, what: "the first header read") {
            var unread: Int32 = 0
            return ioctl(writer, UInt(FIONREAD), &unread) == 0 && unread == 0
        }
        // No reader between the two opens: the write fails (EPIPE) until the second one is there.
        waitUntil(timeout: 20, what: "the second reader") { write(writer, header, header.count) == header.count }
        let stop = Feeder(writer, frame)
        let feeder = Thread { stop.run() }
        feeder.start()
        defer { stop.finish() }
        waitUntil(timeout: 20, what: "frames forwarded") { self.probe(socket, port: "outside", "tx") > 10 }

        let add = try runProduct("vfwall", ["set", "add", "blocked", "10.1.0.1", "--socket", socket])
        XCTAssertEqual(add.status, 0, add.stderr)
        XCTAssertTrue(add.stdout.hasPrefix("ok: set 'blocked' (ipv4): 2 elements in 2 ranges"), add.stdout)
        let passed = try count(stats(socket), port: "outside", "tx")
        let seen = try count(stats(socket), port: "inside", "rx")
        waitUntil(timeout: 20, what: "50 more frames") { self.probe(socket, port: "inside", "rx") > seen + 50 }
        let after = try stats(socket)
        XCTAssertEqual(count(after, port: "outside", "tx"), passed, "no frame from 10.1.0.1 passes after the answer")
        let sets = after["sets"] as? [[String: Any]] ?? []
        XCTAssertEqual(sets.first?["name"] as? String, "blocked")
        XCTAssertGreaterThan(sets.first?["hits"] as? Int ?? 0, 50)

        let list = try runProduct("vfwall", ["set", "list", "blocked", "--socket", socket])
        XCTAssertEqual(list.stdout, "# set blocked: ipv4, 2 ranges (merged)\n10.1.0.1/32\n192.0.2.1/32\n")

        let bad = try runProduct("vfwall", ["set", "add", "blocked", "10.9.0.1", "10.0.0.300", "--socket", socket])
        XCTAssertEqual(bad.status, 1)
        XCTAssertEqual(
            bad.stderr,
            "vfwall set: element 2: set 'blocked': expected an IPv4 address or prefix like 192.0.2.0/24, got "
                + "'10.0.0.300'; nothing changed\n")
        let badFile = try scratch.write("bad.txt", "# feed\n10.3.0.0/16\n\n 10.3.0.0/33\n")
        let refused = try runProduct("vfwall", ["set", "add", "blocked", "--file", badFile, "--socket", socket])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.hasPrefix("vfwall set: \(badFile):4:2: set 'blocked': expected"), refused.stderr)
        let unknown = try runProduct("vfwall", ["set", "flush", "nope", "--socket", socket])
        XCTAssertEqual(unknown.stderr, "vfwall set: no set named 'nope'; the sets are: blocked, pairs\n")

        // A concatenation's element is one argument; unquoted, its parts are elements of their own.
        let pair = try runProduct("vfwall", ["set", "add", "pairs", "10.1.0.1 . 2000", "--socket", socket])
        XCTAssertTrue(pair.stdout.hasPrefix("ok: set 'pairs' (ipv4 . port): 2 elements in 2 ranges"), pair.stderr)
        let pairs = try runProduct("vfwall", ["set", "list", "pairs", "--socket", socket])
        XCTAssertEqual(pairs.stdout, "# set pairs: ipv4 . port, 2 elements\n10.1.0.1 . 2000\n192.0.2.1 . 443\n")
        let split = try runProduct("vfwall", ["set", "add", "pairs", "10.1.0.2", ".", "80", "--socket", socket])
        XCTAssertEqual(
            split.stderr,
            "vfwall set: element 1: set 'pairs': expected 2 components joined by ' . ' (ipv4 . port), got 1 in "
                + "'10.1.0.2'; nothing changed\n")

        // 100,000 elements (1.5 MB) through the socket in one command.
        let big = (0..<100_000).map { "172.\(16 + $0 >> 15).\(($0 >> 7) & 255).\(($0 & 127) * 2)" }
        let bigFile = try scratch.write("big.txt", big.joined(separator: "\n") + "\n")
        let many = try runProduct("vfwall", ["set", "add", "blocked", "--file", bigFile, "--socket", socket])
        XCTAssertEqual(many.status, 0, many.stderr)
        XCTAssertTrue(many.stdout.hasPrefix("ok: set 'blocked' (ipv4): 100002 elements in 100002 ranges"), many.stdout)

        let del = try runProduct("vfwall", ["set", "del", "blocked", "10.1.0.1", "--socket", socket])
        XCTAssertEqual(del.status, 0, del.stderr)
        let blockedTx = try count(stats(socket), port: "outside", "tx")
        waitUntil(timeout: 20, what: "frames pass again") { self.probe(socket, port: "outside", "tx") > blockedTx + 10 }
        stop.finish()
        waitUntil(timeout: 10, what: "the feeder to stop") { feeder.isFinished }
        close(writer)
        writer = -1
        let end = fw.wait(timeout: 20)
        XCTAssertEqual(end.status, 0, end.stderr)
    }
}

/// Writes one pcap record a millisecond into the FIFO until told to finish.
final class Feeder: @unchecked Sendable {
    private let fd: Int32
    private let frame: (Int) -> [UInt8]
    private let done = NSLock()
    private var finished = false

    init(_ fd: Int32, _ frame: @escaping (Int) -> [UInt8]) {
        self.fd = fd
        self.frame = frame
    }

    func finish() { done.withLock { finished = true } }

    func run() {
        var i = 0
        while !done.withLock({ finished }) {
            let f = frame(i)
            let record =
                SetCommandTests.le32(1_700_000_000 + UInt32(i / 1000)) + SetCommandTests.le32(UInt32(i % 1000) * 1000)
                + SetCommandTests.le32(UInt32(f.count)) + SetCommandTests.le32(UInt32(f.count)) + f
            // A pipe write of under 4 KiB is whole or nothing; EPIPE while the reader reopens.
            if write(fd, record, record.count) != record.count {
                if errno != EPIPE { return }
                usleep(1000)
                continue
            }
            i += 1
            usleep(1000)
        }
    }
}
