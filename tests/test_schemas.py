"""The JSON Schemas in `schemas/` and the example workspace in `examples/`.

Every example validates against its schema (jsonschema, draft-07), every property of both
schemas is documented for editor hovers, and a few broken specs fail at the expected place.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"
EXAMPLES = ROOT / "examples"
TRAINER_SPEC = Path("/work/shared/spec/trainer-spec.md")

MODEL_FILES = sorted((EXAMPLES / "models").glob("*.model.yaml"))
TRAINER_FILES = sorted((EXAMPLES / "trainers").glob("*.trainer.yaml"))

# The four complete examples of trainer-spec.md section 4, in order.
SPEC_TRAINERS = [
    "simple-binary.trainer.yaml",
    "sgd-momentum.trainer.yaml",
    "adamw-accumulation.trainer.yaml",
    "minimal-fast.trainer.yaml",
]


def load_schema(kind: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{kind}.schema.json").read_text(encoding="utf-8"))


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def model_id(path: Path) -> str:
    return path.name.removesuffix(".model.yaml")


def errors(kind: str, instance: Any) -> list[tuple[list[Any], str]]:
    validator = Draft7Validator(load_schema(kind))
    return [(list(e.absolute_path), e.validator) for e in validator.iter_errors(instance)]


@pytest.fixture
def trainer() -> dict[str, Any]:
    return load_yaml(EXAMPLES / "trainers" / "simple-binary.trainer.yaml")


@pytest.fixture
def model() -> dict[str, Any]:
    return load_yaml(EXAMPLES / "models" / "arc-transformer-classifier-v1.model.yaml")


# --- the schemas themselves -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["trainer", "model"])
def test_schema_is_valid_draft7(kind: str) -> None:
    schema = load_schema(kind)
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    Draft7Validator.check_schema(schema)
    assert schema["title"]


def _property_schemas(node: Any, path: str = "#") -> list[tuple[str, dict[str, Any]]]:
    """Every schema that describes a property (named or pattern) or a definition, any depth."""
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        for key in ("properties", "patternProperties", "definitions"):
            for name, sub in node.get(key, {}).items():
                found.append((f"{path}/{key}/{name}", sub))
        for key, value in node.items():
            found.extend(_property_schemas(value, f"{path}/{key}"))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.extend(_property_schemas(value, f"{path}/{i}"))
    return found


@pytest.mark.parametrize("kind", ["trainer", "model"])
def test_every_property_is_documented(kind: str) -> None:
    schema = load_schema(kind)
    props = _property_schemas(schema)
    assert len(props) > 10
    missing = [
        path
        for path, sub in props
        if not (
            isinstance(sub.get("description"), str)
            and sub["description"].strip()
            and isinstance(sub.get("markdownDescription"), str)
            and sub["markdownDescription"].strip()
        )
    ]
    assert missing == []
    for key in ("description", "markdownDescription"):
        assert schema[key].strip()


def test_trainer_config_defaults_follow_the_spec() -> None:
    config = load_schema("trainer")["properties"]["config"]["properties"]
    defaults = {k: v["default"] for k, v in config.items() if "default" in v}
    assert defaults == {
        "early_stopping_min_delta": 0.001,
        "early_stopping_monitor": "val_loss",
        "early_stopping_mode": "min",
        "device": "auto",
        "num_workers": 0,
        "pin_memory": False,
        "log_every": 10,
        "verbose": True,
        # spec v1.1 (issue 12): off unless asked for; torch's native AMP is the only backend
        "mixed_precision": False,
        "amp_backend": "native",
        # spec v1.1 (issue 13): one process unless asked for
        "distributed": False,
    }


def test_node_type_pattern() -> None:
    pattern = re.compile(
        load_schema("model")["definitions"]["node"]["properties"]["type"]["pattern"]
    )
    good = [
        "torch.add",
        "torch.cat",
        "torch.mean",
        "torch.nn.Linear",
        "torch.nn.functional.relu",
        "arc.stack",
        "module.FeedForward",
    ]
    bad = ["torch..add", "torch.nn..Linear", "torch.", "torch", "arc.stacks", "numpy.add"]
    assert [t for t in good if not pattern.search(t)] == []
    assert [t for t in bad if pattern.search(t)] == []


def test_model_ref_pattern() -> None:
    pattern = re.compile(load_schema("trainer")["properties"]["model_ref"]["pattern"])
    for ok in ["diabetes-logistic-v1", "deep-mlp-v2", "transformer-large-v1", "a.b_c-v10"]:
        assert pattern.search(ok), ok
    for bad in ["diabetes-logistic", "deep-mlp-v", "-v1", "x-v1.0", "models/x-v1"]:
        assert not pattern.search(bad), bad


# --- the examples validate --------------------------------------------------------------


@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: p.name)
def test_model_example_validates(path: Path) -> None:
    assert errors("model", load_yaml(path)) == []


@pytest.mark.parametrize("path", TRAINER_FILES, ids=lambda p: p.name)
def test_trainer_example_validates(path: Path) -> None:
    assert errors("trainer", load_yaml(path)) == []


def test_examples_are_all_there() -> None:
    ids = {model_id(p) for p in MODEL_FILES}
    assert {
        "diabetes-logistic-v1",
        "deep-mlp-v2",
        "transformer-large-v1",
        "prototype-model-v1",
        "arc-logistic-regression-v1",
        "arc-mlp-classifier-v1",
        "arc-generative-recommender-v1",
        "arc-transformer-classifier-v1",
        "breast-cancer-mlp-v1",
        "iris-classifier-v1",
        "diabetes-regressor-v1",
    } <= ids
    names = {p.name for p in TRAINER_FILES}
    assert (
        set(SPEC_TRAINERS)
        | {
            "breast-cancer.trainer.yaml",
            "iris.trainer.yaml",
            "diabetes.trainer.yaml",
        }
        <= names
    )


@pytest.mark.parametrize("path", TRAINER_FILES, ids=lambda p: p.name)
def test_trainer_model_ref_resolves_to_a_model_with_a_loss(path: Path) -> None:
    ref = load_yaml(path)["model_ref"]
    model_path = EXAMPLES / "models" / f"{ref}.model.yaml"
    assert model_path.is_file(), ref
    assert "loss" in load_yaml(model_path)


@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: p.name)
def test_model_example_is_consistent(path: Path) -> None:
    spec = load_yaml(path)
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*-v[0-9]+", model_id(path))
    assert spec["loss"]["inputs"]["input"] in spec["outputs"]
    feature_columns = {c for i in spec["inputs"].values() for c in i["columns"]}
    assert spec["loss"]["inputs"]["target"] not in feature_columns
    for name, tensor in spec["inputs"].items():
        shape, columns = tensor["shape"], tensor["columns"]
        if len(shape) == 2 and tensor["dtype"].startswith("float"):
            # a feature matrix: one column per feature
            assert shape[1] == len(columns), name
        else:
            # one value per row, or one list-valued (sequence) column
            assert len(columns) == 1, name


@pytest.mark.skipif(not TRAINER_SPEC.is_file(), reason="trainer-spec.md not available")
def test_spec_trainer_examples_are_verbatim() -> None:
    text = TRAINER_SPEC.read_text(encoding="utf-8")
    section = text[text.index("## **4. Complete Examples**") : text.index("## **5.")]
    blocks = re.findall(r"```yaml\n(.*?)```", section, re.S)
    assert len(blocks) == len(SPEC_TRAINERS)
    for name, block in zip(SPEC_TRAINERS, blocks, strict=True):
        assert (EXAMPLES / "trainers" / name).read_text(encoding="utf-8") == block, name


# --- broken specs fail where expected ---------------------------------------------------


def test_trainer_epochs_zero(trainer: dict[str, Any]) -> None:
    trainer["config"]["epochs"] = 0
    assert errors("trainer", trainer) == [(["config", "epochs"], "minimum")]


def test_trainer_device_gpu(trainer: dict[str, Any]) -> None:
    trainer["config"]["device"] = "gpu"
    assert errors("trainer", trainer) == [(["config", "device"], "enum")]


def test_trainer_unknown_config_key(trainer: dict[str, Any]) -> None:
    trainer["config"]["learning_rate"] = 0.1
    assert errors("trainer", trainer) == [(["config"], "additionalProperties")]


def test_trainer_missing_lr(trainer: dict[str, Any]) -> None:
    del trainer["optimizer"]["lr"]
    assert errors("trainer", trainer) == [(["optimizer"], "required")]


def test_trainer_loss_key_is_not_allowed(trainer: dict[str, Any]) -> None:
    trainer["loss"] = {"type": "torch.nn.functional.mse_loss"}
    assert errors("trainer", trainer) == [([], "additionalProperties")]


@pytest.mark.parametrize(
    ("key", "value", "validator"),
    [
        ("validation_split", 1.0, "exclusiveMaximum"),
        ("validation_split", -0.1, "minimum"),
        ("early_stopping_patience", 0, "minimum"),
        ("early_stopping_mode", "down", "enum"),
        ("gradient_clip_norm", 0, "exclusiveMinimum"),
        ("accumulate_grad_batches", 0, "minimum"),
        ("num_workers", -1, "minimum"),
        ("batch_size", 32.5, "type"),
        ("shuffle", "yes", "type"),
    ],
)
def test_trainer_config_ranges(
    trainer: dict[str, Any], key: str, value: Any, validator: str
) -> None:
    trainer["config"][key] = value
    assert errors("trainer", trainer) == [(["config", key], validator)]


def test_trainer_patience_may_be_null(trainer: dict[str, Any]) -> None:
    trainer["config"]["early_stopping_patience"] = None
    assert errors("trainer", trainer) == []


def test_trainer_optimizer_params_are_open(trainer: dict[str, Any]) -> None:
    trainer["optimizer"]["params"] = {"amsgrad": True, "foreach": False}
    assert errors("trainer", trainer) == []


def test_trainer_lr_must_be_positive(trainer: dict[str, Any]) -> None:
    trainer["optimizer"]["lr"] = 0
    assert errors("trainer", trainer) == [(["optimizer", "lr"], "exclusiveMinimum")]


def test_model_bad_node_type(model: dict[str, Any]) -> None:
    model["graph"][2]["type"] = "torch..add"
    assert errors("model", model) == [(["graph", 2, "type"], "pattern")]


def test_model_missing_loss(model: dict[str, Any]) -> None:
    del model["loss"]
    assert errors("model", model) == [([], "required")]


def test_model_loss_is_closed(model: dict[str, Any]) -> None:
    model["loss"]["reduction"] = "sum"
    assert errors("model", model) == [(["loss"], "additionalProperties")]


def test_model_loss_needs_target(model: dict[str, Any]) -> None:
    del model["loss"]["inputs"]["target"]
    assert errors("model", model) == [(["loss", "inputs"], "required")]


def test_model_input_needs_columns(model: dict[str, Any]) -> None:
    del model["inputs"]["token_ids"]["columns"]
    assert errors("model", model) == [(["inputs", "token_ids"], "required")]


def test_model_bad_reference(model: dict[str, Any]) -> None:
    model["outputs"]["logits"] = "classifier..output"
    assert errors("model", model) == [(["outputs", "logits"], "pattern")]


def test_model_arc_stack_needs_count(model: dict[str, Any]) -> None:
    broken = copy.deepcopy(model)
    del broken["graph"][1]["params"]["count"]
    assert errors("model", broken) == [(["graph", 1, "params"], "required")]
    broken["graph"][1]["params"]["count"] = 0
    assert errors("model", broken) == [(["graph", 1, "params", "count"], "minimum")]


def test_model_node_inputs_map_or_list(model: dict[str, Any]) -> None:
    model["graph"][2]["inputs"] = "encoder_stack.output"
    assert errors("model", model) == [(["graph", 2, "inputs"], "oneOf")]
