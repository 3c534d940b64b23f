"""Property: no input makes the engine raise; every diagnostic is located inside the text."""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arcgraph.engine.checks.context import CheckOptions
from arcgraph.engine.core import Engine
from arcgraph.engine.registry import Registry

from .conftest import MODEL, TRAINER

KEYS = [
    "model_ref", "optimizer", "config", "type", "lr", "params", "epochs", "batch_size",
    "validation_split", "shuffle", "device", "inputs", "graph", "outputs", "loss", "name",
    "modules", "dtype", "shape", "columns", "input", "target", "module", "count", "_target_",
    "early_stopping_monitor", "validation_split", "momentum", "betas", "in_features",
]  # fmt: skip
WORDS = [
    "torch.optim.Adam", "torch.nn.Linear", "torch.add", "arc.stack", "module.X", "fc.output",
    "fc.output.0", "features", "tiny-v1", "torch.load", "float32", "val_loss", "cuda", "x",
]  # fmt: skip

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 300), st.floats(allow_nan=True),
    st.sampled_from(WORDS), st.text(max_size=8),
)  # fmt: skip
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=5),
    ),
    max_leaves=25,
)
documents = st.dictionaries(st.sampled_from(KEYS), values, max_size=6)

FAST = settings(
    max_examples=int(os.environ.get("ARCGRAPH_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _engine(workspace: Path, catalog) -> Engine:
    return Engine(Registry.scan([workspace]), None, CheckOptions(probes=False), catalog=catalog)


def _assert_located(diags, text: str) -> None:
    lines = re.split(r"\r\n|\r|\n", text)  # line breaks as YAML and LSP count them
    for d in diags:
        assert 0 <= d.span.start_line <= len(lines), d
        assert (d.span.start_line, d.span.start_col) <= (d.span.end_line, d.span.end_col), d
        assert d.code.startswith("AG") and d.message


@FAST
@given(doc=documents, name=st.sampled_from(["a.trainer.yaml", "a.model.yaml", "a.yaml"]))
def test_random_yaml_structures_never_raise(workspace: Path, catalog, doc, name: str) -> None:
    text = yaml.safe_dump(doc, default_flow_style=None)
    diags = _engine(workspace, catalog).check(workspace / name, text)
    _assert_located(diags, text)


@FAST
@given(data=st.binary(max_size=300))
def test_random_bytes_never_raise(workspace: Path, catalog, data: bytes) -> None:
    _engine(workspace, catalog).check(workspace / "b.trainer.yaml", data)


@FAST
@given(cut=st.integers(0, len(TRAINER) + len(MODEL)), junk=st.text(max_size=6))
def test_half_typed_specs_never_raise(workspace: Path, catalog, cut: int, junk: str) -> None:
    """Every prefix of a real spec, with junk typed at the end: what an editor sees."""
    for base, name in ((TRAINER, "t.trainer.yaml"), (MODEL, "m-v1.model.yaml")):
        text = base[: cut % (len(base) + 1)] + junk
        diags = _engine(workspace, catalog).check(workspace / name, text)
        _assert_located(diags, text)
