#if canImport(Glibc)
    import Glibc
#endif

/// Stops the fuzzer with a message when an invariant does not hold. Not `precondition`: the check
/// must survive every optimisation level, and it names what broke.
@inline(never)
public func check(
    _ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line
) {
    if !condition {
        fputs("invariant violated at \(file):\(line): \(message())\n", stderr)
        abort()
    }
}
