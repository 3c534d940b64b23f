"""What outline-at-cursor costs a request on the 5,000-line model spec (bench/make_specs.py).

Every completion, hover or definition request asks its document for the outline at the
cursor. This times that call the way the server makes it (a fresh `DocumentView` per
request, over the shared outline cache) in the situations an editor produces:

- full scan: the text read from the top for every request (what the server did before the
  cache; also the cost of the first request on a document)
- first request: a document the cache has not seen
- repeat: another request on the same text
- after an edit: one character typed mid-file, a new line (Enter: the lines after it
  move), a new graph node before the cursor (the positions of all later nodes move)
- "+ lookups": the same, plus the lookups completion makes there (a node's type, the keys
  of its params, the graph's node names), whose index is built once per text

Median and p95 in ms over N runs, and the ratio of the median to the full scan's median,
all measured in this one process (the machine is shared: compare ratios, not runs).
Run: `python bench/bench_outline.py` from the repo root, venv active; BENCH_OUTLINE_N=N.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "server"))

from lsprotocol import types  # noqa: E402
from make_specs import big_model_spec  # noqa: E402

from arcgraph.lsp.document import DocumentView, OutlineCache  # noqa: E402
from arcgraph.lsp.outline import Outline, OutlineState  # noqa: E402

N = int(os.environ.get("BENCH_OUTLINE_N", "40"))
URI = "file:///bench/big.model.yaml"
PATH = Path("/bench/big.model.yaml")
OUTLINES = OutlineCache()  # the server's cache (`server.outlines`), shared by its requests


def request(text: str, pos: types.Position, version: int) -> Outline:
    """What a completion request does first: a view of the open text, the outline at pos."""
    return DocumentView(URI, PATH, text, version, "utf-16", OUTLINES).outline_at(pos)


def lookups(o: Outline) -> None:
    """What completion reads at a node's `params` key: the node's type, the keys present,
    the graph's node names (reference completion)."""
    assert o.cursor is not None
    node = o.cursor.path[:2]
    o.value_of((*node, "type"))
    o.keys_at(o.cursor.path)
    for idx in o.items_at(("graph",)):
        o.value_of(("graph", idx, "name"))


def timed(fn: Callable[[], object], setup: Callable[[], object] = lambda: None) -> list[float]:
    out = []
    for _ in range(N):
        setup()
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def p95(xs: list[float]) -> float:
    s = sorted(xs)
    return s[max(0, -(-95 * len(s) // 100) - 1)]


def main() -> None:
    text = big_model_spec(5000)
    lines = text.split("\n")
    mid = next(i for i in range(len(lines) // 2, len(lines)) if "in_features" in lines[i])
    pos = types.Position(mid, lines[mid].index("in_features") + 5)
    # the same text with one character typed in a value mid-file (the cursor's line above)
    at = sum(len(x) + 1 for x in lines[: mid + 1]) + lines[mid + 1].index("16")
    typed = text[:at] + "3" + text[at:]
    # a new line (Enter at the end of the cursor's line), and a new node before the cursor
    eol = sum(len(x) + 1 for x in lines[:mid]) + len(lines[mid])
    entered = text[:eol] + "\n      " + text[eol:]
    node_at = sum(len(x) + 1 for x in lines[: mid - 3])
    new_node = text[:node_at] + "  - name: extra\n" + text[node_at:]
    node_pos = types.Position(pos.line + 1, pos.character)
    assert lines[mid - 3].startswith("  - name:")

    version = [0]

    def alternate(other: str, p: types.Position) -> Callable[[], Outline]:
        """Each call: a request on the next of (text, other), so each is after an edit."""

        def run() -> Outline:
            version[0] += 1
            if version[0] % 2:
                return request(other, p, version[0])
            return request(text, pos, version[0])

        return run

    def fresh() -> None:
        OUTLINES.clear()

    rows: list[tuple[str, list[float]]] = []
    rows.append(("full scan (every request, before)", timed(lambda: OutlineState.scan(text).at(
        (pos.line, pos.character)))))  # fmt: skip
    rows.append(("first request (nothing cached)", timed(lambda: request(text, pos, 1), fresh)))
    request(text, pos, 1)
    rows.append(("repeat, same text", timed(lambda: request(text, pos, 1))))
    rows.append(("repeat + lookups", timed(lambda: lookups(request(text, pos, 1)))))
    for label, other, p in (
        ("after a one-character edit", typed, pos),
        ("after Enter (a new line)", entered, pos),
        ("after a new graph node", new_node, node_pos),
    ):
        request(text, pos, 0)
        run = alternate(other, p)
        rows.append((label, timed(run)))
        rows.append((f"{label} + lookups", timed(lambda run=run: lookups(run()))))

    # every cached answer must be what a full scan gives
    for t, p in ((text, pos), (typed, pos), (entered, pos), (new_node, node_pos)):
        want = OutlineState.scan(t).at((p.line, p.character))
        got = request(t, p, 99)
        assert got.entries == want.entries and got.cursor == want.cursor, "stale outline"

    base = statistics.median(rows[0][1])
    print(f"outline at the cursor, {len(lines)}-line model spec, {N} runs each")
    print(f"{'':44} {'median ms':>10} {'p95 ms':>8} {'x full scan':>12}")
    for label, xs in rows:
        med = statistics.median(xs)
        print(f"{label:44} {med * 1e3:10.3f} {p95(xs) * 1e3:8.3f} {med / base:12.3f}")


if __name__ == "__main__":
    main()
