"""Callback rules (trainer spec v1.1, AG255-AG259): exact code, message, range and quick fix."""

from __future__ import annotations

import pytest

from arcgraph.engine.diagnostics import Severity

from .conftest import TRAINER, rows

METRICS = "train_loss, val_loss, val_accuracy"


def _with(callbacks: str, trainer: str = TRAINER) -> str:
    return trainer + "callbacks:\n" + callbacks


def test_the_three_callbacks_are_clean(check_text) -> None:
    text = _with(
        "  - type: arc.callbacks.TensorBoardLogger\n"
        "    params: {log_dir: tb}\n"
        "  - type: arc.callbacks.ModelCheckpoint\n"
        "    params: {monitor: val_accuracy, mode: max, save_top_k: 2}\n"
        "  - type: arc.callbacks.LearningRateMonitor\n"
    )
    assert check_text(text) == []


def test_unknown_callback_type_did_you_mean(check_text) -> None:
    diags = check_text(_with("  - type: arc.callbacks.TensorBoardLoger\n"))
    assert rows(diags) == [
        (
            "AG255",
            "'arc.callbacks.TensorBoardLoger' is not a callback in arc.callbacks; did you mean "
            "'arc.callbacks.TensorBoardLogger'?",
            (10, 10, 10, 40),
        )
    ]
    assert diags[0].data == {"fix": "replace_value", "with": "arc.callbacks.TensorBoardLogger"}


def test_a_lightning_path_is_never_imported_but_named(check_text) -> None:
    diags = check_text(_with("  - type: lightning.pytorch.callbacks.ModelCheckpoint\n"))
    assert rows(diags) == [
        (
            "AG255",
            "'lightning.pytorch.callbacks.ModelCheckpoint' is not a callback in arc.callbacks; "
            "did you mean 'arc.callbacks.ModelCheckpoint'?",
            (10, 10, 10, 53),
        )
    ]


def test_unknown_callback_without_a_near_name_lists_the_registry(check_text) -> None:
    diags = check_text(_with("  - type: arc.callbacks.Zzz\n"))
    assert rows(diags) == [
        (
            "AG255",
            "'arc.callbacks.Zzz' is not a callback in arc.callbacks; use one of "
            "arc.callbacks.TensorBoardLogger, arc.callbacks.ModelCheckpoint, "
            "arc.callbacks.LearningRateMonitor",
            (10, 10, 10, 27),
        )
    ]


def test_unknown_param_did_you_mean(check_text) -> None:
    text = _with("  - type: arc.callbacks.TensorBoardLogger\n    params: {logdir: tb}\n")
    diags = check_text(text)
    assert rows(diags) == [
        (
            "AG256",
            "unknown parameter 'logdir' for arc.callbacks.TensorBoardLogger; did you mean "
            "'log_dir'?",
            (11, 13, 11, 19),
        )
    ]
    assert diags[0].data == {"fix": "rename_key", "with": "log_dir"}


def test_param_of_a_callback_that_takes_none(check_text) -> None:
    text = _with("  - type: arc.callbacks.LearningRateMonitor\n    params: {interval: step}\n")
    assert rows(check_text(text)) == [
        (
            "AG256",
            "unknown parameter 'interval' for arc.callbacks.LearningRateMonitor; it takes no "
            "parameters",
            (11, 13, 11, 21),
        )
    ]


@pytest.mark.parametrize(
    ("params", "message", "cols", "fix"),
    [
        (
            "{mode: maximum}",
            "parameter 'mode' of arc.callbacks.ModelCheckpoint must be one of 'min', 'max'; "
            "got 'maximum'; did you mean 'max'?",
            (19, 26),
            {"fix": "replace_value", "with": "max"},
        ),
        (
            "{save_top_k: 0}",
            "parameter 'save_top_k' of arc.callbacks.ModelCheckpoint must be an integer >= 1; "
            "got 0",
            (25, 26),
            None,
        ),
        (
            "{save_top_k: two}",
            "parameter 'save_top_k' of arc.callbacks.ModelCheckpoint must be an integer >= 1; "
            "got 'two'",
            (25, 28),
            None,
        ),
        (
            "{monitor: 3}",
            "parameter 'monitor' of arc.callbacks.ModelCheckpoint must be a string; got 3",
            (22, 23),
            None,
        ),
    ],
)
def test_wrong_param_values(
    check_text, params: str, message: str, cols: tuple[int, int], fix: dict | None
) -> None:
    diags = check_text(_with(f"  - type: arc.callbacks.ModelCheckpoint\n    params: {params}\n"))
    assert rows(diags) == [("AG257", message, (11, cols[0], 11, cols[1]))]
    assert diags[0].data == fix


def test_monitor_never_produced_is_an_error_with_did_you_mean(check_text) -> None:
    diags = check_text(
        _with("  - type: arc.callbacks.ModelCheckpoint\n    params: {monitor: val_acc}\n")
    )
    assert rows(diags) == [
        (
            "AG258",
            "ModelCheckpoint monitor 'val_acc' is not a metric the trainer produces for a "
            f"classification model ({METRICS}); did you mean 'val_accuracy'?",
            (11, 22, 11, 29),
        )
    ]
    assert diags[0].severity == Severity.ERROR  # the trainer refuses it, as AG224 and AG247


def test_lr_is_a_metric_with_a_learning_rate_monitor(check_text) -> None:
    text = _with(
        "  - type: arc.callbacks.ModelCheckpoint\n    params: {monitor: lr}\n"
        "  - type: arc.callbacks.LearningRateMonitor\n"
    )
    assert check_text(text) == []
    alone = check_text(
        _with("  - type: arc.callbacks.ModelCheckpoint\n    params: {monitor: lr}\n")
    )
    assert [d.code for d in alone] == ["AG258"]


def test_validation_monitor_without_validation_split(check_text) -> None:
    trainer = TRAINER.replace("validation_split: 0.2", "validation_split: 0")
    diags = check_text(
        _with("  - type: arc.callbacks.ModelCheckpoint\n    params: {monitor: val_loss}\n", trainer)
    )
    assert rows(diags) == [
        (
            "AG258",
            "ModelCheckpoint monitor 'val_loss' is computed on the validation split, but "
            "validation_split is 0; set validation_split to e.g. 0.2 or monitor train_loss",
            (11, 22, 11, 30),
        )
    ]
    assert diags[0].severity == Severity.ERROR  # the trainer refuses it, as AG224 and AG247


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            "arc.callbacks.TensorBoardLogger",
            "another TensorBoardLogger with log_dir 'tb' writes the same files; remove this "
            "entry or change it",
        ),
        (
            "arc.callbacks.ModelCheckpoint",
            "another ModelCheckpoint with monitor 'val_loss' writes the same files; remove "
            "this entry or change it",
        ),
        (
            "arc.callbacks.LearningRateMonitor",
            "LearningRateMonitor is already in the list; remove this entry",
        ),
    ],
)
def test_a_callback_given_twice(check_text, entry: str, message: str) -> None:
    diags = check_text(_with(f"  - type: {entry}\n  - type: {entry}\n"))
    assert rows(diags) == [("AG259", message, (11, 10, 11, 10 + len(entry)))]
    assert diags[0].severity == Severity.ERROR


def test_two_model_checkpoints_on_different_metrics_are_fine(check_text) -> None:
    text = _with(
        "  - type: arc.callbacks.ModelCheckpoint\n"
        "  - type: arc.callbacks.ModelCheckpoint\n"
        "    params: {monitor: val_accuracy, mode: max}\n"
    )
    assert check_text(text) == []


def test_schema_rejects_an_entry_without_type(check_text) -> None:
    diags = check_text(_with("  - params: {log_dir: tb}\n"))
    assert [(d.code, d.message) for d in diags] == [
        ("AG110", "missing required key 'type' in callbacks[0]; add `type: `")
    ]
