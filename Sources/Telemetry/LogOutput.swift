import Dataplane
import Foundation
import Logging
import NIOConcurrencyHelpers

/// How `vfwall run` writes its log records to stderr: readable lines, or one JSON object a line
/// for a log collector (docs/operations.md#logs).
public enum LogFormat: String, CaseIterable, Sendable {
    case text, json
}

/// Where log lines go. Each line is one write under a lock, so records logged from several
/// threads (the supervisor, the control socket) never interleave.
public struct LogSink: Sendable {
    public let write: @Sendable (String) -> Void

    public init(write: @escaping @Sendable (String) -> Void) { self.write = write }

    public static let standardError: LogSink = {
        let lock = NIOLock()
        // A log line is not worth a crash: a closed or full stderr loses the line.
        return LogSink { line in
            lock.withLock { try? FileHandle.standardError.write(contentsOf: Data((line + "\n").utf8)) }
        }
    }()
}

public enum LogOutput {
    /// Makes every `Logger` of the process write to `sink` in `format` from `level` up. Once per
    /// process (swift-log's rule): the program's entry point calls it.
    public static func bootstrap(format: LogFormat, level: Logger.Level, sink: LogSink = .standardError) {
        LoggingSystem.bootstrap { label in handler(label: label, format: format, level: level, sink: sink) }
    }

    public static func handler(label: String, format: LogFormat, level: Logger.Level, sink: LogSink) -> LogHandler {
        LineLogHandler(label: label, format: format, level: level, sink: sink)
    }
}

/// vfwall's log lines, in either format:
///
/// - text: "vfwall: MESSAGE", with the level in front from warning up ("vfwall: error: ..."):
///   the messages are whole sentences; the metadata is for the JSON form;
/// - json: one object a line: `time` (UTC, ISO 8601 with milliseconds), `level`, `label`,
///   `message`, and the record's metadata as keys of their own (`event` names what happened:
///   start, reload, link, stall, conntrack-full, shutdown; docs/operations.md lists each one's keys).
public struct LineLogHandler: LogHandler {
    public let label: String
    public let format: LogFormat
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    let sink: LogSink

    public init(label: String, format: LogFormat, level: Logger.Level, sink: LogSink) {
        self.label = label
        self.format = format
        logLevel = level
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        guard format == .json else {
            let level = event.level >= .warning ? "\(event.level): " : ""
            sink.write("\(label): \(level)\(event.message)")
            return
        }
        var object: [String: JSONLogValue] = [:]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
            object[key] = JSONLogValue(value)
        }
        // The record's own keys win over metadata of the same name.
        object["time"] = .string(Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(Date()))
        object["level"] = .string("\(event.level)")
        object["label"] = .string(label)
        object["message"] = .string("\(event.message)")
        sink.write(jsonText(object))
    }
}

/// A metadata value as JSON: numbers and booleans given as values (`.stringConvertible`) as
/// JSON numbers and booleans, strings, arrays and objects as they are.
enum JSONLogValue: Encodable {
    case string(String)
    case integer(Int64)
    case unsigned(UInt64)
    case double(Double)
    case bool(Bool)
    case array([JSONLogValue])
    case object([String: JSONLogValue])

    init(_ value: Logger.MetadataValue) {
        switch value {
        case let .string(s): self = .string(s)
        case let .stringConvertible(c):
            switch c {
            case let n as Int: self = .integer(Int64(n))
            case let n as UInt64: self = .unsigned(n)
            case let n as Double: self = .double(n)
            case let b as Bool: self = .bool(b)
            default: self = .string(c.description)
            }
        case let .array(a): self = .array(a.map(JSONLogValue.init))
        case let .dictionary(d): self = .object(d.mapValues(JSONLogValue.init))
        }
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case let .string(s): try container.encode(s)
        case let .integer(n): try container.encode(n)
        case let .unsigned(n): try container.encode(n)
        case let .double(n): try container.encode(n)
        case let .bool(b): try container.encode(b)
        case let .array(a): try container.encode(a)
        case let .object(o): try container.encode(o)
        }
    }
}
