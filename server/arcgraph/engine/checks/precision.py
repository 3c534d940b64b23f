"""Mixed-precision checks (trainer spec v1.1): `config.mixed_precision` and `config.amp_backend`.

The schema fixes the values (false | true | bf16 | fp16); these rules judge them against the
rest of the spec, as the trainer would refuse them: fp16 needs CUDA (its GradScaler), torch's
GradScaler cannot step an optimizer that takes a closure, and only torch's own AMP exists.
"""

from __future__ import annotations

from arcgraph.engine import codes
from arcgraph.engine.checks.context import CheckContext
from arcgraph.engine.diagnostics import Related, Severity
from arcgraph.engine.schema import did_you_mean
from arcgraph.engine.source import YMap, YScalar

BACKENDS = ("native",)
# Optimizers whose step takes a closure (GradScaler.step refuses closures).
CLOSURE_OPTIMIZERS = ("torch.optim.LBFGS",)


def _scalar(m: YMap | None, key: str) -> YScalar | None:
    node = m.get(key) if isinstance(m, YMap) else None
    return node if isinstance(node, YScalar) else None


def check_mixed_precision(ctx: CheckContext, opt: YMap | None, cfg: YMap) -> None:
    """AG250-AG253 on the config section (and the optimizer type, for AG253)."""
    mp = _scalar(cfg, "mixed_precision")
    setting = mp.value if mp is not None else False
    _check_backend(ctx, cfg, enabled=setting in (True, "bf16", "fp16"))
    if mp is None or setting != "fp16":
        return
    device = _scalar(cfg, "device")
    if device is not None and device.value in ("cpu", "mps"):
        ctx.report(
            codes.FP16_WITHOUT_CUDA,
            f"mixed_precision 'fp16' needs CUDA (fp16 autocast with a GradScaler), but device"
            f" is '{device.value}'; use mixed_precision: bf16, which runs on the"
            f" {device.value.upper()} too, or device: cuda",
            mp.span,
            related=(Related(str(ctx.path), device.span, f"the device is '{device.value}'"),),
            data={"fix": "replace_value", "with": "bf16"},
        )
    qual = _scalar(opt, "type")
    if qual is not None and qual.value in CLOSURE_OPTIMIZERS:
        ctx.report(
            codes.FP16_WITH_CLOSURE,
            f"mixed_precision 'fp16' scales the loss with torch's GradScaler, which cannot step"
            f" {qual.value} (its step re-evaluates the loss through a closure); use"
            " mixed_precision: bf16 (no loss scaling) or another optimizer",
            mp.span,
            related=(Related(str(ctx.path), qual.span, f"the optimizer is {qual.value}"),),
            data={"fix": "replace_value", "with": "bf16"},
        )


def _check_backend(ctx: CheckContext, cfg: YMap, *, enabled: bool) -> None:
    node = _scalar(cfg, "amp_backend")
    if node is None or not isinstance(node.value, str):
        return  # absent, or not a string: the schema says so
    value = node.value
    if value == "apex":
        ctx.report(
            codes.AMP_BACKEND_UNSUPPORTED,
            "amp_backend 'apex' is not supported: arcgraph trains with torch's native mixed"
            " precision (torch.autocast, torch.amp.GradScaler); use amp_backend: native",
            node.span,
            data={"fix": "replace_value", "with": "native"},
        )
        return
    if value not in BACKENDS:
        ctx.suggest(
            codes.AMP_BACKEND_UNSUPPORTED,
            f"amp_backend '{value}' is not supported",
            node.span,
            did_you_mean(value, list(BACKENDS)),
            otherwise="; the only backend is 'native' (torch.autocast, torch.amp.GradScaler)",
        )
        return
    key = cfg.key_node("amp_backend")
    if not enabled and key is not None:
        ctx.report(
            codes.AMP_BACKEND_UNUSED,
            "amp_backend has no effect: mixed_precision is off; set mixed_precision: bf16 (or"
            " fp16 on CUDA), or remove amp_backend",
            key.span,
            Severity.WARNING,
            data={"fix": "remove_key", "key": "amp_backend"},
        )
