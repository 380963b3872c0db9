/// A configuration the loader refused: where, and what was expected.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var line: Int
    public var column: Int
    public var message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file; self.line = line; self.column = column; self.message = message
    }

    /// "configs/x.yaml:14:9: 'dport' expects a port, a range 1000-2000 or a list, got 'http'"
    public var description: String { "\(file):\(line):\(column): \(message)" }
}
