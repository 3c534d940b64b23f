"""One broken model spec per rule: exact code, message and range."""

from __future__ import annotations

from .conftest import MODEL, rows

NAME = "models/m-v1.model.yaml"


def test_the_reference_model_is_clean(check_full) -> None:
    assert check_full(MODEL, NAME) == []


def test_duplicate_node_name_points_at_the_first(check_text) -> None:
    text = MODEL.replace("  - name: prob", "  - name: fc")
    got = check_text(text, NAME)
    assert rows(got)[0] == (
        "AG300",
        "duplicate node name 'fc' in graph (first on line 7); node names must be unique",
        (10, 10, 10, 12),
    )
    assert got[0].related[0].span.start_line == 6


def test_unknown_module_type_suggests(check_full) -> None:
    got = check_full(MODEL.replace("torch.nn.Linear", "torch.nn.Linaer"), NAME)
    assert rows(got) == [
        (
            "AG301",
            "'torch.nn.Linaer' is not a module class in torch.nn of the installed torch; did you mean "
            "'torch.nn.Linear'?",
            (7, 10, 7, 25),
        )
    ]


def test_function_written_as_module_suggests_the_class(check_full) -> None:
    got = check_full(MODEL.replace("torch.nn.functional.sigmoid", "torch.nn.sigmoid"), NAME)
    assert rows(got) == [
        (
            "AG301",
            "'torch.nn.sigmoid' is not a module class in torch.nn of the installed torch; did you mean "
            "'torch.nn.Sigmoid'?",
            (11, 10, 11, 26),
        )
    ]


def test_io_and_code_loading_are_rejected(check_text) -> None:
    for name in ("torch.load", "torch.save", "torch.hub.load", "torch.compile"):
        got = check_text(MODEL.replace("torch.nn.functional.sigmoid", name), NAME)
        assert [(d.code, d.span.start_line) for d in got] == [("AG302", 11)], name
        assert got[0].message.startswith(f"{name} ")
        assert got[0].message.endswith(
            "; a spec may only use tensor operations and torch.nn layers"
        )


def test_unknown_param_did_you_mean(check_full) -> None:
    got = check_full(MODEL.replace("out_features: 1}", "out_feature: 1}"), NAME)
    assert rows(got) == [
        (
            "AG313",
            "torch.nn.Linear needs parameter 'out_features'; add it under params of node 'fc'",
            (7, 10, 7, 25),
        ),
        (
            "AG303",
            "unknown parameter 'out_feature' for torch.nn.Linear; did you mean 'out_features'?",
            (8, 29, 8, 40),
        ),
    ]


def test_param_type(check_full) -> None:
    got = check_full(MODEL.replace("out_features: 1}", "out_features: 1, bias: maybe}"), NAME)
    assert rows(got) == [
        (
            "AG304",
            "parameter 'bias' of torch.nn.Linear must be true or false; got 'maybe' (annotation: bool)",
            (8, 52, 8, 57),
        ),
    ]


def test_nested_target_objects_are_checked(check_full) -> None:
    text = MODEL.replace(
        "  - name: prob\n",
        "  - name: enc\n    type: torch.nn.TransformerEncoder\n    params:\n      encoder_layer:\n"
        "        _target_: torch.nn.TransformerEncoderLayer\n        d_model: 4\n        nheads: 2\n"
        "      num_layers: 1\n    inputs: {src: features}\n  - name: prob\n",
    )
    got = check_full(text, NAME)
    assert rows(got)[:2] == [
        (
            "AG313",
            "torch.nn.TransformerEncoderLayer needs parameter 'nhead' (in "
            "torch.nn.TransformerEncoder(encoder_layer=...))",
            (14, 18, 14, 50),
        ),
        (
            "AG303",
            "unknown parameter 'nheads' for torch.nn.TransformerEncoderLayer; did you mean 'nhead'?",
            (16, 8, 16, 14),
        ),
    ]


def test_target_must_be_a_torch_nn_class(check_text) -> None:
    text = MODEL.replace(
        "params: {in_features: 3, out_features: 1}",
        "params: {in_features: 3, out_features: 1, bias: {_target_: os.system}}",
    )
    assert rows(check_text(text, NAME)) == [
        (
            "AG316",
            "_target_ 'os.system' must name a torch.nn class (e.g. torch.nn.TransformerEncoderLayer)",
            (8, 63, 8, 72),
        )
    ]


def test_unresolved_reference(check_text) -> None:
    got = check_text(MODEL.replace("{input: fc.output}", "{input: fc1.output}"), NAME)
    assert rows(got) == [
        (
            "AG305",
            "input of node 'prob' 'fc1.output' does not resolve in graph; did you mean 'fc.output'?",
            (12, 20, 12, 30),
        )
    ]


def test_reference_to_node_without_output(check_text) -> None:
    got = check_text(MODEL.replace("{input: fc.output}", "{input: fc}"), NAME)
    assert rows(got) == [
        (
            "AG305",
            "input of node 'prob' 'fc' names node 'fc'; refer to its result as 'fc.output'",
            (12, 20, 12, 22),
        )
    ]


def test_cycle_is_reported_with_its_path(check_text) -> None:
    text = MODEL.replace("{input: features}", "{input: prob.output}")
    assert rows(check_text(text, NAME)) == [
        (
            "AG306",
            "the graph has a cycle: fc -> prob -> fc; a node cannot depend on its own output",
            (6, 10, 6, 12),
        )
    ]


def test_outputs_refer_to_nodes(check_text) -> None:
    got = check_text(MODEL.replace("prediction: prob.output", "prediction: prb.output"), NAME)
    assert (
        rows(got)
        == [
            (
                "AG309",
                "output 'prediction' refers to 'prb.output', which is no node of graph; did you mean "
                "'prob.output'?",
                (14, 14, 14, 24),
            ),
            (
                "AG311",
                "loss input 'prediction' is not one of the model's outputs (prediction)",
                (17, 17, 17, 27),
            ),
        ][:1]
    )


def test_loss_must_be_a_loss_function(check_full) -> None:
    got = check_full(
        MODEL.replace("torch.nn.functional.binary_cross_entropy", "torch.nn.functional.relu"), NAME
    )
    assert [(c, r) for c, _, r in rows(got)] == [("AG310", (16, 8, 16, 32))]
    assert got[0].message.startswith("'torch.nn.functional.relu' is not a torch loss function")


def test_loss_input_names_an_output(check_full) -> None:
    got = check_full(MODEL.replace("input: prediction,", "input: predicton,"), NAME)
    assert rows(got) == [
        (
            "AG311",
            "loss input 'predicton' is not one of the model's outputs (prediction); did you mean "
            "'prediction'?",
            (17, 18, 17, 27),
        )
    ]


def test_target_that_is_a_feature_warns(check_text) -> None:
    got = check_text(MODEL.replace("target: label", "target: b"), NAME)
    assert rows(got) == [
        (
            "AG312",
            "target column 'b' is also a feature column of input 'features': the model would see the "
            "answer (label leakage); remove it from the columns",
            (17, 38, 17, 39),
        )
    ]


def test_loss_params_against_signature(check_full) -> None:
    text = MODEL + "  params: {reductoin: sum}\n"
    assert rows(check_full(text, NAME)) == [
        (
            "AG303",
            "unknown parameter 'reductoin' for torch.nn.functional.binary_cross_entropy; did you mean "
            "'reduction'?",
            (18, 11, 18, 20),
        )
    ]


def test_shape_check_names_the_node(check_full) -> None:
    text = MODEL.replace("{in_features: 3, out_features: 1}", "{in_features: 128, out_features: 1}")
    assert rows(check_full(text, NAME)) == [
        (
            "AG314",
            "shape check failed at node 'fc': Linear in_features 128 but input has 3 features",
            (6, 10, 6, 12),
        )
    ]


def test_columns_must_match_shape(check_text) -> None:
    got = check_text(MODEL.replace("shape: [null, 3]", "shape: [null, 4]"), NAME)
    assert rows(got) == [
        (
            "AG317",
            "input 'features' has shape 4 per row but 3 columns; list 4 columns or set the shape to "
            "[null, 3]",
            (3, 18, 3, 19),
        )
    ]


def test_unknown_dtype(check_full) -> None:
    got = check_full(MODEL.replace("dtype: float32", "dtype: flaot32"), NAME)
    assert [(c, r) for c, _, r in rows(got)][:1] == [("AG318", (2, 11, 2, 18))]
    assert got[0].message == "input 'features' has unknown dtype 'flaot32'; did you mean 'float32'?"


MODULES = """\
modules:
  Block:
    inputs: [x]
    graph:
      - name: lin
        type: torch.nn.Linear
        params: {in_features: 3, out_features: 3}
        inputs: {input: x}
    outputs: {out: lin.output}
"""


def test_module_and_stack_resolve(check_full) -> None:
    text = MODULES + MODEL.replace(
        "  - name: fc\n",
        "  - name: blocks\n    type: arc.stack\n    params: {module: Block, count: 2}\n    inputs: {x: features}\n"
        "  - name: one\n    type: module.Block\n    inputs: {x: blocks.output}\n  - name: fc\n",
    ).replace("inputs: {input: features}", "inputs: {input: one.output}")
    assert check_full(text, NAME) == []


def test_unknown_module_and_bad_stack(check_text) -> None:
    text = MODULES + MODEL.replace(
        "  - name: fc\n",
        "  - name: blocks\n    type: arc.stack\n    params: {module: Blok, count: 0}\n    inputs: {x: features}\n"
        "  - name: one\n    type: module.Blck\n    inputs: {x: blocks.output}\n  - name: fc\n",
    )
    assert rows(check_text(text, NAME)) == [
        (
            "AG308",
            "arc.stack module 'Blok' is not defined under `modules`; did you mean 'Block'?",
            (17, 21, 17, 25),
        ),
        ("AG308", "arc.stack count must be an integer >= 1; got 0", (17, 34, 17, 35)),
        (
            "AG307",
            "module 'Blck' is not defined under `modules`; did you mean 'module.Block'?",
            (20, 10, 20, 21),
        ),
    ]


def test_single_input_module_binding_is_a_hint_not_an_error(check_text) -> None:
    text = MODULES + MODEL.replace(
        "  - name: fc\n",
        "  - name: one\n    type: module.Block\n    inputs: {input: features}\n  - name: fc\n",
    )
    got = check_text(text, NAME)
    assert [(d.code, d.severity.label) for d in got] == [("AG319", "hint")]


def test_model_id_duplicates_are_errors_on_both(check_text, workspace) -> None:
    (workspace / "other").mkdir()
    (workspace / "other" / "tiny-v1.model.yaml").write_text(MODEL)
    got = check_text(MODEL, "models/tiny-v1.model.yaml")
    assert [(d.code, d.span.start_line) for d in got] == [("AG315", 0)]
    assert "also defined by" in got[0].message and got[0].related[0].path.endswith(
        "other/tiny-v1.model.yaml"
    )


def test_model_file_name_must_be_an_id(check_text) -> None:
    got = check_text(MODEL, "models/tiny.model.yaml")
    assert rows(got) == [
        (
            "AG322",
            "this model's ID is its file name, 'tiny', which is not of the form <name>-v<version>; rename "
            "the file to e.g. 'tiny-v1.model.yaml' so that trainers can reference it",
            (0, 0, 0, 6),
        )
    ]


def test_a_long_graph_listed_consumers_first_is_checked_without_recursion(check_text) -> None:
    """Node order does not matter: 3,000 chained nodes listed from the output backwards."""
    n = 3000
    nodes = [
        f"  - name: n{i}\n    type: torch.nn.functional.relu\n"
        f"    inputs: {{input: {'features' if i == 0 else f'n{i - 1}.output'}}}\n"
        for i in reversed(range(n))
    ]
    text = (
        MODEL.split("graph:\n")[0]
        + "graph:\n"
        + "".join(nodes)
        + f"outputs:\n  prediction: n{n - 1}.output\n"
        + "loss:\n"
        + MODEL.split("loss:\n")[1]
    )
    assert rows(check_text(text, NAME)) == []
    looped = text.replace("inputs: {input: features}", f"inputs: {{input: n{n - 1}.output}}")
    got = check_text(looped, NAME)
    assert [d.code for d in got] == ["AG306"]
    assert got[0].message.startswith("the graph has a cycle: n2999 -> n0 -> n1 -> ")
