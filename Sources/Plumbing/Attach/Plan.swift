/// One change vfplumb makes, described in words a person can check, with the change
/// that takes it back.
public struct Step {
    public let description: String
    let apply: () throws -> Void
    let undo: (() throws -> Void)?

    public init(_ description: String, apply: @escaping () throws -> Void, undo: (() throws -> Void)? = nil) {
        self.description = description
        self.apply = apply
        self.undo = undo
    }
}

/// Runs steps in order. When one fails, the steps done so far are undone in reverse
/// and the failure is reported with what was rolled back.
public func execute(_ steps: [Step], log: (String) -> Void) throws {
    var done: [Step] = []
    for step in steps {
        do {
            try step.apply()
            log(step.description)
            done.append(step)
        } catch {
            var leftovers: [String] = []
            for finished in done.reversed() {
                guard let undo = finished.undo else { continue }
                do { try undo() } catch { leftovers.append("\(finished.description) (\(error))") }
            }
            let cause = plainCause(error)
            if leftovers.isEmpty {
                throw PlumbingError("\(cause) while trying to \(step.description); every earlier step was rolled back.")
            }
            throw PlumbingError(
                "\(cause) while trying to \(step.description); rollback could not undo: "
                    + "\(leftovers.joined(separator: "; ")); run `vfplumb detach` to retry."
            )
        }
    }
}

/// The cause in words, with the privilege hint users need most.
func plainCause(_ error: Error) -> String {
    if let nl = error as? NetlinkError, nl.isPermission {
        return "permission denied (vfplumb needs root or CAP_NET_ADMIN)"
    }
    var text = "\(error)"
    if text.hasSuffix(".") { text.removeLast() }
    return text
}
