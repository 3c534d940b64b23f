"""`OutlineState.update` (a rescan from the first changed line) against full scans.

Chains of random edits (characters, new lines, list items, comments, block scalars, flow
collections, deleted ranges) on the examples and a generated graph: after every edit, the
updated state's entries and its cursors must be exactly a fresh scan's. Chains matter: a
state built by an update is the base of the next one.
"""

from __future__ import annotations

import random
from pathlib import Path

from arcgraph.lsp.document import OutlineCache
from arcgraph.lsp.outline import CHECKPOINT_EVERY, OutlineState, outline

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PIECES = [*"ab:- \n#{}[],|>'\"\t0", "\n  - ", "\n    ", "name: x\n", "\r\n", "  ", "\n- "]


def graph(n: int) -> str:
    nodes = "".join(
        f"  - name: n{i}\n    type: torch.nn.ReLU\n    params:\n      inplace: true\n"
        f"    inputs: {{ input: n{i - 1}.output }}\n"
        for i in range(n)
    )
    return "inputs:\n  x:\n    dtype: float32\ngraph:\n" + nodes + "outputs:\n  y: n1.output\n"


def texts() -> list[str]:
    found = [p.read_text(encoding="utf-8") for p in sorted(EXAMPLES.rglob("*.yaml"))]
    return [*found[:6], graph(8 * CHECKPOINT_EVERY // 5)]


def edit(rng: random.Random, text: str) -> str:
    i = rng.randint(0, len(text))
    j = min(len(text), i + rng.choice([0, 0, 1, 2, 5, 40, 300]))
    new = "".join(rng.choice(PIECES) for _ in range(rng.choice([0, 1, 1, 2, 5])))
    return text[:i] + new + text[j:]


def assert_same(state: OutlineState, text: str, rng: random.Random) -> None:
    want = outline(text)
    assert state.entries == want.entries
    assert state.lines == [ln.removesuffix("\r") for ln in text.split("\n")]
    n = len(state.lines)
    for line in [rng.randint(-1, n), rng.randint(0, n - 1), n - 1]:
        col = rng.randint(0, 40)
        assert state.at((line, col)).cursor == outline(text, (line, col)).cursor, (line, col)


def test_updates_equal_full_scans():
    rng = random.Random(20261127)
    for base in texts():
        state, text = OutlineState.scan(base), base
        for _ in range(50):
            text = edit(rng, text)
            state = state.update(text)
            assert_same(state, text, rng)


BLOCKS = [
    "  - name: new\n    type: torch.nn.ReLU",
    "  - x",
    "      - y",
    "  - name: z\n    inputs: [a, b]",
    "  -",
    "- top",
    "  k: v",
    "    - deep",
    "  - - nested",
]


def test_list_moves_equal_full_scans():
    """Nodes and list items inserted and deleted (the positions of every later item move;
    the update reuses the old entries with moved positions): still exactly a full scan."""
    rng = random.Random(5)
    for n in (60, 150, 300):
        nodes = [
            f"  - name: n{i}\n    type: torch.nn.ReLU\n    inputs:\n      - n{i - 1}.output\n      - x"
            for i in range(n)
        ]
        again = [f"  - name: again{i}" for i in range(80)]  # a second `graph`: same paths
        text = "\n".join(
            ["inputs:", "  x: {}", "outputs:", "  y: n1.output", "graph:", *nodes, "graph:", *again]
        )
        state = OutlineState.scan(text)
        for _ in range(30):
            lines = text.split("\n")
            i = rng.randint(0, len(lines) - 1)
            op = rng.random()
            if op < 0.45:
                lines[i:i] = rng.choice(BLOCKS).split("\n")
            elif op < 0.7:
                del lines[i : i + rng.choice([1, 4, 5, 10])]
            else:  # two nodes far apart
                lines.insert(i, "  - name: extra")
                lines.insert(rng.randint(0, len(lines)), "  - name: extra2")
            text = "\n".join(lines)
            state = state.update(text)
            assert_same(state, text, rng)


def test_update_of_the_same_text_is_the_same_state():
    text = graph(50)
    state = OutlineState.scan(text)
    assert state.update(text) is state
    assert state.update("".join(text)) is state  # equal, not identical


def test_edits_far_apart_and_node_moves():
    text = graph(200)
    rng = random.Random(7)
    state = OutlineState.scan(text)
    lines = text.split("\n")
    # a node moved from the end to the start, then edits at both ends at once
    moved = "\n".join(lines[:4] + lines[-8:-3] + lines[4:-8] + lines[-3:])
    state = state.update(moved)
    assert_same(state, moved, rng)
    both = "# top\n" + moved.replace("n199", "n199x").replace("n0.output", "m0.output")
    state = state.update(both)
    assert_same(state, both, rng)
    assert state.update(text).entries == outline(text).entries


def test_cache_keeps_one_state_per_open_document():
    cache = OutlineCache(size=2)
    a, b = graph(10), graph(12)
    sa = cache.get("file:///a.model.yaml", a)
    assert cache.get("file:///a.model.yaml", a) is sa
    assert cache.peek("file:///a.model.yaml", a) is sa
    assert cache.peek("file:///a.model.yaml", b) is None
    sb = cache.get("file:///a.model.yaml", b)  # an edit of `a`
    assert sb.entries == outline(b).entries
    cache.get("file:///b.model.yaml", a)
    cache.get("file:///c.model.yaml", a)
    assert cache.peek("file:///a.model.yaml", b) is None  # the least recently used went
    cache.retain({"file:///c.model.yaml"})
    assert cache.peek("file:///b.model.yaml", a) is None
    assert cache.peek("file:///c.model.yaml", a) is not None


def test_lookups_equal_their_plain_definitions():
    """The indexed lookups against the plain scans over all entries they replace."""
    rng = random.Random(99)
    for base in texts():
        text = base
        for _ in range(15):
            text = edit(rng, text)
            o = outline(text)
            prefixes = {e.full_path[:k] for e in o.entries for k in range(len(e.full_path) + 1)}
            for path in prefixes:
                n = len(path)
                items: dict[str, None] = {}
                for e in o.entries:
                    fp = e.full_path
                    if len(fp) > n and fp[:n] == path and fp[n].isdigit():
                        items.setdefault(fp[n], None)
                assert o.items_at(path) == list(items), path
                assert o.at(path) == [e for e in o.entries if e.path == path]
                first = next((e for e in o.entries if e.full_path == path), None)
                assert o.entry_of(path) == first
                listed = [e for e in o.entries if e.key is None and e.path[:-1] == path]
                assert o.values_in(path) == listed
                for name in {e.value for e in o.entries}:
                    named = None
                    for idx in list(items):
                        e = o.entry_of((*path, idx, "name"))
                        if e is not None and e.value == name:
                            named = e
                            break
                    assert o.node_named(path, name) == named
            for line in range(text.count("\n") + 1):
                assert o.on_line(line) == [e for e in o.entries if e.line == line]
