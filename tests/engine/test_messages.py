"""Messages that said the wrong thing (issue 9): each now says what is wrong and the fix.

Exact code, message and range, as in test_model_rules / test_trainer_rules.
"""

from __future__ import annotations

import pytest

from arcgraph.engine.core import Engine
from arcgraph.engine.fixes import fixes_for
from edits import apply_edits

from .conftest import MODEL, TRAINER, rows

NAME = "models/m-v1.model.yaml"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "torch.randn",
            "torch.randn is a factory function: it makes a random tensor from sizes or values "
            "alone, not from the node's inputs, so a graph node cannot call it",
        ),
        (
            "torch.empty",
            "torch.empty is a factory function: it makes a new tensor from sizes or values "
            "alone, not from the node's inputs, so a graph node cannot call it; did you mean "
            "'torch.empty_like'?",
        ),
        (
            "torch.sigmoid_",
            "torch.sigmoid_ changes its input in place, which a graph node may not do; did you "
            "mean 'torch.sigmoid'?",
        ),
        ("torch.get_num_threads", "torch.get_num_threads is not a tensor function a spec may call"),
    ],
)
def test_an_existing_torch_function_that_is_no_node_says_why(
    check_text, catalog, name: str, message: str
) -> None:
    got = check_text(MODEL.replace("torch.nn.functional.sigmoid", name), NAME, catalog=catalog)
    assert rows(got) == [("AG302", message, (11, 10, 11, 10 + len(name)))]


@pytest.mark.parametrize(
    ("encoding", "named"),
    [("utf-16", "UTF-16"), ("utf-16-le", "UTF-16LE"), ("utf-32-be", "UTF-32BE")],
)
def test_a_utf16_file_is_named_as_such_with_how_to_convert_it(
    workspace, encoding: str, named: str
) -> None:
    path = workspace / "my trainer.trainer.yaml"
    data = "model_ref: tiny-v1\n".encode(encoding)
    path.write_bytes(data)
    assert rows(Engine().check(path, data)) == [
        (
            "AG105",
            f"the file is {named} text; a spec must be UTF-8: convert it with `iconv -f {named} "
            "-t UTF-8 'my trainer.trainer.yaml' > 'my trainer.trainer.yaml.utf8'` and move that "
            "over the file",
            (0, 0, 0, 1),
        )
    ]


def test_a_list_param_names_its_wrong_item(check_text, catalog) -> None:
    text = MODEL.replace(
        "    type: torch.nn.functional.sigmoid\n",
        "    type: torch.reshape\n    params: {shape: [-1, 'one']}\n",
    )
    got = check_text(text, NAME, catalog=catalog)
    assert rows(got) == [
        (
            "AG304",
            "parameter 'shape' of torch.reshape must be a list of integers; got a list whose "
            "item at index 1 is 'one'",
            (12, 25, 12, 30),
        )
    ]


def test_a_tuple_param_of_the_wrong_length_says_how_long(check_text, catalog) -> None:
    text = TRAINER.replace("  lr: 0.01\n", "  lr: 0.01\n  params: {betas: [0.9, 0.99, 0.999]}\n")
    assert rows(check_text(text, catalog=catalog)) == [
        (
            "AG212",
            "parameter 'betas' of torch.optim.Adam must be a list of two numbers; got a list of "
            "3 items (annotation: tuple[float | Tensor, float | Tensor])",
            (4, 18, 4, 36),
        )
    ]


def test_missing_colon_is_reported_on_the_key_that_lacks_it(check_text) -> None:
    text = TRAINER.replace("optimizer:\n", "optimizer\n")
    assert rows(check_text(text)) == [
        (
            "AG100",
            "YAML syntax error: could not find expected ':' after 'optimizer' (a key and its "
            "value are written `key: value`)",
            (1, 0, 1, 9),
        )
    ]


def test_a_node_without_inputs_gets_a_fix_the_spec_accepts(check_text) -> None:
    text = MODEL.replace("    inputs: {input: fc.output}\n", "")
    got = check_text(text, NAME)
    assert rows(got) == [
        ("AG110", "missing required key 'inputs' in graph[1]; add `inputs: {}`", (10, 4, 12, 0))
    ]
    (fix,) = fixes_for(text, got[0])
    fixed = apply_edits(text, fix.edits)
    assert fix.title == "Add 'inputs: {}'"
    assert "    type: torch.nn.functional.sigmoid\n    inputs: {}\noutputs:" in fixed
    assert check_text(fixed, NAME) == []


def test_missing_validation_split_suggests_the_specs_example(check_text) -> None:
    text = TRAINER.replace("  validation_split: 0.2\n", "")
    got = check_text(text)
    assert rows(got) == [
        (
            "AG110",
            "missing required key 'validation_split' in config; add `validation_split: 0.2`",
            (4, 0, 4, 6),
        )
    ]
    (fix,) = fixes_for(text, got[0])
    assert fix.edits[0].new_text == "  validation_split: 0.2\n"
