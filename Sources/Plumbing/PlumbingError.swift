import SystemPackage

/// Every refusal and failure of vfplumb, each rendered as one sentence that names the
/// thing and says what to do. `isUsage` separates bad input (exit 64) from failed
/// operations (exit 1).
public struct PlumbingError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public let isUsage: Bool

    public init(_ message: String, usage: Bool = false) {
        self.message = message
        self.isUsage = usage
    }

    public var description: String { message }

    public static func usage(_ message: String) -> PlumbingError { PlumbingError(message, usage: true) }
}

/// A failed system call, with the path or object it concerned. The errno is swift-system's
/// `Errno`, whose text is thread-safe (`strerror` shares one buffer between threads).
public struct SystemError: Error, CustomStringConvertible, Equatable {
    public let call: String
    public let subject: String
    public let errno: Errno

    public init(_ call: String, _ subject: String, errno: Int32) {
        self.call = call
        self.subject = subject
        self.errno = Errno(rawValue: errno)
    }

    public var description: String { "\(call) \(subject): \(errno)" }
}
