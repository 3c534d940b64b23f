"""A spec names code to run: names resolve only inside the torch namespaces a spec may use."""

from __future__ import annotations

import pytest

torchnames = pytest.importorskip("arcgraph.builder.torchnames")

HOSTILE = [
    "os.system",
    "builtins.eval",
    "torch.load",
    "torch.save",
    "torch.hub.load",
    "torch.compile",
    "torch.from_file",
    "torch.jit.load",
    "torch.ops.aten.add",
    "torch.__import__",
    "torch.__builtins__",
    "torch.optim.__class__",
    "torch.nn.modules",
    "torch.nn.Module.__subclasses__",
    "torch.manual_seed",
    "torch..add",
    "torch.nn.functional.handle_torch_function",
    "torch.utils.data.DataLoader",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_node_types_are_refused(name: str) -> None:
    with pytest.raises(torchnames.NameRejected):
        torchnames.resolve_node_type(name)


@pytest.mark.parametrize(
    "name",
    ["torch.optim.__class__", "torch.optim.Optimizer", "os.system", "torch.optim.lr_scheduler"],
)
def test_only_concrete_optimizers(name: str) -> None:
    with pytest.raises(torchnames.NameRejected):
        torchnames.resolve_optimizer(name)


@pytest.mark.parametrize(
    "name", ["os.system", "torch.nn.functional.relu", "torch.load", "torch.nn.__class__"]
)
def test_targets_are_torch_nn_classes_only(name: str) -> None:
    with pytest.raises(torchnames.NameRejected):
        torchnames.resolve_target(name)


def test_legitimate_names_resolve() -> None:
    assert torchnames.resolve_node_type("torch.nn.Linear")[0] == "module"
    assert torchnames.resolve_node_type("torch.add")[0] == "function"
    assert torchnames.resolve_node_type("torch.nn.functional.sigmoid")[0] == "function"
    assert torchnames.resolve_optimizer("torch.optim.AdamW").__name__ == "AdamW"


def test_worker_probe_refuses_a_hostile_optimizer(worker) -> None:
    res = worker.probe_optimizer("os.system", 0.1, {})
    assert res.ok is False
    assert "not in torch.optim" in res.message


def test_spec_strings_never_reach_import_or_eval() -> None:
    """The resolver's source has no dynamic import or evaluation at all."""
    import inspect

    src = inspect.getsource(torchnames)
    for word in ("importlib", "__import__(", "eval(", "exec(", "import pickle"):
        assert word not in src
