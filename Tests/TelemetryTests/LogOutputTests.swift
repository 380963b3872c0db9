import Foundation
import LinuxIO
import Logging
import Telemetry
import XCTest

/// The two log formats of `vfwall run`: readable lines, and JSON lines a collector can parse
/// (numbers as numbers, nested metadata as objects, awkward characters escaped).
final class LogOutputTests: XCTestCase {
    func logger(_ format: LogFormat, level: Logger.Level = .info) -> (Logger, PThreadLock<[String]>) {
        let lines = PThreadLock<[String]>([])
        let sink = LogSink { line in lines.withLock { $0.append(line) } }
        let logger = Logger(label: "vfwall") { LogOutput.handler(label: $0, format: format, level: level, sink: sink) }
        return (logger, lines)
    }

    func testJSONLinesCarryTheRecordAndItsMetadataAsTypedValues() throws {
        let (log, lines) = logger(.json)
        log.error(
            "reload (SIGHUP): error: fw.yaml:3:9: \"dpot\"\nis unknown",
            metadata: [
                "event": "reload", "rules": .stringConvertible(12), "refused": .stringConvertible(UInt64(7)),
                "up": .stringConvertible(false), "workers": .array([.stringConvertible(0), .stringConvertible(1)]),
                "ports": ["inside": ["rx": .stringConvertible(5)]], "message": "not the message"
            ])
        let written = lines.withLock { $0 }
        XCTAssertEqual(written.count, 1)
        XCTAssertFalse(written[0].contains("\n"), "one line a record")
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(written[0].utf8)) as? [String: Any])
        XCTAssertEqual(object["message"] as? String, "reload (SIGHUP): error: fw.yaml:3:9: \"dpot\"\nis unknown")
        XCTAssertEqual(object["level"] as? String, "error")
        XCTAssertEqual(object["label"] as? String, "vfwall")
        XCTAssertEqual(object["event"] as? String, "reload")
        XCTAssertEqual(object["rules"] as? Int, 12)
        XCTAssertEqual(object["refused"] as? Int, 7)
        XCTAssertEqual(object["up"] as? Bool, false)
        XCTAssertEqual(object["workers"] as? [Int], [0, 1])
        XCTAssertEqual(((object["ports"] as? [String: Any])?["inside"] as? [String: Any])?["rx"] as? Int, 5)
        let time = try XCTUnwrap(object["time"] as? String)
        let parsed = try XCTUnwrap(ISO8601DateFormatter.withMilliseconds.date(from: time), time)
        XCTAssertLessThan(abs(parsed.timeIntervalSinceNow), 60, "the time is now, in UTC: \(time)")
        XCTAssertTrue(time.hasSuffix("Z"), time)
    }

    func testTextLinesNameTheLevelFromWarningUpAndLevelsBelowTheThresholdAreDropped() {
        let (log, lines) = logger(.text, level: .notice)
        log.info("running (not shown)")
        log.notice("port 'inside' link is up again")
        log.warning("conntrack table full", metadata: ["refused": .stringConvertible(3)])
        log.critical("worker 0 (core 1) made no progress for 2000 ms")
        XCTAssertEqual(
            lines.withLock { $0 },
            [
                "vfwall: port 'inside' link is up again", "vfwall: warning: conntrack table full",
                "vfwall: critical: worker 0 (core 1) made no progress for 2000 ms"
            ])
    }
}

extension ISO8601DateFormatter {
    static var withMilliseconds: ISO8601DateFormatter {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }
}
