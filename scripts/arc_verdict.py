"""Arc's own verdict on each file of tests/arc/corpus/, written to tests/arc/verdicts.json.

Runs Arc 0.1.1's code, never ours: install it in a throwaway venv (Arc wants Python
>= 3.12 but its graph code runs on 3.11), e.g.

    python3 -m venv /tmp/arcvenv && . /tmp/arcvenv/bin/activate
    pip install torch==2.13.0
    pip download --no-deps nl-arc==0.1.1 --python-version 3.12 --only-binary=:all: -d /tmp/w
    pip install --no-deps --ignore-requires-python /tmp/w/nl_arc-0.1.1-py3-none-any.whl
    pip install --only-binary=:all: pyyaml numpy duckdb pandas jinja2 rich click pluggy httpx python-dotenv
    python scripts/arc_verdict.py

What "Arc runs it" means here, stage by stage, each Arc's own function:
  load+validate  arc.graph.model.ModelSpec.from_yaml on the model part; Arc's code wants
                 the loss in `training.loss` (its validator refuses a top-level `loss`,
                 contradicting its docs), so the loss is held aside as Arc's tools do
                 (model_tool / ModelService.parse_model_spec pop `training`).
  build          arc.graph.model.build_model_from_spec (ArcGraphModel: the builder that
                 implements categorical embeddings and `.output.1.0` indices).
  forward        the built model on a batch of 4 (null dims: 4 for the batch, 5 after),
                 floats random, integer inputs zeros, categorical inputs in [0, vocab_size).
  loss           Arc's dry-run loss step (arc.ml.dry_run_validator._validate_loss): the
                 loss from arc.graph.model.components, a class built with
                 arc.ml.param_converter; the output named by loss.inputs.input (Arc falls
                 back to `logits`, then the first output); the target as the trainer
                 builds it from one column: class indices [B] for cross-entropy/NLL, else
                 float shaped like the output's batch ([B] or [B, 1]).
Trainer files: arc.graph.trainer.TrainerSpec.from_yaml. The wrapper form (`model:` /
`trainer:`) has no loader in Arc's code; its verdict is that of the unwrapped model.
Each file also gets the verdict of Arc's training path (arc.ml.builder.ModelBuilder,
ArcModel), which is stricter (no categorical embeddings, no tuple indices).
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import sys
import traceback
from pathlib import Path
from typing import Any

import torch
import yaml
from arc.graph.model import ModelSpec, build_model_from_spec
from arc.graph.model.components import get_component_class_or_function
from arc.graph.trainer.spec import TrainerSpec
from arc.ml.builder import ModelBuilder
from arc.ml.param_converter import convert_params_for_pytorch_module

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "arc" / "corpus"
OUT = ROOT / "tests" / "arc" / "verdicts.json"
BATCH, SEQ = 4, 5
CLASS_INDEX_LOSSES = re.compile(r"((?<!binary_)cross_entropy|CrossEntropyLoss|nll_loss|NLLLoss)$")
FLOAT = {"float32", "float", "float64", "double", "float16", "half", "bfloat16"}


class Refused(Exception):
    """Arc refused the file at one stage."""

    def __init__(self, stage: str, error: BaseException | str) -> None:
        msg = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        super().__init__(msg)
        self.stage, self.message = stage, msg.strip().splitlines()[0][:400]


def stage(name: str, fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception as e:  # Arc's verdict is whatever it raises
        raise Refused(name, e) from e


def header(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("# "):
            break
        key, _, value = line[2:].partition(": ")
        out.setdefault(key, value)
    return out


def dummy_inputs(spec: ModelSpec) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    out = {}
    for name, inp in spec.inputs.items():
        shape = list(inp.shape)
        if not shape or shape[0] is not None:
            shape = [None, *shape]
        dims = [BATCH if i == 0 else SEQ if d is None else d for i, d in enumerate(shape)]
        if any(not isinstance(d, int) for d in dims):
            raise Refused("forward", f"input '{name}' has a shape Arc cannot size: {inp.shape}")
        if inp.categorical:
            high = max(int(inp.vocab_size or 1), 1)
            out[name] = torch.randint(0, high, dims, generator=gen)
        elif str(inp.dtype) in FLOAT:
            out[name] = torch.randn(dims, generator=gen)
        elif str(inp.dtype) == "bool":
            out[name] = torch.zeros(dims, dtype=torch.bool)
        else:
            out[name] = torch.zeros(dims, dtype=torch.long)
    return out


def pick_output(outputs: Any, spec: ModelSpec, wanted: str | None) -> torch.Tensor:
    """Arc's dry-run choice: the named output, else `logits`, else the first."""
    if not isinstance(outputs, dict):
        return outputs
    if wanted in outputs:
        return outputs[wanted]
    return outputs["logits"] if "logits" in outputs else next(iter(outputs.values()))


def run_loss(loss: dict[str, Any], outputs: Any, spec: ModelSpec) -> str | None:
    ltype = loss.get("type")
    fn, kind = get_component_class_or_function(ltype)
    params = loss.get("params") or {}
    wanted = (loss.get("inputs") or {}).get("input")
    out = pick_output(outputs, spec, wanted)
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"loss input is a {type(out).__name__}, not a tensor")
    if CLASS_INDEX_LOSSES.search(ltype):
        target = torch.zeros(out.shape[0], dtype=torch.long)
    else:
        target = torch.zeros(out.shape[:1] if out.dim() == 1 else (out.shape[0], 1))
    if kind == "function":
        value = fn(out, target, **params)
    else:
        value = fn(**convert_params_for_pytorch_module(fn, params))(out, target)
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"loss returned {type(value).__name__}")
    names = list(spec.outputs)
    if wanted not in names:
        return f"loss.inputs.input '{wanted}' is no output of the model; Arc used another ({names})"
    return None


def model_verdict(model: dict[str, Any], loss: dict[str, Any] | None) -> dict[str, Any]:
    text = yaml.safe_dump(model, sort_keys=False)
    spec = stage("load+validate", ModelSpec.from_yaml, text)
    torch.manual_seed(0)
    built = stage("build", build_model_from_spec, spec)
    built.eval()
    inputs = dummy_inputs(spec)
    with torch.no_grad():
        outputs = stage("forward", lambda: built(**inputs))
        note = stage("loss", run_loss, loss, outputs, spec) if loss else None
    result: dict[str, Any] = {"arc": "ok", "arc_stage": "loss" if loss else "forward"}
    if note:
        result["arc_note"] = note
    if not loss:
        result["arc_note"] = "no loss: Arc's ModelSpec takes it as optional"
    return result


def training_path(model: dict[str, Any]) -> str:
    """Arc's training path (ModelBuilder/ArcModel): 'ok' or its first error line."""
    try:
        spec = ModelSpec.from_yaml(yaml.safe_dump(model, sort_keys=False))
        built = ModelBuilder(enable_shape_validation=False).build_model(spec)
        built.eval()
        with torch.no_grad():
            built(dummy_inputs(spec))
        return "ok"
    except Exception as e:  # the verdict is what it raises
        return f"{type(e).__name__}: {str(e).strip().splitlines()[0][:300]}"


def split(data: dict[str, Any], kind: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The model part as Arc's tools validate it, and the loss held aside."""
    if kind == "wrapper":
        model = dict(data["model"])
        trainer = data.get("trainer") if isinstance(data.get("trainer"), dict) else {}
        return model, model.pop("loss", None) or trainer.get("loss")
    model = dict(data)
    training = model.pop("training", None)
    loss = model.pop("loss", None)
    if loss is None and isinstance(training, dict):
        loss = training.get("loss")
    return model, loss


def verdict(path: Path) -> dict[str, Any]:
    head = header(path)
    kind = head["at"].rsplit("kind: ", 1)[1]
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    result: dict[str, Any] = {"kind": kind, "origin": head["origin"]}
    try:
        if kind == "trainer":
            stage("load+validate", TrainerSpec.from_yaml, yaml.safe_dump(data, sort_keys=False))
            result.update(arc="ok", arc_stage="load+validate")
        else:
            if kind == "wrapper":
                try:
                    ModelSpec.from_yaml(yaml.safe_dump(data, sort_keys=False))
                except Exception as e:  # the wrapper as written
                    result["arc_as_written"] = f"{type(e).__name__}: {e}".splitlines()[0]
            model, loss = split(data, kind)
            result["arc_training_path"] = training_path(model)
            result.update(model_verdict(model, loss))
    except Refused as r:
        result.update(arc="refused", arc_stage=r.stage, arc_message=r.message)
    return result


def main() -> None:
    files = sorted(CORPUS.glob("*.yaml"))
    verdicts = {}
    for f in files:
        try:
            verdicts[f.name] = verdict(f)
        except Exception:  # a bug here, not Arc's verdict: stop loudly
            traceback.print_exc()
            sys.exit(f"verdict script failed on {f.name}")
    meta = {
        "arc_version": importlib.metadata.version("nl-arc"),
        "torch": torch.__version__,
        "python": sys.version.split()[0],
    }
    OUT.write_text(
        json.dumps({"_meta": meta, **verdicts}, indent=1, sort_keys=True) + "\n",
        encoding="utf-8",
    )
    ok = sum(v["arc"] == "ok" for v in verdicts.values())
    print(json.dumps({**meta, "files": len(verdicts), "ok": ok, "refused": len(verdicts) - ok}))


if __name__ == "__main__":
    main()
