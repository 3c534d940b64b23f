"""A test worker: the shipped worker plus a `sleep {seconds}` op, to hold a request in flight
(a hung or killed worker mid-request). Run as a script: `TorchWorker(worker_args=(PATH,))`."""

from __future__ import annotations

import time
from typing import Any

from arcgraph.worker.main import TORCH_OPS, main


def _op_sleep(req: dict[str, Any]) -> Any:
    time.sleep(float(req.get("seconds", 0)))
    return {"slept": req.get("seconds", 0)}


if __name__ == "__main__":
    TORCH_OPS["sleep"] = _op_sleep  # this process only
    raise SystemExit(main())
