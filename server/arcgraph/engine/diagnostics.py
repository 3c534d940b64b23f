"""Located, coded diagnostics: the one currency of the engine, the CLI and the LSP."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, NamedTuple


class Severity(IntEnum):
    """Ordered like LSP's DiagnosticSeverity (1 = error) so the LSP layer maps 1:1."""

    ERROR = 1
    WARNING = 2
    INFO = 3
    HINT = 4

    @property
    def label(self) -> str:
        return {1: "error", 2: "warning", 3: "info", 4: "hint"}[int(self)]


class Span(NamedTuple):
    """A half-open range in a text: 0-based lines, 0-based columns in code points.

    A NamedTuple: tens of thousands are made per parse of a large spec, and tuple
    construction, ordering and hashing run at C speed.
    """

    start_line: int
    start_col: int
    end_line: int
    end_col: int

    def contains(self, line: int, col: int) -> bool:
        return (self.start_line, self.start_col) <= (line, col) <= (self.end_line, self.end_col)


@dataclass(frozen=True, slots=True)
class Related:
    """Another place that matters for a diagnostic (a model file, the first duplicate)."""

    path: str
    span: Span
    message: str


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    message: str
    span: Span
    severity: Severity = Severity.ERROR
    path: str | None = None
    related: tuple[Related, ...] = ()
    # Machine-readable facts for quick fixes, e.g. {"fix": "replace", "with": "momentum"}.
    data: dict[str, Any] | None = field(default=None, compare=False, hash=False)

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path or "", self.span.start_line, self.span.start_col, self.code)
