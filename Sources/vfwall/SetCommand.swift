import ArgumentParser
import FileBytes
import LinuxIO

#if canImport(Glibc)
    import Glibc
#endif

struct SetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Change or list a named set of a running vfwall, without a reload.",
        discussion: """
            add: the set gains the elements; del: it loses every address, port or protocol they \
            cover; flush: it becomes empty; list: prints its elements, merged into disjoint ranges \
            (an address range as the prefixes that cover it), one a line, in set-file syntax. \
            Elements are given as arguments or with --file FILE (one a line, '#' starts a comment, \
            the syntax of a set file); an element of a concatenation ('10.0.0.1 . 443') is one \
            argument, quoted. A bad element is refused with its position (FILE:LINE:COLUMN, \
            or its number among the arguments) and nothing changes. The change is atomic: every \
            worker runs the old set or the new one; the answer comes once every worker runs the new \
            one. Flows and rule counters stay. A reload (SIGHUP, `vfwall reload`) reads the sets \
            from the file again and drops runtime changes, except for sets marked `keep-runtime: true`.

            Examples:
              vfwall set add blocklist 203.0.113.7 198.51.100.0/24 --config configs/sets.yaml
              vfwall set del blocklist 198.51.100.0/24 --config configs/sets.yaml
              vfwall set add blocklist --file feed.txt --config configs/sets.yaml
              vfwall set add web-backends '192.0.2.12 . 443' --config configs/sets-concat.yaml
              vfwall set list web-ports --config configs/sets.yaml
              vfwall set flush blocklist --config configs/sets.yaml
            """)

    @Argument(help: "add, del, list or flush.")
    var verb: String

    @Argument(help: "The set's name (as declared under 'sets:').")
    var name: String

    @Argument(help: "Elements to add or delete.")
    var elements: [String] = []

    @Option(help: "A file of elements, one a line (add, del).")
    var file: String?

    @OptionGroup var target: ControlSocketOptions

    func validate() throws {
        guard ["add", "del", "list", "flush"].contains(verb) else {
            throw ValidationError("unknown set command '\(verb)': add, del, list or flush")
        }
        guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        else { throw ValidationError("set name '\(name)' may hold only letters, digits, '-' and '_'") }
        if verb == "list" || verb == "flush" {
            guard elements.isEmpty && file == nil else { throw ValidationError("set \(verb) takes no elements") }
            return
        }
        guard elements.isEmpty != (file == nil) else {
            throw ValidationError("set \(verb) needs elements as arguments or --file FILE (one of the two)")
        }
        for (i, e) in elements.enumerated() where e.contains("\n") || e.contains("#") {
            throw ValidationError("element \(i + 1) holds a newline or '#': give one element per argument")
        }
        if let file, file.contains("\n") { throw ValidationError("--file: a path with a newline is not supported") }
    }

    func run() throws {
        var request = "set \(verb) \(name)"
        var body: [UInt8]?
        if let file {
            do { body = try readWholeFile(file, limit: ControlSocket.maxBody + 1) } catch {
                printError("vfwall set: cannot read \(file): \(error)")
                throw ExitCode(1)
            }
            request += " source=\(file)"
        } else if !elements.isEmpty {
            body = Array(elements.joined(separator: "\n").utf8)
        }
        let answer: String
        let path = try target.path()
        do { answer = try ControlSocket.request(request, body: body, path: path, timeoutSeconds: 60) } catch {
            printError("vfwall set: \(error)")
            throw ExitCode(1)
        }
        if answer.hasPrefix("error: ") {
            fputs("vfwall set: " + answer.dropFirst(7), stderr)
            throw ExitCode(1)
        }
        print(answer, terminator: "")
    }
}
