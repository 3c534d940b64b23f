"""Property: on generated graphs, `check` reports no reference or cycle error exactly when the
model builder builds the graph and runs a forward pass (both follow arcgraph.engine.graph).

The graphs use layers and functions whose shapes always agree (ReLU, Identity, torch.add of
same-shaped tensors, a module with two named outputs, a module whose first output is that
module's tuple, read with nested indices such as `n0.output.0.1`), so that the only faults are the
generated ones: references to later nodes (a cycle or not), to nothing, bare node names,
unknown output names, elements past a module's outputs, malformed references, and graph
outputs that name an input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from arcgraph.builder.build import build_model, example_inputs
from arcgraph.builder.errors import NodeRuntimeError, SpecBuildError
from arcgraph.engine.catalog import Catalog
from arcgraph.engine.checks.context import CheckOptions
from arcgraph.engine.core import Engine
from arcgraph.engine.diagnostics import Severity
from arcgraph.engine.registry import Registry

GRAPH_CODES = {"AG305", "AG306", "AG309"}  # unresolved reference, cycle, bad output

PAIR = {
    "inputs": ["v"],
    "graph": [
        {"name": "r", "type": "torch.nn.ReLU", "inputs": {"input": "v"}},
        {"name": "i", "type": "torch.nn.Identity", "inputs": {"input": "v"}},
    ],
    "outputs": {"first": "r.output", "second": "i.output"},
}
NEST = {  # ((first, second), relu): its result is a tuple holding a tuple
    "inputs": ["v"],
    "graph": [
        {"name": "p", "type": "module.Pair", "inputs": ["v"]},
        {"name": "r", "type": "torch.nn.ReLU", "inputs": {"input": "v"}},
    ],
    "outputs": {"both": "p.output", "one": "r.output"},
}
NESTED = ["output.0.0", "output.0.1", "both.0", "both.1", "output.1", "one"]
KINDS = ["relu", "identity", "f_relu", "add_list", "add_map", "pair_map", "pair_list", "nest"]
GOOD, FORWARD, UNKNOWN, BARE, BAD_NAME, BAD_ELEMENT, MALFORMED = range(7)


def _result(kinds: list[str], j: int, pick: int) -> str:
    """A valid reference to node j's (tensor) result."""
    if kinds[j].startswith("pair"):
        return f"n{j}." + ["first", "second", "output.0", "output.1"][pick % 4]
    if kinds[j] == "nest":
        return f"n{j}." + NESTED[pick % len(NESTED)]
    return f"n{j}.output"


@st.composite
def graphs(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(1, 6))
    kinds = [draw(st.sampled_from(KINDS)) for _ in range(n)]
    faulty = draw(st.booleans())  # half the examples are clean DAGs

    def ref(i: int) -> str:
        fault = draw(st.sampled_from(range(7))) if faulty else GOOD
        pick = draw(st.integers(0, 5))
        if fault == GOOD:
            j = draw(st.integers(-1, i - 1))  # -1: the input
            return "x" if j < 0 else _result(kinds, j, pick)
        j = draw(st.integers(0, n - 1))
        if fault == FORWARD:
            return _result(kinds, draw(st.integers(i, n - 1)), pick)  # itself or later
        if fault == UNKNOWN:
            return draw(st.sampled_from(["zz.output", "zz", "x.output", f"n{n}.output"]))
        if fault == BARE:
            return f"n{j}"
        if fault == BAD_NAME:
            return f"n{j}." + ("third" if kinds[j].startswith(("pair", "nest")) else "result")
        if fault == BAD_ELEMENT and kinds[j].startswith(("pair", "nest")):
            return f"n{j}.output.{2 + pick}"
        return draw(st.sampled_from([f"n{j}..output", f"n{j}.output.x", "n 0", f"n{j}.out put"]))

    nodes = []
    for i, kind in enumerate(kinds):
        node: dict[str, Any] = {"name": f"n{i}"}
        if kind in ("relu", "identity", "f_relu"):
            node["type"] = {
                "relu": "torch.nn.ReLU",
                "identity": "torch.nn.Identity",
                "f_relu": "torch.nn.functional.relu",
            }[kind]
            node["inputs"] = {"input": ref(i)}
        elif kind == "add_list":
            node["type"] = "torch.add"
            node["inputs"] = [ref(i), ref(i)]
        elif kind == "add_map":
            node["type"] = "torch.add"
            node["inputs"] = {"input": ref(i), "other": ref(i)}
        elif kind == "nest":
            node["type"] = "module.Nest"
            node["inputs"] = [ref(i)]
        else:
            node["type"] = "module.Pair"
            node["inputs"] = {"v": ref(i)} if kind == "pair_map" else [ref(i)]
        nodes.append(node)
    outputs = {"y": _result(kinds, n - 1, draw(st.integers(0, 5)))}
    if draw(st.booleans()):
        j = draw(st.integers(0, n - 1))
        extra = [_result(kinds, j, draw(st.integers(0, 5))), f"n{j}.output"]
        if faulty:
            extra += ["x", f"n{j}", "zz.output", f"n{j}.nope"]
        outputs["z"] = draw(st.sampled_from(extra))
    return {
        "inputs": {"x": {"dtype": "float32", "shape": [None, 4], "columns": ["a", "b", "c", "d"]}},
        "modules": {"Pair": PAIR, "Nest": NEST},
        "graph": draw(st.permutations(nodes)),  # the listing order does not matter
        "outputs": outputs,
        "loss": {
            "type": "torch.nn.functional.mse_loss",
            "inputs": {"input": "y", "target": "label"},
        },
    }


def _builds_and_runs(spec: dict[str, Any]) -> bool:
    try:
        model = build_model(spec)
        with torch.no_grad():
            model(example_inputs(spec, device="cpu"))
    except (SpecBuildError, NodeRuntimeError):
        return False
    return True


def test_check_and_builder_agree_on_references_and_cycles(tmp_path: Path, catalog: Catalog) -> None:
    path = tmp_path / "models" / "gen-v1.model.yaml"
    path.parent.mkdir()
    path.write_text("graph: []\n")
    engine = Engine(Registry.scan([tmp_path]), None, CheckOptions(probes=False), catalog=catalog)

    @settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(graphs())
    def agree(spec: dict[str, Any]) -> None:
        text = yaml.safe_dump(spec, sort_keys=False)
        diags = engine.check_structure(engine.analyze(path, text))
        errors = [d for d in diags if d.severity == Severity.ERROR]
        other = [d for d in errors if d.code not in GRAPH_CODES]
        assert other == [], text  # the generator makes reference and cycle faults only
        event("refused: " + ",".join(sorted({d.code for d in errors})) if errors else "clean")
        assert (not errors) == _builds_and_runs(spec), (text, [d.message for d in errors])

    agree()
