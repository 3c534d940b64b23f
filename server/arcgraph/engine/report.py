"""Diagnostics as text and JSON for the command line (and for CI logs)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from arcgraph.engine.diagnostics import Diagnostic, Severity


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


def format_json(diags: Sequence[Diagnostic]) -> str:
    return json.dumps([to_json_obj(d) for d in diags], indent=2)
