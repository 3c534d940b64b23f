"""The loss as the trainer calls it, and whether it fits the model's output and the target.

One place for the rules both the trainer and the shape check follow (torch only): the task a
loss implies (`loss_task`), the target the trainer builds from one data column for it
(`target_dtype`, `aligned_target`: float `[B]` for BCE and regression, `[B, 1]` for a `[B, 1]`
output; int64 class indices `[B]` for cross-entropy/NLL, never probabilities, since one column
gives one value per row), the loss callable (`make_loss`: a `torch.nn.functional` function or a
`torch.nn.*Loss` class built with its params), and `mismatch`, the located words for a loss
that cannot take that output and target. The worker runs `mismatch` on `meta` tensors; the
trainer on its first rows before training, so both say the same.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

import torch

from arcgraph.builder import torchnames

# Short names (functional `x` or module class `X`) -> task.
BINARY_PROB = frozenset({"binary_cross_entropy", "BCELoss"})
BINARY_LOGIT = frozenset({"binary_cross_entropy_with_logits", "BCEWithLogitsLoss"})
MULTICLASS = frozenset({"cross_entropy", "nll_loss", "CrossEntropyLoss", "NLLLoss"})
REGRESSION = frozenset(
    {"mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"}
    | {"MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss"}
)
# Loss params that torch wants as tensors; YAML gives lists or numbers.
TENSOR_PARAMS = frozenset({"weight", "pos_weight"})

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def loss_task(type_name: str) -> str:
    """ "binary" | "multiclass" | "regression" | "other": what the target column holds."""
    short = type_name.rsplit(".", 1)[-1]
    if short in BINARY_PROB or short in BINARY_LOGIT:
        return "binary"
    if short in MULTICLASS:
        return "multiclass"
    if short in REGRESSION:
        return "regression"
    return "other"


def on_logits(type_name: str) -> bool:
    """A binary loss on logits (threshold 0) rather than on probabilities (0.5)."""
    return type_name.rsplit(".", 1)[-1] in BINARY_LOGIT


def target_dtype(task: str) -> torch.dtype:
    """Class indices for cross-entropy/NLL; every other loss gets a float target."""
    return torch.int64 if task == "multiclass" else torch.float32


def aligned_target(
    target: torch.Tensor, prediction_shape: torch.Size | tuple[int, ...]
) -> torch.Tensor:
    """A float `[N]` target against a `[B, 1]` prediction becomes `[N, 1]` (the trainer does
    this once for the whole table, not per step); any other target is left as it is."""
    if (
        target.is_floating_point()
        and target.dim() == 1
        and len(prediction_shape) == 2
        and prediction_shape[1] == 1
    ):
        return target.unsqueeze(1)
    return target


def make_loss(type_name: str, params: Mapping[str, Any], device: torch.device) -> LossFn:
    """`fn(prediction, target)`: a function called with `params` as keywords, or a loss class
    built with them. Raises torchnames.NameRejected (not a torch name) and TypeError (params
    the constructor does not take)."""
    kwargs = {
        k: (
            torch.as_tensor(v, dtype=torch.float32, device=device)
            if k in TENSOR_PARAMS and v is not None
            else v
        )
        for k, v in params.items()
    }
    if type_name.startswith(torchnames.NN_PREFIX) and not type_name.startswith(
        torchnames.FUNCTIONAL_PREFIX
    ):
        base: Callable[..., torch.Tensor] = torchnames.resolve_module_class(type_name)(**kwargs)
        kwargs = {}
    else:
        base = torchnames.resolve_function(type_name)
    float_target = loss_task(type_name) != "multiclass"

    def fn(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        # A target with the prediction's elements in another shape ([B] against [B, 1]):
        # aligned, instead of broadcast to [B, B] (what mse_loss would silently do).
        if float_target and target.shape != pred.shape and target.numel() == pred.numel():
            target = target.view(pred.shape)
        return base(pred, target, **kwargs)

    return fn


def example_target(prediction: torch.Tensor, task: str, rows: int) -> torch.Tensor:
    """The target the trainer builds for `rows` rows of one column, on the prediction's
    device (`meta` in the shape check): `[rows]` of `target_dtype(task)`, then aligned."""
    target = torch.zeros((rows,), dtype=target_dtype(task), device=prediction.device)
    return aligned_target(target, prediction.shape)


def shape_text(shape: torch.Size | tuple[int, ...], rows: int) -> str:
    """`[B, 4]`: the first dimension is written B when it is the batch."""
    dims = ["B" if i == 0 and d == rows else str(d) for i, d in enumerate(shape)]
    return "[" + ", ".join(dims) + "]"


def mismatch(
    type_name: str,
    fn: LossFn,
    prediction: Any,
    target: torch.Tensor,
    *,
    output: str,
    column: str,
    rows: int,
) -> str | None:
    """None when the loss takes this prediction and target; else what is wrong and the fix,
    naming the loss, the output and the column with both shapes. A target torch would only
    broadcast against the prediction (with a "target size" warning) is refused too: the loss
    would compare every row with every other row's target."""
    if not isinstance(prediction, torch.Tensor):
        what = "a tuple" if isinstance(prediction, tuple | list) else type(prediction).__name__
        return (
            f"loss {type_name}: output '{output}' is {what}, not a tensor; point the output at "
            "one tensor (e.g. <node>.output.0 for a tuple's first element)"
        )
    problem: str | None = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with torch.no_grad():
                fn(prediction, target)
        except Exception as err:  # torch raises many types; each is the answer
            problem = (str(err).strip().splitlines() or [type(err).__name__])[0]
    if problem is None:
        problem = next(
            (str(w.message) for w in caught if "target size" in str(w.message).lower()), None
        )
    if problem is None:
        return None
    task = loss_task(type_name)
    pred_s, target_s = shape_text(prediction.shape, rows), shape_text(target.shape, rows)
    kind = " class indices" if task == "multiclass" else ""
    head = (
        f"loss {type_name}: output '{output}' is {pred_s} but the target from column "
        f"'{column}' is {target_s}{kind}"
    )
    return f"{head}; {_fix(type_name, task, prediction, output, problem)}"


def _fix(type_name: str, task: str, prediction: torch.Tensor, output: str, problem: str) -> str:
    short = type_name.rsplit(".", 1)[-1]
    one_per_row = f"make output '{output}' one value per row ([B] or [B, 1], e.g. out_features: 1)"
    if task == "binary":
        fix = f"{short} compares each value with its row's 0/1 target: {one_per_row}"
        if prediction.dim() == 2 and prediction.shape[1] > 1:
            fix += (
                f", or use torch.nn.functional.cross_entropy for {prediction.shape[1]} "
                "classes (class-index targets)"
            )
        return fix
    if task == "regression":
        return f"{short} compares each value with its row's target: {one_per_row}"
    if task == "multiclass" and prediction.dim() < 2:
        return (
            f"{short} needs one score per class: make output '{output}' [B, C] (e.g. a Linear "
            "with out_features = the number of classes); a [B] output is read as one row's "
            "scores, with the target taken as class probabilities, which one column cannot give"
        )
    if task == "multiclass" and prediction.dim() > 2:
        return (
            f"{short} takes dim 1 of a longer output as the classes and then wants a class per "
            f"position, but one column gives one class per row: make output '{output}' [B, C] "
            "(e.g. torch.select or torch.mean over the other dimensions)"
        )
    return f"torch refuses them: {problem}"
