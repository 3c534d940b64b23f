"""The engine: one entry point that turns a spec's text into diagnostics.

The CLI, the language server and the trainer's pre-flight all call it. Checking runs in two
stages so an editor can show the first at once: `check_structure` (YAML, schema, references,
registry, and the torch catalog when it is already loaded: pure Python, milliseconds) and
`check_probes` (questions for the torch worker: constructing the optimizer, the meta-device
shape check).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arcgraph.engine import arc_forms, codes
from arcgraph.engine.catalog import Catalog
from arcgraph.engine.checks.context import CheckContext, CheckOptions
from arcgraph.engine.checks.model import check_model
from arcgraph.engine.checks.scheduler import scheduler_probe_request, span_for_scheduler_problem
from arcgraph.engine.checks.trainer import (
    check_trainer,
    optimizer_probe_request,
    span_for_probe_param,
    unknown_key_hook,
)
from arcgraph.engine.diagnostics import Diagnostic, Related, Severity, Span
from arcgraph.engine.files import NotRegularFile, read_regular
from arcgraph.engine.kinds import (
    MODEL_SUFFIXES,
    TRAINER_SUFFIXES,
    YAML_SUFFIXES,
    SpecForm,
    SpecKind,
    detect_form,
    detect_kind,
    kind_from_name,
    model_id_of,
)
from arcgraph.engine.registry import DEFAULT_EXCLUDE, Registry, workspace_root_for
from arcgraph.engine.schema import open_top_level, validate
from arcgraph.engine.source import (
    ParsedYaml,
    YMap,
    YScalar,
    decode,
    normalize_newlines,
    parse_yaml,
    to_python,
)
from arcgraph.engine.spec_version import not_in_version
from arcgraph.engine.summary import ShapeResults
from arcgraph.engine.torch_service import ProbeResult, TorchService
from arcgraph.engine.wellformed import probe_spec

__all__ = [
    "Analysis",
    "Cancelled",
    "Engine",
    "TorchService",
    "check_files",
    "collect_spec_files",
]


class Cancelled(Exception):
    """A check given up between its phases because its result would be stale (the editor's
    text changed meanwhile): a burst of edits then costs about one check after the last."""


@dataclass
class Analysis:
    """A parsed document and what kind of spec it is."""

    path: Path
    text: str
    kind: SpecKind
    parsed: ParsedYaml
    file_problem: Diagnostic | None = None
    structure: list[Diagnostic] = field(default_factory=list)
    form: SpecForm = SpecForm.PLAIN

    @property
    def root(self) -> YMap | None:
        return self.parsed.root if isinstance(self.parsed.root, YMap) else None

    @property
    def spec_root(self) -> YMap | None:
        """What the checks and probes read: the root, or a unified file's model part."""
        root = self.root
        if root is None or self.form is not SpecForm.UNIFIED:
            return root
        return arc_forms.model_part(root)


def _digest(text: str) -> bytes:
    """A digest of a text, for cache keys (as the server keys its own caches)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _first_line_span(text: str) -> Span:
    first = text.split("\n", 1)[0]
    return Span(0, 0, 0, max(len(first), 1))


class Engine:
    def __init__(
        self,
        registry: Registry | None = None,
        torch: TorchService | None = None,
        options: CheckOptions | None = None,
        catalog: Catalog | None = None,
    ) -> None:
        self.registry = registry
        self.torch = torch
        self.options = options or CheckOptions()
        self._catalog = catalog
        # The model every trainer's optimizer is probed with, instead of its model_ref's
        # (`arcgraph train --model`).
        self.trainers_model: Path | None = None
        # (model path, a digest of its text, catalog) -> (its analysis, its spec) or None (has
        # errors); the key holds a digest, not the text
        self._probe_models: dict[
            tuple[str, bytes, int], tuple[Analysis, dict[str, Any]] | None
        ] = {}
        self.shapes = ShapeResults()  # each model file's last shape probe (engine/summary.py)

    # -- the catalog -----------------------------------------------------------------------
    def catalog(self) -> Catalog | None:
        """The torch catalog, loading (or building, through the worker) on first use."""
        if self._catalog is None and self.torch is not None:
            self._catalog = self.torch.catalog()
        return self._catalog

    def set_catalog(self, catalog: Catalog | None) -> None:
        self._catalog = catalog

    def torch_off_reason(self) -> str | None:
        if self.torch is None:
            return "no torch worker is configured"
        if self._catalog is None:
            return self.torch.unavailable_reason
        return None

    # -- stage 0: parse ----------------------------------------------------------------------
    def analyze(self, path: str | Path, text: str | bytes) -> Analysis:
        path = Path(path)
        if isinstance(text, bytes):
            decoded, problem = decode(text, path.name)
            if decoded is None:
                return Analysis(path, "", kind_from_name(path), ParsedYaml(None, []), problem)
            text = decoded
        text = normalize_newlines(text)
        parsed = parse_yaml(text)
        kind = detect_kind(path, parsed.root, text)
        return Analysis(path, text, kind, parsed, form=detect_form(kind, parsed.root))

    # -- stage 1: structure (no worker round trips) ----------------------------------------
    def check_structure(
        self,
        a: Analysis,
        catalog: Catalog | None = None,
        *,
        stale: Callable[[], bool] | None = None,
    ) -> list[Diagnostic]:
        """Stage 1. `stale`, asked between the phases (schema, model or trainer checks),
        gives the check up with `Cancelled` when it answers True."""
        out = self._structure(a, catalog if catalog is not None else self._catalog, stale)
        out = [d if d.path else _with_path(d, a.path) for d in out]
        a.structure = out
        return out

    def _structure(
        self, a: Analysis, catalog: Catalog | None, stale: Callable[[], bool] | None
    ) -> list[Diagnostic]:
        if a.file_problem is not None:
            return (
                [a.file_problem]
                if a.path.suffix.lower() in YAML_SUFFIXES or a.kind != SpecKind.NONE
                else []
            )
        if a.kind == SpecKind.NONE:
            return arc_forms.form_diagnostics(a.path, a.root, a.form)
        out = list(a.parsed.diagnostics)
        root = a.parsed.root
        if root is None:
            if a.parsed.empty:
                out.append(
                    Diagnostic(
                        codes.YAML_EMPTY,
                        f"this {a.kind.value} spec is empty; start with the required sections "
                        + (
                            "(inputs, graph, outputs, loss)"
                            if a.kind == SpecKind.MODEL
                            else "(model_ref, optimizer, config)"
                        ),
                        Span(0, 0, 0, 0),
                        data={"fix": "scaffold", "kind": a.kind.value},
                    )
                )
            return out
        if not isinstance(root, YMap):
            out.append(
                Diagnostic(
                    codes.YAML_NOT_MAPPING,
                    f"a {a.kind.value} spec is a mapping of sections (key: value), not "
                    + ("a list" if not hasattr(root, "value") else "a single value"),
                    root.span,
                )
            )
            return out
        if stale is not None and stale():
            raise Cancelled
        out += arc_forms.form_diagnostics(a.path, root, a.form)
        if a.form is SpecForm.WRAPPER:
            return out  # no loader reads it: said once, nothing of it checked
        root = a.spec_root or root
        schema_out: list[Diagnostic] = []
        ctx = CheckContext(a.path, a.text, root, catalog, self.registry, self.options, [])
        if a.kind == SpecKind.TRAINER:
            own = {("model_ref",)}
            if catalog is not None:  # the installed torch is the authority on optimizers
                own |= {("optimizer", "type"), ("optimizer", "params")}
                own |= {("scheduler", "type"), ("scheduler", "params")}
            schema_out = validate(root, "trainer", unknown_key_hook, frozenset(own))
            if stale is not None and stale():
                raise Cancelled
            check_trainer(ctx)
            ctx.out += not_in_version(root, self.options.spec)
        else:
            # Node types get the engine's words (did-you-mean, refused names), not a regex.
            owned = {("graph", "*", "type"), ("modules", "*", "graph", "*", "type")}
            if catalog is not None:  # the installed torch knows its dtypes
                owned.add(("inputs", "*", "dtype"))
            schema_out = validate(root, "model", None, frozenset(owned))
            schema_out += open_top_level(root, "model")
            if stale is not None and stale():
                raise Cancelled
            check_model(ctx)
        # One diagnostic per place: where a semantic check speaks, its words replace the schema's.
        spoken = {d.span for d in ctx.out}
        out += [
            d
            for d in schema_out
            if (d.span not in spoken or d.severity != Severity.ERROR)
            and not _settled(d, ctx.settled)
        ]
        out += ctx.out
        return out

    # -- stage 2: probes (the torch worker) -----------------------------------------------
    def check_probes(self, a: Analysis) -> list[Diagnostic]:
        """Ask torch itself; skipped where structure errors would only make torch repeat them."""
        root = a.spec_root
        if root is None or self.torch is None or not self.options.probes or a.kind == SpecKind.NONE:
            return []
        if self.torch_off_reason() is not None:  # said once by torch_info, not per probe
            return []
        structure = a.structure
        out: list[Diagnostic] = []
        if a.kind == SpecKind.TRAINER:
            opt_node = root.get("optimizer")
            req = optimizer_probe_request(root)
            if req is None or opt_node is None or _has_error_in(structure, opt_node.span):
                return []
            model = self.probe_model(a)
            extra: dict[str, Any] = {"model": model[1]} if model is not None else {}
            sched_node, sched = root.get("scheduler"), scheduler_probe_request(root)
            if sched is not None and sched_node and not _has_error_in(structure, sched_node.span):
                extra["scheduler"] = sched  # spec v1.1: built on this optimizer
            res = self.torch.probe_optimizer(req["type"], req["lr"], req["params"], **extra)
            problem = res.data.get("scheduler_problem") if res.ok is not None else None
            if isinstance(problem, dict):
                out.append(_scheduler_rejected(a, root, req["type"], problem))
            if res.ok is False and model is not None and getattr(res, "data", {}).get("stage"):
                out.append(_unfit_optimizer(a, root, req["type"], model[0], res))
            elif res.ok is False:
                param = getattr(res, "param", None)
                out.append(
                    Diagnostic(
                        codes.OPTIMIZER_REJECTED,
                        f"{req['type']} rejects these values: {res.message}",
                        span_for_probe_param(root, param),
                        path=str(a.path),
                    )
                )
            elif res.ok is None:
                out.append(_worker_failed(a, res.message))
        elif a.kind == SpecKind.MODEL and self.options.shape_check:
            spec = probe_spec(root, structure)  # the well-formed part, despite other errors
            if spec is None:
                return []
            res = self.torch.probe_shapes(spec, summary=self.options.shape_summary)
            self.shapes.put(a.path, res)
            if res.ok is False:
                out.append(
                    Diagnostic(
                        codes.SHAPE_ERROR,
                        _shape_message(res),
                        _probe_span(root, res),
                        path=str(a.path),
                    )
                )
            elif res.ok is None:
                out.append(_worker_failed(a, res.message))
        return out

    def probe_model(self, a: Analysis) -> tuple[Analysis, dict[str, Any]] | None:
        """The model a trainer's optimizer probe is given: its model_ref's one file, when that
        spec has no errors of its own (else its own diagnostics speak, not the optimizer's)."""
        source = self._probe_model_source(a)
        if source is None:
            return None
        key = (str(source[0]), _digest(source[1]), id(self._catalog))
        if key in self._probe_models:
            return self._probe_models[key]
        m = self.analyze(*source)
        found: tuple[Analysis, dict[str, Any]] | None = None
        if (
            m.kind == SpecKind.MODEL
            and m.root is not None
            and not any(d.severity == Severity.ERROR for d in self.check_structure(m))
        ):
            found = (m, to_python(m.spec_root))
        self._probe_models = {key: found}  # one kept: the next trainer usually shares it
        return found

    def _probe_model_source(self, a: Analysis) -> tuple[Path, str] | None:
        """The path and text of the model a trainer is probed with (see `trainers_model`)."""
        root = a.root
        if self.registry is None or root is None or a.kind != SpecKind.TRAINER:
            return None
        ref = root.get("model_ref")
        if self.trainers_model is not None:
            paths = [self.trainers_model]
        elif isinstance(ref, YScalar) and isinstance(ref.value, str):
            paths = self.registry.paths_of(ref.value)
        else:
            return None
        text = self.registry.text_of(paths[0]) if len(paths) == 1 else None
        return None if text is None else (paths[0], text)

    def probe_key(self, a: Analysis) -> str:
        """What a trainer's probes depend on besides its own text: its model's file and text
        (read, not checked: cheap enough for the editor's event loop)."""
        source = self._probe_model_source(a)
        return "" if source is None else f"{source[0]}\n{source[1]}"

    def torch_info(self, a: Analysis) -> list[Diagnostic]:
        """The one info saying torch checks are off, and why."""
        if a.kind == SpecKind.NONE or a.root is None:
            return []
        reason = self.torch_off_reason()
        if reason is None:
            return []
        return [
            Diagnostic(
                codes.TORCH_UNAVAILABLE,
                f"torch checks are off: {reason}; structure checks still run",
                _first_line_span(a.text),
                Severity.INFO,
                str(a.path),
            )
        ]

    # -- everything ------------------------------------------------------------------------
    def check(self, path: str | Path, text: str | bytes) -> list[Diagnostic]:
        a = self.analyze(path, text)
        if a.kind != SpecKind.NONE and self.torch is not None and self._catalog is None:
            self.catalog()
        out = self.check_structure(a)
        out += self.torch_info(a)
        out += self.check_probes(a)
        return sorted(out, key=Diagnostic.sort_key)


def _settled(d: Diagnostic, settled: set[tuple[str, ...]]) -> bool:
    """A schema's missing-key diagnostic for a key a check has spoken about already."""
    if not settled or d.code != codes.MISSING_KEY or not d.data:
        return False
    return (*d.data.get("path", ()), d.data.get("key")) in settled


def _with_path(d: Diagnostic, path: Path) -> Diagnostic:
    return Diagnostic(d.code, d.message, d.span, d.severity, str(path), d.related, d.data)


def _has_error_in(diags: Iterable[Diagnostic], span: Span) -> bool:
    for d in diags:
        if d.severity == Severity.ERROR and (span.start_line, span.start_col) <= (
            d.span.start_line,
            d.span.start_col,
        ) <= (span.end_line, span.end_col):
            return True
    return False


def _worker_failed(a: Analysis, message: str) -> Diagnostic:
    return Diagnostic(
        codes.TORCH_WORKER_FAILED,
        f"torch check skipped: {message}",
        _first_line_span(a.text),
        Severity.WARNING,
        str(a.path),
    )


def _scheduler_rejected(a: Analysis, root: YMap, opt: str, problem: dict[str, Any]) -> Diagnostic:
    """torch's scheduler constructor refused the values on an optimizer of the spec's type."""
    where = str(problem.get("where") or "scheduler")
    return Diagnostic(
        codes.SCHEDULER_REJECTED,
        f"{where} does not build on {opt}: {problem.get('message', '')}",
        span_for_scheduler_problem(root, where, problem.get("param")),
        path=str(a.path),
    )


def _unfit_optimizer(a: Analysis, root: YMap, type_: str, model: Analysis, res: Any) -> Diagnostic:
    """The optimizer cannot train a node of the trainer's model (torch said so, on `meta`)."""
    data = getattr(res, "data", None) or {}
    node = res.node
    what = f"node '{node}'" if node else "the parameters"
    if node and data.get("node_type"):
        what += f" ({data['node_type']})"
    model_id = model_id_of(model.path)
    param = data.get("parameter")
    detail = ""
    if param and data.get("stage") == "step" and data.get("gradient"):
        detail = f" ({param} has a {data['gradient']} gradient)"
    elif param:
        detail = f" ({param})"
    fix = data.get("fix") or "torch.optim.AdamW"
    opt = root.get("optimizer")
    span = (opt.get("type") if isinstance(opt, YMap) else None) or opt or root
    model_span = _node_span(model.root, node) if model.root is not None else Span(0, 0, 0, 0)
    return Diagnostic(
        codes.OPTIMIZER_CANNOT_TRAIN,
        f"{type_} cannot train {what} of model '{model_id}': {res.message}{detail}; the trainer"
        f" gives the optimizer every parameter of the model, so use {fix} instead",
        span.span,
        path=str(a.path),
        related=(Related(str(model.path), model_span, f"{what} of model '{model_id}'"),),
        data={"fix": "replace_value", "with": fix},
    )


def _shape_message(res: ProbeResult) -> str:
    if res.data.get("stage") == "loss":  # names the loss, the output and the column itself
        return res.message
    output = res.data.get("output")
    where = f"output '{output}': " if output else f"node '{res.node}': " if res.node else ""
    return f"shape check failed at {where}{res.message}"


def _probe_span(root: YMap, res: ProbeResult) -> Span:
    """The loss's key for the loss stage, a graph output's reference for an element it names
    that does not exist, else the failing node's name."""
    if res.data.get("stage") == "loss":
        key = root.key_node("loss")
        if key is not None:
            return key.span
    outputs, output = root.get("outputs"), res.data.get("output")
    if output and isinstance(outputs, YMap):
        ref = outputs.get(output)
        if ref is not None:
            return ref.span
    return _node_span(root, res.node)


def _node_span(root: YMap, node: str | None) -> Span:
    """Where the shape error points: the node's name, searched in the graph and modules."""
    graphs = [root.get("graph")]
    modules = root.get("modules")
    if isinstance(modules, YMap):
        graphs += [m.get("graph") for _, _, m in modules.items() if isinstance(m, YMap)]
    for graph in graphs:
        for item in getattr(graph, "items", []):
            if isinstance(item, YMap):
                name = item.get("name")
                if name is not None and getattr(name, "value", None) == node:
                    return name.span
    key = root.key_node("graph")
    return key.span if key is not None else Span(0, 0, 0, 0)


_SPEC_SUFFIXES = MODEL_SUFFIXES + TRAINER_SUFFIXES


def _skipped_folder(name: str) -> bool:
    """Excluded, hidden, or named like a spec (a spec-named folder is reported, not walked)."""
    return name in DEFAULT_EXCLUDE or name.startswith(".") or name.lower().endswith(_SPEC_SUFFIXES)


def collect_spec_files(paths: Sequence[Path]) -> list[Path]:
    """Files named on the command line, and the YAML files under folders (recursive).

    A FIFO, socket or device named `*.yaml`, and a folder named like a spec (never walked),
    are listed too: `check_files` says why it skips them instead of passing over them in
    silence. Listing a list again gives the same list."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir() and not p.name.lower().endswith(_SPEC_SUFFIXES):
            for f in sorted(p.rglob("*")):
                rel = f.relative_to(p).parts
                if any(_skipped_folder(part) for part in rel[:-1]):
                    continue
                if f.is_dir():
                    if f.name.lower().endswith(_SPEC_SUFFIXES):
                        out.append(f)
                elif f.suffix.lower() in YAML_SUFFIXES:
                    out.append(f)
        else:
            out.append(p)
    return out


def check_files(
    paths: Sequence[Path | str],
    roots: Sequence[Path | str] | None = None,
    *,
    torch: TorchService | None = None,
    options: CheckOptions | None = None,
    engine: Engine | None = None,
    catalog: Catalog | None = None,
) -> list[Diagnostic]:
    """Check files and folders; the registry spans `roots` (default: each path's workspace).

    Hints (editor-only nudges, like a module input bound under another name) are left out.
    """
    files = collect_spec_files([Path(p) for p in paths])
    if engine is None:
        if roots is None:
            roots = sorted({workspace_root_for(Path(p)) for p in paths})
        engine = Engine(Registry.scan([Path(r) for r in roots]), torch, options, catalog)
    out: list[Diagnostic] = []
    for f in files:
        try:
            data = read_regular(f) or b""  # no size cap: None never comes back
        except NotRegularFile as err:
            out.append(
                Diagnostic(
                    codes.NOT_REGULAR_FILE, err.reason, Span(0, 0, 0, 0), Severity.WARNING, str(f)
                )
            )
            continue
        except OSError as err:
            out.append(
                Diagnostic(
                    codes.YAML_NOT_TEXT,
                    f"cannot read the file: {err.strerror}",
                    Span(0, 0, 0, 0),
                    path=str(f),
                )
            )
            continue
        out.extend(d for d in engine.check(f, data) if d.severity != Severity.HINT)
    return sorted(out, key=Diagnostic.sort_key)
