"""Mixed precision (trainer spec v1.1) on the CPU: bf16 autocast, and fp16's refusals.

fp16 (GradScaler) runs on CUDA only; its step logic (unscale before clipping, skipped steps) is
tested here through `clip_and_step` with torch's CPU GradScaler, which is the same code.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import torch

from arcgraph.training import SpecError, train
from arcgraph.training.checkpoint import load
from arcgraph.training.cudagraph import capture_blocker
from arcgraph.training.optim import clip_and_step
from arcgraph.training.precision import Precision, resolve_precision

from .conftest import IRIS, base_config, make_workspace
from .test_config_fields import initial_weights, weights

# bf16 keeps 8 bits of mantissa: iris' per-epoch losses (about 1 to 2) agree with float32's to
# within 0.01 (measured: 0.0022 at most over 6 epochs).
LOSS_TOLERANCE = 0.01


def run(tmp_path: Path, name: str, optimizer: dict[str, Any] | None = None, **config: Any):
    trainer = make_workspace(tmp_path / name, "iris-linear-v1", base_config(**config), optimizer)
    return train(trainer, IRIS, out=tmp_path / name / "runs", run_name="r")


def metrics(summary: dict[str, Any]) -> list[dict[str, str]]:
    text = (Path(summary["run_dir"]) / "metrics.csv").read_text()
    return list(csv.DictReader(io.StringIO(text)))


@contextmanager
def linear_output_dtypes() -> Iterator[set[torch.dtype]]:
    """The dtypes of nn.Linear outputs in training steps (forwards that build a graph) while the
    block runs (a global forward hook; the trainer's pre-flight forwards do not count)."""
    seen: set[torch.dtype] = set()

    def hook(module: torch.nn.Module, _args: Any, output: Any) -> None:
        if isinstance(module, torch.nn.Linear) and output.requires_grad:
            seen.add(output.dtype)

    handle = torch.nn.modules.module.register_module_forward_hook(hook)
    try:
        yield seen
    finally:
        handle.remove()


def test_bf16_trains_and_its_losses_are_close_to_float32(tmp_path: Path) -> None:
    fp32 = metrics(run(tmp_path, "fp32", epochs=6, batch_size=16))
    with linear_output_dtypes() as seen:
        bf16 = metrics(run(tmp_path, "bf16", epochs=6, batch_size=16, mixed_precision="bf16"))
    assert seen == {torch.bfloat16}  # autocast ran the Linear in bf16
    assert list(bf16[0]) == list(fp32[0]) == ["epoch", "train_loss", "val_loss", "val_accuracy"]
    for a, b in zip(bf16, fp32, strict=True):
        for key in ("train_loss", "val_loss"):
            assert float(a[key]) == pytest.approx(float(b[key]), abs=LOSS_TOLERANCE)
    assert float(bf16[-1]["train_loss"]) < float(bf16[0]["train_loss"]) - 0.5
    # not the float32 run itself: bf16 rounding shows in the digits
    assert [r["train_loss"] for r in bf16] != [r["train_loss"] for r in fp32]


def test_true_means_bf16_on_the_cpu(tmp_path: Path) -> None:
    assert resolve_precision(True, torch.device("cpu")) == Precision("bf16", "cpu")
    events: list[dict[str, Any]] = []
    trainer = make_workspace(tmp_path, "iris-linear-v1", base_config(mixed_precision=True))
    with linear_output_dtypes() as seen:
        train(trainer, IRIS, out=tmp_path / "runs", run_name="r", events=events.append)
    assert seen == {torch.bfloat16}
    infos = [e["message"] for e in events if e["event"] == "info"]
    assert "mixed precision: bf16 autocast on cpu" in infos


def test_a_v10_spec_runs_in_float32_with_no_new_state(tmp_path: Path) -> None:
    with linear_output_dtypes() as seen:
        summary = run(tmp_path, "v10", epochs=1)
    assert seen == {torch.float32}
    state = load(Path(summary["run_dir"]) / "checkpoints" / "epoch-0001.pt")
    assert "scaler" not in state and "skipped_steps" not in state


def test_bf16_with_accumulation_steps_like_one_big_batch(tmp_path: Path) -> None:
    # 120 rows: batches of 8 in groups of 4 step like batches of 32 (see test_config_fields);
    # in bf16 the two differ only by rounding.
    acc = run(
        tmp_path, "acc", epochs=2, batch_size=8, accumulate_grad_batches=4, mixed_precision="bf16"
    )
    big = run(tmp_path, "big", epochs=2, batch_size=32, mixed_precision="bf16")
    a, b = weights(acc, "last.pt"), weights(big, "last.pt")
    assert all(torch.allclose(a[k], b[k], atol=2e-3) for k in a)
    steps = [
        load(Path(s["run_dir"]) / "checkpoints" / "epoch-0002.pt")["optimizer"]["state"][0]["step"]
        for s in (acc, big)
    ]
    assert [float(s) for s in steps] == [8.0, 8.0]


def test_bf16_accumulation_and_clipping_clip_the_float32_gradient(tmp_path: Path) -> None:
    # One SGD step (lr 1) over all 120 rows in two accumulated batches: the update is the
    # clipped gradient, whose norm is exactly the threshold.
    summary = run(
        tmp_path,
        "clip",
        optimizer={"type": "torch.optim.SGD", "lr": 1.0},
        epochs=1,
        batch_size=60,
        accumulate_grad_batches=2,
        shuffle=False,
        gradient_clip_norm=0.01,
        mixed_precision="bf16",
    )
    before, after = initial_weights(5), weights(summary, "last.pt")
    norm = torch.cat([(after[k] - before[k]).flatten() for k in before]).norm()
    assert float(norm) == pytest.approx(0.01, rel=1e-3)


def test_fp16_on_the_cpu_is_refused(tmp_path: Path) -> None:
    # device auto on a machine without CUDA: the checker cannot know, the trainer refuses
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: fp16 runs")
    with pytest.raises(SpecError) as err:
        run(tmp_path, "fp16", mixed_precision="fp16")
    assert str(err.value) == (
        "config.mixed_precision is 'fp16' but the device is cpu: fp16 autocast with a "
        "GradScaler needs CUDA; use mixed_precision: bf16 (or true), which runs on the CPU too"
    )
    assert not (tmp_path / "fp16" / "runs").exists()


def test_fp16_on_device_cpu_is_refused_by_the_checker(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as err:
        run(tmp_path, "fp16", device="cpu", mixed_precision="fp16")
    assert "AG250" in str(err.value)
    assert "mixed_precision 'fp16' needs CUDA (fp16 autocast with a GradScaler)" in str(err.value)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"mixed_precision": 1},
            "config.mixed_precision must be false, true, bf16 or fp16, got 1",
        ),
        (
            {"mixed_precision": "bf16", "amp_backend": "apex"},
            "config.amp_backend 'apex' is not supported: arcgraph trains with torch's native "
            "mixed precision (torch.autocast, torch.amp.GradScaler); use amp_backend: native",
        ),
    ],
)
def test_the_trainers_own_config_check(config: dict[str, Any], message: str) -> None:
    from arcgraph.training.config import parse_config

    with pytest.raises(SpecError) as err:
        parse_config(base_config(**config))
    assert str(err.value) == message


def _sgd(weight: float = 1.0) -> tuple[torch.nn.Parameter, torch.optim.SGD]:
    p = torch.nn.Parameter(torch.full((4,), weight))
    return p, torch.optim.SGD([p], lr=1.0)


def test_fp16_step_unscales_before_clipping() -> None:
    p, opt = _sgd()
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    scaler.scale((p * torch.tensor([3.0, 4.0, 0.0, 0.0])).sum()).backward()
    assert torch.equal(p.grad, torch.tensor([3072.0, 4096.0, 0.0, 0.0]))
    assert clip_and_step(opt, [p], None, 1.0, scaler) is True
    # the true gradient (3, 4, 0, 0) has norm 5: clipped to norm 1, then one SGD step
    assert torch.allclose(p.detach(), torch.tensor([1 - 0.6, 1 - 0.8, 1.0, 1.0]))


def test_fp16_step_with_inf_gradients_is_skipped_and_the_scale_backs_off() -> None:
    p, opt = _sgd()
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    scaler.scale((p * torch.tensor([float("inf"), 1.0, 1.0, 1.0])).sum()).backward()
    assert clip_and_step(opt, [p], None, 1.0, scaler) is False
    assert torch.equal(p.detach(), torch.ones(4))
    assert scaler.get_scale() == 512.0


def test_cuda_graph_falls_back_for_fp16_and_captures_bf16() -> None:
    _, opt = _sgd()
    cuda = torch.device("cuda")
    assert capture_blocker(opt, cuda, Precision("fp16", "cuda")) == (
        "mixed_precision fp16: torch's GradScaler decides on the host whether to skip each "
        "step, which a CUDA graph cannot capture"
    )
    assert capture_blocker(opt, cuda, Precision("bf16", "cuda")) is None
