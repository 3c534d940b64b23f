"""Mixed-precision rules (trainer spec v1.1): exact code, message and range."""

from __future__ import annotations

import pytest

from arcgraph.engine.diagnostics import Severity

from .conftest import TRAINER, rows


def _cfg(extra: str) -> str:
    return TRAINER + extra


@pytest.mark.parametrize("value", ["false", "true", "bf16", "fp16"])
def test_every_setting_is_clean_where_it_runs(check_text, value: str) -> None:
    assert check_text(_cfg(f"  device: cuda\n  mixed_precision: {value}\n")) == []


@pytest.mark.parametrize("value", ["true", "bf16"])
def test_bf16_and_true_are_clean_on_the_cpu(check_text, value: str) -> None:
    text = _cfg(f"  device: cpu\n  mixed_precision: {value}\n  amp_backend: native\n")
    assert check_text(text) == []


def test_fp16_on_auto_is_left_to_the_machine_that_trains(check_text) -> None:
    assert check_text(_cfg("  mixed_precision: fp16\n")) == []


@pytest.mark.parametrize("device", ["cpu", "mps"])
def test_fp16_without_cuda(check_text, device: str) -> None:
    diags = check_text(_cfg(f"  device: {device}\n  mixed_precision: fp16\n"))
    assert rows(diags) == [
        (
            "AG250",
            f"mixed_precision 'fp16' needs CUDA (fp16 autocast with a GradScaler), but device is "
            f"'{device}'; use mixed_precision: bf16, which runs on the {device.upper()} too, "
            "or device: cuda",
            (10, 19, 10, 23),
        )
    ]
    assert diags[0].severity == Severity.ERROR
    assert diags[0].data == {"fix": "replace_value", "with": "bf16"}
    assert [(r.span.start_line, r.message) for r in diags[0].related] == [
        (9, f"the device is '{device}'")
    ]


def test_apex_is_not_supported(check_text) -> None:
    diags = check_text(_cfg("  mixed_precision: bf16\n  amp_backend: apex\n"))
    assert rows(diags) == [
        (
            "AG251",
            "amp_backend 'apex' is not supported: arcgraph trains with torch's native mixed "
            "precision (torch.autocast, torch.amp.GradScaler); use amp_backend: native",
            (10, 15, 10, 19),
        )
    ]
    assert diags[0].severity == Severity.ERROR


def test_a_misspelt_backend_gets_did_you_mean(check_text) -> None:
    diags = check_text(_cfg("  mixed_precision: bf16\n  amp_backend: natve\n"))
    assert rows(diags) == [
        (
            "AG251",
            "amp_backend 'natve' is not supported; did you mean 'native'?",
            (10, 15, 10, 20),
        )
    ]
    assert diags[0].data == {"fix": "replace_value", "with": "native"}


def test_another_backend_names_the_only_one(check_text) -> None:
    assert rows(check_text(_cfg("  mixed_precision: bf16\n  amp_backend: deepspeed\n"))) == [
        (
            "AG251",
            "amp_backend 'deepspeed' is not supported; the only backend is 'native' "
            "(torch.autocast, torch.amp.GradScaler)",
            (10, 15, 10, 24),
        )
    ]


@pytest.mark.parametrize("mp", ["", "  mixed_precision: false\n"])
def test_amp_backend_without_mixed_precision(check_text, mp: str) -> None:
    diags = check_text(_cfg(mp + "  amp_backend: native\n"))
    line = 9 + bool(mp)
    assert rows(diags) == [
        (
            "AG252",
            "amp_backend has no effect: mixed_precision is off; set mixed_precision: bf16 (or "
            "fp16 on CUDA), or remove amp_backend",
            (line, 2, line, 13),
        )
    ]
    assert diags[0].severity == Severity.WARNING
    assert diags[0].data == {"fix": "remove_key", "key": "amp_backend"}


def test_fp16_with_lbfgs(check_text) -> None:
    text = _cfg("  device: cuda\n  mixed_precision: fp16\n").replace(
        "torch.optim.Adam", "torch.optim.LBFGS"
    )
    diags = check_text(text)
    assert rows(diags) == [
        (
            "AG253",
            "mixed_precision 'fp16' scales the loss with torch's GradScaler, which cannot step "
            "torch.optim.LBFGS (its step re-evaluates the loss through a closure); use "
            "mixed_precision: bf16 (no loss scaling) or another optimizer",
            (10, 19, 10, 23),
        )
    ]
    assert [(r.span.start_line, r.message) for r in diags[0].related] == [
        (2, "the optimizer is torch.optim.LBFGS")
    ]


def test_bf16_with_lbfgs_is_clean(check_text) -> None:
    text = _cfg("  mixed_precision: bf16\n").replace("torch.optim.Adam", "torch.optim.LBFGS")
    assert check_text(text) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "bf17",
            (
                "AG114",
                '\'config.mixed_precision\' must be one of false, true, "bf16", "fp16"; '
                "got 'bf17'; did you mean 'bf16'?",
            ),
        ),
        (
            "1",
            (
                "AG112",
                '\'config.mixed_precision\' must be one of false, true, "bf16", "fp16"; got 1',
            ),
        ),
    ],
)
def test_mixed_precision_values_come_from_the_schema(check_text, value: str, expected) -> None:
    assert [r[:2] for r in rows(check_text(_cfg(f"  mixed_precision: {value}\n")))] == [expected]
