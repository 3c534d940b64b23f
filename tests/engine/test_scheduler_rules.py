"""Scheduler rules (trainer spec v1.1): exact code, message and range."""

from __future__ import annotations

import pytest

from arcgraph.engine.diagnostics import Severity

from .conftest import TRAINER, rows

P = "torch.optim.lr_scheduler."


def _sched(body: str) -> str:
    """The reference trainer with a `scheduler:` section from line 9 (0-based) on."""
    return TRAINER + "scheduler:\n" + body


@pytest.mark.parametrize(
    "body",
    [
        f"  type: {P}CosineAnnealingLR\n  params: {{T_max: 10, eta_min: 0.0001}}\n",
        f"  type: {P}OneCycleLR\n  params: {{max_lr: 0.05}}\n  interval: step\n",
        f"  type: {P}ReduceLROnPlateau\n  params: {{mode: max, patience: 2}}\n"
        "  monitor: val_accuracy\n",
        f"  type: {P}SequentialLR\n  params:\n    schedulers:\n"
        f"      - {{type: {P}LinearLR, params: {{start_factor: 0.1, total_iters: 2}}}}\n"
        f"      - {{type: {P}ExponentialLR, params: {{gamma: 0.9}}}}\n"
        "    milestones: [2]\n",
    ],
)
def test_schedulers_configured_by_values_are_clean(check_full, body: str) -> None:
    assert check_full(_sched(body)) == []


def test_unknown_type_with_did_you_mean(check_text, catalog) -> None:
    diags = check_text(
        _sched(f"  type: {P}CosineAnealingLR\n  params: {{T_max: 3}}\n"), catalog=catalog
    )
    assert rows(diags) == [
        (
            "AG240",
            f"'{P}CosineAnealingLR' is not a scheduler in torch.optim.lr_scheduler; did you mean "
            f"'{P}CosineAnnealingLR'?",
            (10, 8, 10, 49),
        )
    ]
    assert diags[0].data == {"fix": "replace_value", "with": f"{P}CosineAnnealingLR"}


def test_short_name_gets_the_full_one(check_text, catalog) -> None:
    diags = check_text(_sched("  type: StepLR\n  params: {step_size: 3}\n"), catalog=catalog)
    assert rows(diags) == [
        (
            "AG240",
            f"'StepLR' is not a scheduler in torch.optim.lr_scheduler; did you mean '{P}StepLR'?",
            (10, 8, 10, 14),
        )
    ]


def test_unknown_param(check_text, catalog) -> None:
    diags = check_text(_sched(f"  type: {P}StepLR\n  params: {{step_sise: 3}}\n"), catalog=catalog)
    assert rows(diags) == [
        (
            "AG241",
            f"unknown parameter 'step_sise' for {P}StepLR; did you mean 'step_size'?",
            (11, 11, 11, 20),
        ),
        (
            "AG245",
            f"{P}StepLR needs step_size in scheduler.params (no default in its constructor)",
            (11, 10, 11, 24),
        ),
    ]


def test_param_type(check_text, catalog) -> None:
    diags = check_text(
        _sched(f"  type: {P}StepLR\n  params: {{step_size: 2.5}}\n"), catalog=catalog
    )
    assert rows(diags) == [
        (
            "AG242",
            f"parameter 'step_size' of {P}StepLR must be an integer; got 2.5 (annotation: int)",
            (11, 22, 11, 25),
        )
    ]


def test_optimizer_is_the_trainers(check_text, catalog) -> None:
    text = _sched(f"  type: {P}StepLR\n  params:\n    step_size: 2\n    optimizer: adam\n")
    diags = check_text(text, catalog=catalog)
    assert rows(diags) == [
        (
            "AG243",
            "'optimizer' is not given in scheduler.params: the trainer passes its own optimizer "
            "(the `optimizer:` section); remove it",
            (13, 4, 13, 13),
        )
    ]
    assert diags[0].data == {"fix": "remove_key", "key": "optimizer"}


@pytest.mark.parametrize("name", ["LambdaLR", "MultiplicativeLR"])
def test_callable_schedulers_are_refused_saying_why(check_text, catalog, name: str) -> None:
    diags = check_text(_sched(f"  type: {P}{name}\n"), catalog=catalog)
    assert rows(diags) == [
        (
            "AG244",
            f"{P}{name} needs a Python function (lr_lambda), which a YAML spec cannot give; use "
            "a scheduler configured by values (LinearLR, StepLR, ExponentialLR, "
            "CosineAnnealingLR, SequentialLR to combine them)",
            (10, 8, 10, 8 + len(P + name)),
        )
    ]


def test_missing_required_argument(check_text, catalog) -> None:
    diags = check_text(_sched(f"  type: {P}CosineAnnealingLR\n"), catalog=catalog)
    assert rows(diags) == [
        (
            "AG245",
            f"{P}CosineAnnealingLR needs T_max in scheduler.params (no default in its constructor)",
            (10, 8, 10, 50),
        )
    ]


def test_nested_schedulers_are_checked_recursively(check_text, catalog) -> None:
    text = _sched(
        f"  type: {P}SequentialLR\n"
        "  params:\n"
        "    schedulers:\n"
        f"      - type: {P}LinearLR\n"
        "        params: {start_factr: 0.1}\n"
        f"      - type: {P}LambdaLR\n"
        "      - tipe: x\n"
        "      - 3\n"
        "    milestones: [2]\n"
    )
    assert rows(check_text(text, catalog=catalog)) == [
        (
            "AG241",
            f"unknown parameter 'start_factr' for {P}LinearLR; did you mean 'start_factor'?",
            (14, 17, 14, 28),
        ),
        (
            "AG244",
            f"{P}LambdaLR needs a Python function (lr_lambda), which a YAML spec cannot give; use "
            "a scheduler configured by values (LinearLR, StepLR, ExponentialLR, "
            "CosineAnnealingLR, SequentialLR to combine them)",
            (15, 14, 15, 47),
        ),
        (
            "AG241",
            "unknown key 'tipe' in scheduler.params.schedulers[2]; did you mean 'type'?",
            (16, 8, 16, 12),
        ),
        (
            "AG242",
            "scheduler.params.schedulers[3] must be a mapping with 'type' (a "
            "torch.optim.lr_scheduler class) and optional 'params'",
            (17, 8, 17, 9),
        ),
    ]


def test_nested_schedulers_must_be_a_list(check_text, catalog) -> None:
    text = _sched(f"  type: {P}ChainedScheduler\n  params: {{schedulers: 3}}\n")
    assert rows(check_text(text, catalog=catalog)) == [
        (
            "AG242",
            f"parameter 'schedulers' of {P}ChainedScheduler must be a list of {{type, params}} "
            "schedulers",
            (11, 23, 11, 24),
        )
    ]


def test_interval_is_epoch_or_step(check_text, catalog) -> None:
    text = _sched(f"  type: {P}StepLR\n  params: {{step_size: 2}}\n  interval: batch\n")
    assert [(c, s) for c, _, s in rows(check_text(text, catalog=catalog))] == [
        ("AG114", (12, 12, 12, 17))
    ]


def test_monitor_only_for_a_metric_scheduler(check_text, catalog) -> None:
    text = _sched(f"  type: {P}StepLR\n  params: {{step_size: 2}}\n  monitor: val_loss\n")
    diags = check_text(text, catalog=catalog)
    assert rows(diags) == [
        (
            "AG246",
            f"monitor is only read by a scheduler that steps on a metric (ReduceLROnPlateau); "
            f"{P}StepLR ignores it: remove it",
            (12, 2, 12, 9),
        )
    ]
    assert diags[0].severity == Severity.WARNING


def test_monitor_the_trainer_never_produces_is_an_error(check_full) -> None:
    """An error, as early_stopping_monitor's AG224: the trainer refuses both before training."""
    text = _sched(f"  type: {P}ReduceLROnPlateau\n  monitor: val_mea\n")
    diags = check_full(text)
    assert rows(diags) == [
        (
            "AG247",
            "scheduler.monitor 'val_mea' is not a metric the trainer produces for a "
            "classification model (train_loss, val_loss, val_accuracy)",
            (11, 11, 11, 18),
        )
    ]
    assert diags[0].severity == Severity.ERROR


def test_val_monitor_without_validation_is_an_error(check_full) -> None:
    """The trainer refuses it before training (the run writes no val_* metric), as AG220's
    early_stopping_monitor and AG258; it passed unremarked."""
    text = _sched(f"  type: {P}ReduceLROnPlateau\n  monitor: val_loss\n").replace(
        "validation_split: 0.2", "validation_split: 0"
    )
    diags = check_full(text)
    assert rows(diags) == [
        (
            "AG247",
            "scheduler.monitor 'val_loss' is computed on the validation split, but "
            "validation_split is 0; set validation_split to e.g. 0.2 or monitor train_loss",
            (11, 11, 11, 19),
        )
    ]
    assert diags[0].severity == Severity.ERROR


def test_metric_scheduler_steps_per_epoch(check_text, catalog) -> None:
    text = _sched(f"  type: {P}ReduceLROnPlateau\n  interval: step\n")
    diags = check_text(text, catalog=catalog)
    assert rows(diags) == [
        (
            "AG249",
            f"{P}ReduceLROnPlateau steps on a metric, which the trainer computes once per epoch; "
            "use interval: epoch",
            (11, 12, 11, 16),
        )
    ]
    assert diags[0].data == {"fix": "replace_value", "with": "epoch"}


def test_torch_refuses_cyclic_lr_on_an_optimizer_without_momentum(check_full) -> None:
    """The probe builds the scheduler on the spec's optimizer type: torch's own words."""
    text = _sched(f"  type: {P}CyclicLR\n  params: {{base_lr: 0.001, max_lr: 0.1}}\n").replace(
        "torch.optim.Adam", "torch.optim.Adagrad"
    )
    assert rows(check_full(text)) == [
        (
            "AG248",
            "scheduler does not build on torch.optim.Adagrad: optimizer must support momentum "
            "or beta1 with `cycle_momentum` option enabled",
            (10, 8, 10, 41),
        )
    ]


def test_torch_refusal_lands_on_the_key_it_names(check_full) -> None:
    text = _sched(
        f"  type: {P}SequentialLR\n"
        "  params:\n"
        "    schedulers:\n"
        f"      - type: {P}ConstantLR\n"
        f"      - type: {P}OneCycleLR\n"
        "        params: {max_lr: 0.1, pct_start: 2}\n"
        "    milestones: [2]\n"
    )
    assert rows(check_full(text)) == [
        (
            "AG248",
            "scheduler.params.schedulers[1] does not build on torch.optim.Adam: Expected float "
            "between 0 and 1 pct_start, but got 2",
            (15, 30, 15, 39),
        )
    ]
