"""Which torch namespace a spec name belongs to, and which names are refused: no torch needed.

Shared by the checks (torch-free) and `builder.torchnames` (the torch-side resolver), so the rules
are written once.
"""

from __future__ import annotations

import re

NODE_TYPE_RE = re.compile(r"^(torch(\.nn(\.functional)?)?\.\w+|arc\.stack|module\.\w+)$")

# Names users may plausibly write that must never run from a spec, with the reason shown to them.
REJECTED: dict[str, str] = {
    "torch.load": "reads and unpickles a file",
    "torch.save": "writes a file",
    "torch.compile": "compiles and runs generated code",
    "torch.from_file": "reads a file",
    "torch.hub": "downloads and runs code",
    "torch.jit": "compiles and loads code",
    "torch.package": "loads packaged code",
    "torch.ops": "calls arbitrary registered operators",
    "torch.utils": "is not a tensor function",
    "torch.set_default_device": "changes global state",
    "torch.set_default_dtype": "changes global state",
    "torch.manual_seed": "changes global state",
    "torch.set_num_threads": "changes global state",
    "torch.use_deterministic_algorithms": "changes global state",
}


def rejection_reason(name: str) -> str | None:
    """Why `name` (or its namespace) is refused outright, or None."""
    parts = name.split(".")
    for i in range(len(parts), 1, -1):
        reason = REJECTED.get(".".join(parts[:i]))
        if reason:
            return f"{name} {reason}; a spec may only use tensor operations and torch.nn layers"
    return None


def classify_type(name: str) -> str | None:
    """A node type's form: 'nn' (torch.nn class), 'function', 'module_ref', 'stack' or None."""
    if name == "arc.stack":
        return "stack"
    if name.startswith("module."):
        return "module_ref"
    if name.startswith("torch.nn.functional."):
        return "function"
    if name.startswith("torch.nn."):
        return "nn"
    if name.startswith("torch."):
        return "function"
    return None
