"""`python -m arcgraph.worker`: a JSON-lines request/response loop on stdin/stdout.

Request `{"id": 1, "op": "...", ...}` -> reply `{"id": 1, "ok": true, "result": ...}` or
`{"id": 1, "ok": false, "error": "..."}`. On start the worker sends a hello with id 0:
`{"id": 0, "ok": true, "result": {"torch_version", "python_version", "pid"}}` or, when
torch cannot be imported, `{"id": 0, "ok": false, "error": "torch is not installed ..."}`.

Ops: ping; catalog {path?} (build; write atomically to path, or return it); probe_optimizer
{type, lr, params, model?}; probe_shapes {spec, batch}; shutdown. Stdout carries replies
only: fd 1 is pointed at stderr before torch is imported, so stray prints and C-level output
from torch cannot corrupt the protocol.

The worker runs at a lower CPU priority (`NICENESS`): its probes are background checks, and on
a small machine a shape probe must not delay the editor's next structure check.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import sys
import tempfile
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from arcgraph.memory import release_free_memory

Handler = Callable[[dict[str, Any]], Any]
NICENESS = 10


def _protocol_stream() -> TextIO:
    """Keep the real stdout for replies; everything else written to fd 1 goes to stderr."""
    sys.stdout.flush()
    fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(fd, "w", encoding="utf-8", buffering=1)


def _send(out: TextIO, reply: dict[str, Any]) -> None:
    out.write(json.dumps(reply, separators=(",", ":"), allow_nan=False) + "\n")
    out.flush()


def write_atomic(path: Path, text: str) -> None:
    """Write via a temp file in the same folder and rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _op_catalog(req: dict[str, Any]) -> Any:
    from arcgraph.worker.introspect import build_catalog

    catalog = build_catalog()
    if req.get("path"):
        text = json.dumps(catalog, separators=(",", ":"), allow_nan=False)
        write_atomic(Path(req["path"]), text)
        return {"path": str(req["path"]), "bytes": len(text.encode())}
    return catalog


def _op_probe_optimizer(req: dict[str, Any]) -> Any:
    from arcgraph.worker.probes import probe_optimizer

    params = req.get("params") or {}
    if not isinstance(params, dict):
        return {"ok": False, "message": "optimizer params must be a mapping", "param": None}
    model, scheduler = req.get("model"), req.get("scheduler")
    return probe_optimizer(
        str(req.get("type", "")),
        req.get("lr"),
        params,
        model if isinstance(model, dict) else None,
        scheduler if isinstance(scheduler, dict) else None,
    )


def _op_probe_shapes(req: dict[str, Any]) -> Any:
    from arcgraph.worker.probes import probe_shapes

    return probe_shapes(
        req.get("spec") or {}, int(req.get("batch", 2)), summary=bool(req.get("summary", True))
    )


TORCH_OPS: dict[str, Handler] = {
    "catalog": _op_catalog,
    "probe_optimizer": _op_probe_optimizer,
    "probe_shapes": _op_probe_shapes,
}


def _hello() -> tuple[dict[str, Any], str | None]:
    """Import torch once, up front, so the first real request is not slowed by it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import torch
    except Exception as exc:
        reason = f"torch is not installed in {sys.executable} (pip install torch): {exc}"
        if not isinstance(exc, ImportError):
            reason = f"torch fails to import in {sys.executable}: {type(exc).__name__}: {exc}"
        return {"id": 0, "ok": False, "error": reason}, reason
    info = {
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "pid": os.getpid(),
    }
    return {"id": 0, "ok": True, "result": info}, None


def _lower_priority() -> None:
    """Yield the CPU to the language server and the editor (no-op where unsupported)."""
    nice = getattr(os, "nice", None)
    if nice is not None:
        with contextlib.suppress(OSError):
            nice(NICENESS)


def main() -> int:
    _lower_priority()
    out = _protocol_stream()
    warnings.showwarning = lambda m, c, f, n, file=None, line=None: print(
        warnings.formatwarning(m, c, f, n, line), file=sys.stderr, end=""
    )
    hello, torch_missing = _hello()
    _send(out, hello)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            rid = req.get("id")
            op = req.get("op")
        except (ValueError, AttributeError):
            _send(out, {"id": None, "ok": False, "error": "request is not a JSON object"})
            continue
        if op == "shutdown":
            _send(out, {"id": rid, "ok": True, "result": None})
            break
        try:
            if op == "ping":
                result: Any = {"pid": os.getpid()}
            elif op in TORCH_OPS:
                if torch_missing:
                    raise RuntimeError(torch_missing)
                result = TORCH_OPS[op](req)
            else:
                raise ValueError(f"unknown op {op!r}")
            _send(out, {"id": rid, "ok": True, "result": result})
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            _send(out, {"id": rid, "ok": False, "error": f"{type(exc).__name__}: {exc}"})
        if op in TORCH_OPS:
            # after the reply, nothing of the request kept (a 4.5 MB model's spec is some
            # 50 MB of objects) and the heap its build left behind handed back
            req = result = None
            line = ""
            release_free_memory()
    return 0
