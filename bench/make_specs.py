"""Generate large, valid model specs for benchmarks (never committed as data)."""

from __future__ import annotations


def big_model_spec(target_lines: int = 5000) -> str:
    """A chain of Linear/ReLU nodes about `target_lines` long, shape-consistent, its loss too."""
    head = [
        "# generated benchmark model",
        "inputs:",
        "  features:",
        "    dtype: float32",
        "    shape: [null, 16]",
        "    columns: [" + ", ".join(f"c{i}" for i in range(16)) + "]",
        "graph:",
    ]
    body: list[str] = []
    prev = "features"
    i = 0
    while len(head) + len(body) < target_lines - 8:
        body += [
            f"  - name: fc{i}",
            "    type: torch.nn.Linear",
            "    params:",
            "      in_features: 16",
            "      out_features: 16",
            "    inputs:",
            f"      input: {prev}",
            f"  - name: act{i}",
            "    type: torch.nn.functional.relu",
            "    inputs:",
            f"      input: fc{i}.output",
        ]
        prev = f"act{i}.output"
        i += 1
    # the last layer gives one value per row: the target column y is [B] (mse_loss)
    body[body.index("      out_features: 16", len(body) - 11)] = "      out_features: 1"
    tail = [
        "outputs:",
        f"  prediction: {prev.split('.')[0]}.output",
        "loss:",
        "  type: torch.nn.functional.mse_loss",
        "  inputs:",
        "    input: prediction",
        "    target: y",
    ]
    return "\n".join(head + body + tail) + "\n"
