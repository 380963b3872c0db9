/// A configuration the loader refused: where, and what was expected.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var line: Int
    public var column: Int
    public var message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    /// "configs/x.yaml:14:9: 'dport' expects a port, a range 1000-2000 or a list, got 'http'";
    /// an error about the file as a whole (line 0) has no position: "x.yaml: cannot read ...".
    public var description: String {
        line > 0 ? "\(file):\(line):\(column): \(message)" : "\(file): \(message)"
    }
}
