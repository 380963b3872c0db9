#if canImport(Glibc)
import Glibc
#endif

/// Writes one line to standard error.
func printError(_ s: String) {
    fputs(s + "\n", stderr)
}

/// Right-aligns `s` in `width` columns.
func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
}
