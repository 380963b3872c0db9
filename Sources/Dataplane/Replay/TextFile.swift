#if canImport(Glibc)
import Glibc
#endif

/// A text file written line by line through stdio's buffer.
final class TextFile {
    let file: UnsafeMutablePointer<FILE>

    init(path: String) throws {
        guard let f = fopen(path, "w") else {
            throw PcapError(path: path, message: "cannot create file: \(String(cString: strerror(errno)))")
        }
        file = f
    }

    func write(_ s: String) { fputs(s, file) }

    func write(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        fwrite(base, 1, bytes.count, file)
    }

    deinit { fclose(file) }
}
