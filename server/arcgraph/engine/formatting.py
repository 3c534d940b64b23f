"""Formatting a spec: the canonical key order and one indentation, every comment kept.

Two passes. The first reorders block mappings by moving whole lines, so a comment moves
with the key it belongs to: the comment lines directly above a key (and its end-of-line
comment) go with it; comment lines indented into a block after its last entry stay at that
block's end; a file's header (up to the last blank line above the first key) stays on top.
The second re-emits the text with `ruamel.yaml`'s round-trip mode at the editor's tab size
(quotes stay as written) and puts every flow collection back as the user wrote it (ruamel
re-spaces them): its text is kept, its keys are never reordered. The result is verified: it must load
to the same data with the same comments, else nothing is formatted.

Text the engine refuses (too large, NUL bytes, a syntax error, an alias bomb, several
documents) is refused here before ruamel sees it, and so is any anchor, alias or explicit
tag (ruamel could not keep them safely through the reorder): the answer is None, no edit.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Sequence

import yaml

from arcgraph.engine.kinds import SpecForm, SpecKind, detect_form
from arcgraph.engine.schema import property_order
from arcgraph.engine.source import YMap, YNode, YSeq, normalize_newlines, parse_yaml

# ruamel parses ~25x slower than libyaml (engine/source.py): 1 MB is a few seconds already.
MAX_FORMAT_CHARS = 1_000_000

TRAINER_ORDER = ("model_ref", "optimizer", "scheduler", "config", "callbacks")
# The trainer spec's `config` keys, in the schema's (and trainer-spec.md's) order.
CONFIG_ORDER = property_order("trainer", ("config",))
MODEL_ORDER = ("inputs", "modules", "graph", "outputs", "loss")
NODE_ORDER = ("name", "type", "params", "inputs")

_COMMENT_LINE = re.compile(r"^\s*#")


def format_spec(text: str, kind: SpecKind, tab_size: int = 2) -> str | None:
    """The formatted text, or None when the text is not formatted (not a spec, a YAML
    error, an anchor/alias/tag, too large). The same text back means nothing to change."""
    text = normalize_newlines(text)
    if kind is SpecKind.NONE or len(text) > MAX_FORMAT_CHARS or not 1 <= tab_size <= 8:
        return None
    parsed = parse_yaml(text)  # the engine's limits first: syntax, NULs, alias bombs
    if parsed.diagnostics or not isinstance(parsed.root, YMap) or parsed.root.flow:
        return None
    if not _plain_events(text):
        return None
    lines = text.split("\n")
    trailing_newline = text.endswith("\n")
    if trailing_newline:
        lines.pop()
    order = _Reorder(lines)
    order.root(parsed.root, kind, detect_form(kind, parsed.root))
    reordered = "\n".join(order.out) + "\n"
    try:
        out = _emit(reordered, tab_size)
    except Exception:  # ruamel refusing or failing on some odd text: no edit, never an error
        return None
    if not same_content(text, out):
        return None
    return out


def _plain_events(text: str) -> bool:
    """No anchors, aliases, explicit tags or directives: what the reorder keeps exactly."""
    try:
        for event in yaml.parse(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
            if isinstance(event, yaml.AliasEvent):
                return False
            if isinstance(event, yaml.NodeEvent) and event.anchor is not None:
                return False
            tagged = isinstance(event, yaml.ScalarEvent | yaml.CollectionStartEvent) and event.tag
            if tagged and not (isinstance(event, yaml.ScalarEvent) and event.tag == "!"):
                return False
            if isinstance(event, yaml.DocumentStartEvent) and (event.version or event.tags):
                return False
    except yaml.YAMLError:
        return False
    return True


# -- pass 1: the key order ------------------------------------------------------------------


def _rank(order: Sequence[str]) -> dict[str, int]:
    return {k: i for i, k in enumerate(order)}


# The key order of each kind of mapping (unknown keys follow the known ones, in their order)
_ORDERS = {
    "trainer": _rank(TRAINER_ORDER),
    "config": _rank(CONFIG_ORDER),
    "model": _rank(MODEL_ORDER),
    "node": _rank(NODE_ORDER),
}
# (context, key) -> the context of that key's value ("*": any key); absent: kept as written
_CHILD = {
    ("wrapper", "model"): "model",
    ("wrapper", "trainer"): "trainer",
    ("trainer", "config"): "config",
    ("model", "graph"): "node",
    ("model", "modules"): "modules",
    ("modules", "*"): "model",
}


def _last_line(node: YNode) -> int:
    """The last line holding the node's own text (a block collection's end mark lies at the
    start of whatever follows it, so it is found from its last child)."""
    if isinstance(node, YMap) and not node.flow and node.pairs:
        return max(_last_line(node.pairs[-1][1]), node.pairs[-1][0].span[2])
    if isinstance(node, YSeq) and not node.flow and node.items:
        return _last_line(node.items[-1])
    s_line, _, e_line, e_col = node.span
    if e_col == 0 and e_line > s_line:  # a block scalar ends at the next line's start
        return e_line - 1
    return e_line


class _Reorder:
    """Writes the lines of a document with its block mappings in the canonical order."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.out: list[str] = []

    def _is_gap(self, i: int) -> bool:
        return not self.lines[i].strip() or bool(_COMMENT_LINE.match(self.lines[i]))

    def root(self, root: YMap, kind: SpecKind, form: SpecForm) -> None:
        ctx = "trainer" if kind is SpecKind.TRAINER else "model"
        self.mapping(root, 0, len(self.lines), "wrapper" if form is SpecForm.WRAPPER else ctx)

    def mapping(self, m: YMap, start: int, end: int, ctx: str, dash: int | None = None) -> None:
        """Lines [start, end) hold mapping `m` (in context `ctx`, see `_ORDERS`); write them
        with its keys in order, recursively. `dash`: the column of the `- ` on the first
        line when the mapping is a sequence item that starts on its dash line."""
        rank = _ORDERS.get(ctx, {})
        col = m.pairs[0][0].span[1] if m.pairs else 0
        prev_end = start - 1
        bounds: list[tuple[int, int, int]] = []  # (lead start, key line, content end)
        for _, k, v in m.items():
            key_line = k.span[0]
            gap_start = prev_end + 1
            lead = key_line
            while lead > gap_start and self._is_gap(lead - 1):
                lead -= 1
            # the gap: comments indented into the previous block stay with it, the rest
            # (from the first comment at this key's column or left of it) leads this key
            while lead < key_line and not (
                self.lines[lead].strip() and _indent(self.lines[lead]) <= col
            ):
                lead += 1
            if not bounds:  # the first key: a header up to the last blank line stays on top
                blanks = [i for i in range(gap_start, key_line) if not self.lines[i].strip()]
                if blanks:
                    lead = max(lead, blanks[-1] + 1)
            bounds.append((lead, key_line, _last_line(v)))
            prev_end = bounds[-1][2]
        # the last entry's lines end before the first line at this mapping's column or left
        # of it: what follows (comments at the block's end) stays at the end
        tail = bounds[-1][2] + 1
        while tail < end and not (self.lines[tail].strip() and _indent(self.lines[tail]) <= col):
            tail += 1
        self.out.extend(self.lines[start : bounds[0][0]])
        items = list(m.items())
        order = sorted(range(len(items)), key=lambda i: rank.get(items[i][0], len(rank)))
        for pos, i in enumerate(order):
            key, _, v = items[i]
            lead, key_line, _ = bounds[i]
            stop = bounds[i + 1][0] if i + 1 < len(bounds) else tail
            self.out.extend(self.lines[lead:key_line])
            key_at = len(self.out)
            self.out.append(self.lines[key_line])
            self.value(v, key, key_line + 1, stop, ctx)
            if dash is not None and pos == 0 and i != 0:  # this key moved onto the dash line
                self.out[key_at] = _with_dash(self.out[key_at], dash)
            if dash is not None and i == 0 and pos != 0:
                self.out[key_at] = _without_dash(self.out[key_at], dash)
        self.out.extend(self.lines[tail:end])

    def value(self, v: YNode, key: str, start: int, stop: int, ctx: str) -> None:
        """Lines [start, stop) after a key's line: its value's further lines, reordered."""
        inner = _CHILD.get((ctx, key)) or _CHILD.get((ctx, "*"))
        if inner is None:
            self.out.extend(self.lines[start:stop])
        elif isinstance(v, YMap) and not v.flow and v.pairs and v.pairs[0][0].span[0] >= start:
            self.mapping(v, start, stop, inner)
        elif isinstance(v, YSeq) and not v.flow and inner == "node":
            self.sequence(v, start, stop)
        else:
            self.out.extend(self.lines[start:stop])

    def sequence(self, s: YSeq, start: int, stop: int) -> None:
        """A block sequence of nodes: each item that is a block mapping is reordered."""
        pos = start
        for n, item in enumerate(s.items):
            item_line = item.span[0]
            nxt = s.items[n + 1].span[0] if n + 1 < len(s.items) else stop
            if not isinstance(item, YMap) or item.flow or not item.pairs:
                continue
            # the lines from `pos` up to this item's first line are earlier items and gaps
            first_key_line = item.pairs[0][0].span[0]
            dash_line = self._dash_line(first_key_line, item_line)
            if dash_line is None:
                continue
            item_end = self._item_end(nxt, item)
            self.out.extend(self.lines[pos:dash_line])
            if dash_line == first_key_line:
                dash = self.lines[dash_line].rfind("-", 0, item.pairs[0][0].span[1])
                self.mapping(item, dash_line, item_end, "node", dash=dash)
            else:
                self.out.append(self.lines[dash_line])
                self.mapping(item, dash_line + 1, item_end, "node")
            pos = item_end
        self.out.extend(self.lines[pos:stop])

    def _dash_line(self, first_key_line: int, item_line: int) -> int | None:
        for i in range(first_key_line, -1, -1):
            stripped = self.lines[i].lstrip()
            if stripped.startswith("-"):
                return i
            if i < item_line - 1 and stripped and not stripped.startswith("#"):
                return None
        return None

    def _item_end(self, nxt: int, item: YMap) -> int:
        """Where an item's lines end: before the comment lines that lead the next item
        (those at the dash's column or left of it) and before the next dash line."""
        last = _last_line(item)
        end = nxt
        i = last + 1
        col = item.pairs[0][0].span[1]
        while i < nxt:
            line = self.lines[i]
            if line.strip() and (len(line) - len(line.lstrip()) < col or line.lstrip()[0] == "-"):
                return i
            i += 1
        return end


def _with_dash(line: str, dash: int) -> str:
    return line[:dash] + "-" + line[dash + 1 :]


def _without_dash(line: str, dash: int) -> str:
    return line[:dash] + " " + line[dash + 1 :]


# -- pass 2: the indentation ------------------------------------------------------------------


def _emit(text: str, tab_size: int) -> str:
    """Re-indent `text`. ruamel drops some comment lines (one above a flow item of a block
    sequence), so the comment lines are taken out first and put back between the same
    lines; when ruamel does not keep its lines one to one (but for a lone `-` joined to
    the next line), it sees them after all."""
    lines = text.rstrip("\n").split("\n")
    loose = _loose_comments(text, lines)
    if loose:
        kept = [line for i, line in enumerate(lines) if i not in loose]
        bare = "\n".join(kept) + "\n"
        out = _restore_flows(bare, _dump(bare, tab_size)).rstrip("\n").split("\n")
        # ruamel joins a lone `-` to the line after it: that line takes the joined one
        dashes = {i for i, line in enumerate(lines) if line.strip() == "-"}
        if len(out) == len(kept) - len(dashes):
            new = iter(out)
            merged = [
                line if i in loose else next(new) for i, line in enumerate(lines) if i not in dashes
            ]
            old = "\n".join(line for i, line in enumerate(lines) if i not in dashes) + "\n"
            return _reindent_comments(old, "\n".join(merged) + "\n")
    return _reindent_comments(text, _restore_flows(text, _dump(text, tab_size)))


def _dump(text: str, tab_size: int) -> str:
    from ruamel.yaml import YAML

    y = YAML(typ="rt", pure=True)
    y.preserve_quotes = True
    y.width = 1 << 30  # never fold a long line
    y.indent(mapping=tab_size, sequence=tab_size + 2, offset=tab_size)
    data = y.load(text)
    buf = io.StringIO()
    y.dump(data, buf)
    return buf.getvalue()


def _loose_comments(text: str, lines: list[str]) -> set[int]:
    """The comment-only lines outside flow collections and multi-line scalars."""
    inside: set[int] = set()
    for _, sl, _, el, _ in _flows(text):
        inside.update(range(sl + 1, el + 1))
    for event in yaml.parse(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        if isinstance(event, yaml.ScalarEvent) and event.end_mark.line > event.start_mark.line:
            inside.update(range(event.start_mark.line + 1, event.end_mark.line + 1))
    return {i for i, line in enumerate(lines) if _COMMENT_LINE.match(line) and i not in inside}


Flow = tuple[bool, int, int, int, int]  # (is a mapping, start line, col, end line, col)


def _flows(text: str) -> list[Flow]:
    """The outermost flow collections of a text, in document order (end: after the bracket)."""
    found: list[Flow] = []
    depth = 0
    start: yaml.CollectionStartEvent | None = None
    for event in yaml.parse(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        if isinstance(event, yaml.CollectionStartEvent) and (depth or event.flow_style):
            if depth == 0:
                start = event
            depth += 1
        elif isinstance(event, yaml.CollectionEndEvent) and depth and start is not None:
            depth -= 1
            if depth == 0:
                s, e = start.start_mark, event.end_mark
                is_map = isinstance(start, yaml.MappingStartEvent)
                found.append((is_map, s.line, s.column, e.line, e.column))
    return found


_EOL_COMMENT = re.compile(r"^(\s*)#")


def _restore_flows(before: str, after: str) -> str:
    """ruamel re-spaces flow collections (`{ a: 1,  b: 2 }` -> `{a: 1, b: 2}`) and joins
    multi-line ones; put each outermost one back exactly as written. Its continuation lines
    move with its opening bracket. An end-of-line comment after it goes where ruamel puts one
    after a block value: at its old column, else one space after the value."""
    old, new = before.split("\n"), after.split("\n")
    src, dst = _flows(before), _flows(after)
    if [f[0] for f in src] != [f[0] for f in dst]:
        raise ValueError("the flow collections do not correspond")
    for (_, sl, sc, el, ec), (_, dl, dc, dl2, dc2) in zip(
        reversed(src), reversed(dst), strict=True
    ):
        shift = dc - sc
        body = [old[sl][sc:ec] if sl == el else old[sl][sc:]]
        for i in range(sl + 1, el + 1):
            line = old[i][:ec] if i == el else old[i]
            body.append(
                " " * max(0, _indent(line) + shift) + line.lstrip(" ") if line.strip() else ""
            )
        head, rest = new[dl][:dc], new[dl2][dc2:]
        if _EOL_COMMENT.match(old[el][ec:]) and _EOL_COMMENT.match(rest):
            column = len(old[el]) - len(old[el][ec:].lstrip(" "))
            last = (head if len(body) == 1 else "") + body[-1]
            rest = " " * max(1, column - len(last)) + rest.lstrip(" ")
        body[0] = head + body[0]
        body[-1] += rest
        new[dl : dl2 + 1] = body
    return "\n".join(new)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _reindent_comments(before: str, after: str) -> str:
    """ruamel keeps a full-line comment at its old column; put it at the new column of the
    content line it was aligned with (the next line with that old indentation, else the
    previous one, else the next content line). Only when the lines correspond one to one."""
    old, new = before.rstrip("\n").split("\n"), after.rstrip("\n").split("\n")
    if len(old) != len(new):
        return after
    content = [i for i, line in enumerate(old) if line.strip() and not _COMMENT_LINE.match(line)]
    for i, line in enumerate(old):
        if not _COMMENT_LINE.match(line) or not _COMMENT_LINE.match(new[i]):
            continue
        if _inside_scalar(old, i):
            continue
        c = _indent(line)
        nexts = [j for j in content if j > i]
        prevs = [j for j in reversed(content) if j < i]
        target = next((j for j in nexts[:1] if _indent(old[j]) == c), None)
        if target is None:
            target = next((j for j in prevs if _indent(old[j]) == c), None)
        if target is None:
            target = next((j for j in nexts if _indent(old[j]) <= c), None)
        if target is None:
            continue
        shift = _indent(new[target]) - _indent(old[target])
        new[i] = " " * max(0, c + shift) + new[i].lstrip(" ")
    return "\n".join(new) + "\n"


def _inside_scalar(lines: list[str], i: int) -> bool:
    """A `#` line that is the content of a block scalar is no comment (never moved)."""
    for j in range(i - 1, -1, -1):
        line = lines[j]
        if not line.strip() or _COMMENT_LINE.match(line):
            continue
        return _indent(line) < _indent(lines[i]) and line.rstrip().endswith(("|", ">", "|-", ">-"))
    return False


# -- the check ---------------------------------------------------------------------------------


def comments_of(text: str) -> Counter[str]:
    """The comments of a YAML text (their words, without the `#`), as a multiset."""
    spans: list[tuple[int, int, int, int]] = []
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.ScalarEvent):
            s, e = event.start_mark, event.end_mark
            spans.append((s.line, s.column, e.line, e.column))
    by_line: dict[int, list[tuple[int, int]]] = {}
    for sl, sc, el, ec in spans:
        for ln in range(sl, el + 1):
            by_line.setdefault(ln, []).append((sc if ln == sl else 0, ec if ln == el else 1 << 30))
    found: Counter[str] = Counter()
    for ln, line in enumerate(text.split("\n")):
        for m in re.finditer(r"(?:^|(?<=\s))#", line):
            if any(a <= m.start() < b for a, b in by_line.get(ln, [])):
                continue
            found[line[m.start() + 1 :].strip()] += 1
            break
    return found


def same_content(before: str, after: str) -> bool:
    """`after` parses cleanly (no duplicate key: a plain load would hide one) to the data of
    `before`, with the same comments."""
    if parse_yaml(after).diagnostics:
        return False
    try:
        if yaml.safe_load(before) != yaml.safe_load(after):
            return False
        return comments_of(before) == comments_of(after)
    except yaml.YAMLError:
        return False
