"""Diagnostics as text and JSON for the command line (and for CI logs)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from arcgraph.engine.diagnostics import Diagnostic, Severity
from arcgraph.engine.fixes import Fix, fixes_for
from arcgraph.engine.source import decode, normalize_newlines


def _rel(path: str | None) -> str:
    if not path:
        return "<input>"
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def format_line(d: Diagnostic) -> str:
    """`path:line:col: severity CODE message`, 1-based like compilers and editors."""
    return f"{_rel(d.path)}:{d.span.start_line + 1}:{d.span.start_col + 1}: {d.severity.label} {d.code} {d.message}"


def summary_line(diags: Sequence[Diagnostic], files: int) -> str:
    counts = {s: sum(1 for d in diags if d.severity == s) for s in Severity}
    parts = [
        f"{counts[Severity.ERROR]} error{'s' if counts[Severity.ERROR] != 1 else ''}",
        f"{counts[Severity.WARNING]} warning{'s' if counts[Severity.WARNING] != 1 else ''}",
        f"{counts[Severity.INFO] + counts[Severity.HINT]} info",
    ]
    return f"{', '.join(parts)} in {files} file{'s' if files != 1 else ''} checked"


def format_text(diags: Sequence[Diagnostic]) -> str:
    return "\n".join(format_line(d) for d in diags)


def to_json_obj(d: Diagnostic) -> dict[str, object]:
    return {
        "path": _rel(d.path),
        "line": d.span.start_line + 1,
        "column": d.span.start_col + 1,
        "end_line": d.span.end_line + 1,
        "end_column": d.span.end_col + 1,
        "severity": d.severity.label if d.severity != Severity.HINT else "info",
        "code": d.code,
        "message": d.message,
    }


def fix_json(fix: Fix) -> dict[str, object]:
    """A quick fix as the editor would apply it: edits of the file (1-based like the
    diagnostics, end exclusive) and the files it creates with their text."""
    out: dict[str, object] = {
        "title": fix.title,
        "edits": [
            {
                "line": e.span.start_line + 1,
                "column": e.span.start_col + 1,
                "end_line": e.span.end_line + 1,
                "end_column": e.span.end_col + 1,
                "new_text": e.new_text,
            }
            for e in fix.edits
        ],
    }
    if fix.creates:
        out["create"] = [{"path": _rel(str(f.path)), "text": f.text} for f in fix.creates]
    return out


def format_json(diags: Sequence[Diagnostic]) -> str:
    """The diagnostics as JSON; one that offers quick fixes lists them under `fixes`."""
    texts: dict[str, str | None] = {}
    out = []
    for d in diags:
        obj = to_json_obj(d)
        if d.path and isinstance(d.data, dict) and d.data.get("fix"):
            if d.path not in texts:
                texts[d.path] = _text_of(d.path)
            text = texts[d.path]
            fixes = fixes_for(text, d) if text is not None else []
            if fixes:
                obj["fixes"] = [fix_json(f) for f in fixes]
        out.append(obj)
    return json.dumps(out, indent=2)


def _text_of(path: str) -> str | None:
    """A checked file's text as the engine read it (newlines normalised)."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    text, _ = decode(data, Path(path).name)
    return None if text is None else normalize_newlines(text)
