import Foundation
import TestSupport
import XCTest

/// Every shell block of the README and docs/ that needs no root and no lab runs as written.
///
/// The fence says which is which: ```sh blocks run here, from the repository root, under
/// `bash -euo pipefail`; ```sh root blocks need root or the lab and are only listed; synopses and
/// transcripts are fenced ```text or ```console and are not shell. Files a block writes at the
/// top of the repository (out.pcap ...) are removed afterwards.
final class DocCommandTests: XCTestCase {
    static let root = URL(fileURLWithPath: repositoryRoot)

    struct Block {
        var file: String
        var line: Int
        var info: String
        var body: String
    }

    /// The fenced blocks of a Markdown text whose info string starts with a shell name.
    static func shellBlocks(_ text: String, file: String) -> [Block] {
        var blocks: [Block] = []
        var open: (line: Int, info: String)?
        var body: [Substring] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            guard line.hasPrefix("```") else {
                if open != nil { body.append(line) }
                continue
            }
            if let start = open {
                blocks.append(Block(file: file, line: start.line, info: start.info, body: body.joined(separator: "\n")))
                open = nil
                body = []
            } else {
                open = (index + 1, String(line.dropFirst(3)).trimmingCharacters(in: .whitespaces))
            }
        }
        return blocks.filter { ["sh", "bash", "shell"].contains($0.info.split(separator: " ").first ?? "") }
    }

    /// The folders `swift build` and `scripts/build-release` build in.
    static let buildFolders: Set<String> = [".build", ".build-release"]

    func documents() throws -> [(String, String)] {
        let docs = Self.root.appendingPathComponent("docs")
        let names = try FileManager.default.contentsOfDirectory(atPath: docs.path).filter { $0.hasSuffix(".md") }
        return try (["README.md"] + names.sorted().map { "docs/\($0)" }).map { name in
            (name, try String(contentsOf: Self.root.appendingPathComponent(name), encoding: .utf8))
        }
    }

    func testShellBlocksAreTaggedAndTheUnprivilegedOnesRun() throws {
        let blocks = try documents().flatMap { Self.shellBlocks($0.1, file: $0.0) }
        XCTAssertFalse(blocks.isEmpty, "the README has shell blocks")
        for block in blocks {
            XCTAssertTrue(
                ["sh", "sh root", "bash", "bash root"].contains(block.info),
                "\(block.file):\(block.line): a shell block is fenced sh (runs here) or sh root")
        }
        let runnable = blocks.filter { !$0.info.hasSuffix("root") }
        XCTAssertTrue(runnable.contains { $0.file == "README.md" }, "the README's unprivileged blocks run here")
        for block in runnable {
            let before = Set(try FileManager.default.contentsOfDirectory(atPath: Self.root.path))
            let result = spawnShell("cd '\(Self.root.path)' && set -euo pipefail\n\(block.body)", shell: "/bin/bash")
            let after = Set(try FileManager.default.contentsOfDirectory(atPath: Self.root.path))
            // What a block leaves is removed, but for the build folders: every script shares them,
            // as a user's clone keeps them (removing them made each later block rebuild from scratch).
            for made in after.subtracting(before).subtracting(Self.buildFolders) {
                try? FileManager.default.removeItem(at: Self.root.appendingPathComponent(made))
            }
            XCTAssertEqual(result.status, 0, "\(block.file):\(block.line) failed:\n\(block.body)\n--\n\(result.output)")
        }
    }

    func testBlockExtraction() {
        let text = "a\n```sh\necho 1\necho 2\n```\n```text\nx\n```\n```sh root\nsudo y\n```\n"
        let blocks = Self.shellBlocks(text, file: "t.md")
        XCTAssertEqual(blocks.map(\.line), [2, 9])
        XCTAssertEqual(blocks.map(\.body), ["echo 1\necho 2", "sudo y"])
        XCTAssertEqual(blocks.map(\.info), ["sh", "sh root"])
    }
}
