"""The portability flag: trainer spec v1.1 keys are errors (AG265) when checking against 1.0."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from arcgraph.engine.checks.context import CheckOptions
from arcgraph.engine.core import Engine
from arcgraph.engine.diagnostics import Span
from arcgraph.engine.spec_version import V11_KEYS

REPO = Path(__file__).resolve().parents[2]

SPEC = """\
model_ref: m
optimizer:
  type: torch.optim.Adam
  lr: 0.01
scheduler:
  type: torch.optim.lr_scheduler.CosineAnnealingLR
  params: {T_max: 10}
config:
  epochs: 10
  batch_size: 8
  validation_split: 0.2
  shuffle: true
  mixed_precision: bf16
  amp_backend: native
callbacks:
  - type: arc.callbacks.LearningRateMonitor
"""


def _keys(schema: dict[str, Any], path: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    """Every property of the schema by its key path -> its x-since."""
    found: dict[tuple[str, ...], Any] = {}
    for name, sub in schema.get("properties", {}).items():
        found[(*path, name)] = sub.get("x-since")
        found |= _keys(sub, (*path, name))
    return found


def test_the_v11_key_list_is_the_schemas_x_since_keys() -> None:
    keys = _keys(json.loads((REPO / "schemas" / "trainer.schema.json").read_text()))
    marked = {path for path, since in keys.items() if since is not None}
    assert {keys[path] for path in marked} <= {"1.1"}
    # the schema marks exactly the listed keys it has (each lands with its own feature)
    assert marked == {path for path in V11_KEYS if path in keys}
    assert ("scheduler",) in marked or ("scheduler",) not in keys


def _ag265(spec: str) -> list[tuple[str, Span]]:
    engine = Engine(options=CheckOptions(spec=spec, probes=False))
    diags = engine.check(Path("t.trainer.yaml"), SPEC)
    return [(d.message, d.span) for d in diags if d.code == "AG265"]


def test_each_v11_key_is_an_error_at_the_key_under_spec_10() -> None:
    tail = " is not in trainer spec v1.0 (it is a v1.1 key); remove it to stay portable to Arc, "
    tail += "or check against spec 1.1"
    assert _ag265("1.0") == [
        ("'scheduler'" + tail, Span(4, 0, 4, 9)),
        ("'config.mixed_precision'" + tail, Span(12, 2, 12, 17)),
        ("'config.amp_backend'" + tail, Span(13, 2, 13, 13)),
        ("'callbacks'" + tail, Span(14, 0, 14, 9)),
    ]


def test_spec_11_is_the_default_and_says_nothing() -> None:
    assert _ag265("1.1") == []
    assert CheckOptions().spec == "1.1"


def test_check_spec_10_on_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "t.trainer.yaml"
    path.write_text(
        "optimizer: {type: torch.optim.Adam, lr: 0.1}\nconfig:\n  amp_backend: native\n"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "arcgraph.cli",
            *("check", "--no-torch", "--spec", "1.0"),
            str(path),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    found = [d for d in json.loads(proc.stdout) if d["code"] == "AG265"]
    assert [(d["severity"], d["message"].split(" (")[0]) for d in found] == [
        ("error", "'config.amp_backend' is not in trainer spec v1.0")
    ]
    assert proc.returncode == 1
