import Glibc

/// SIGINT, SIGTERM and SIGHUP taken synchronously, without handlers or run loops: they are
/// blocked in the calling thread before any other thread exists (workers, EAL's threads and the
/// control socket's thread inherit the mask), so the kernel keeps them pending for the process
/// until the control thread collects them with `next(timeoutMs:)` (sigtimedwait).
public enum ControlSignals {
    public enum Signal: Equatable, Sendable {
        /// SIGINT or SIGTERM: stop, drain, report, exit 0.
        case stop(Int32)
        /// SIGHUP: re-read the configuration.
        case reload
    }

    private static var set: sigset_t {
        var s = sigset_t()
        sigemptyset(&s)
        sigaddset(&s, SIGINT)
        sigaddset(&s, SIGTERM)
        sigaddset(&s, SIGHUP)
        return s
    }

    /// Blocks the three signals in the calling thread. Call first thing, before any thread starts.
    public static func block() {
        var s = set
        pthread_sigmask(SIG_BLOCK, &s, nil)
    }

    /// Unblocks them again (after the run, so a later signal has its default effect).
    public static func unblock() {
        var s = set
        pthread_sigmask(SIG_UNBLOCK, &s, nil)
    }

    /// Waits up to `timeoutMs` for one of the signals; nil when none came.
    public static func next(timeoutMs: Int) -> Signal? {
        var s = set
        var timeout = timespec(tv_sec: timeoutMs / 1000, tv_nsec: (timeoutMs % 1000) * 1_000_000)
        let n = sigtimedwait(&s, nil, &timeout)
        switch n {
        case SIGHUP: return .reload
        case SIGINT, SIGTERM: return .stop(n)
        default: return nil  // timeout (EAGAIN) or EINTR
        }
    }
}
