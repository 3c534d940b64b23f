"""One broken trainer spec per rule: exact code, message and range."""

from __future__ import annotations

import pytest

from arcgraph.engine.diagnostics import Severity

from .conftest import TRAINER, rows


def _cfg(extra: str) -> str:
    return TRAINER + extra


def test_the_reference_trainer_is_clean(check_full) -> None:
    assert check_full(TRAINER) == []


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "  epochs: 10.5\n",
            ("AG112", "'config.epochs' must be a positive integer; got 10.5", (5, 10, 5, 14)),
        ),
        (
            "  epochs: true\n",
            ("AG112", "'config.epochs' must be a positive integer; got true", (5, 10, 5, 14)),
        ),
        (
            "  epochs: 0\n",
            ("AG113", "'config.epochs' must be a positive integer; got 0", (5, 10, 5, 11)),
        ),
        (
            "  epochs:\n",
            ("AG112", "'config.epochs' has no value; it must be a positive integer", (5, 9, 5, 9)),
        ),
    ],
)
def test_epochs(check_text, line: str, expected) -> None:
    assert rows(check_text(TRAINER.replace("  epochs: 3\n", line))) == [expected]


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("batch_size", "-1", ("AG113", "'config.batch_size' must be a positive integer; got -1")),
        (
            "accumulate_grad_batches",
            "2.5",
            ("AG112", "'config.accumulate_grad_batches' must be a positive integer; got 2.5"),
        ),
        (
            "validation_split",
            "1.0",
            ("AG113", "'config.validation_split' must be a number in [0, 1); got 1.0"),
        ),
        (
            "validation_split",
            "-0.1",
            ("AG113", "'config.validation_split' must be a number in [0, 1); got -0.1"),
        ),
        (
            "shuffle",
            "yes please",
            ("AG112", "'config.shuffle' must be true or false; got 'yes please'"),
        ),
        (
            "device",
            "gpu",
            (
                "AG114",
                '\'config.device\' must be one of "auto", "cpu", "cuda", "mps"; got \'gpu\'; did you mean \'cpu\'?',
            ),
        ),
        (
            "early_stopping_mode",
            "maximum",
            (
                "AG114",
                "'config.early_stopping_mode' must be one of \"min\", \"max\"; got 'maximum'; did you mean 'max'?",
            ),
        ),
        (
            "early_stopping_patience",
            "0",
            ("AG113", "'config.early_stopping_patience' must be a positive integer or null; got 0"),
        ),
        (
            "gradient_clip_val",
            "0",
            ("AG113", "'config.gradient_clip_val' must be a positive number; got 0"),
        ),
        (
            "gradient_clip_norm",
            "-1.0",
            ("AG113", "'config.gradient_clip_norm' must be a positive number; got -1.0"),
        ),
    ],
)
def test_config_values(check_text, key: str, value: str, expected) -> None:
    text = (
        TRAINER
        if f"  {key}:" not in TRAINER
        else TRAINER.replace(
            next(ln for ln in TRAINER.splitlines() if ln.startswith(f"  {key}:")) + "\n", ""
        )
    )
    text += f"  {key}: {value}\n"
    got = rows(check_text(text))
    line = text.count("\n") - 1
    col = len(f"  {key}: ")
    assert got == [(*expected, (line, col, line, col + len(value)))]


def test_patience_may_be_null(check_text) -> None:
    assert check_text(_cfg("  early_stopping_patience: null\n")) == []


def test_lr_must_be_positive(check_text) -> None:
    text = TRAINER.replace("lr: 0.01", "lr: 0")
    assert rows(check_text(text)) == [
        ("AG113", "'optimizer.lr' must be a positive number; got 0", (3, 6, 3, 7))
    ]


def test_missing_required_keys(check_text) -> None:
    text = TRAINER.replace("  shuffle: true\n", "").replace("  lr: 0.01\n", "")
    assert rows(check_text(text)) == [
        ("AG110", "missing required key 'lr' in optimizer; add `lr: 0.001`", (1, 0, 1, 9)),
        ("AG110", "missing required key 'shuffle' in config; add `shuffle: true`", (3, 0, 3, 6)),
    ]


def test_missing_section(check_text) -> None:
    text = "model_ref: tiny-v1\n" + TRAINER.split("config:")[0].split("\n", 1)[1]
    assert rows(check_text(text)) == [
        ("AG110", "missing required key 'config' in the spec; add `config: {}`", (0, 0, 0, 9)),
    ]


def test_unknown_key_with_did_you_mean(check_text) -> None:
    assert rows(check_text(_cfg("  epoch_count: 3\n  batchsize: 4\n"))) == [
        (
            "AG111",
            "unknown key 'epoch_count' in config; allowed keys: epochs, batch_size, validation_split, shuffle, "
            "early_stopping_patience, early_stopping_min_delta, early_stopping_monitor, early_stopping_mode, "
            "checkpoint_every, save_best_only, device, num_workers, pin_memory, gradient_clip_val, gradient_clip_norm, "
            "accumulate_grad_batches, log_every, verbose, mixed_precision, amp_backend, distributed, world_size, backend, seed",
            (9, 2, 9, 13),
        ),
        ("AG111", "unknown key 'batchsize' in config; did you mean 'batch_size'?", (10, 2, 10, 11)),
    ]


def test_loss_in_trainer_has_its_own_message(check_text) -> None:
    text = TRAINER + "loss:\n  type: torch.nn.functional.mse_loss\n"
    assert rows(check_text(text)) == [
        (
            "AG200",
            "'loss' does not belong in a trainer spec: the loss is part of the model spec (add it under "
            "`loss:` in the model that model_ref names) and remove it here",
            (9, 0, 9, 4),
        ),
    ]


def test_model_ref_unknown_suggests_closest(check_text) -> None:
    text = TRAINER.replace("tiny-v1", "tiny-v2")
    got = check_text(text)
    assert rows(got) == [
        (
            "AG201",
            "model_ref 'tiny-v2' names no model in the workspace; did you mean 'tiny-v1'?",
            (0, 11, 0, 18),
        )
    ]
    assert got[0].data == {"fix": "replace_value", "with": "tiny-v1"}


def test_model_ref_format(check_text) -> None:
    text = TRAINER.replace("tiny-v1", "tiny")
    assert rows(check_text(text)) == [
        (
            "AG202",
            "model_ref 'tiny' is not a model ID: IDs have the form <name>-v<version>, e.g. 'tiny-v1'",
            (0, 11, 0, 15),
        ),
        (
            "AG201",
            "model_ref 'tiny' names no model in the workspace; did you mean 'tiny-v1'?",
            (0, 11, 0, 15),
        ),
    ]


def test_model_without_valid_loss(check_text, workspace) -> None:
    model = (workspace / "models" / "tiny-v1.model.yaml").read_text()
    (workspace / "models" / "noloss-v1.model.yaml").write_text(model.split("loss:")[0])
    got = check_text(TRAINER.replace("tiny-v1", "noloss-v1"))
    assert rows(got) == [
        (
            "AG203",
            "model 'noloss-v1' has no valid loss (it has no `loss` section); fix the `loss:` section of the "
            "model spec",
            (0, 11, 0, 20),
        )
    ]
    assert got[0].related[0].path.endswith("noloss-v1.model.yaml")


def test_unknown_optimizer_with_did_you_mean(check_full) -> None:
    got = check_full(TRAINER.replace("torch.optim.Adam", "torch.optim.AdamWW"))
    assert rows(got) == [
        (
            "AG210",
            "'torch.optim.AdamWW' is not an optimizer in torch.optim; did you mean 'torch.optim.AdamW'?",
            (2, 8, 2, 26),
        )
    ]


def test_optimizer_short_name_suggests_the_class_path(check_full) -> None:
    got = check_full(TRAINER.replace("torch.optim.Adam", "Adam"))
    assert rows(got) == [
        (
            "AG210",
            "'Adam' is not an optimizer in torch.optim; did you mean 'torch.optim.Adam'?",
            (2, 8, 2, 12),
        )
    ]


def test_newer_optimizers_of_the_installed_torch_are_known(check_full, catalog) -> None:
    for name in ("torch.optim.Muon", "torch.optim.Adafactor"):
        if catalog.optimizer(name) is None:
            pytest.skip(f"{name} is not in this torch")
        assert [
            d for d in check_full(TRAINER.replace("torch.optim.Adam", name)) if d.code == "AG210"
        ] == []


def test_unknown_optimizer_param(check_full) -> None:
    text = TRAINER.replace("  lr: 0.01\n", "  lr: 0.01\n  params:\n    momentun: 0.9\n").replace(
        "torch.optim.Adam", "torch.optim.SGD"
    )
    assert rows(check_full(text)) == [
        (
            "AG211",
            "unknown parameter 'momentun' for torch.optim.SGD; did you mean 'momentum'?",
            (5, 4, 5, 12),
        )
    ]


def test_optimizer_param_types(check_full) -> None:
    text = TRAINER.replace(
        "  lr: 0.01\n", "  lr: 0.01\n  params:\n    betas: 0.9\n    amsgrad: 1\n"
    )
    assert rows(check_full(text)) == [
        (
            "AG212",
            "parameter 'betas' of torch.optim.Adam must be a list of two numbers; got 0.9 "
            "(annotation: tuple[float | Tensor, float | Tensor])",
            (5, 11, 5, 14),
        ),
        (
            "AG212",
            "parameter 'amsgrad' of torch.optim.Adam must be true or false; got 1 (annotation: bool)",
            (6, 13, 6, 14),
        ),
    ]


def test_torch_constructor_check_speaks_on_the_offending_key(check_full) -> None:
    text = TRAINER.replace("torch.optim.Adam", "torch.optim.SGD").replace(
        "  lr: 0.01\n", "  lr: 0.01\n  params:\n    nesterov: true\n"
    )
    assert rows(check_full(text)) == [
        (
            "AG213",
            "torch.optim.SGD rejects these values: Nesterov momentum requires a momentum and zero dampening",
            (5, 4, 5, 12),
        )
    ]


def test_torch_beta_check(check_full) -> None:
    text = TRAINER.replace("  lr: 0.01\n", "  lr: 0.01\n  params:\n    betas: [1.5, 0.999]\n")
    assert rows(check_full(text)) == [
        (
            "AG213",
            "torch.optim.Adam rejects these values: Invalid beta parameter at index 0: 1.5",
            (5, 4, 5, 9),
        )
    ]


def test_lr_inside_params_is_one_error_that_says_move_it(check_text, catalog) -> None:
    """The trainer refuses optimizer.params.lr; with torch's catalog it is not also an unknown
    parameter, and optimizer.lr is not also reported missing."""
    text = TRAINER.replace("  lr: 0.01\n", "  params: {lr: 0.1}\n")
    got = check_text(text, catalog=catalog)
    assert rows(got) == [
        (
            "AG214",
            "'lr' belongs in optimizer.lr, not optimizer.params; move it up one level",
            (3, 11, 3, 13),
        )
    ]
    assert got[0].severity == Severity.ERROR


def test_lr_given_twice_is_one_error(check_text, catalog) -> None:
    text = TRAINER.replace("  lr: 0.01\n", "  lr: 0.01\n  params:\n    lr: 0.1\n")
    got = check_text(text, catalog=catalog)
    assert rows(got) == [
        (
            "AG214",
            "'lr' is given twice: the learning rate is optimizer.lr; remove this one",
            (5, 4, 5, 6),
        )
    ]
    assert got[0].severity == Severity.ERROR


def test_validation_needed_for_early_stopping_and_best(check_text) -> None:
    text = TRAINER.replace("validation_split: 0.2", "validation_split: 0") + (
        "  early_stopping_patience: 3\n  save_best_only: true\n"
    )
    assert rows(check_text(text)) == [
        (
            "AG220",
            "early_stopping_patience needs a validation split, but validation_split is 0 (early stopping "
            "watches a validation metric); set validation_split to e.g. 0.2",
            (9, 2, 9, 25),
        ),
        (
            "AG220",
            "save_best_only needs a validation split, but validation_split is 0 ('best' is judged on a "
            "validation metric); set validation_split to e.g. 0.2",
            (10, 2, 10, 16),
        ),
    ]


def test_val_monitor_without_validation_is_an_error(check_text) -> None:
    """The trainer refuses a val_* monitor with validation_split: 0 before training (it was a
    warning here), as AG224, AG247 and AG258; with patience too, the one error says it."""
    no_val = TRAINER.replace("validation_split: 0.2", "validation_split: 0")
    expected = [
        (
            "AG220",
            "early_stopping_monitor 'val_loss' is computed on the validation split, but "
            "validation_split is 0; set validation_split to e.g. 0.2 or monitor train_loss",
            (9, 26, 9, 34),
        ),
    ]
    for extra in ("", "  early_stopping_patience: 3\n  save_best_only: true\n"):
        diags = check_text(no_val + "  early_stopping_monitor: val_loss\n" + extra)
        assert rows(diags) == expected
        assert diags[0].severity == Severity.ERROR


def test_train_loss_monitor_without_validation_is_clean(check_text) -> None:
    """Early stopping and 'best' on an explicit train_loss watch what the run produces."""
    text = TRAINER.replace("validation_split: 0.2", "validation_split: 0") + (
        "  early_stopping_monitor: train_loss\n  early_stopping_patience: 3\n"
        "  save_best_only: true\n"
    )
    assert rows(check_text(text)) == []


def test_both_clips_warn_on_the_second(check_text) -> None:
    text = _cfg("  gradient_clip_val: 0.5\n  gradient_clip_norm: 1.0\n")
    assert rows(check_text(text)) == [
        (
            "AG221",
            "both gradient_clip_val and gradient_clip_norm are set: gradients are clipped by value first, "
            "then by norm; keep only one unless you mean both",
            (10, 2, 10, 20),
        ),
    ]


def test_checkpoint_every_after_the_last_epoch(check_text) -> None:
    assert rows(check_text(_cfg("  checkpoint_every: 5\n"))) == [
        (
            "AG222",
            "checkpoint_every is 5 but training runs 3 epochs, so no periodic checkpoint is ever written; "
            "use a value <= 3",
            (9, 20, 9, 21),
        ),
    ]


def test_pin_memory_without_cuda(check_text) -> None:
    assert rows(check_text(_cfg("  device: cpu\n  pin_memory: true\n"))) == [
        (
            "AG223",
            "pin_memory only speeds up copies to a CUDA device, and device is 'cpu'; remove pin_memory or "
            "use device: cuda",
            (10, 2, 10, 12),
        ),
    ]


def test_hardware_choices_are_not_judged_against_this_machine(check_text) -> None:
    assert check_text(_cfg("  device: cuda\n  num_workers: 8\n  pin_memory: true\n")) == []


def test_monitor_that_the_trainer_never_produces(check_full) -> None:
    # tiny-v1 trains with binary cross-entropy: a classification model has no val_mae.
    diags = check_full(_cfg("  early_stopping_monitor: val_mae\n"))
    assert diags[0].severity == Severity.ERROR  # as scheduler.monitor's AG247: the trainer refuses
    assert rows(diags) == [
        (
            "AG224",
            "early_stopping_monitor 'val_mae' is not a metric the trainer produces for a classification "
            "model (train_loss, val_loss, val_accuracy)",
            (9, 26, 9, 33),
        ),
    ]


def test_monitor_typo(check_text) -> None:
    assert rows(check_text(_cfg("  early_stopping_monitor: val_los\n"))) == [
        (
            "AG224",
            "early_stopping_monitor 'val_los' is not a metric the trainer produces for a classification "
            "model (train_loss, val_loss, val_accuracy); did you mean 'val_loss'?",
            (9, 26, 9, 33),
        ),
    ]
