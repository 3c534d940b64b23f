"""Before any data is read: find the model spec and run the engine's checks on both specs.

A spec with errors is refused with the engine's located diagnostics (the same text
`arcgraph check` prints); warnings do not block training.
"""

from __future__ import annotations

from pathlib import Path

from arcgraph.engine.catalog import Catalog
from arcgraph.engine.checks.context import CheckOptions
from arcgraph.engine.diagnostics import Diagnostic, Severity
from arcgraph.engine.overrides import Applied
from arcgraph.engine.torch_service import TorchService
from arcgraph.training.errors import SpecError

# The optimizer probe runs; the shape check does not (the trainer builds the real model right
# after, and a forward error names its node).
_PROBES_ONLY = CheckOptions(shape_check=False, probes=True)

# Diagnostics about the trainer's own model_ref; moot when --model names the model.
_MODEL_REF_CODES = {"AG201", "AG202", "AG203"}


class PreflightError(SpecError):
    def __init__(self, diagnostics: list[Diagnostic], text: str) -> None:
        self.diagnostics = diagnostics
        super().__init__(text)


def workspace_root(trainer_path: Path) -> Path:
    from arcgraph.engine.registry import workspace_root_for

    return workspace_root_for(trainer_path)


def resolve_model(trainer_path: Path, model_ref: str | None, override: str | Path | None) -> Path:
    """--model (a path, or an ID looked up in the registry) or else the trainer's model_ref."""
    if override is not None and Path(override).is_file():
        return Path(override)
    model_id = str(override) if override is not None else model_ref
    if not model_id:
        raise SpecError("the trainer has no model_ref and no --model was given")
    from arcgraph.engine.registry import Registry

    root = workspace_root(trainer_path)
    path = Registry.scan([root]).path_of(model_id)
    if path is None:
        raise SpecError(f"model '{model_id}' is not in the workspace registry under {root}")
    return Path(path)


def _catalog() -> Catalog | None:
    """The torch catalog (from the disk cache after the first time), so unknown names and
    params are refused with their file and line."""
    from arcgraph.worker.client import TorchWorker

    worker = TorchWorker()
    try:
        return worker.catalog()
    finally:
        worker.close()


def _probes() -> TorchService:
    """The engine's optimizer probe, in this process (torch is loaded here anyway): `check`
    and `train` refuse an optimizer that cannot train the model (AG216) alike."""
    from arcgraph.worker.inprocess import InProcessTorch

    return InProcessTorch(_catalog())


def check_specs(
    trainer_path: Path,
    model_path: Path,
    *,
    model_overridden: bool,
    applied: Applied | None = None,
) -> list[Diagnostic]:
    """Run the engine; raise PreflightError listing the errors, return the other diagnostics.

    With `--set` overrides (`applied`), the effective trainer text is what is checked, and
    what is said of it is put back on the file's lines, naming the override it is about."""
    from arcgraph.engine.core import Engine, check_files
    from arcgraph.engine.registry import Registry
    from arcgraph.engine.report import format_text

    root = workspace_root(trainer_path)
    engine = Engine(Registry.scan([root]), _probes(), _PROBES_ONLY)
    engine.trainers_model = model_path.resolve()  # the model trained, also with --model
    if applied is None:
        diags = check_files([trainer_path, model_path], engine=engine)
    else:
        own = str(trainer_path)
        diags = check_files([model_path], engine=engine) + [
            applied.locate(d) if d.path == own else d
            for d in engine.check(trainer_path, applied.text)
            if d.severity != Severity.HINT
        ]
        diags.sort(key=Diagnostic.sort_key)
    if model_overridden:
        trainer = str(trainer_path.resolve())
        diags = [
            d
            for d in diags
            if not (
                d.code in _MODEL_REF_CODES and d.path and str(Path(d.path).resolve()) == trainer
            )
        ]
    errors = [d for d in diags if d.severity == Severity.ERROR]
    if errors:
        count = f"{len(errors)} error{'s' if len(errors) != 1 else ''}"
        raise PreflightError(diags, f"the specs have {count}; not training:\n{format_text(errors)}")
    return diags


def config_key_place(trainer_path: Path, text: str, key: str) -> str:
    """`path:line` of the trainer's `config.<key>` in `text` (the trainer with any --set
    applied); the path alone when the key is not there."""
    from arcgraph.engine.source import YMap, parse_yaml

    root = parse_yaml(text).root
    config = root.get("config") if isinstance(root, YMap) else None
    node = config.key_node(key) if isinstance(config, YMap) else None
    return f"{trainer_path}:{node.span.start_line + 1}" if node is not None else str(trainer_path)
