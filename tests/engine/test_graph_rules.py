"""References and cycles as arcgraph.engine.graph defines them (the builder uses the same rules):
named outputs of module nodes, tuple elements of them, cycles named by their path."""

from __future__ import annotations

from .conftest import rows

NAME = "models/pair-v1.model.yaml"

PAIR = """\
inputs:
  features:
    dtype: float32
    shape: [null, 3]
    columns: [a, b, c]
modules:
  Pair:
    inputs: [v]
    graph:
      - name: r
        type: torch.nn.ReLU
        inputs: {input: v}
      - name: i
        type: torch.nn.Identity
        inputs: {input: v}
    outputs: {first: r.output, second: i.output}
graph:
  - name: p
    type: module.Pair
    inputs: {v: features}
  - name: fc
    type: torch.nn.Linear
    params: {in_features: 3, out_features: 1}
    inputs: {input: p.first}
  - name: prob
    type: torch.nn.functional.sigmoid
    inputs: {input: fc.output}
outputs:
  prediction: prob.output
loss:
  type: torch.nn.functional.binary_cross_entropy
  inputs: {input: prediction, target: label}
"""


def test_named_output_of_a_module_node_resolves(check_full) -> None:
    """`p.first` builds and runs (the builder always accepted it); check agrees (was AG305)."""
    assert rows(check_full(PAIR, NAME)) == []


def test_named_output_and_tuple_element_in_outputs(check_full) -> None:
    text = PAIR.replace(
        "  prediction: prob.output\n",
        "  prediction: prob.output\n  raw: p.second\n  both0: p.output.0\n",
    )
    assert rows(check_full(text, NAME)) == []


def test_unknown_named_output_lists_the_modules_outputs(check_text) -> None:
    got = check_text(PAIR.replace("{input: p.first}", "{input: p.frist}"), NAME)
    assert rows(got) == [
        (
            "AG305",
            "input of node 'fc' 'p.frist': node 'p' has outputs first, second (or all of them "
            "as 'p.output'), not 'frist'; did you mean 'p.first'?",
            (23, 20, 23, 27),
        )
    ]
    assert got[0].data == {"fix": "replace_value", "with": "p.first"}


def test_element_past_the_modules_outputs(check_text) -> None:
    got = check_text(PAIR.replace("{input: p.first}", "{input: p.output.2}"), NAME)
    assert rows(got) == [
        (
            "AG305",
            "input of node 'fc' 'p.output.2': 'p.output' is a tuple of 2 (first, second); its "
            "elements are p.output.0 to p.output.1",
            (23, 20, 23, 30),
        )
    ]


def test_cycle_inside_a_module_names_its_path(check_text) -> None:
    text = PAIR.replace("{input: v}\n      - name: i", "{input: i.output}\n      - name: i")
    text = text.replace(
        "type: torch.nn.Identity\n        inputs: {input: v}",
        "type: torch.nn.Identity\n        inputs: {input: r.output}",
    )
    assert rows(check_text(text, NAME)) == [
        (
            "AG306",
            "the graph has a cycle: r -> i -> r; a node cannot depend on its own output",
            (9, 14, 9, 15),
        )
    ]


def test_each_cycle_is_reported_once(check_text) -> None:
    text = PAIR.replace("{v: features}", "{v: prob.output}").replace(
        "type: torch.nn.functional.sigmoid\n    inputs: {input: fc.output}",
        "type: torch.nn.functional.sigmoid\n    inputs: {input: fc.output}\n"
        "  - name: self\n    type: torch.nn.ReLU\n    inputs: {input: self.output}",
    )
    assert rows(check_text(text, NAME)) == [
        (
            "AG306",
            "the graph has a cycle: p -> fc -> prob -> p; a node cannot depend on its own output",
            (17, 10, 17, 11),
        ),
        (
            "AG306",
            "the graph has a cycle: self -> self; a node cannot depend on its own output",
            (27, 10, 27, 14),
        ),
    ]


def test_a_duplicate_nodes_inputs_are_checked_but_make_no_cycle(check_text) -> None:
    """References are resolved once for both the reference check and the cycle check: a second
    node of a name still has its references checked, but the graph's edges are its first
    node's (the one references resolve to), so its self-reference is no cycle."""
    text = PAIR.replace(
        "type: torch.nn.functional.sigmoid\n    inputs: {input: fc.output}",
        "type: torch.nn.functional.sigmoid\n    inputs: {input: fc.output}\n"
        "  - name: fc\n    type: torch.nn.ReLU\n    inputs: {input: fc.output, other: nope}",
    )
    assert rows(check_text(text, NAME)) == [
        (
            "AG300",
            "duplicate node name 'fc' in graph (first on line 21); node names must be unique",
            (27, 10, 27, 12),
        ),
        (
            "AG305",
            "input of node 'fc' 'nope' does not resolve in graph; known: features, p.output, "
            "p.first, p.second, fc.output, prob.output",
            (29, 38, 29, 42),
        ),
    ]
