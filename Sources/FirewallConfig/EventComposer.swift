import CYaml
import Yams

/// Composes a configuration's node tree straight from libyaml's events (the copy Yams bundles),
/// giving the tree `Yams.compose(yaml:, Resolver.basic)` gives, at a fraction of its cost on a
/// long rule list: one tag object per node kind instead of one per node, and a key check by
/// comparing a mapping's few key strings instead of hashing nodes.
///
/// Whatever it does not handle exactly as Yams does (anchors, aliases, keys that are not plain
/// text, equal keys, more than one document, an empty stream, any libyaml error) gives nil: the
/// caller then composes with Yams, so the tree and every error message stay Yams' own.
enum EventComposer {
    /// The tree of `yaml`, or nil when Yams must compose it.
    static func compose(_ yaml: String) -> Node? {
        guard markLayoutMatches else { return nil }
        var text = yaml
        return text.withUTF8 { bytes -> Node? in
            // libyaml asserts a non-null input; Yams reads an empty text as no document.
            guard let start = bytes.baseAddress, !bytes.isEmpty else { return nil }
            var parser = yaml_parser_t()
            guard yaml_parser_initialize(&parser) == 1 else { return nil }
            defer { yaml_parser_delete(&parser) }
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            yaml_parser_set_input_string(&parser, start, bytes.count)
            var builder = TreeBuilder()
            return builder.build(&parser)
        }
    }

    /// Yams' `Mark` has no public initializer; its stored fields are a line and a column (both
    /// 1-based), which this struct mirrors. `markLayoutMatches` proves the mirror at run time,
    /// and without it every file goes to Yams.
    struct MarkFields {
        var line: Int
        var column: Int
    }

    static let markLayoutMatches: Bool = {
        guard MemoryLayout<Mark>.size == MemoryLayout<MarkFields>.size,
            MemoryLayout<Mark>.alignment == MemoryLayout<MarkFields>.alignment
        else { return false }
        let probe = unsafeBitCast(MarkFields(line: 3, column: 7), to: Mark.self)
        return probe.line == 3 && probe.column == 7
    }()

    /// libyaml counts lines and columns from 0, Yams from 1. Only called once
    /// `markLayoutMatches` holds (the sizes are equal, so the cast cannot trap).
    static func mark(_ m: yaml_mark_t) -> Mark {
        unsafeBitCast(MarkFields(line: m.line + 1, column: m.column + 1), to: Mark.self)
    }

    /// A tag's text as Yams decodes it.
    static func tagText(_ pointer: UnsafePointer<UInt8>?) -> String? {
        guard let p = pointer else { return nil }
        return String.decodeCString(p, as: UTF8.self, repairingInvalidCodeUnits: true)?.result
    }
}

/// The open sequences and mappings while events arrive, and the tags the nodes share.
private struct TreeBuilder {
    struct Open {
        let isMapping: Bool
        let tag: Tag
        let mark: Mark
        /// A mapping's keys and values, alternating.
        var items: [Node] = []
    }

    var open: [Open] = []
    var root: Node?
    var documents = 0
    // Under Resolver.basic an implicit tag resolves by the node's kind alone, so the nodes of a
    // kind can share one (Yams resolves a tag by writing its name in place). Made per tree.
    let implicitScalar = Tag(.implicit, .basic, .default)
    let implicitSequence = Tag(.implicit, .basic, .default)
    let implicitMapping = Tag(.implicit, .basic, .default)
    let quoted = Tag(.str, .basic, .default)

    /// Reads every event; nil when Yams must compose the text.
    mutating func build(_ parser: inout yaml_parser_t) -> Node? {
        var event = yaml_event_t()
        while true {
            guard yaml_parser_parse(&parser, &event) == 1 else { return nil }
            defer { yaml_event_delete(&event) }
            switch event.type {
            case YAML_STREAM_START_EVENT, YAML_DOCUMENT_END_EVENT: continue
            case YAML_STREAM_END_EVENT: return root
            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                guard documents == 1 else { return nil }
            case YAML_SCALAR_EVENT:
                guard let node = scalar(event) else { return nil }
                add(node)
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                // The two start events have the same layout; Yams reads a mapping's tag this way too.
                let start = event.data.sequence_start
                guard start.anchor == nil else { return nil }
                let isMapping = event.type == YAML_MAPPING_START_EVENT
                let tag = tag(implicit: start.implicit != 0, start.tag, isMapping ? implicitMapping : implicitSequence)
                open.append(Open(isMapping: isMapping, tag: tag, mark: EventComposer.mark(event.start_mark)))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard let node = close(event) else { return nil }
                add(node)
            default:
                return nil  // an alias, or an event this composer does not know
            }
        }
    }

    func scalar(_ event: yaml_event_t) -> Node? {
        let s = event.data.scalar
        guard s.anchor == nil, let style = Node.Scalar.Style(rawValue: numericCast(s.style.rawValue)) else {
            return nil
        }
        let value = String(decoding: UnsafeBufferPointer(start: s.value, count: s.length), as: UTF8.self)
        let tag = s.quoted_implicit == 1 ? quoted : tag(implicit: false, s.tag, implicitScalar)
        return .scalar(.init(value, tag, style, EventComposer.mark(event.start_mark)))
    }

    /// The shared tag for an implicit one, else a tag of its own as Yams makes it.
    func tag(implicit: Bool, _ pointer: UnsafeMutablePointer<UInt8>?, _ shared: Tag) -> Tag {
        guard !implicit, let name = EventComposer.tagText(pointer) else { return shared }
        return Tag(Tag.Name(rawValue: name), .basic, .default)
    }

    /// The node of the innermost open collection, which `event` ends. Yams takes the style from
    /// the end event (libyaml leaves it zero there), so this does as well.
    mutating func close(_ event: yaml_event_t) -> Node? {
        guard let o = open.popLast(), o.isMapping == (event.type == YAML_MAPPING_END_EVENT) else { return nil }
        let rawStyle = event.data.sequence_start.style.rawValue
        if !o.isMapping {
            guard let style = Node.Sequence.Style(rawValue: numericCast(rawStyle)) else { return nil }
            return .sequence(.init(o.items, o.tag, style, o.mark))
        }
        guard o.items.count % 2 == 0, let style = Node.Mapping.Style(rawValue: numericCast(rawStyle)),
            Self.keysAreDistinctText(o.items)
        else { return nil }
        let pairs = stride(from: 0, to: o.items.count, by: 2).map { (o.items[$0], o.items[$0 + 1]) }
        return .mapping(.init(pairs, o.tag, style, o.mark))
    }

    /// Whether every key is a scalar and no two have the same text. Yams refuses equal keys with
    /// its own error (and compares other keys its own way), so anything else goes to Yams.
    static func keysAreDistinctText(_ items: [Node]) -> Bool {
        var keys: [String] = []
        keys.reserveCapacity(items.count / 2)
        for i in stride(from: 0, to: items.count, by: 2) {
            guard case .scalar(let s) = items[i] else { return false }
            keys.append(s.string)
        }
        // A rule has a handful of keys: comparing them pairwise beats building a set.
        if keys.count <= 16 {
            for i in keys.indices {
                for j in keys.indices where j > i && keys[i] == keys[j] { return false }
            }
            return true
        }
        return Set(keys).count == keys.count
    }

    mutating func add(_ node: Node) {
        if open.isEmpty {
            root = node
        } else {
            open[open.count - 1].items.append(node)
        }
    }
}
