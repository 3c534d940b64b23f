"""Issue 11: a loss given as a class, nested output indices, the loss meeting the output and
the target on `meta`, and the shape check on the well-formed part of a spec with errors.
Real torch worker; exact code, message and range."""

from __future__ import annotations

from .conftest import rows

NAME = "models/m-v1.model.yaml"


def model(out_features: int, loss: str, *, head: str = "", extra: str = "") -> str:
    """A Linear(3 -> out_features) whose output `logits` meets `loss` and column `label`."""
    return f"""\
inputs:
  features: {{dtype: float32, shape: [null, 3], columns: [a, b, c]}}
graph:
  - name: fc
    type: torch.nn.Linear
    params: {{in_features: 3, out_features: {out_features}}}
    inputs: {{input: features}}
{head}outputs:
  logits: {"sq.output" if head else "fc.output"}
loss:
  type: {loss}
  inputs: {{input: logits, target: label}}
{extra}"""


SQUEEZE = """\
  - name: sq
    type: torch.squeeze
    params: {dim: 1}
    inputs: {input: fc.output}
"""
LOSS_KEY = (9, 0, 9, 4)  # the `loss` key


# -- the loss meets the output and the target ----------------------------------------------


def test_bce_with_four_outputs_against_one_column(check_full) -> None:
    text = model(4, "torch.nn.functional.binary_cross_entropy_with_logits")
    assert rows(check_full(text, NAME)) == [
        (
            "AG314",
            "loss torch.nn.functional.binary_cross_entropy_with_logits: output 'logits' is "
            "[B, 4] but the target from column 'label' is [B]; binary_cross_entropy_with_logits "
            "compares each value with its row's 0/1 target: make output 'logits' one value per "
            "row ([B] or [B, 1], e.g. out_features: 1), or use "
            "torch.nn.functional.cross_entropy for 4 classes (class-index targets)",
            LOSS_KEY,
        )
    ]


def test_bce_with_one_output_is_clean(check_full) -> None:
    assert check_full(model(1, "torch.nn.functional.binary_cross_entropy_with_logits"), NAME) == []


def test_cross_entropy_with_class_indices_is_clean(check_full) -> None:
    assert check_full(model(4, "torch.nn.functional.cross_entropy"), NAME) == []


def test_cross_entropy_on_one_value_per_row(check_full) -> None:
    """A [B] output: torch would read it as one row's class scores and the target as class
    probabilities; the trainer's target is class indices, one per row."""
    text = model(1, "torch.nn.functional.cross_entropy", head=SQUEEZE)
    assert rows(check_full(text, NAME)) == [
        (
            "AG314",
            "loss torch.nn.functional.cross_entropy: output 'logits' is [B] but the target from "
            "column 'label' is [B] class indices; cross_entropy needs one score per class: make "
            "output 'logits' [B, C] (e.g. a Linear with out_features = the number of classes); "
            "a [B] output is read as one row's scores, with the target taken as class "
            "probabilities, which one column cannot give",
            (13, 0, 13, 4),
        )
    ]


def test_mse_target_b_against_output_b1_and_b(check_full) -> None:
    """The trainer gives a [B, 1] output a [B, 1] target (not torch's broadcast to [B, B]),
    and a [B] output a [B] one: both are clean."""
    assert check_full(model(1, "torch.nn.functional.mse_loss"), NAME) == []
    assert check_full(model(1, "torch.nn.functional.mse_loss", head=SQUEEZE), NAME) == []


def test_mse_target_that_torch_would_broadcast_is_refused(check_full) -> None:
    """[B, 2] against [B]: torch broadcasts when B is 2 (with a warning) and fails otherwise;
    either way the loss would be wrong, so it is reported."""
    assert rows(check_full(model(2, "torch.nn.functional.mse_loss"), NAME)) == [
        (
            "AG314",
            "loss torch.nn.functional.mse_loss: output 'logits' is [B, 2] but the target from "
            "column 'label' is [B]; mse_loss compares each value with its row's target: make "
            "output 'logits' one value per row ([B] or [B, 1], e.g. out_features: 1)",
            LOSS_KEY,
        )
    ]


# -- a loss given as a class ------------------------------------------------------------------


def test_loss_class_is_a_loss_and_meets_the_output(check_full) -> None:
    assert check_full(model(1, "torch.nn.BCEWithLogitsLoss"), NAME) == []
    text = model(4, "torch.nn.BCEWithLogitsLoss", extra="  params: {pos_weight: [1, 1, 1, 1]}\n")
    got = rows(check_full(text, NAME))
    assert [(c, r) for c, _, r in got] == [("AG314", LOSS_KEY)]
    assert got[0][1].startswith(
        "loss torch.nn.BCEWithLogitsLoss: output 'logits' is [B, 4] but the target from "
        "column 'label' is [B]; BCEWithLogitsLoss compares each value"
    )


def test_loss_class_params_are_its_constructors(check_full) -> None:
    text = model(1, "torch.nn.CrossEntropyLoss", extra="  params: {label_smoothin: 0.1}\n")
    assert rows(check_full(text, NAME)) == [
        (
            "AG303",
            "unknown parameter 'label_smoothin' for torch.nn.CrossEntropyLoss; did you mean "
            "'label_smoothing'?",
            (12, 11, 12, 25),
        )
    ]


def test_a_module_that_is_no_loss_is_refused(check_full) -> None:
    got = rows(check_full(model(1, "torch.nn.Linear"), NAME))
    assert [(c, r) for c, _, r in got] == [("AG310", (10, 8, 10, 23))]
    assert got[0][1].startswith("'torch.nn.Linear' is not a torch loss function or loss class")


# -- nested output indices ------------------------------------------------------------------

LSTM = """\
inputs:
  seq: {dtype: float32, shape: [null, 5, 3], columns: [s]}
graph:
  - name: lstm
    type: torch.nn.LSTM
    params: {input_size: 3, hidden_size: 4, batch_first: true}
    inputs: {input: seq}
  - name: last
    type: torch.squeeze
    params: {dim: 0}
    inputs: [lstm.output.1.0]
  - name: head
    type: torch.nn.Linear
    params: {in_features: 4, out_features: 1}
    inputs: {input: last.output}
outputs:
  y: head.output
  cell: lstm.output.1.1
loss:
  type: torch.nn.functional.mse_loss
  inputs: {input: y, target: label}
"""


def test_nested_indices_of_a_tuple_result(check_full) -> None:
    assert check_full(LSTM, NAME) == []


def test_index_past_a_nested_tuple_names_node_and_length(check_full) -> None:
    got = check_full(LSTM.replace("[lstm.output.1.0]", "[lstm.output.1.2]"), NAME)
    assert rows(got) == [
        (
            "AG314",
            "shape check failed at node 'last': 'lstm.output.1.2': 'lstm.output.1' is a tuple of "
            "2, so it has no element 2; its elements are lstm.output.1.0 to lstm.output.1.1",
            (7, 10, 7, 14),
        )
    ]


def test_index_into_a_tensor_is_refused(check_full) -> None:
    got = check_full(LSTM.replace("cell: lstm.output.1.1", "cell: lstm.output.0.1"), NAME)
    assert rows(got) == [
        (
            "AG314",
            "shape check failed at output 'cell': 'lstm.output.0.1': 'lstm.output.0' is a "
            "tensor, not a tuple, so it has no element 1; refer to 'lstm.output.0' "
            "(torch.select or torch.narrow take part of a tensor)",
            (17, 8, 17, 23),
        )
    ]


# -- the shape check despite unrelated errors -----------------------------------------------

TWO_BRANCHES = """\
inputs:
  features: {dtype: float32, shape: [null, 3], columns: [a, b, c]}
graph:
  - name: fc
    type: torch.nn.Linear
    params: {in_features: 3, out_features: 1, bais: false}
    inputs: {input: features}
  - name: mm
    type: torch.matmul
    inputs: [features, features]
  - name: after_fc
    type: torch.nn.ReLU
    inputs: {input: fc.output}
outputs:
  y: after_fc.output
  z: mm.output
loss:
  type: torch.nn.functional.mse_loss
  inputs: {input: y, target: label}
"""


def test_shape_error_on_one_branch_despite_an_error_on_another(check_full) -> None:
    assert rows(check_full(TWO_BRANCHES, NAME)) == [
        (
            "AG303",
            "unknown parameter 'bais' for torch.nn.Linear; did you mean 'bias'?",
            (5, 46, 5, 50),
        ),
        (
            "AG314",
            "shape check failed at node 'mm': a and b must have same reduction dim, but got "
            "[2, 3] X [2, 3].",
            (7, 10, 7, 12),
        ),
    ]


def test_nothing_of_a_broken_branch_reaches_the_shape_check(check_full) -> None:
    """fc is refused (unknown param) and after_fc reads it: neither is run, so the shape
    error of after_fc's misfit is not guessed at; the well-formed mm still is."""
    text = TWO_BRANCHES.replace(
        "type: torch.nn.ReLU",
        "type: torch.nn.Linear\n    params: {in_features: 7, out_features: 1}",
    )
    got = check_full(text.replace("[features, features]", "[features, features.output]"), NAME)
    assert [d.code for d in got] == ["AG303", "AG305"]
