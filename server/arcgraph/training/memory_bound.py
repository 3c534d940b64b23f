"""The data memory bound's one reading rule, for `--data-memory-mb` and
ARCGRAPH_DATA_MEMORY_MB alike; torch- and pyarrow-free, so argparse can use it."""

from __future__ import annotations

import math


def usable_mb(bound_mb: float) -> bool:
    """A bound a window size can be made of: finite and above 0 (float() reads "inf",
    "1e400" and "nan" too)."""
    return math.isfinite(bound_mb) and bound_mb > 0


def parse_mb(text: str) -> float | None:
    """`text` as a bound in MB; None when it is not a number, or not a usable one."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if usable_mb(value) else None
