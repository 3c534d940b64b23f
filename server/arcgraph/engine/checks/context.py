"""What every check needs: the document, the torch catalog (if any) and where to report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arcgraph.engine.catalog import Catalog
from arcgraph.engine.diagnostics import Diagnostic, Related, Severity, Span
from arcgraph.engine.registry import Registry
from arcgraph.engine.schema import did_you_mean
from arcgraph.engine.source import YNode


@dataclass
class CheckOptions:
    shape_check: bool = True
    probes: bool = True
    spec: str = "1.1"  # the trainer spec version checked against ("1.0": v1.1 keys flagged)
    # Per-node shapes and parameter counts from the shape probe (a second meta forward, with
    # other sizes for `null` dims): what the editor's hints and `arcgraph summary` show.
    # `check` only needs the verdict, so it skips that cost.
    shape_summary: bool = False


@dataclass
class CheckContext:
    path: Path
    text: str
    root: YNode
    catalog: Catalog | None  # torch's API as data; None: torch checks are off
    registry: Registry | None
    options: CheckOptions = field(default_factory=CheckOptions)
    out: list[Diagnostic] = field(default_factory=list)
    # Required keys (path..., key) whose absence a check reported in its own words: the
    # schema's "missing required key" for them is dropped.
    settled: set[tuple[str, ...]] = field(default_factory=set)

    def report(
        self,
        code: str,
        message: str,
        span: Span,
        severity: Severity = Severity.ERROR,
        *,
        related: tuple[Related, ...] = (),
        data: dict[str, Any] | None = None,
    ) -> None:
        self.out.append(Diagnostic(code, message, span, severity, str(self.path), related, data))

    def suggest(
        self,
        code: str,
        message: str,
        span: Span,
        guess: str | None,
        *,
        otherwise: str = "",
        fix: str = "replace_value",
        severity: Severity = Severity.ERROR,
    ) -> None:
        """Report `message` with a did-you-mean, and the quick fix that applies it, when there
        is a close `guess`; else with `otherwise` (what the user may write instead)."""
        if guess:
            self.report(
                code,
                f"{message}; did you mean '{guess}'?",
                span,
                severity,
                data={"fix": fix, "with": guess},
            )
        else:
            self.report(code, message + otherwise, span, severity)

    def unknown_name(
        self, code: str, message: str, node: YNode, qual: str, names: Sequence[str], prefix: str
    ) -> None:
        """`qual` is none of `names` (all under `prefix`): report `message` with the name its
        last part most likely meant (`Adam`, `torch.optim.Adamw` -> `torch.optim.Adam`/`AdamW`),
        else with the list of names. One routine for optimizers, schedulers and callbacks."""
        short = {n.removeprefix(prefix): n for n in names}
        tail = qual.rsplit(".", 1)[-1]
        guess = short.get(tail)
        if guess is None:
            hit = did_you_mean(tail, list(short))
            guess = short[hit] if hit else None
        self.suggest(code, message, node.span, guess, otherwise="; use one of " + ", ".join(names))
