"""Which spec a YAML file is, and a model's ID: the workspace conventions of model-spec.md."""

from __future__ import annotations

import re
from enum import Enum
from pathlib import PurePath

from arcgraph.engine.source import YMap, YNode, top_level_keys_of_text

MODEL_SUFFIXES = (".model.yaml", ".model.yml")
TRAINER_SUFFIXES = (".trainer.yaml", ".trainer.yml")
YAML_SUFFIXES = (".yaml", ".yml")

# `<name>-v<version>`, e.g. diabetes-logistic-v1.
MODEL_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*-v[0-9]+$")


class SpecKind(str, Enum):
    MODEL = "model"
    TRAINER = "trainer"
    NONE = "none"


def kind_from_name(path: str | PurePath) -> SpecKind:
    name = PurePath(path).name.lower()
    if name.endswith(MODEL_SUFFIXES):
        return SpecKind.MODEL
    if name.endswith(TRAINER_SUFFIXES):
        return SpecKind.TRAINER
    return SpecKind.NONE


def kind_from_keys(keys: set[str] | list[str]) -> SpecKind:
    keys = set(keys)
    if "graph" in keys:
        return SpecKind.MODEL
    if "model_ref" in keys or "optimizer" in keys:
        return SpecKind.TRAINER
    return SpecKind.NONE


def detect_kind(path: str | PurePath, root: YNode | None, text: str) -> SpecKind:
    """The file name decides first, then the top-level keys (read from the text if it does not parse)."""
    by_name = kind_from_name(path)
    if by_name is not SpecKind.NONE:
        return by_name
    if isinstance(root, YMap):
        return kind_from_keys(root.keys())
    if root is None:
        return kind_from_keys(top_level_keys_of_text(text))
    return SpecKind.NONE


class SpecForm(str, Enum):
    """How a file is laid out: Arc writes two forms besides the plain spec."""

    PLAIN = "plain"
    # A model spec with a `training:` section (Arc's "unified YAML"; its loss in training.loss).
    UNIFIED = "unified"
    # `model:` (a model spec) and `trainer:` at the top (Arc's older wrapper).
    WRAPPER = "wrapper"


def detect_form(kind: SpecKind, root: YNode | None) -> SpecForm:
    """Unified: a model spec whose `training` is a mapping. Wrapper: no top-level `graph`,
    a `model:` mapping that holds `graph` or `inputs` (a Lightning config's `model:` and
    `trainer:` hold neither), whatever the file's name says."""
    if not isinstance(root, YMap) or kind is SpecKind.TRAINER:
        return SpecForm.PLAIN
    if kind is SpecKind.MODEL and isinstance(root.get("training"), YMap):
        return SpecForm.UNIFIED
    model = root.get("model")
    wraps = isinstance(model, YMap) and bool({"graph", "inputs"} & set(model.keys()))
    if wraps and root.get("graph") is None:
        return SpecForm.WRAPPER
    return SpecForm.PLAIN


def model_id_of(path: str | PurePath) -> str:
    """`models/diabetes-logistic-v1.model.yaml` -> `diabetes-logistic-v1`."""
    name = PurePath(path).name
    low = name.lower()
    for suffix in (*MODEL_SUFFIXES, *YAML_SUFFIXES):
        if low.endswith(suffix):
            return name[: -len(suffix)]
    return name


def is_valid_model_id(model_id: str) -> bool:
    return bool(MODEL_ID_RE.match(model_id))
