"""A forgiving outline of a YAML spec read from indentation, for text that may not parse.

While a user types, the document is often not valid YAML (`optim` with no colon yet, an
unclosed `{`). Completion, hover and definition still need to know where the cursor is:
the key path (`graph`, `2`, `params`), whether it is on a key or a value, and the word being
typed. This reads the raw lines (block mappings, block sequences, one-line flow `{}`/`[]`),
never the parser, and also lists every `key: value` it sees so features can read siblings
(the optimizer's `type`, a node's `type`, the graph's node names).

A scan is kept as an `OutlineState` (entries plus the reader's stack every few lines), so a
cursor query on the same text re-reads a few lines only, and the text after an edit is
rescanned from the first changed line until the reader's state meets the old one again.
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_right
from dataclasses import dataclass, field

MAX_DEPTH = 64  # nesting read (specs are about 8 deep; garbage can be 100,000)
_WORD = re.compile(r"[A-Za-z0-9_.\-/]")


@dataclass(frozen=True, slots=True)
class Entry:
    """One `key: value` (or `- value` list item, key None) with its columns."""

    path: tuple[str, ...]  # the container: keys, list positions as '0', '1', ...
    key: str | None
    line: int
    key_start: int
    key_end: int
    value: str  # the scalar's text, unquoted ('' for a block or flow container)
    value_start: int
    value_end: int

    @property
    def full_path(self) -> tuple[str, ...]:
        return (*self.path, self.key) if self.key is not None else self.path


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the cursor is: on a key, a value or a list item, and the word it is in."""

    path: tuple[str, ...]  # the container of the entry at the cursor
    on: str  # "key" | "value" | "item" | "comment"
    key: str | None  # on a value: its key; on a key: the (partial) key text
    line: int
    start: int  # the word's columns (code points)
    end: int
    col: int
    word: str
    indent: int  # the column where a key typed here starts
    has_colon: bool = False  # on a key: a ':' already follows it

    @property
    def prefix(self) -> str:
        return self.word[: self.col - self.start]

    @property
    def value_path(self) -> tuple[str, ...]:
        """The path of the value at the cursor (a value: container + key; an item: its path)."""
        if self.on == "value" and self.key is not None:
            return (*self.path, self.key)
        return self.path


class _Index:
    """Lookups over one immutable entry list, built on first use and shared by every
    `Outline` of the same text (each request's cursor outline reuses them)."""

    __slots__ = ("_by_container", "_by_path", "_items", "_lines", "_nodes", "_values", "entries")

    def __init__(self, entries: list[Entry]) -> None:
        self.entries = entries
        self._by_path: dict[tuple[str, ...], Entry] | None = None
        self._by_container: dict[tuple[str, ...], list[Entry]] | None = None
        self._items: dict[tuple[str, ...], list[str]] = {}
        self._values: dict[tuple[str, ...], list[Entry]] | None = None
        self._lines: dict[int, list[Entry]] | None = None
        self._nodes: dict[tuple[str, ...], dict[str, Entry]] = {}

    def by_path(self) -> dict[tuple[str, ...], Entry]:
        if self._by_path is None:
            self._build()
        assert self._by_path is not None
        return self._by_path

    def by_container(self) -> dict[tuple[str, ...], list[Entry]]:
        if self._by_container is None:
            self._build()
        assert self._by_container is not None
        return self._by_container

    def _build(self) -> None:
        by_path: dict[tuple[str, ...], Entry] = {}
        by_container: dict[tuple[str, ...], list[Entry]] = {}
        for e in self.entries:
            path = e.path
            by_path.setdefault(path if e.key is None else (*path, e.key), e)
            by_container.setdefault(path, []).append(e)
        self._by_path, self._by_container = by_path, by_container

    def items(self, path: tuple[str, ...]) -> list[str]:
        found = self._items.get(path)
        if found is None:
            seen: dict[str, None] = {}
            n = len(path)
            # the distinct full paths, in the order they first occur: the same first
            # occurrences as over all entries, without a tuple made per entry
            for fp in self.by_path():
                if len(fp) > n and fp[n].isdigit() and fp[:n] == path:
                    seen.setdefault(fp[n], None)
            found = self._items[path] = list(seen)
        return found

    def values(self) -> dict[tuple[str, ...], list[Entry]]:
        if self._values is None:
            values: dict[tuple[str, ...], list[Entry]] = {}
            for e in self.entries:
                if e.key is None:
                    values.setdefault(e.path[:-1], []).append(e)
            self._values = values
        return self._values

    def lines(self) -> dict[int, list[Entry]]:
        if self._lines is None:
            lines: dict[int, list[Entry]] = {}
            for e in self.entries:
                lines.setdefault(e.line, []).append(e)
            self._lines = lines
        return self._lines

    def nodes(self, graph: tuple[str, ...]) -> dict[str, Entry]:
        found = self._nodes.get(graph)
        if found is None:
            found = {}
            by_path = self.by_path()
            for idx in self.items(graph):
                e = by_path.get((*graph, idx, "name"))
                if e is not None:
                    found.setdefault(e.value, e)
            self._nodes[graph] = found
        return found


@dataclass
class Outline:
    """The entries of one text (never mutated once built) and, for a query, the cursor."""

    entries: list[Entry] = field(default_factory=list)
    cursor: Cursor | None = None
    _index: _Index | None = field(default=None, repr=False, compare=False)

    def _idx(self) -> _Index:
        if self._index is None or self._index.entries is not self.entries:
            self._index = _Index(self.entries)
        return self._index

    def with_cursor(self, cursor: Cursor | None) -> Outline:
        """The same entries (and their lookups, built once) with another cursor."""
        return Outline(self.entries, cursor, self._idx())

    def at(self, path: tuple[str, ...]) -> list[Entry]:
        """The entries directly in the container at `path`."""
        return list(self._idx().by_container().get(path, ()))

    def keys_at(self, path: tuple[str, ...]) -> list[str]:
        return [e.key for e in self._idx().by_container().get(path, ()) if e.key is not None]

    def value_of(self, path: tuple[str, ...]) -> str | None:
        """The scalar text at a full path (`('optimizer', 'type')`)."""
        e = self.entry_of(path)
        return e.value if e is not None and e.key is not None else None

    def entry_of(self, path: tuple[str, ...]) -> Entry | None:
        return self._idx().by_path().get(path)

    def items_at(self, path: tuple[str, ...]) -> list[str]:
        """The list positions under `path` ('0', '1', ...), in order."""
        return list(self._idx().items(path))

    def values_in(self, path: tuple[str, ...]) -> list[Entry]:
        """The list items (key None) of the list at `path`, in document order:
        `inputs: [x, y]` -> the entries of `x` and `y`."""
        return list(self._idx().values().get(path, ()))

    def on_line(self, line: int) -> list[Entry]:
        """The entries read from one line, in order."""
        return list(self._idx().lines().get(line, ()))

    def node_named(self, graph: tuple[str, ...], name: str) -> Entry | None:
        """The `name` entry of the first node of `graph` (in `items_at` order) so named."""
        return self._idx().nodes(graph).get(name)


_FRAME_IDS = itertools.count()


class _Frame:
    __slots__ = ("block_scalar", "empty", "fid", "indent", "is_item", "next_index", "seg")

    def __init__(self, indent: int, seg: str, is_item: bool, empty: bool = True) -> None:
        self.indent = indent
        self.seg = seg
        self.is_item = is_item
        self.empty = empty
        self.next_index = 0
        self.block_scalar = False
        # which push this is (unique in the process): tells a frame that lives on from an
        # equal one pushed again later; never read by the scan itself
        self.fid = next(_FRAME_IDS)


@dataclass
class _LineTokens:
    dashes: list[int]
    content: int  # column after the dashes
    key: str | None
    key_start: int
    key_end: int
    colon: int
    value: str
    value_start: int
    value_end: int


def _strip_comment(text: str, start: int) -> int:
    """The end column of `text[start:]` without a trailing ` # comment` (quotes respected)."""
    quote = None
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1] in " \t"):
            return i
    return len(text)


def _key_colon(text: str, i: int, end: int) -> int:
    """The column of the `:` that ends a block key starting at `i`, or -1 (linear time)."""
    if i >= end or text[i] in "{[]},:#" or text[i] in " \t":
        return -1
    j = i
    if text[i] in "'\"":
        close = text.find(text[i], i + 1, end)
        if close < 0:
            return -1
        j = close + 1
    while j < end:
        ch = text[j]
        if ch == ":" and (j + 1 >= len(text) or text[j + 1] in " \t"):
            return j
        if ch in "'\"" and j > i and text[i] in "'\"":
            return -1
        j += 1
    return -1


def _tokens(text: str) -> _LineTokens:
    i = len(text) - len(text.lstrip(" \t"))
    dashes: list[int] = []
    while i < len(text) and text[i] == "-" and (i + 1 == len(text) or text[i + 1] in " \t"):
        dashes.append(i)
        i += 1
        while i < len(text) and text[i] in " \t":
            i += 1
    end = _strip_comment(text, i)
    colon = _key_colon(text, i, end)
    if colon >= 0:
        raw = text[i:colon].rstrip()
        key = raw[1:-1] if raw[:1] in "'\"" and len(raw) >= 2 else raw
        vs = colon + 1
        while vs < end and text[vs] in " \t":
            vs += 1
        ve = end
        while ve > vs and text[ve - 1] in " \t":
            ve -= 1
        return _LineTokens(dashes, i, key, i, i + len(raw), colon, text[vs:ve], vs, ve)
    ve = end
    while ve > i and text[ve - 1] in " \t":
        ve -= 1
    return _LineTokens(dashes, i, None, i, i, -1, text[i:ve], i, ve)


def _pop(stack: list[_Frame], col: int, is_dash: bool) -> None:
    while len(stack) > 1:
        top = stack[-1]
        compact_seq = is_dash and not top.is_item and top.empty  # `graph:` then `- ` at 0
        if top.indent > col or (top.indent == col and not compact_seq):
            stack.pop()
        else:
            break


def _segs(stack: list[_Frame]) -> tuple[str, ...]:
    return tuple(f.seg for f in stack[1:])


def _unquote(s: str) -> str:
    s = s.strip()
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"":
        return s[1:-1]
    return s


class _Flow:
    """Scans one-line flow collections: records entries, and the context at a column."""

    def __init__(self, text: str, line: int, base: tuple[str, ...], cursor: int | None) -> None:
        self.text = text
        self.line = line
        self.base = base
        self.cursor = cursor
        self.entries: list[Entry] = []
        self.context: tuple[tuple[str, ...], str, str | None] | None = None

    def scan(self, start: int, end: int) -> None:
        # each container: [kind, path, key or None, index, segment start, key start, key end]
        stack: list[list] = []
        i = start
        quote = None
        while i <= end:
            if self.cursor is not None and i == self.cursor and self.context is None and stack:
                self._snapshot(stack, i)
            if i == end:
                break
            ch = self.text[i]
            if quote:
                if ch == quote:
                    quote = None
            elif ch in "'\"":
                quote = ch
            elif ch in "{[":
                if len(stack) >= MAX_DEPTH:
                    break  # nothing a spec needs is this deep
                path = self.base if not stack else self._child_path(stack[-1])
                stack.append([ch, path, None, 0, i + 1, 0, 0])
            elif ch in "}]" and stack:
                self._close_segment(stack[-1], i)
                stack.pop()
                if stack:
                    stack[-1][4] = -1  # the nested value is done; no scalar to record
            elif ch == "," and stack:
                self._close_segment(stack[-1], i)
                top = stack[-1]
                top[2], top[3], top[4] = None, top[3] + 1, i + 1
            elif (
                ch == ":"
                and stack
                and stack[-1][0] == "{"
                and stack[-1][2] is None
                and (i + 1 >= end or self.text[i + 1] in " \t,}")
            ):
                top = stack[-1]
                raw = self.text[top[4] : i]
                top[2] = _unquote(raw)
                top[5] = top[4] + len(raw) - len(raw.lstrip())
                top[6] = top[4] + len(raw.rstrip())
                top[4] = i + 1
            i += 1

    def _child_path(self, top: list) -> tuple[str, ...]:
        if top[0] == "{":
            return (*top[1], top[2] if top[2] is not None else "")
        return (*top[1], str(top[3]))

    def _close_segment(self, top: list, end: int) -> None:
        if top[4] < 0:
            return
        raw = self.text[top[4] : end]
        s = top[4] + len(raw) - len(raw.lstrip())
        e = top[4] + len(raw.rstrip())
        if top[0] == "{" and top[2] is not None:
            self.entries.append(
                Entry(top[1], top[2], self.line, top[5], top[6], _unquote(self.text[s:e]), s, e)
            )
        elif top[0] == "[" and s < e:
            path = (*top[1], str(top[3]))
            self.entries.append(Entry(path, None, self.line, s, s, _unquote(self.text[s:e]), s, e))

    def _snapshot(self, stack: list[list], i: int) -> None:
        top = stack[-1]
        if top[0] == "{":
            if top[2] is None:
                self.context = (top[1], "key", None)
            else:
                self.context = (top[1], "value", top[2])
        else:
            self.context = ((*top[1], str(top[3])), "item", None)


def _word_at(text: str, col: int, lo: int = 0, hi: int | None = None) -> tuple[int, int]:
    hi = len(text) if hi is None else hi
    s = min(col, hi)
    while s > lo and _WORD.match(text[s - 1]):
        s -= 1
    e = max(col, s)
    while e < hi and _WORD.match(text[e]):
        e += 1
    return s, e


def _step(stack: list[_Frame], n: int, line: str, entries: list[Entry]) -> None:
    """Read line `n` (no trailing \\r): its entries go to `entries`, the stack moves on.
    Nothing else is read: the stack before a line and its text decide everything."""
    stripped = line.strip()
    if not stripped or stripped.startswith("#") or stripped in ("---", "..."):
        return
    tok = _tokens(line)
    first = tok.dashes[0] if tok.dashes else tok.content
    top = stack[-1]
    if top.block_scalar and first > top.indent:
        return  # inside a `|` or `>` block
    _pop(stack, first, bool(tok.dashes))
    if len(stack) > MAX_DEPTH:
        return
    for d in tok.dashes:
        parent = stack[-1]
        idx = parent.next_index
        parent.next_index += 1
        stack.append(_Frame(d, str(idx), True))
    path = _segs(stack)
    if tok.key is not None:
        flow = tok.value[:1] in ("{", "[")
        value = "" if flow else _unquote(tok.value)
        entries.append(
            Entry(path, tok.key, n, tok.key_start, tok.key_end, value,
                  tok.value_start, tok.value_end)
        )  # fmt: skip
        frame = _Frame(tok.key_start, tok.key, False, empty=not tok.value)
        frame.block_scalar = tok.value[:1] in ("|", ">")
        stack.append(frame)
        if flow:
            scanner = _Flow(line, n, (*path, tok.key), None)
            scanner.scan(tok.value_start, tok.value_end)
            entries.extend(scanner.entries)
    elif tok.dashes and tok.value:
        if tok.value[:1] in ("{", "["):
            scanner = _Flow(line, n, path, None)
            scanner.scan(tok.value_start, tok.value_end)
            entries.extend(scanner.entries)
        else:
            entries.append(
                Entry(path, None, n, tok.value_start, tok.value_start, _unquote(tok.value),
                      tok.value_start, tok.value_end)
            )  # fmt: skip


# The reader's stack as a value: (indent, seg, is_item, empty, next_index, block_scalar);
# equal snapshots read the same lines the same way.
_Snapshot = tuple[tuple[int, str, bool, bool, int, bool], ...]
# A checkpoint: (line, the stack before it, entries read before it, the stack's frame ids)
_Checkpoint = tuple[int, _Snapshot, int, tuple[int, ...]]
CHECKPOINT_EVERY = 32  # lines between kept stacks: a cursor query re-reads fewer than this


def _snapshot(stack: list[_Frame]) -> _Snapshot:
    return tuple((f.indent, f.seg, f.is_item, f.empty, f.next_index, f.block_scalar) for f in stack)


def _checkpoint(n: int, stack: list[_Frame], offset: int) -> _Checkpoint:
    return (n, _snapshot(stack), offset, tuple(f.fid for f in stack))


def _restore(snap: _Snapshot, ids: tuple[int, ...]) -> list[_Frame]:
    stack = []
    for (indent, seg, is_item, empty, next_index, block_scalar), fid in zip(snap, ids, strict=True):
        f = _Frame(indent, seg, is_item, empty)
        f.next_index, f.block_scalar, f.fid = next_index, block_scalar, fid
        stack.append(f)
    return stack


def split_lines(text: str) -> list[str]:
    """The lines the outline reads (\\n; a \\r before it dropped), as convert counts them."""
    return [ln.removesuffix("\r") for ln in text.split("\n")]


def _shifted(entries: list[Entry], delta: int) -> list[Entry]:
    if delta == 0:
        return entries
    return [
        Entry(e.path, e.key, e.line + delta, e.key_start, e.key_end, e.value,
              e.value_start, e.value_end)
        for e in entries
    ]  # fmt: skip


# -- list positions moved by an edit ---------------------------------------------------------
# A node inserted (or deleted) before the cursor moves the position of every later node: the
# stacks after the edit differ from the old ones only in that list's count (`next_index` of
# its frame, at stack depth j) and the position of its open item (the frame above it). While
# that list's frame lives on, every line reads as before with positions moved by k: the old
# entries are reused with path[j] moved, instead of rereading the rest of the list.


def _list_shift(new: _Snapshot, old: _Snapshot) -> tuple[int, int] | None:
    """(j, k) when `new` is `old` with the list at stack depth j k items longer, else None."""
    if len(new) != len(old):
        return None
    j = next((p for p, (a, b) in enumerate(zip(new, old, strict=True)) if a != b), -1)
    if j < 0:
        return None
    a, b = new[j], old[j]
    if a[:4] != b[:4] or a[5] != b[5]:
        return None
    k = a[4] - b[4]
    if j + 1 < len(new):
        x, y = new[j + 1], old[j + 1]
        if not (x[2] and y[2]) or x[0] != y[0] or x[3:] != y[3:] or not y[1].isdigit():
            return None  # the open child is not an item of that list
        if x[1] != str(int(y[1]) + k) or new[j + 2 :] != old[j + 2 :]:
            return None
    return j, k


def _moved_snapshot(snap: _Snapshot, j: int, k: int) -> _Snapshot:
    out = list(snap)
    indent, seg, is_item, empty, next_index, block_scalar = out[j]
    out[j] = (indent, seg, is_item, empty, next_index + k, block_scalar)
    if j + 1 < len(out):
        indent, seg, is_item, empty, next_index, block_scalar = out[j + 1]
        out[j + 1] = (indent, str(int(seg) + k), is_item, empty, next_index, block_scalar)
    return tuple(out)


def _moved_entries(
    entries: list[Entry], base: tuple[str, ...], k: int, delta: int
) -> list[Entry] | None:
    """The entries with their position in the list at `base` moved by k (lines by delta);
    None when one is not inside an item of that list (a key beside the items: read again)."""
    j = len(base)
    out = []
    for e in entries:
        p = e.path
        if len(p) <= j or not p[j].isdigit() or p[:j] != base:
            return None
        out.append(
            Entry((*base, str(int(p[j]) + k), *p[j + 1 :]), e.key, e.line + delta,
                  e.key_start, e.key_end, e.value, e.value_start, e.value_end)
        )  # fmt: skip
    return out


class OutlineState:
    """The outline of one text, kept: the entries, and the reader's stack before every
    `CHECKPOINT_EVERY`-th line (with the number of entries read before it).

    A cursor query restarts the reader at the checkpoint before the cursor's line (not the
    top of the text); `update` rescans a new text from the checkpoint before its first
    changed line and stops at the first old checkpoint past the change where the stack is
    the same again: from there on, the old entries are the new ones (lines shifted). Where
    the stacks differ only by a list's length (a node added or removed), the old entries
    are reused with moved positions while that list lasts (see `_list_shift`)."""

    __slots__ = ("_cp_lines", "_cps", "entries", "lines", "memo", "outline", "text")

    def __init__(
        self, text: str, lines: list[str], entries: list[Entry], cps: list[_Checkpoint]
    ) -> None:
        self.text = text
        self.lines = lines  # shared with readers: never mutated
        self.entries = entries
        self.outline = Outline(entries)  # no cursor; its lookups are shared by `at`
        self.memo: dict[object, object] = {}  # values derived from this text, by callers
        self._cps = cps  # by line
        self._cp_lines = [c[0] for c in cps]

    @classmethod
    def scan(cls, text: str) -> OutlineState:
        """A full scan."""
        lines = split_lines(text)
        entries: list[Entry] = []
        cps: list[_Checkpoint] = []
        _run(lines, 0, [_Frame(-1, "", False)], entries, cps)
        return cls(text, lines, entries, cps)

    def at(self, cursor: tuple[int, int] | None) -> Outline:
        """The outline with the cursor at (line, code-point column), as `outline` gives."""
        return self.outline.with_cursor(None if cursor is None else self.cursor_at(*cursor))

    def cursor_at(self, line: int, col: int) -> Cursor | None:
        if not 0 <= line < len(self.lines):
            return None
        i = bisect_right(self._cp_lines, line) - 1
        start, snap, _, ids = self._cps[i]
        stack = _restore(snap, ids)
        sink: list[Entry] = []
        for n in range(start, line):
            _step(stack, n, self.lines[n], sink)
        return _cursor_on(self.lines[line], line, col, stack)

    def update(self, text: str) -> OutlineState:
        """The state of `text`, an edit of this state's text, rescanning what changed."""
        if text is self.text or text == self.text:
            return self
        old, new = self.lines, split_lines(text)
        a, limit = 0, min(len(old), len(new))
        while a < limit and old[a] == new[a]:
            a += 1
        s = 0
        while s < limit - a and old[-1 - s] == new[-1 - s]:
            s += 1
        i = bisect_right(self._cp_lines, a) - 1
        start, snap, offset, ids = self._cps[i]
        entries = self.entries[:offset]
        cps = self._cps[:i]  # `_run` records the restart checkpoint again
        # old checkpoints in the unchanged tail: where the rescan may meet the old state
        tail = self._cps[bisect_right(self._cp_lines, len(old) - s - 1) :]
        old_tail = _Tail(tail, len(new) - len(old), self.entries)
        _run(new, start, _restore(snap, ids), entries, cps, old_tail)
        return OutlineState(text, new, entries, cps)


class _Tail:
    """The old state after the edit: its checkpoints (old lines + delta = new lines) and
    entries, to meet again."""

    __slots__ = ("cps", "delta", "entries")

    def __init__(self, cps: list[_Checkpoint], delta: int, entries: list[Entry]) -> None:
        self.cps, self.delta, self.entries = cps, delta, entries


def _run(
    lines: list[str],
    n: int,
    stack: list[_Frame],
    entries: list[Entry],
    cps: list[_Checkpoint],
    tail: _Tail | None = None,
) -> None:
    """Read `lines` from line n with `stack`, recording checkpoints. At an old checkpoint of
    `tail` with the same stack: take the old entries and checkpoints from there and stop;
    with the stack of a list moved by k items: take the old entries while that list lasts
    (positions moved), and read on from its last checkpoint."""
    old = tail.cps if tail is not None else []
    delta = tail.delta if tail is not None else 0
    t = 0
    last = -CHECKPOINT_EVERY
    moved_to = -1  # the line a list move jumped to: no second move there
    while n < len(lines):
        while t < len(old) and old[t][0] + delta < n:
            t += 1
        if tail is not None and t < len(old) and old[t][0] + delta == n:
            snap = _snapshot(stack)
            _ln, osnap, ooff, oids = old[t]
            if snap == osnap:
                entries.extend(_shifted(tail.entries[ooff:], delta))
                shift = len(entries) - len(tail.entries)  # entries before: new - old
                cps.extend((ln + delta, sn, off + shift, ids) for ln, sn, off, ids in old[t:])
                return
            move = _list_shift(snap, osnap) if n != moved_to else None
            if move is not None:
                j, k = move
                # the last old checkpoint where that list's frame (same push) still lives;
                # `_moved_entries` refuses entries outside it anyway, this finds the most
                # that it can take
                t1 = t
                while (
                    t1 + 1 < len(old) and len(old[t1 + 1][3]) > j and old[t1 + 1][3][j] == oids[j]
                ):
                    t1 += 1
                base = tuple(f[1] for f in osnap[1 : j + 1])
                end = old[t1][2]
                reused = _moved_entries(tail.entries[ooff:end], base, k, delta) if t1 > t else None
                if reused is not None:
                    first = len(entries)
                    entries.extend(reused)
                    for ln2, sn2, off2, ids2 in old[t:t1]:
                        cps.append(
                            (ln2 + delta, _moved_snapshot(sn2, j, k), first + off2 - ooff, ids2)
                        )
                    ln1, sn1, _, ids1 = old[t1]
                    stack = _restore(_moved_snapshot(sn1, j, k), ids1)
                    n = moved_to = ln1 + delta
                    last = cps[-1][0]
                    continue
        if n - last >= CHECKPOINT_EVERY:
            cps.append(_checkpoint(n, stack, len(entries)))
            last = n
        _step(stack, n, lines[n], entries)
        n += 1


def outline(text: str, cursor: tuple[int, int] | None = None) -> Outline:
    """Read the text's outline; with a cursor (line, code-point column), where it is."""
    return OutlineState.scan(text).at(cursor)


def _cursor_on(line: str, n: int, col: int, real: list[_Frame]) -> Cursor:
    col = max(0, min(col, len(line)))
    stack = list(real)
    tok = _tokens(line)
    first = tok.dashes[0] if tok.dashes else tok.content
    if not line.strip() or col < first or (col == first and tok.dashes):
        # a blank line, the indentation before the text or a dash: a new key at the cursor
        # column (at the first character of a key, the cursor is on that key)
        indent = col if not line.strip() else first
        _pop(stack, indent, False)
        end = col if not line.strip() else _word_at(line, first)[1]
        word = line[col:end] if line.strip() else ""
        return Cursor(_segs(stack), "key", None, n, col, end, col, word, indent)
    comment = _strip_comment(line, first)
    if comment < len(line) and col > comment:
        return Cursor(_segs(stack), "comment", None, n, col, col, col, "", first)
    _pop(stack, first, bool(tok.dashes))
    index: list[str] = []
    parent_index = stack[-1].next_index
    for k, _d in enumerate(tok.dashes):
        index.append(str(parent_index if k == 0 else 0))
    path = (*_segs(stack), *index)
    if tok.key is not None and col <= tok.colon:
        s, e = _word_at(line, col, tok.content)
        return Cursor(path, "key", tok.key, n, s, e, col, line[s:e], tok.key_start, True)
    if tok.key is None:
        s, e = _word_at(line, col, tok.content)
        if tok.dashes and tok.value[:1] not in ("{", "["):
            # `- word`: a list item (or the first key of a mapping item being typed)
            return Cursor(path, "item", None, n, s, e, col, line[s:e], tok.content)
        if tok.value[:1] in ("{", "["):
            return _flow_cursor(line, n, col, path, tok.content, tok.value_end, tok.content)
        return Cursor(path, "key", line[s:e] or None, n, s, e, col, line[s:e], tok.content)
    if tok.value[:1] in ("{", "[") and col > tok.value_start:
        return _flow_cursor(
            line, n, col, (*path, tok.key), tok.value_start, tok.value_end, tok.key_start
        )
    s, e = _word_at(line, col, tok.colon + 1)
    return Cursor(path, "value", tok.key, n, s, e, col, line[s:e], tok.key_start)


def _flow_cursor(
    line: str, n: int, col: int, base: tuple[str, ...], start: int, end: int, indent: int
) -> Cursor:
    scanner = _Flow(line, n, base, col)
    scanner.scan(start, max(end, col))
    s, e = _word_at(line, col, start)
    word = line[s:e]
    if scanner.context is None:
        return Cursor(base, "value", None, n, s, e, col, word, indent)
    path, on, key = scanner.context
    if on == "key":
        colon = line.find(":", e)
        sep = min((p for p in (line.find(",", e), line.find("}", e)) if p >= 0), default=-1)
        has_colon = colon >= 0 and (sep < 0 or colon < sep)
        return Cursor(path, "key", word or None, n, s, e, col, word, indent, has_colon)
    return Cursor(path, on, key, n, s, e, col, word, indent)
