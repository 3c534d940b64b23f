"""The shape probe's per-node shapes (`B` for the batch, `?` for other varying sizes) and
parameter counts, which equal those of the module the trainer builds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from arcgraph.builder.build import StackModule, build_model
from arcgraph.worker.probes import probe_shapes

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "models"


def _probe(text: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    spec = yaml.safe_load(text)
    res = probe_shapes(spec)
    assert res["ok"] is True, res
    built = build_model(spec)  # on the CPU, as the trainer builds it
    assert res["total_params"] == sum(p.numel() for p in built.parameters())
    for node in res["nodes"]:
        layer = dict(built.named_children()).get(node["name"])
        want = sum(p.numel() for p in layer.parameters()) if layer is not None else 0
        assert node["params"] == want, node["name"]
    for use in res.get("module_uses", []):  # each module instance: one copy's, as built
        instance = _instance(built, use["path"])
        assert use["params"] == sum(p.numel() for p in instance.parameters()), use["path"]
        for path, fact in res["module_nodes"].items():
            if path.rpartition("/")[0] == use["path"]:
                layer = dict(instance.named_children()).get(fact["name"])
                want = sum(p.numel() for p in layer.parameters()) if layer is not None else 0
                assert fact["params"] == want, path
    return res, {n["name"]: n for n in res["nodes"]}


def _instance(model: torch.nn.Module, path: str) -> torch.nn.Module:
    """The module instance at a use's path (`blocks/ff`; an arc.stack's first copy)."""
    for name in path.split("/"):
        model = dict(model.named_children())[name]
        if isinstance(model, StackModule):
            model = model[0]
    return model


MLP = """
inputs:
  x: {dtype: float32, shape: [null, 4]}
graph:
  - {name: hidden, type: torch.nn.Linear, params: {in_features: 4, out_features: 16}, inputs: {input: x}}
  - {name: act, type: torch.nn.functional.relu, inputs: {input: hidden.output}}
  - {name: head, type: torch.nn.Linear, params: {in_features: 16, out_features: 3}, inputs: {input: act.output}}
outputs:
  logits: head.output
"""


def test_mlp_shapes_and_params() -> None:
    res, nodes = _probe(MLP)
    assert [n["name"] for n in res["nodes"]] == ["hidden", "act", "head"]
    assert nodes["hidden"]["output_shape"] == ["B", 16]
    assert nodes["hidden"]["input_shapes"] == [["B", 4]]
    assert nodes["hidden"]["dtype"] == "float32"
    assert (nodes["hidden"]["params"], nodes["hidden"]["trainable_params"]) == (80, 80)
    assert nodes["act"]["output_shape"] == ["B", 16]
    assert nodes["act"]["params"] == 0
    assert nodes["head"]["output_shape"] == ["B", 3]
    assert nodes["head"]["params"] == 51
    assert res["model_inputs"] == {"x": ["B", 4]}
    assert res["model_outputs"] == {"logits": ["B", 3]}
    assert res["total_params"] == 131
    assert res["trainable_params"] == 131
    assert res["non_trainable_params"] == 0
    assert res["size_mb_fp32"] == 131 * 4 / 1e6


CNN = """
inputs:
  pixels: {dtype: float32, shape: [null, 64]}
graph:
  - {name: image, type: torch.reshape, params: {shape: [-1, 1, 8, 8]}, inputs: {input: pixels}}
  - {name: conv, type: torch.nn.Conv2d, params: {in_channels: 1, out_channels: 8, kernel_size: 3, padding: 1}, inputs: {input: image.output}}
  - {name: norm, type: torch.nn.BatchNorm2d, params: {num_features: 8}, inputs: {input: conv.output}}
  - {name: flat, type: torch.flatten, params: {start_dim: 1}, inputs: {input: norm.output}}
  - {name: head, type: torch.nn.Linear, params: {in_features: 512, out_features: 10}, inputs: {input: flat.output}}
outputs:
  logits: head.output
"""


def test_cnn_reshape_conv_flatten() -> None:
    res, nodes = _probe(CNN)
    assert nodes["image"]["output_shape"] == ["B", 1, 8, 8]
    assert nodes["conv"]["output_shape"] == ["B", 8, 8, 8]
    assert nodes["conv"]["params"] == 80
    assert nodes["norm"]["params"] == 16
    assert nodes["flat"]["output_shape"] == ["B", 512]
    assert nodes["head"]["output_shape"] == ["B", 10]
    assert res["total_params"] == 80 + 16 + 5130


TRANSFORMER = """
inputs:
  tokens: {dtype: float32, shape: [null, null, 32]}
graph:
  - name: layer
    type: torch.nn.TransformerEncoderLayer
    params: {d_model: 32, nhead: 4, dim_feedforward: 64, batch_first: true}
    inputs: {src: tokens}
  - {name: pooled, type: torch.mean, params: {dim: 1}, inputs: {input: layer.output}}
outputs:
  encoded: layer.output
  pooled: pooled.output
"""


def test_transformer_encoder_layer() -> None:
    res, nodes = _probe(TRANSFORMER)
    # the sequence length is a `null` too: it varies, and is not the batch
    assert nodes["layer"]["output_shape"] == ["B", "?", 32]
    assert nodes["pooled"]["output_shape"] == ["B", 32]
    assert res["model_inputs"] == {"tokens": ["B", "?", 32]}
    assert nodes["layer"]["params"] == 4 * 32 * 32 + 4 * 32 + 2 * 32 * 64 + 64 + 32 + 4 * 32


MULTI = """
inputs:
  seq: {dtype: float32, shape: [null, 7, 6]}
graph:
  - {name: lstm, type: torch.nn.LSTM, params: {input_size: 6, hidden_size: 5, batch_first: true}, inputs: {input: seq}}
  - {name: head, type: torch.nn.Linear, params: {in_features: 5, out_features: 2}, inputs: {input: lstm.output.0}}
outputs:
  out: head.output
  hidden: lstm.output.1.0
"""


def test_multi_output_node() -> None:
    res, nodes = _probe(MULTI)
    lstm = nodes["lstm"]
    assert "output_shape" not in lstm
    assert lstm["output_shapes"] == [["B", 7, 5], [[1, "B", 5], [1, "B", 5]]]
    assert lstm["dtypes"] == ["float32", ["float32", "float32"]]
    assert lstm["params"] == 4 * 5 * (6 + 5) + 2 * 4 * 5
    assert nodes["head"]["output_shape"] == ["B", 7, 2]
    assert res["model_outputs"] == {"out": ["B", 7, 2], "hidden": [1, "B", 5]}


def test_no_null_dims_runs_once_and_shows_sizes() -> None:
    res, nodes = _probe(MLP.replace("[null, 4]", "[3, 4]"))
    assert nodes["head"]["output_shape"] == [3, 3]
    assert res["model_outputs"] == {"logits": [3, 3]}


@pytest.mark.parametrize("model", ["iris-classifier-v1", "arc-transformer-classifier-v1"])
def test_examples_count_as_torch(model: str) -> None:
    _probe((EXAMPLES / f"{model}.model.yaml").read_text(encoding="utf-8"))


def test_shapes_are_kept_when_only_the_loss_does_not_fit() -> None:
    spec = yaml.safe_load(MLP)
    spec["loss"] = {
        "type": "torch.nn.functional.mse_loss",
        "inputs": {"input": "logits", "target": "y"},
    }
    res = probe_shapes(spec)
    assert (res["ok"], res["stage"]) == (False, "loss")
    assert [n["output_shape"] for n in res["nodes"]] == [["B", 16], ["B", 16], ["B", 3]]
    assert res["total_params"] == 131


def test_check_asks_for_the_verdict_only_the_editor_for_the_shapes(tmp_path: Path) -> None:
    """The per-node facts cost a second forward: `check` (default options) goes without
    them, the language server and `arcgraph summary` ask for them (shape_summary)."""
    from arcgraph.engine.checks.context import CheckOptions
    from arcgraph.engine.core import Engine
    from arcgraph.worker.inprocess import InProcessTorch

    spec = yaml.safe_load(MLP)
    bare = probe_shapes(spec, summary=False)
    assert bare == {"ok": True, "node": None, "message": "", "outputs": {"logits": [2, 3]}}
    full = probe_shapes(spec)
    assert {k: full[k] for k in bare} == bare and len(full["nodes"]) == 3

    path = tmp_path / "mlp-v1.model.yaml"
    path.write_text(MLP)
    calls: list[bool] = []

    class Recording(InProcessTorch):
        def probe_shapes(self, spec, batch=2, *, summary=True):  # type: ignore[override]
            calls.append(summary)
            return super().probe_shapes(spec, batch, summary=summary)

    for options, seen in [(CheckOptions(), None), (CheckOptions(shape_summary=True), 3)]:
        engine = Engine(torch=Recording(catalog=None), options=options)
        assert "AG314" not in {d.code for d in engine.check(path, MLP)}  # (no loss: AG110)
        shapes = engine.shapes.get(path)
        assert (None if shapes is None else len(shapes.nodes)) == seen
    assert calls == [False, True]


MODULES = """
modules:
  Block:
    inputs: [x]
    graph:
      - {name: lin, type: torch.nn.Linear, params: {in_features: 4, out_features: 4}, inputs: {input: x}}
      - {name: act, type: torch.nn.ReLU, inputs: {input: lin.output}}
    outputs:
      output: act.output
  Split:
    inputs: [a]
    graph:
      - {name: inner, type: module.Block, inputs: {x: a}}
      - {name: seq, type: torch.reshape, params: {shape: [-1, 2, 2]}, inputs: {input: inner.output}}
    outputs:
      flat: inner.output
      pairs: seq.output
inputs:
  features: {dtype: float32, shape: [null, 4]}
graph:
  - {name: split, type: module.Split, inputs: {a: features}}
  - {name: stack, type: arc.stack, params: {module: Block, count: 3}, inputs: {x: split.output.0}}
  - {name: head, type: torch.nn.Linear, params: {in_features: 4, out_features: 1}, inputs: {input: stack.output}}
outputs:
  y: head.output
  pairs: split.output.1
"""


def test_module_inner_nodes_per_use() -> None:
    """A module's inner nodes are recorded under the node that uses it (an arc.stack's first
    copy), nested modules under their path; a use's params are one copy's."""
    res, nodes = _probe(MODULES)
    assert [n["name"] for n in res["nodes"]] == ["split", "stack", "head"]
    assert nodes["stack"]["params"] == 3 * 20
    assert res["module_uses"] == [
        {
            "path": "split",
            "module": "Split",
            "count": None,
            "inputs": {"a": ["B", 4]},
            "outputs": {"flat": ["B", 4], "pairs": ["B", 2, 2]},
            "params": 20,
            "trainable_params": 20,
        },
        {
            "path": "split/inner",
            "module": "Block",
            "count": None,
            "inputs": {"x": ["B", 4]},
            "outputs": {"output": ["B", 4]},
            "params": 20,
            "trainable_params": 20,
        },
        {
            "path": "stack",
            "module": "Block",
            "count": 3,
            "inputs": {"x": ["B", 4]},
            "outputs": {"output": ["B", 4]},
            "params": 20,
            "trainable_params": 20,
        },
    ]
    inner = {
        p: (n["output_shape"], n["input_shapes"], n["params"])
        for p, n in res["module_nodes"].items()
    }
    assert inner == {
        "split/inner": (["B", 4], [["B", 4]], 20),
        "split/seq": (["B", 2, 2], [["B", 4]], 0),
        "split/inner/lin": (["B", 4], [["B", 4]], 20),
        "split/inner/act": (["B", 4], [["B", 4]], 0),
        "stack/lin": (["B", 4], [["B", 4]], 20),
        "stack/act": (["B", 4], [["B", 4]], 0),
    }
    assert res["total_params"] == 20 + 60 + 5


def test_transformer_example_modules_count_as_torch() -> None:
    text = (EXAMPLES / "arc-transformer-classifier-v1.model.yaml").read_text(encoding="utf-8")
    res, _ = _probe(text)
    assert [(u["path"], u["module"], u["count"]) for u in res["module_uses"]] == [
        ("encoder_stack", "TransformerEncoderBlock", 6),
        ("encoder_stack/ffn", "FeedForward", None),
    ]
    mha = res["module_nodes"]["encoder_stack/mha"]
    assert mha["output_shapes"] == [["B", 256, 512], ["B", 256, 256]]
    assert res["module_nodes"]["encoder_stack/ffn/ffn_linear_1"]["output_shape"] == ["B", 256, 2048]


def test_no_module_recording_left_behind() -> None:
    """After the probe, a module runs its fast path again (no recorder, no hooks)."""
    from arcgraph.worker import shapes

    spec = yaml.safe_load(MODULES)
    model = build_model(spec, device="meta")
    uses = shapes.module_uses(model)
    seen: shapes.Record = {}
    with shapes.ModuleRecording(uses, seen):
        model(features=torch.zeros(2, 4, device="meta"))
    assert sorted(seen) == sorted(
        [
            "split/",
            "split/inner/",
            "stack/",
            *(
                f"{p}/{n}"
                for p, n in [
                    ("split", "inner"),
                    ("split", "seq"),
                    ("split/inner", "lin"),
                    ("split/inner", "act"),
                    ("stack", "lin"),
                    ("stack", "act"),
                ]
            ),
        ]
    )
    assert all(u[3]._record is None and not u[3]._forward_hooks for u in uses)
