@testable import Dataplane
import EngineConfig
import FirewallConfig
import FirewallCore
@testable import LinuxIO
@testable import Ports
import TestSupport
import XCTest

/// Capture files as users hand them over: timestamps and lengths out of range, BSD loopback link
/// types, and every seed of the fuzz-capture target through the real reader and `Replay`.
final class CaptureInputTests: XCTestCase {
    static let root = URL(fileURLWithPath: repositoryRoot)

    var config: Configuration {
        get throws { try ConfigLoader.load(path: Self.root.appendingPathComponent("configs/default.yaml").path) }
    }

    func tmp(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("vfwall-\(getpid())-\(name)").path
    }

    /// A pcap file: magic, byte order, link type; records (seconds, fraction, caplen, len, bytes).
    func pcap(
        magic: UInt32, bigEndian: Bool, dlt: UInt32 = 1, snaplen: UInt32 = 65535,
        _ records: [(UInt32, UInt32, UInt32, UInt32, [UInt8])]
    ) -> Data {
        var d = Data()
        func u32(_ v: UInt32) { d.append(contentsOf: bytes(v, bigEndian)) }
        func u16(_ v: UInt16) { d.append(contentsOf: bytes(v, bigEndian)) }
        u32(magic)
        u16(2)
        u16(4)
        u32(0)
        u32(0)
        u32(snaplen)
        u32(dlt)
        for (s, f, cap, len, bytes) in records {
            u32(s)
            u32(f)
            u32(cap)
            u32(len)
            d.append(contentsOf: bytes)
        }
        return d
    }

    func bytes<T: FixedWidthInteger>(_ v: T, _ bigEndian: Bool) -> [UInt8] {
        withUnsafeBytes(of: bigEndian ? v.bigEndian : v.littleEndian) { Array($0) }
    }

    func frames(of data: Data) throws -> [(bytes: [UInt8], timestamp: UInt64)] {
        let path = tmp("in.pcap")
        defer { unlink(path) }
        try data.write(to: URL(fileURLWithPath: path))
        let r = try PcapReader(path: path)
        var out: [([UInt8], UInt64)] = []
        while let (b, t) = try r.next() { out.append((Array(b), t)) }
        return out
    }

    /// libpcap 1.10 hands the 32-bit seconds over signed in the machine's byte order and unsigned in
    /// the other, and scales microseconds by 1000 unchecked: the timestamps must not depend on either.
    func testTimestampsAtAndPastTheLimitsOfBothPrecisionsAndByteOrders() throws {
        let frame = [UInt8](repeating: 0xAB, count: 20)
        for (magic, scale, limit) in [
            (UInt32(0xA1B2_C3D4), UInt64(1000), UInt32(999_999)),
            (UInt32(0xA1B2_3C4D), UInt64(1), UInt32(999_999_999))
        ] {
            for bigEndian in [false, true] {
                let records: [(UInt32, UInt32, UInt32, UInt32, [UInt8])] = [
                    (0, 0, 20, 20, frame), (0x7FFF_FFFF, limit, 20, 20, frame), (0x8000_0000, limit + 1, 20, 20, frame),
                    (0xFFFF_FFFF, 0xFFFF_FFFF, 20, 20, frame), (0xFFFF_FFFF, limit, 20, 20, frame)
                ]
                let got = try frames(of: pcap(magic: magic, bigEndian: bigEndian, records)).map(\.timestamp)
                let last: UInt64 = 999_999_999  // the stand-in for a fraction out of range
                XCTAssertEqual(
                    got,
                    [
                        0, 0x7FFF_FFFF * 1_000_000_000 + UInt64(limit) * scale,
                        0x8000_0000 * 1_000_000_000 + last, 0xFFFF_FFFF * 1_000_000_000 + last,
                        0xFFFF_FFFF * 1_000_000_000 + UInt64(limit) * scale
                    ],
                    "magic \(String(magic, radix: 16)), big endian \(bigEndian)")
            }
        }
    }

    /// What pcapng can hand over besides: seconds before 1970 and past 2554.
    func testTimestampConversionClampsWhatPcapngCanGive() {
        XCTAssertEqual(PcapRecord.timestamp(seconds: -1, fraction: 5), 0xFFFF_FFFF * 1_000_000_000 + 5)
        XCTAssertEqual(PcapRecord.timestamp(seconds: -0x8000_0001, fraction: 5), 5)
        XCTAssertEqual(PcapRecord.timestamp(seconds: .min, fraction: .min), 999_999_999)
        XCTAssertEqual(PcapRecord.timestamp(seconds: PcapRecord.maxSeconds, fraction: 999_999_999), .max)
        XCTAssertEqual(PcapRecord.timestamp(seconds: PcapRecord.maxSeconds + 1, fraction: 0), .max)
        XCTAssertEqual(PcapRecord.timestamp(seconds: .max, fraction: .max), .max)
        XCTAssertEqual(PcapRecord.timestamp(seconds: 1, fraction: 1_000_000_000), 1_999_999_999)
    }

    func testLengthsCaplenPastLenPastSnaplenAndZero() throws {
        let frame = [UInt8](0..<60)
        let data = pcap(
            magic: 0xA1B2_C3D4, bigEndian: false, snaplen: 40,
            [
                (1, 0, 60, 20, frame), (2, 0, 0, 0, []), (3, 0, 0, 60, []),
                (4, 0, 10, 0, Array(frame[..<10]))
            ])
        let got = try frames(of: data)
        // caplen > snaplen: libpcap cuts to the snaplen; caplen > len: the captured bytes count.
        XCTAssertEqual(got.map(\.bytes.count), [40, 0, 0, 10])
        XCTAssertEqual(got[0].bytes, Array(frame[..<40]))
        // Zero-length records replay as frames too, each under a reason.
        let path = tmp("zero.pcap")
        defer { unlink(path) }
        try data.write(to: URL(fileURLWithPath: path))
        let s = try Replay.run(try config, ReplayOptions(input: path))
        XCTAssertEqual(s.frames, 4)
        XCTAssertEqual(s.counters.count(.truncatedEthernet), 3)
        XCTAssertNil(s.inputError)
    }

    func testWriterClampsSecondsPast2106() throws {
        let path = tmp("late.pcap")
        defer { unlink(path) }
        do {
            let w = try PcapWriter(path: path, dlt: 1)
            [UInt8](repeating: 1, count: 14).withUnsafeBytes { w.write($0, timestamp: .max) }
        }
        let r = try PcapReader(path: path)
        XCTAssertEqual(try XCTUnwrap(try r.next()).timestamp, 0xFFFF_FFFF * 1_000_000_000 + 999_999_999)
    }

    /// BSD loopback: DLT_NULL in both byte orders (the capturing machine's), DLT_LOOP in network
    /// order. Each capture: a web SYN over IPv4 (family 2) and over IPv6 (24, 28, 30), a family
    /// that is not IP, a cut header. The accepted frames are written with the input's link type.
    func testBSDLoopbackCaptures() throws {
        let ip4 = ipv4TCP(dport: 80)
        let ip6 = ipv6TCP(dport: 443)
        let captures = [(UInt32(0), false, "null-le"), (UInt32(0), true, "null-be"), (UInt32(108), true, "loop")]
        for (dlt, bigEndian, name) in captures {
            func family(_ f: UInt32) -> [UInt8] { bytes(f, bigEndian) }
            let records: [[UInt8]] = [
                family(2) + ip4, family(24) + ip6, family(28) + ip6, family(30) + ip6,
                family(7) + ip4, Array(family(2).prefix(3))
            ]
            // The file's own header in the byte order of the machine that captured.
            let data = pcap(
                magic: 0xA1B2_C3D4, bigEndian: bigEndian, dlt: dlt,
                records.map { (1, 0, UInt32($0.count), UInt32($0.count), $0) })
            let input = tmp("\(name).pcap"), accepted = tmp("\(name)-acc.pcap"), verdicts = tmp("\(name).jsonl")
            defer {
                unlink(input)
                unlink(accepted)
                unlink(verdicts)
            }
            try data.write(to: URL(fileURLWithPath: input))
            var o = ReplayOptions(input: input)
            o.acceptedOutput = accepted
            o.verdictsOutput = verdicts
            let s = try Replay.run(try config, o)
            let lines = try String(contentsOfFile: verdicts, encoding: .utf8).split(separator: "\n")
            let reasons = lines.map { l -> String in
                guard let r = l.range(of: "\"reason\":") else { return "?" }
                return String(l[r.upperBound...].prefix { $0 != "," })
            }
            let expected = ["null", "null", "null", "null", "\"non-ip\"", "\"truncated-loopback-header\""]
            XCTAssertEqual(reasons, expected, name)
            XCTAssertEqual(s.accepted, 4, name)
            XCTAssertEqual(s.counters.ruleHits[1], 4, "\(name): the SYNs match allow-web-out")
            let out = try PcapReader(path: accepted)
            XCTAssertEqual(out.dlt, Int32(dlt), name)
            XCTAssertEqual(out.linkType, dlt == 0 ? .null : .loop)
            XCTAssertEqual(Array(try XCTUnwrap(try out.next()).bytes), records[0], name)
        }
    }

    func testOtherLinkTypesAreRefusedNamingTheSupportedOnes() throws {
        let path = tmp("ppp.pcap")
        defer { unlink(path) }
        try pcap(magic: 0xA1B2_C3D4, bigEndian: false, dlt: 9, []).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try PcapReader(path: path)) { e in
            XCTAssertTrue("\(e)".contains("BSD loopback (NULL, LOOP)"), "\(e)")
        }
    }

    /// Every seed of the fuzz-capture target through the real reader and Replay: frames with one
    /// verdict each (exactly the frames the reader gives before any damage: nothing is read past
    /// it), or a PcapError naming the file.
    func testEveryCaptureFuzzSeedGivesOneVerdictPerFrameOrAPcapError() throws {
        let dir = Self.root.appendingPathComponent("Fuzz/corpus/fuzz-capture")
        let seeds = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        XCTAssertGreaterThan(seeds.count, 50)
        let c = try config
        var replayed = 0, refused = 0, damaged = 0
        for seed in seeds {
            let path = dir.appendingPathComponent(seed).path
            var o = ReplayOptions(input: path)
            o.verdictsOutput = tmp("seed.jsonl")
            defer { unlink(o.verdictsOutput!) }
            do {
                let s = try Replay.run(c, o)
                let lines = try String(contentsOfFile: o.verdictsOutput!, encoding: .utf8).split(separator: "\n")
                XCTAssertEqual(UInt64(lines.count), s.frames, seed)
                XCTAssertEqual(s.accepted + s.dropped + s.rejected, s.frames, seed)
                XCTAssertEqual(s.counters.reasons.reduce(0, +), s.frames, seed)
                XCTAssertEqual(s.frames, try framesBeforeDamage(path), seed)
                replayed += 1
                if s.inputError != nil { damaged += 1 }
            } catch let e as PcapError {
                XCTAssertEqual(e.path, path)
                refused += 1
            }
        }
        // Both outcomes occur: the corpus holds readable, damaged and unreadable captures.
        XCTAssertGreaterThan(replayed - damaged, 20)
        XCTAssertGreaterThan(damaged, 10)
        XCTAssertGreaterThan(refused, 3)
    }

    /// The frames `PcapReader` gives before the end or the first error.
    func framesBeforeDamage(_ path: String) throws -> UInt64 {
        let reader = try PcapReader(path: path)
        var frames: UInt64 = 0
        while (try? reader.next()) ?? nil != nil { frames += 1 }
        return frames
    }

    func ipv4TCP(dport: UInt16) -> [UInt8] {
        let tcp: [UInt8] = [
            0xBB, 0x80, UInt8(dport >> 8), UInt8(dport & 0xFF), 0, 0, 0, 1, 0, 0, 0, 0,
            0x50, 0x02, 0xFF, 0xFF, 0, 0, 0, 0
        ]
        return [0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 10, 192, 0, 2, 80] + tcp
    }

    func ipv6TCP(dport: UInt16) -> [UInt8] {
        let tcp = Array(ipv4TCP(dport: dport).dropFirst(20))
        let src: [UInt8] = [0x20, 0x01, 0x0D, 0xB8, 0, 1] + [UInt8](repeating: 0, count: 9) + [0x10]
        let dst: [UInt8] = [0x20, 0x01, 0x0D, 0xB8, 0, 2] + [UInt8](repeating: 0, count: 8) + [0x04, 0x43]
        return [0x60, 0, 0, 0, 0, 20, 6, 64] + src + dst + tcp
    }
}
