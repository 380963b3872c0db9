internal import CFuzzDriver

/// Hands the process to libFuzzer with `callback` as the target. SwiftPM links every executable
/// with a `main` of its own (its `@main`), so libFuzzer's `main` is not used; this is the
/// documented way in for programs that keep theirs.
public func runFuzzer(_ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, callback))
}

#if canImport(Glibc)
    import Glibc
#endif
