"""build_model / example_inputs: the four Arc document examples, references, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from arcgraph.builder.build import build_model, example_inputs
from arcgraph.builder.errors import NodeRuntimeError, SpecBuildError

from .conftest import FIXTURES

ARC_EXAMPLES = {
    "arc-logistic-v1": {"probability": (2, 1)},
    "arc-mlp-v1": {"logits": (2, 10)},
    "arc-recommender-v1": {"next_item_logits": (2, 257, 10000)},
    "arc-transformer-v1": {"logits": (2, 10)},
}


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((FIXTURES / "models" / f"{name}.model.yaml").read_text())


def spec(
    graph: list[dict[str, Any]], outputs: dict[str, str] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "inputs": {"x": {"dtype": "float32", "shape": [None, 4], "columns": ["a", "b", "c", "d"]}},
        "graph": graph,
        "outputs": outputs or {"y": "a.output"},
        **extra,
    }


@pytest.mark.parametrize("name", sorted(ARC_EXAMPLES))
def test_arc_examples_build_and_run_forward_on_cpu(name: str) -> None:
    s = load(name)
    torch.manual_seed(0)
    model = build_model(s)
    model.eval()
    with torch.no_grad():
        out = model(example_inputs(s, device="cpu"))
    assert {k: tuple(v.shape) for k, v in out.items()} == ARC_EXAMPLES[name]
    assert all(torch.isfinite(v).all() for v in out.values())


@pytest.mark.parametrize("name", sorted(ARC_EXAMPLES))
def test_arc_examples_build_on_meta_without_storage(name: str) -> None:
    s = load(name)
    model = build_model(s, device="meta")
    assert all(p.is_meta for p in model.parameters())
    out = model(example_inputs(s))  # meta inputs by default
    assert {k: tuple(v.shape) for k, v in out.items()} == ARC_EXAMPLES[name]


def linear(fan_in: int, fan_out: int) -> int:
    return fan_in * fan_out + fan_out


def batch_norm(features: int) -> int:
    return 2 * features  # weight and bias (running statistics are buffers)


EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "models"
# name -> (output shapes for a batch of 2, parameter count); counts of the small models written
# out from their layers.
EXAMPLE_MODELS: dict[str, tuple[dict[str, tuple[int, ...]], int]] = {
    "arc-generative-recommender-v1": ({"next_item_logits": (2, 10000)}, 4_947_920),
    "arc-logistic-regression-v1": ({"probability": (2, 1)}, linear(128, 1)),
    "arc-mlp-classifier-v1": ({"logits": (2, 10)}, linear(64, 128) + linear(128, 10)),
    "arc-transformer-classifier-v1": ({"logits": (2, 10)}, 34_540_554),
    "breast-cancer-mlp-v1": (
        {"logits": (2, 1), "prediction": (2, 1)},
        batch_norm(30) + linear(30, 16) + linear(16, 1),
    ),
    "deep-mlp-v2": (
        {"logits": (2, 1), "probability": (2, 1)},
        batch_norm(30) + linear(30, 64) + linear(64, 64) + linear(64, 32) + linear(32, 1),
    ),
    "diabetes-logistic-v1": ({"logits": (2, 1), "probability": (2, 1)}, linear(10, 1)),
    "diabetes-regressor-v1": (
        {"prediction": (2, 1)},
        batch_norm(10) + linear(10, 32) + linear(32, 1),
    ),
    "iris-classifier-v1": (
        {"logits": (2, 3), "probabilities": (2, 3)},
        batch_norm(4) + linear(4, 16) + linear(16, 3),
    ),
    "iris-petal-length-v1": (
        {"prediction": (2, 1)},
        (3 + 1) * 4 + batch_norm(2) + linear(4 + 2, 16) + linear(16, 1),  # species embedding
    ),
    "prototype-model-v1": ({"logits": (2, 3)}, batch_norm(4) + linear(4, 3)),
    "transformer-large-v1": ({"logits": (2, 10)}, 34_546_698),
}


def test_every_examples_folder_model_is_listed() -> None:
    names = sorted(p.name.removesuffix(".model.yaml") for p in EXAMPLES.glob("*.model.yaml"))
    assert names == sorted(EXAMPLE_MODELS)


@pytest.mark.parametrize("name", sorted(EXAMPLE_MODELS))
def test_examples_folder_models_build_with_their_shapes_and_parameter_counts(name: str) -> None:
    s = yaml.safe_load((EXAMPLES / f"{name}.model.yaml").read_text())
    model = build_model(s, device="meta")
    out = model(example_inputs(s))
    shapes, parameters = EXAMPLE_MODELS[name]
    assert {k: tuple(v.shape) for k, v in out.items()} == shapes
    assert all(v.dtype == torch.float32 for v in out.values())
    assert sum(p.numel() for p in model.parameters()) == parameters


def test_state_dict_keys_are_node_names() -> None:
    assert list(build_model(load("arc-mlp-v1")).state_dict()) == [
        "hidden_layer_1.weight",
        "hidden_layer_1.bias",
        "output_layer.weight",
        "output_layer.bias",
    ]
    keys = list(build_model(load("arc-transformer-v1"), device="meta").state_dict())
    assert keys[:3] == [
        "embedding.weight",
        "encoder_stack.0.mha.in_proj_weight",
        "encoder_stack.0.mha.in_proj_bias",
    ]
    assert "encoder_stack.5.ffn.ffn_linear_2.bias" in keys
    assert keys[-2:] == ["classifier.weight", "classifier.bias"]


def test_stack_copies_are_independently_initialised() -> None:
    torch.manual_seed(0)
    model = build_model(load("arc-transformer-v1"))
    sd = model.state_dict()
    assert not torch.equal(
        sd["encoder_stack.0.mha.in_proj_weight"], sd["encoder_stack.1.mha.in_proj_weight"]
    )


def test_same_seed_same_initial_weights() -> None:
    torch.manual_seed(3)
    a = build_model(load("arc-mlp-v1")).state_dict()
    torch.manual_seed(3)
    b = build_model(load("arc-mlp-v1")).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_graph_order_does_not_matter_and_functions_take_positional_and_keyword_inputs() -> None:
    s = spec(
        [
            {
                "name": "c",
                "type": "torch.add",
                "inputs": ["a.output", "b.output"],
                "params": {"alpha": 2},
            },
            {"name": "b", "type": "torch.nn.functional.relu", "inputs": {"input": "x"}},
            {"name": "a", "type": "torch.neg", "inputs": ["x"]},
        ],
        outputs={"y": "c.output", "neg": "a.output"},
    )
    x = torch.tensor([[1.0, -2.0, 3.0, -4.0]])
    out = build_model(s)(x=x)
    assert out["y"].tolist() == [[1.0, 2.0, 3.0, 4.0]]  # -x + 2 relu(x) = abs(x)
    assert out["neg"].tolist() == [[-1.0, 2.0, -3.0, 4.0]]


def test_tuple_output_index_and_module_with_two_outputs() -> None:
    s = spec(
        [
            {"name": "parts", "type": "module.Split", "inputs": ["x"]},
            {"name": "a", "type": "torch.sub", "inputs": ["parts.high", "parts.output.1"]},
        ],
        modules={
            "Split": {
                "inputs": ["v"],
                "graph": [
                    {"name": "mx", "type": "torch.max", "params": {"dim": 1}, "inputs": ["v"]}
                ],
                "outputs": {"high": "mx.output.0", "where": "mx.output.1"},
            }
        },
    )
    out = build_model(s)(x=torch.tensor([[1.0, 5.0, 2.0, 0.0]]))
    assert out["y"].tolist() == [4.0]  # max 5 at index 1


def test_cat_gets_its_list_inputs_as_one_sequence() -> None:
    s = spec([{"name": "a", "type": "torch.cat", "params": {"dim": 1}, "inputs": ["x", "x"]}])
    assert build_model(s)(x=torch.ones(2, 4))["y"].shape == (2, 8)


def test_stack_chains_copies() -> None:
    s = spec(
        [
            {
                "name": "a",
                "type": "arc.stack",
                "params": {"module": "Double", "count": 3},
                "inputs": {"input": "x"},
            }
        ],
        modules={
            "Double": {
                "inputs": ["v"],
                "graph": [
                    {
                        "name": "d",
                        "type": "torch.mul",
                        "params": {"other": 2.0},
                        "inputs": {"input": "v"},
                    }
                ],
                "outputs": {"output": "d.output"},
            }
        },
    )
    assert build_model(s)(x=torch.ones(1, 4))["y"].tolist() == [[8.0] * 4]


@pytest.mark.parametrize(
    ("graph", "node", "message"),
    [
        (
            [{"name": "a", "type": "torch.nn.Linnear", "inputs": {"input": "x"}}],
            "a",
            "torch.nn.Linnear is not a module class in torch.nn",
        ),
        (
            [{"name": "a", "type": "torch.load", "inputs": ["x"]}],
            "a",
            "torch.load reads and unpickles a file; a spec may only use tensor operations and torch.nn layers",
        ),
        (
            [
                {
                    "name": "a",
                    "type": "torch.nn.Linear",
                    "params": {"in_features": 4, "out_feature": 2},
                    "inputs": {"input": "x"},
                }
            ],
            "a",
            "torch.nn.Linear(...): Linear.__init__() got an unexpected keyword argument 'out_feature'",
        ),
        (
            [
                {"name": "a", "type": "torch.relu", "inputs": ["b.output"]},
                {"name": "b", "type": "torch.relu", "inputs": ["a.output"]},
            ],
            "a",
            "the graph has a cycle: a -> b -> a; a node cannot depend on its own output",
        ),
        (
            [{"name": "a", "type": "torch.relu", "inputs": ["nope.output"]}],
            "a",
            "'nope.output' is not a node output of the graph",
        ),
        (
            [
                {"name": "a", "type": "torch.relu", "inputs": ["x"]},
                {"name": "b", "type": "torch.relu", "inputs": ["a"]},
            ],
            "b",
            "'a' names a node; refer to its result as 'a.output'",
        ),
        (
            [
                {"name": "a", "type": "torch.relu", "inputs": ["x"]},
                {"name": "b", "type": "torch.relu", "inputs": ["a.result"]},
            ],
            "b",
            "'a.result' is not a node output of the graph",
        ),
        (
            [
                {
                    "name": "a",
                    "type": "torch.nn.TransformerEncoder",
                    "params": {"encoder_layer": {"_target_": "torch.optim.SGD"}, "num_layers": 1},
                    "inputs": {"src": "x"},
                }
            ],
            "a",
            "encoder_layer: 'torch.optim.SGD' is not in torch.nn",
        ),
    ],
)
def test_spec_build_errors_name_the_node(
    graph: list[dict[str, Any]], node: str, message: str
) -> None:
    with pytest.raises(SpecBuildError) as info:
        build_model(spec(graph))
    assert (info.value.node, info.value.message) == (node, message)


def test_reserved_node_name() -> None:
    with pytest.raises(SpecBuildError) as info:
        build_model(
            spec(
                [{"name": "training", "type": "torch.nn.ReLU", "inputs": ["x"]}],
                {"y": "training.output"},
            )
        )
    assert (
        info.value.message == "the name 'training' is reserved by torch.nn.Module; rename the node"
    )


@pytest.mark.parametrize("name", ["module_name", "_record", "_steps"])
def test_a_node_named_as_a_graph_module_attribute_is_refused(name: str) -> None:
    """A node named like one of the graph module's own attributes: the attribute set after
    the node's layer replaced it (`module_name`: the layer became None, its parameters gone
    from the model, untrained and not saved; `_steps`: a TypeError from torch)."""
    with pytest.raises(SpecBuildError) as info:
        build_model(
            spec(
                [
                    {
                        "name": name,
                        "type": "torch.nn.Linear",
                        "params": {"in_features": 4, "out_features": 2},
                        "inputs": ["x"],
                    }
                ],
                {"y": f"{name}.output"},
            )
        )
    assert (info.value.node, info.value.message) == (
        name,
        f"the name '{name}' is reserved by torch.nn.Module; rename the node",
    )


def test_error_inside_a_module_names_the_module() -> None:
    s = spec(
        [{"name": "a", "type": "module.M", "inputs": ["x"]}],
        modules={
            "M": {
                "inputs": ["v"],
                "graph": [{"name": "bad", "type": "torch.nope", "inputs": ["v"]}],
                "outputs": {"o": "bad.output"},
            }
        },
    )
    with pytest.raises(SpecBuildError) as info:
        build_model(s)
    assert (info.value.node, info.value.module) == ("bad", "M")


def test_forward_error_wraps_torch_message_and_node() -> None:
    model = build_model(
        spec(
            [
                {
                    "name": "a",
                    "type": "torch.nn.Linear",
                    "params": {"in_features": 5, "out_features": 2},
                    "inputs": {"input": "x"},
                }
            ]
        )
    )
    with pytest.raises(NodeRuntimeError) as info:
        model(x=torch.zeros(2, 4))
    err = info.value
    assert (err.node, err.path) == ("a", ())
    assert err.message == "mat1 and mat2 shapes cannot be multiplied (2x4 and 5x2)"
    assert isinstance(err.__cause__, RuntimeError)


def test_forward_error_inside_stack_has_the_nested_path() -> None:
    s = load("arc-transformer-v1")
    model = build_model(s, device="meta")
    bad = {"token_ids": torch.zeros(2, 256, dtype=torch.int64, device="meta")}
    model.encoder_stack[2].norm_1.normalized_shape = (7,)  # break block 2 on purpose
    with pytest.raises(NodeRuntimeError) as info:
        model(bad)
    assert (info.value.node, info.value.path) == ("encoder_stack", ("2", "norm_1"))


def test_example_inputs_dtypes_and_shapes() -> None:
    ex = example_inputs(load("arc-recommender-v1"), batch=3, device="cpu")
    assert (ex["country_id"].dtype, tuple(ex["country_id"].shape)) == (torch.int64, (3,))
    assert (ex["item_sequence_ids"].dtype, tuple(ex["item_sequence_ids"].shape)) == (
        torch.int64,
        (3, 256),
    )
    assert int(ex["item_sequence_ids"].abs().sum()) == 0
    s = spec([{"name": "a", "type": "torch.relu", "inputs": ["x"]}])
    s["inputs"]["x"]["shape"] = [None, None, 4]
    assert tuple(example_inputs(s)["x"].shape) == (2, 8, 4)
    assert example_inputs(s)["x"].is_meta


CHAIN = [
    {
        "name": "a",
        "type": "torch.nn.Linear",
        "params": {"in_features": 4, "out_features": 3},
        "inputs": {"input": "x"},
    },
    {"name": "b", "type": "torch.nn.functional.leaky_relu", "inputs": {"input": "a.output"}},
    {"name": "c", "type": "torch.tanh", "inputs": ["b.output"]},
    {"name": "d", "type": "torch.nn.functional.softmax", "params": {"dim": 1},
     "inputs": {"input": "c.output"}},
]  # fmt: skip


def test_straight_chain_runs_the_fast_path_with_the_generic_results() -> None:
    torch.manual_seed(0)
    model = build_model(spec(CHAIN, {"y": "d.output", "z": "d.output"}))
    assert model._chain is not None
    x = torch.randn(5, 4)
    fast = model({"x": x})
    model._chain = None  # the generic step list
    slow = model({"x": x})
    assert fast.keys() == slow.keys() == {"y", "z"}
    assert torch.equal(fast["y"], slow["y"]) and torch.equal(fast["z"], slow["y"])


def test_graphs_that_are_not_straight_chains_use_the_step_list() -> None:
    # an output that is not the last node, and a node fed by the input while another is too
    assert build_model(spec(CHAIN, {"y": "d.output", "h": "a.output"}))._chain is None
    branch = [*CHAIN[:3], {"name": "d", "type": "torch.add", "inputs": ["c.output", "x"]}]
    assert build_model(spec(branch, {"y": "d.output"}))._chain is None


def test_forward_error_in_a_chain_names_the_node() -> None:
    model = build_model(spec(CHAIN, {"y": "d.output"}))
    with pytest.raises(NodeRuntimeError) as info:
        model({"x": torch.zeros(2, 5)})
    assert (info.value.node, info.value.message) == (
        "a",
        "mat1 and mat2 shapes cannot be multiplied (2x5 and 4x3)",
    )


def test_execution_order_is_dependency_order_then_list_order() -> None:
    """Nodes run once their inputs exist; among ready nodes the one listed first runs first."""
    graph = [
        {"name": "late", "type": "torch.neg", "inputs": ["early.output"]},
        {"name": "other", "type": "torch.abs", "inputs": ["x"]},
        {"name": "early", "type": "torch.relu", "inputs": ["x"]},
        {"name": "sum", "type": "torch.add", "inputs": ["late.output", "other.output"]},
    ]
    model = build_model(spec(graph, {"y": "sum.output"}))
    assert [name for name, *_ in model._steps] == ["other", "early", "late", "sum"]
    long_chain = [
        {"name": f"n{i}", "type": "torch.relu", "inputs": [f"n{i - 1}.output" if i else "x"]}
        for i in range(3000)
    ]
    built = build_model(spec(long_chain[::-1], {"y": "n2999.output"}), device="meta")
    assert [name for name, *_ in built._steps] == [f"n{i}" for i in range(3000)]


PAIR = {
    "Pair": {
        "inputs": ["v"],
        "graph": [
            {"name": "r", "type": "torch.nn.ReLU", "inputs": {"input": "v"}},
            {"name": "n", "type": "torch.neg", "inputs": ["v"]},
        ],
        "outputs": {"first": "r.output", "second": "n.output"},
    }
}


def test_element_past_a_module_nodes_outputs_is_refused_at_build() -> None:
    """`p.output.2` of a two-output module: refused with the outputs named (was an IndexError
    on the first forward pass), as `check` refuses it."""
    s = spec(
        [
            {"name": "p", "type": "module.Pair", "inputs": ["x"]},
            {"name": "a", "type": "torch.relu", "inputs": ["p.output.2"]},
        ],
        modules=PAIR,
    )
    with pytest.raises(SpecBuildError) as info:
        build_model(s)
    assert (info.value.node, info.value.message) == (
        "a",
        "'p.output.2': node 'p' has 2 outputs (first, second)",
    )


def test_graph_outputs_refer_to_nodes_not_inputs() -> None:
    with pytest.raises(SpecBuildError) as info:
        build_model(spec([{"name": "a", "type": "torch.relu", "inputs": ["x"]}], {"y": "x"}))
    assert (info.value.node, info.value.message) == (
        None,
        "'x' is an input; outputs refer to nodes of the graph (<node>.output)",
    )


def test_named_outputs_and_elements_of_a_module_node() -> None:
    s = spec(
        [{"name": "p", "type": "module.Pair", "inputs": ["x"]}],
        {"first": "p.first", "second": "p.output.1", "both": "p.output"},
        modules=PAIR,
    )
    x = torch.tensor([[1.0, -2.0, 3.0, -4.0]])
    out = build_model(s)(x=x)
    assert out["first"].tolist() == [[1.0, 0.0, 3.0, 0.0]]
    assert out["second"].tolist() == [[-1.0, 2.0, -3.0, 4.0]]
    assert [t.tolist() for t in out["both"]] == [out["first"].tolist(), out["second"].tolist()]
