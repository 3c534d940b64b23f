"""The well-formed part of a model spec with errors (arcgraph.engine.wellformed.probe_spec):
exactly what the shape check is sent."""

from __future__ import annotations

from arcgraph.engine import codes
from arcgraph.engine.diagnostics import Diagnostic, Severity, Span
from arcgraph.engine.source import YMap, parse_yaml
from arcgraph.engine.wellformed import probe_spec

SPEC = """\
inputs:
  x: {dtype: float32, shape: [null, 3]}
  y: {dtype: float99, shape: [null, 3]}
modules:
  Block:
    inputs: [v]
    graph:
      - {name: r, type: torch.nn.ReLU, inputs: {input: v}}
    outputs: {out: r.output}
graph:
  - {name: a, type: module.Block, inputs: {v: x}}
  - {name: b, type: torch.nn.ReLU, inputs: {input: y}}
  - {name: d, type: torch.nn.ReLU, inputs: {input: a.out}}
  - {name: d, type: torch.nn.ReLU, inputs: {input: a.out}}
  - {name: e, type: torch.nn.Tanh, inputs: {input: a.out}}
outputs:
  pred: e.output
  other: b.output
loss:
  type: torch.nn.functional.mse_loss
  inputs: {input: pred, target: t}
"""


def _error_at(line: int, col: int) -> Diagnostic:
    return Diagnostic(codes.UNKNOWN_DTYPE, "bad dtype", Span(line, col, line, col + 7))


def test_keeps_the_nodes_that_read_only_well_formed_parts() -> None:
    """Input y has an error: b (reads y) goes; the duplicate d goes (both copies); a, e, the
    module, the output of e and the loss stay, converted as written."""
    root = parse_yaml(SPEC).root
    assert isinstance(root, YMap)
    assert probe_spec(root, [_error_at(2, 13)]) == {
        "inputs": {"x": {"dtype": "float32", "shape": [None, 3]}},
        "graph": [
            {"name": "a", "type": "module.Block", "inputs": {"v": "x"}},
            {"name": "e", "type": "torch.nn.Tanh", "inputs": {"input": "a.out"}},
        ],
        "outputs": {"pred": "e.output"},
        "modules": {
            "Block": {
                "inputs": ["v"],
                "graph": [{"name": "r", "type": "torch.nn.ReLU", "inputs": {"input": "v"}}],
                "outputs": {"out": "r.output"},
            }
        },
        "loss": {
            "type": "torch.nn.functional.mse_loss",
            "inputs": {"input": "pred", "target": "t"},
        },
    }


def test_without_errors_the_whole_spec_and_warnings_do_not_count() -> None:
    root = parse_yaml(SPEC).root
    assert isinstance(root, YMap)
    warning = Diagnostic(codes.UNKNOWN_DTYPE, "w", Span(2, 13, 2, 20), Severity.WARNING)
    whole = probe_spec(root, [warning])
    assert whole is not None
    assert [n["name"] for n in whole["graph"]] == ["a", "b", "d", "d", "e"]
    assert whole["inputs"]["y"] == {"dtype": "float99", "shape": [None, 3]}


def test_nothing_when_every_node_reads_a_broken_input() -> None:
    root = parse_yaml(SPEC.replace("{v: x}", "{v: y}")).root
    assert isinstance(root, YMap)
    assert probe_spec(root, [_error_at(2, 13)]) is None
