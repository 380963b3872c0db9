#if canImport(Glibc)
    import Glibc
    import Ports
#endif

/// Writes a file from a thread of its own, so a replay's parse and verdicts on one core overlap
/// the kernel's copying of its outputs on the other. The caller fills buffers of `bufferBytes`
/// and hands them over in order; at most `depth` are in flight, then `handOver` waits.
package final class BackgroundWriter {
    package static let bufferBytes = 1 << 20
    package static let depth = 4
    private let fd: Int32
    private var mutex = pthread_mutex_t()
    private var changed = pthread_cond_t()
    private var full: [(UnsafeMutableRawPointer, Int)] = []  // to write, in order
    private var free: [UnsafeMutableRawPointer] = []
    private var closing = false
    private var thread = pthread_t()
    /// The first write error (errno), reported by `finish`.
    private var failure: Int32 = 0

    /// Writes to `fd`, which stays the caller's to close after `finish`.
    package init(fd: Int32) {
        self.fd = fd
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&changed, nil)
        for _ in 0..<Self.depth { free.append(.allocate(byteCount: Self.bufferBytes, alignment: 64)) }
        let box = Unmanaged.passRetained(self).toOpaque()
        pthread_create(
            &thread, nil,
            { arg in
                let writer = Unmanaged<BackgroundWriter>.fromOpaque(arg!).takeRetainedValue()
                writer.drain()
                return nil
            }, box)
    }

    deinit {
        for b in free { b.deallocate() }
        pthread_cond_destroy(&changed)
        pthread_mutex_destroy(&mutex)
    }

    /// An empty buffer to fill (waits while every buffer is in flight).
    package func take() -> UnsafeMutableRawPointer {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        while free.isEmpty { pthread_cond_wait(&changed, &mutex) }
        return free.removeLast()
    }

    /// Queues the first `count` bytes of `buffer` (from `take`) for writing.
    package func handOver(_ buffer: UnsafeMutableRawPointer, count: Int) {
        pthread_mutex_lock(&mutex)
        full.append((buffer, count))
        pthread_cond_broadcast(&changed)
        pthread_mutex_unlock(&mutex)
    }

    /// Waits until everything handed over is written and stops the thread. Returns the errno of
    /// the first failed write, or 0.
    package func finish() -> Int32 {
        pthread_mutex_lock(&mutex)
        closing = true
        pthread_cond_broadcast(&changed)
        pthread_mutex_unlock(&mutex)
        pthread_join(thread, nil)
        return failure
    }

    private func drain() {
        pthread_mutex_lock(&mutex)
        while true {
            while full.isEmpty && !closing { pthread_cond_wait(&changed, &mutex) }
            guard !full.isEmpty else { break }
            let (buffer, count) = full.removeFirst()
            pthread_mutex_unlock(&mutex)
            let error = writeAll(buffer, count)
            pthread_mutex_lock(&mutex)
            if failure == 0 { failure = error }
            free.append(buffer)
            pthread_cond_broadcast(&changed)
        }
        pthread_mutex_unlock(&mutex)
    }

    private func writeAll(_ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int32 {
        var done = 0
        while done < count {
            let n = write(fd, buffer + done, count - done)
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            done += n
        }
        return 0
    }
}
