import Logging
import LinuxIO

/// Log records kept in memory, for tests that check what the engine tells the operator.
final class LogRecords: @unchecked Sendable {
    struct Record {
        var level: Logger.Level
        var message: String
        var metadata: Logger.Metadata
        var event: String? { metadata["event"].map { "\($0)" } }
    }

    private let records = PThreadLock<[Record]>([])

    var all: [Record] { records.withLock { $0 } }

    func events(_ event: String) -> [Record] { all.filter { $0.event == event } }

    var logger: Logger {
        Logger(label: "test") { _ in Handler(sink: self) }
    }

    fileprivate func append(_ record: Record) { records.withLock { $0.append(record) } }

    private struct Handler: LogHandler {
        let sink: LogRecords
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            sink.append(Record(level: event.level, message: "\(event.message)", metadata: event.metadata ?? [:]))
        }
    }
}
