"""Apply a quick fix's edits to a text the way an editor does (the server only sends them)."""

from __future__ import annotations

from collections.abc import Sequence

from arcgraph.engine.fixes import TextEdit


def apply_edits(text: str, edits: Sequence[TextEdit]) -> str:
    """Apply non-overlapping edits (spans in code-point columns), last first."""
    lines = text.split("\n")
    offsets = [0]
    for ln in lines:
        offsets.append(offsets[-1] + len(ln) + 1)

    def off(line: int, col: int) -> int:
        return len(text) if line >= len(lines) else offsets[line] + col

    out = text
    for e in sorted(edits, key=lambda e: (e.span.start_line, e.span.start_col), reverse=True):
        a, b = off(e.span.start_line, e.span.start_col), off(e.span.end_line, e.span.end_col)
        out = out[:a] + e.new_text + out[b:]
    return out
