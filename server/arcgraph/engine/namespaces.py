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


# torch functions that make a new tensor from sizes or values, with no tensor input: a graph
# node computes from its inputs, and torch's table of tensor functions leaves these out.
FACTORY_FUNCTIONS = frozenset(
    {
        "arange", "as_tensor", "asarray", "bartlett_window", "blackman_window", "empty",
        "empty_permuted", "empty_strided", "eye", "from_numpy", "frombuffer", "full",
        "hamming_window", "hann_window", "kaiser_window", "linspace", "logspace", "normal",
        "ones", "rand", "rand_like", "randint", "randint_like", "randn", "randn_like",
        "randperm", "range", "scalar_tensor", "sparse_coo_tensor", "tensor", "tril_indices",
        "triu_indices", "zeros",
    }
)  # fmt: skip


def refused_function_reason(name: str) -> tuple[str, str | None] | None:
    """Why an existing torch function is no graph node, and what to write instead (a name
    to check against the catalog), or None: factory functions and in-place variants."""
    attr = name.removeprefix("torch.")
    if not name.startswith("torch.") or "." in attr:
        return None
    if attr in FACTORY_FUNCTIONS:
        random = attr.startswith(("rand", "normal"))
        made = "a random tensor" if random else "a new tensor"
        return (
            f"{name} is a factory function: it makes {made} from sizes or values alone, not "
            "from the node's inputs, so a graph node cannot call it",
            None if attr.endswith("_like") else f"{name}_like",
        )
    if attr.endswith("_") and not attr.endswith("__"):
        return (
            f"{name} changes its input in place, which a graph node may not do",
            name[:-1],
        )
    return None


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
