"""`arcgraph/modelGraph` over stdio: the DAG of a small model spec, exactly, with a module
group, an `arc.stack` group, the edges the builder would wire and each node's worst
diagnostic severity from the diagnostics last published."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import RecordingClient, _plain, start_client, stop_client, uri_of

pytestmark = pytest.mark.asyncio(loop_scope="module")

MODEL = """\
modules:
  Block:
    inputs: [x]
    graph:
      - { name: lin, type: torch.nn.Linear, params: { in_features: 4, out_features: 4 }, inputs: { input: x } }
      - { name: act, type: torch.nn.ReLU, inputs: { input: lin.output } }
    outputs:
      output: act.output

inputs:
  features: { dtype: float32, shape: [null, 4], columns: [a, b, c, d] }

graph:
  - name: block
    type: module.Block
    inputs: { x: features }
  - name: stack
    type: arc.stack
    params: { module: Block, count: 2 }
    inputs: { x: block.output }
  - name: head
    type: torch.nn.Linear
    params: { in_features: 4, out_features: 1 }
    inputs: { input: missing.output }

outputs:
  y: stack.output
"""


def node(
    id_: str, name: str, type_: str, line: int, end: int, parent: str | None, sev: int | None
) -> dict[str, Any]:
    return {
        "id": id_,
        "name": name,
        "type": type_,
        "line": line,
        "endLine": end,
        "parent": parent,
        "outputShape": None,
        "params": None,
        "severity": sev,
    }


async def test_model_graph_exact(client: RecordingClient, workspace: Path) -> None:
    uri = uri_of(workspace / "models" / "graph-view.model.yaml")
    client.open(uri, MODEL)
    await client.wait_idle()
    lines = {d.range.start.line for d in client.diagnostics[uri] if d.severity == 1}
    assert lines == {23}, "one error: head's unknown reference `missing.output`"
    got = _plain(
        await client.protocol.send_request_async(
            "arcgraph/modelGraph", {"textDocument": {"uri": uri}}
        )
    )
    lin, act = "torch.nn.Linear", "torch.nn.ReLU"
    assert got == {
        "uri": uri,
        "version": 1,
        "inputs": [
            {
                "id": "input:features",
                "name": "features",
                "dtype": "float32",
                "shape": [None, 4],
                "line": 10,
            }
        ],
        "nodes": [
            node("node:block", "block", "module.Block", 13, 15, None, None),
            node("node:block/lin", "lin", lin, 4, 4, "node:block", None),
            node("node:block/act", "act", act, 5, 5, "node:block", None),
            node("node:stack", "stack", "arc.stack", 16, 19, None, None),
            node("node:stack/lin", "lin", lin, 4, 4, "node:stack", None),
            node("node:stack/act", "act", act, 5, 5, "node:stack", None),
            node("node:head", "head", lin, 20, 23, None, 1),
        ],
        "outputs": [{"id": "output:y", "name": "y", "ref": "stack.output", "line": 26}],
        "edges": [
            {"source": "node:block/lin", "target": "node:block/act", "label": None},
            {"source": "node:stack/lin", "target": "node:stack/act", "label": None},
            {"source": "input:features", "target": "node:block", "label": None},
            {"source": "node:block", "target": "node:stack", "label": None},
            {"source": "node:stack", "target": "output:y", "label": None},
        ],
        "groups": [
            {"id": "node:block", "kind": "module", "module": "Block", "count": None},
            {"id": "node:stack", "kind": "stack", "module": "Block", "count": 2},
        ],
    }


async def test_model_graph_not_a_model(client: RecordingClient, workspace: Path) -> None:
    uri = uri_of(workspace / "trainers" / "iris.trainer.yaml")
    client.open(uri, (workspace / "trainers" / "iris.trainer.yaml").read_text())
    got = await client.protocol.send_request_async(
        "arcgraph/modelGraph", {"textDocument": {"uri": uri}}
    )
    assert got is None


async def test_model_graph_shapes_from_probe_data() -> None:
    """Once the probe has answered: the nodes carry its output shape and params (a module's
    inner nodes those of their own use, by path), and each edge the shape its source outputs
    (the input's declared shape, null as B)."""
    from arcgraph.lsp.model_graph import model_graph

    probed = {
        "block": {"outputShape": ["B", 4], "params": 20},
        "stack": {"outputShape": ["B", 4], "params": 40},
        "head": {"outputShape": ["B", 1], "params": 5},
        "block/lin": {"outputShape": ["B", 4], "params": 20},
        "stack/act": {"outputShape": ["B", 4], "params": 0},
    }
    got = model_graph(MODEL, [], probed)
    assert got is not None
    assert [(n["id"], n["outputShape"], n["params"]) for n in got["nodes"]] == [
        ("node:block", ["B", 4], 20),
        ("node:block/lin", ["B", 4], 20),
        ("node:block/act", None, None),
        ("node:stack", ["B", 4], 40),
        ("node:stack/lin", None, None),
        ("node:stack/act", ["B", 4], 0),
        ("node:head", ["B", 1], 5),
    ]
    assert [(e["source"], e["label"]) for e in got["edges"]] == [
        ("node:block/lin", "[B, 4]"),
        ("node:stack/lin", None),
        ("input:features", "[B, 4]"),
        ("node:block", "[B, 4]"),
        ("node:stack", "[B, 4]"),
    ]


@pytest.mark.asyncio(loop_scope="function")
async def test_model_graph_after_the_probe(
    cache_dir: Path, workspace: Path, has_catalog: bool
) -> None:
    """With probes on: when the probe answers, `arcgraph/modelGraphChanged` names the document
    and the graph then carries torch's shapes and parameter counts."""
    if not has_catalog:
        pytest.skip("torch is not installed")
    c = await start_client(cache_dir, workspace, "visual-studio-code", options={"probes": True})
    changed: list[Any] = []
    c.feature("arcgraph/modelGraphChanged")(lambda params: changed.append(_plain(params)))
    try:
        model = workspace / "models" / "iris-classifier-v1.model.yaml"
        uri = uri_of(model)
        c.open(uri, model.read_text())
        await c.wait_for(lambda: changed, 60, "arcgraph/modelGraphChanged")
        assert changed[0] == {"textDocument": {"uri": uri}}
        got = _plain(
            await c.protocol.send_request_async(
                "arcgraph/modelGraph", {"textDocument": {"uri": uri}}
            )
        )
        assert [(n["name"], n["outputShape"], n["params"]) for n in got["nodes"]] == [
            ("input_norm", ["B", 4], 8),
            ("hidden", ["B", 16], 80),
            ("activation", ["B", 16], 0),
            ("classifier", ["B", 3], 51),
            ("probabilities", ["B", 3], 0),
        ]
        assert [e["label"] for e in got["edges"]] == [
            "[B, 4]",
            "[B, 4]",
            "[B, 16]",
            "[B, 16]",
            "[B, 3]",
            "[B, 3]",
            "[B, 3]",
        ]
    finally:
        await stop_client(c)
