"""A YAML document as a tree of located nodes, parsed on libyaml's fast path.

Every key and value keeps its exact span so that every check can point at the text.
`yaml.CSafeLoader` composes the document and `_Builder` turns it into located nodes (about
10 + 7 ms for 5,000 lines, with tag resolution memoized and no garbage collection during the
build; ruamel.yaml parses some 25x slower). Problems of the text itself (syntax, duplicate
keys, several documents, no mapping, binary data) become diagnostics here, one each, never an
exception.
"""

from __future__ import annotations

import contextlib
import gc
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from arcgraph.engine import codes
from arcgraph.engine.diagnostics import Diagnostic, Span

_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"


@dataclass(slots=True, eq=False)
class YNode:
    span: Span


@dataclass(slots=True, eq=False)
class YScalar(YNode):
    value: Any
    text: str
    quoted: bool = False

    def __repr__(self) -> str:
        return f"YScalar({self.value!r})"


@dataclass(slots=True, eq=False)
class YSeq(YNode):
    items: list[YNode] = field(default_factory=list)
    flow: bool = False


@dataclass(slots=True, eq=False)
class YMap(YNode):
    pairs: list[tuple[YNode, YNode]] = field(default_factory=list)
    flow: bool = False
    # The key texts of `pairs`, in order (the parser knows them; else made on first use):
    # lookups are the checks' innermost loop.
    key_texts: list[str] | None = field(default=None, repr=False)

    def _keys(self) -> list[str]:
        keys = self.key_texts
        if keys is None or len(keys) != len(self.pairs):
            keys = self.key_texts = [key_text(k) for k, _ in self.pairs]
        return keys

    def keys(self) -> list[str]:
        return list(self._keys())

    def get(self, key: str) -> YNode | None:
        keys = self._keys()
        return self.pairs[keys.index(key)][1] if key in keys else None

    def key_node(self, key: str) -> YNode | None:
        keys = self._keys()
        return self.pairs[keys.index(key)][0] if key in keys else None

    def items(self) -> Iterator[tuple[str, YNode, YNode]]:
        """(key text, key node, value node) for each entry, in document order."""
        for text, (k, v) in zip(self._keys(), self.pairs, strict=True):
            yield text, k, v


def key_text(node: YNode) -> str:
    """A mapping key as the user reads it (non-string keys by their text)."""
    if isinstance(node, YScalar):
        return node.value if isinstance(node.value, str) else node.text
    return "<complex key>"


def to_python(node: YNode | None) -> Any:
    """Plain Python data (dict/list/scalars) of a subtree, e.g. for the torch worker."""
    if node is None:
        return None
    if isinstance(node, YScalar):
        return node.value
    if isinstance(node, YSeq):
        return [to_python(i) for i in node.items]
    if isinstance(node, YMap):
        return {key_text(k): to_python(v) for k, v in node.pairs}
    return None


@dataclass(slots=True)
class ParsedYaml:
    """The outcome of parsing: a root (None when there is no usable document) and problems."""

    root: YNode | None
    diagnostics: list[Diagnostic]
    empty: bool = False


_new_tuple = tuple.__new__
_ScalarNode = yaml.ScalarNode
_SequenceNode = yaml.SequenceNode
_MappingNode = yaml.MappingNode
_QUOTED = ("'", '"')


class _Loader(_BaseLoader):
    """The safe loader with its tag resolution memoized: libyaml's composer asks Python for
    the tag of every scalar (regexes per value), and a spec repeats a few hundred values.
    It has no path resolvers, so the descend/ascend hooks called per node are no-ops.

    The memo lives as long as one parse, not the process: its keys are strings of the text
    being parsed, allocated among the tree's nodes, and a module-wide memo kept a few of
    them alive in nearly every memory block the parse used, so a server could never hand a
    parse's memory back (a 4.5 MB spec: 175 of 200 MB kept after its tree was freed)."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._resolved: dict[tuple[Any, ...], str] = {}  # (class, value, implicit) -> tag

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        key = (kind, value, implicit)
        tag = self._resolved.get(key)
        if tag is None:
            tag = self._resolved[key] = super().resolve(kind, value, implicit)
        return tag

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None


def _span(node: yaml.Node | yaml.Event) -> Span:
    s, e = node.start_mark, node.end_mark
    return _new_tuple(Span, (s.line, s.column, e.line, e.column))


_ACTIVE: Any = object()  # in the memo while a collection is being built
# Nodes the aliases of one document may add when expanded (each use counts its anchor's whole
# subtree): nine nested anchors of nine items expand to 387 million, which every walk of the
# tree (plain data for the worker, the schema, an editor's outline) would visit.
MAX_ALIAS_EXPANSION = 100_000


class _Builder:
    """Turns libyaml's composed nodes into located nodes (the hot loop of every parse).

    Aliased nodes are built once and shared, and an alias inside its own anchor is reported
    (a text without aliases skips that bookkeeping: `_TreeBuilder`). The nodes the aliases
    expand to are counted, and past `MAX_ALIAS_EXPANSION` an alias becomes a null.
    """

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.memo: dict[int, YNode] = {}
        self.diagnostics: list[Diagnostic] = []
        self.alias_uses = 0  # in document order: the n-th use is the text's n-th alias
        self.expanded = 0
        self.sizes: dict[int, int] = {}  # id(YNode) -> nodes it expands to
        self.refused: list[tuple[int, YScalar]] = []  # (alias use, its placeholder)

    def build(self, node: yaml.Node) -> YNode:
        key = id(node)
        hit = self.memo.get(key)
        if hit is not None:
            self.alias_uses += 1
        if hit is _ACTIVE:  # an alias inside its own anchor: `&a [*a]`
            self.diagnostics.append(
                Diagnostic(
                    codes.YAML_RECURSIVE_ALIAS,
                    "an alias refers to the node that contains it; a spec cannot be recursive",
                    _span(node),
                )
            )
            return YScalar(_span(node), None, "")
        if hit is not None:
            return self._expand(hit)
        self.memo[key] = _ACTIVE
        try:
            out = self._build(node)
        except BaseException:
            del self.memo[key]
            raise
        self.memo[key] = out
        return out

    def _build(self, node: yaml.Node) -> YNode:
        s, e = node.start_mark, node.end_mark
        span = _new_tuple(Span, (s.line, s.column, e.line, e.column))
        if type(node) is _ScalarNode:
            text = node.value
            if node.tag == _STR_TAG:  # most scalars: skip the constructor machinery
                return YScalar(span, text, text, node.style in _QUOTED)
            return YScalar(span, self._construct(node), text, node.style in _QUOTED)
        build = self.build
        if type(node) is _SequenceNode:
            return YSeq(span, [build(i) for i in node.value], bool(node.flow_style))
        if type(node) is not _MappingNode:  # the composer makes no other kind
            raise TypeError(f"unexpected YAML node {node!r}")
        pairs: list[tuple[YNode, YNode]] = []
        seen: dict[str, YNode] = {}  # key text -> key node, in order: the map's key_texts
        merged: list[tuple[YNode, YNode]] = []
        for k, v in node.value:
            if k.tag == _MERGE_TAG:
                merged.extend(self._merge_pairs(v))
                continue
            kn, vn = build(k), build(v)
            text = key_text(kn)
            first = seen.get(text)
            if first is not None:
                self.diagnostics.append(
                    Diagnostic(
                        codes.YAML_DUPLICATE_KEY,
                        f"duplicate key '{text}' (first defined on line {first.span.start_line + 1});"
                        " remove one of them",
                        kn.span,
                        data={"fix": "remove_key", "key": text},
                    )
                )
                continue
            seen[text] = kn
            pairs.append((kn, vn))
        for kn, vn in merged:  # `<<: *base` fills in keys not given explicitly
            text = key_text(kn)
            if text not in seen:
                seen[text] = kn
                pairs.append((kn, vn))
        return YMap(span, pairs, bool(node.flow_style), list(seen))

    def _expand(self, hit: YNode) -> YNode:
        """An alias's use of an anchored node, or a null where it would expand too far."""
        self.expanded += self._size(hit)
        if self.expanded <= MAX_ALIAS_EXPANSION:
            return hit
        self.expanded -= self._size(hit)
        placeholder = YScalar(hit.span, None, "")  # moved onto the alias by `locate_refused`
        self.refused.append((self.alias_uses - 1, placeholder))
        return placeholder

    def _size(self, node: YNode) -> int:
        """How many nodes `node` expands to (each subtree counted once: shared ones too)."""
        key = id(node)
        size = self.sizes.get(key)
        if size is None:
            if isinstance(node, YSeq):
                size = 1 + sum(self._size(i) for i in node.items)
            elif isinstance(node, YMap):
                size = 1 + sum(self._size(k) + self._size(v) for k, v in node.pairs)
            else:
                size = 1
            self.sizes[key] = size
        return size

    def locate_refused(self, text: str) -> None:
        """Place the refused aliases where their `*name` is, and report the first one."""
        if not self.refused:
            return
        _, first = self.refused[0]
        name = _anchor_name(text, first.span)
        wanted = dict(self.refused)
        use = 0
        try:
            for event in yaml.parse(text, Loader=_BaseLoader):
                if isinstance(event, yaml.AliasEvent):
                    placeholder = wanted.get(use)
                    if placeholder is not None:
                        placeholder.span = _span(event)
                    use += 1
                    if use > max(wanted):
                        break
        except yaml.YAMLError:  # composed once already: not expected, spans stay the anchor's
            pass
        self.diagnostics.append(
            Diagnostic(
                codes.YAML_ALIAS_EXPANSION,
                f"this alias{name} would expand the document past {MAX_ALIAS_EXPANSION:,} "
                "nodes (nested anchors multiply); it and any later ones like it are left "
                "out: write the values out, or nest fewer aliases",
                first.span,
            )
        )

    def _construct(self, node: yaml.ScalarNode) -> Any:
        try:
            value = self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError):
            return node.value
        if not isinstance(value, str | int | float | bool | type(None)):
            return node.value  # timestamps, binary: keep the text
        return value

    def _merge_pairs(self, node: yaml.Node) -> list[tuple[YNode, YNode]]:
        # Built as a whole, so an alias to a list of mappings counts as the one alias it is.
        merge = self.build(node)
        sources = merge.items if isinstance(merge, YSeq) else [merge]
        pairs: list[tuple[YNode, YNode]] = []
        for built in sources:
            if isinstance(built, YMap):
                pairs.extend(built.pairs)
            else:
                self.diagnostics.append(
                    Diagnostic(codes.YAML_SYNTAX, "'<<' merges only mappings", built.span)
                )
        return pairs


_ANCHOR = re.compile(r"(?:![^\s,\[\]{}]*\s+)?&([^\s,\[\]{}]+)")


def _anchor_name(text: str, anchored: Span) -> str:
    """` '*name'` for the anchor at the start of a node (its range includes `&name`), or ''."""
    lines = text.split("\n")
    line = lines[anchored.start_line] if anchored.start_line < len(lines) else ""
    m = _ANCHOR.match(line, anchored.start_col)
    return f" '*{m.group(1)}'" if m else ""


class _TreeBuilder(_Builder):
    """For a text without aliases (no `&` or no `*`): every node is built once anyway."""

    build = _Builder._build


def _position_of_index(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index)
    col = index - (text.rfind("\n", 0, index) + 1)
    return line, col


def _syntax_diagnostic(text: str, err: yaml.YAMLError) -> Diagnostic:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    if isinstance(err, yaml.reader.ReaderError):
        line, col = _position_of_index(text, err.position)
        char = f"#x{err.character:04x}" if isinstance(err.character, int) else repr(err.character)
        msg = f"the file contains a character YAML does not allow ({char}); is it a text file?"
        return Diagnostic(codes.YAML_NOT_TEXT, msg, Span(line, col, line, col + 1))
    if mark is not None:
        line, col = mark.line, mark.column
    else:
        line, col = 0, 0
    problem = getattr(err, "problem", None) or str(err)
    context = getattr(err, "context", None)
    msg = f"YAML syntax error: {problem}"
    cmark = getattr(err, "context_mark", None)
    if context == "while scanning a simple key" and cmark is not None:
        # libyaml notices the missing ':' on a later line; the mistake is the key's line
        line, col = cmark.line, cmark.column
        key = text.split("\n")[line][col:].split(" #", 1)[0].rstrip()
        msg += f" after {key!r} (a key and its value are written `key: value`)"
        return Diagnostic(codes.YAML_SYNTAX, msg, Span(line, col, line, col + max(len(key), 1)))
    elif context and cmark is not None and (cmark.line, cmark.column) != (line, col):
        msg += f" ({context} started on line {cmark.line + 1})"
    # Highlight from the error to the end of its line, inside the text (an error at the end
    # of the file sits on the last line, possibly as an empty range).
    lines = text.split("\n")
    line = min(line, len(lines) - 1)
    col = min(col, len(lines[line]))
    end = max(len(lines[line]), col)
    return Diagnostic(codes.YAML_SYNTAX, msg, Span(line, col, line, end))


_NOT_LSP_BREAKS = str.maketrans({"\x85": " ", "\u2028": " ", "\u2029": " "})


def normalize_newlines(text: str) -> str:
    """One line model for YAML and the editor: \r\n and lone \r become \n (both count them
    as one break), and NEL/LS/PS, which libyaml breaks lines on but LSP does not, become
    spaces, so every line and column stays where the editor has it."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.isascii():
        text = text.translate(_NOT_LSP_BREAKS)
    return text


def parse_yaml(text: str) -> ParsedYaml:
    """Parse one YAML document into located nodes; never raises on bad input."""
    text = normalize_newlines(text)
    if "\x00" in text:
        idx = text.index("\x00")
        line, col = _position_of_index(text, idx)
        return ParsedYaml(
            None,
            [
                Diagnostic(
                    codes.YAML_NOT_TEXT,
                    "this is not a text file (it contains NUL bytes); a spec must be UTF-8 YAML",
                    Span(line, col, line, col + 1),
                )
            ],
        )
    with _gc_paused():
        return _parse(text)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a tree is built: a 5,000-line spec allocates ~100k
    objects, which set off dozens of collections (full ones walking every object of the
    process), about as costly as the parse itself; the tree holds no reference cycles."""
    if not gc.isenabled():  # paused already (another thread parsing), or off for good
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _parse(text: str) -> ParsedYaml:
    loader = _Loader(text)
    try:
        try:
            node = loader.get_node() if loader.check_node() else None
            if node is None:
                return ParsedYaml(None, [], empty=True)
            aliases = "&" in text and "*" in text
            builder = (_Builder if aliases else _TreeBuilder)(loader)
            root = builder.build(node)
            builder.locate_refused(text)
            diags = builder.diagnostics
            if loader.check_node():
                extra = loader.get_node()
                mark = extra.start_mark if extra is not None else None
                line = mark.line if mark else 0
                diags.append(
                    Diagnostic(
                        codes.YAML_MULTI_DOCUMENT,
                        "a spec file holds one YAML document; this is a second one "
                        "(move it to its own file)",
                        _document_marker_span(text, line),
                    )
                )
            return ParsedYaml(root, diags)
        except yaml.YAMLError as err:
            return ParsedYaml(None, [_syntax_diagnostic(text, err)])
        except RecursionError:
            return ParsedYaml(
                None, [Diagnostic(codes.YAML_SYNTAX, "YAML nesting is too deep", Span(0, 0, 0, 1))]
            )
    finally:
        loader.dispose()


def _document_marker_span(text: str, line: int) -> Span:
    """The `---` line that starts a later document (searching back from its first node)."""
    lines = text.split("\n")
    for i in range(min(line, len(lines) - 1), -1, -1):
        if lines[i].startswith("---"):
            return Span(i, 0, i, 3)
    return Span(line, 0, line, len(lines[line]) if line < len(lines) else 0)


_TOP_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*:", re.MULTILINE)


def top_level_keys_of_text(text: str) -> set[str]:
    """Top-level keys read line by line: kind detection for text that does not parse."""
    return {m.group(1) for m in _TOP_KEY.finditer(text)}


_BOMS = (  # longest first: a UTF-32 LE BOM starts like a UTF-16 LE one
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


def wide_encoding(data: bytes) -> str | None:
    """'UTF-16', 'UTF-16LE', ... when the bytes are text in a UTF-16/32 encoding (by its byte
    order mark, or by NULs at the places ASCII text in it has them), else None."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    sample = data[: 8192 - 8192 % 4]
    if len(sample) < 4 or b"\x00" not in sample:
        return None
    for width, name in ((4, "UTF-32"), (2, "UTF-16")):
        # a lane: the bytes at one place of each character; ASCII leaves all but one at 0
        mostly_zero = [
            sample[i::width].count(0) * 10 >= len(sample) // width * 9 for i in range(width)
        ]
        if mostly_zero == [False] + [True] * (width - 1):
            return name + "LE"
        if mostly_zero == [True] * (width - 1) + [False]:
            return name + "BE"
    return None


def decode(data: bytes, name: str = "FILE") -> tuple[str | None, Diagnostic | None]:
    """Bytes of a file (called `name` in the advice) -> text, or a diagnostic saying it is
    not UTF-8 text (and how to convert it, for UTF-16/32)."""
    wide = wide_encoding(data)
    if wide is not None:
        src, dst = shlex.quote(name), shlex.quote(name + ".utf8")
        return None, Diagnostic(
            codes.YAML_NOT_TEXT,
            f"the file is {wide} text; a spec must be UTF-8: convert it with "
            f"`iconv -f {wide} -t UTF-8 {src} > {dst}` and move that over the file",
            Span(0, 0, 0, 1),
        )
    if b"\x00" in data[:8192]:
        return None, Diagnostic(
            codes.YAML_NOT_TEXT,
            "this is not a text file (it contains NUL bytes); a spec must be UTF-8 YAML",
            Span(0, 0, 0, 1),
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start)
        return None, Diagnostic(
            codes.YAML_NOT_TEXT,
            f"the file is not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start});"
            " save it as UTF-8",
            Span(line, 0, line, 1),
        )
    return normalize_newlines(text), None
