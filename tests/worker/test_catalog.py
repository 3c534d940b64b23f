"""The catalog built by a real worker from the installed torch."""

from __future__ import annotations

import inspect
import re

import torch

from arcgraph.engine.catalog import Catalog


def _fresh_optimizers() -> set[str]:
    """Computed here, independently of the worker's introspection."""
    return {
        f"torch.optim.{name}"
        for name, obj in vars(torch.optim).items()
        if inspect.isclass(obj)
        and issubclass(obj, torch.optim.Optimizer)
        and obj is not torch.optim.Optimizer
        and not name.startswith("_")
    }


def test_header(catalog: Catalog) -> None:
    assert catalog.torch_version == torch.__version__
    assert catalog.data["format"] == 1
    assert "float32" in catalog.dtype_names() and "int64" in catalog.dtype_names()


def test_optimizers_match_torch(catalog: Catalog) -> None:
    names = set(catalog.optimizer_names())
    assert names == _fresh_optimizers()
    assert {"torch.optim.SGD", "torch.optim.Muon", "torch.optim.Adafactor"} <= names
    if torch.__version__.startswith("2.13."):
        assert len(names) == 15


def test_sgd_momentum(catalog: Catalog) -> None:
    sgd = catalog.optimizer("torch.optim.SGD")
    assert sgd is not None and sgd.kind == "class"
    momentum = sgd.param("momentum")
    assert momentum is not None
    assert momentum.accepts == ["number"]
    assert momentum.has_default and momentum.default == 0
    assert "momentum" in momentum.doc
    assert not sgd.signature.startswith("(self")
    assert sgd.doc_url.endswith("torch.optim.SGD.html")
    assert sgd.summary.startswith("Implements stochastic gradient descent")


def test_adam_betas(catalog: Catalog) -> None:
    adam = catalog.optimizer("torch.optim.Adam")
    betas = adam.param("betas") if adam else None
    assert betas is not None and betas.default == [0.9, 0.999]
    assert betas.accepts is not None and len(betas.accepts) == 1
    (alt,) = betas.accepts
    assert len(alt["tuple"]) == 2
    assert all("number" in a for a in alt["tuple"])
    assert catalog.accepts(betas.accepts, [0.9, 0.999])
    assert not catalog.accepts(betas.accepts, [0.9])


def test_functions(catalog: Catalog) -> None:
    add = catalog.function("torch.add")
    cat = catalog.function("torch.cat")
    assert add is not None and cat is not None
    assert [p.name for p in add.params][:2] == ["input", "other"]
    assert add.param("alpha") is not None
    assert cat.param("tensors") is not None and cat.param("dim") is not None
    relu = catalog.function("torch.nn.functional.relu")
    assert relu is not None and relu.param("inplace").accepts == ["bool"]


def test_rejected(catalog: Catalog) -> None:
    assert catalog.function("torch.load") is None
    reason = catalog.rejected_reason("torch.load")
    assert reason and "unpickles" in reason
    assert catalog.rejected_reason("torch.hub.load")
    assert catalog.rejected_reason("torch.add") is None


def test_losses(catalog: Catalog) -> None:
    ce = catalog.loss("torch.nn.functional.cross_entropy")
    assert ce is not None and ce.task == "classification"
    assert ce.function is not None and ce.function.param("label_smoothing") is not None
    assert catalog.loss("torch.nn.functional.binary_cross_entropy").task == "classification"
    assert catalog.loss("torch.nn.functional.mse_loss").task == "regression"
    assert catalog.loss("torch.nn.functional.relu") is None
    assert catalog.loss("torch.nn.Linear") is None


def test_loss_classes_are_losses(catalog: Catalog) -> None:
    """Every torch.nn *Loss class of the installed torch (its `_Loss` subclasses, none named
    here by hand but these) is a loss too, checked against its constructor (issue 11)."""
    bce = catalog.loss("torch.nn.BCEWithLogitsLoss")
    assert bce is not None and bce.task == "classification"
    assert bce.function is not None and bce.function.kind == "class"
    assert bce.function.param("pos_weight") is not None
    assert catalog.loss("torch.nn.MSELoss").task == "regression"
    classes = {n for n in catalog.loss_names() if not n.startswith("torch.nn.functional.")}
    assert classes == {n for n in catalog.module_names() if catalog.module(n).is_loss}
    assert {"torch.nn.CrossEntropyLoss", "torch.nn.NLLLoss", "torch.nn.HuberLoss"} <= classes
    functions = set(catalog.loss_names()) - classes
    assert functions <= set(catalog.function_names())


def test_modules(catalog: Catalog) -> None:
    linear = catalog.module("torch.nn.Linear")
    assert linear is not None and not linear.is_loss
    assert [p.name for p in linear.params][:3] == ["in_features", "out_features", "bias"]
    assert linear.param("in_features").accepts == ["int"]
    assert linear.forward is not None
    assert [p.name for p in linear.forward] == ["input"]
    conv = catalog.module("torch.nn.Conv2d")
    assert catalog.accepts(conv.param("kernel_size").accepts, [3, 3])
    assert catalog.accepts(conv.param("kernel_size").accepts, 3)
    assert not catalog.accepts(conv.param("padding_mode").accepts, "mirror")
    ce = catalog.module("torch.nn.CrossEntropyLoss")
    assert ce is not None and ce.is_loss and ce.task == "classification"
    enc = catalog.module("torch.nn.TransformerEncoder")
    assert enc is not None and "module" in (enc.param("encoder_layer").accepts or [])


def test_docs_are_markdown(catalog: Catalog) -> None:
    noise = re.compile(r":math:|:class:|:attr:|:func:|:meth:|:ref:|\.\. \w+::|\\text\{|\\mathbf")
    infos = [catalog.optimizer(n) for n in catalog.optimizer_names()]
    infos += [catalog.module(n) for n in catalog.module_names()]
    infos += [catalog.function(n) for n in catalog.function_names()]
    assert len(infos) > 100
    for info in infos:
        assert info is not None
        texts = [info.summary] + [p.doc for p in info.params + (info.forward or ())]
        for text in texts:
            assert not noise.search(text), (info.name, text)


def test_hover_signature_is_the_one_a_spec_writes(catalog) -> None:
    md = catalog.optimizer("torch.optim.SGD").markdown()
    assert md.startswith(
        "```python\ntorch.optim.SGD(lr: float | Tensor = 0.001, momentum: float = 0, "
        "dampening: float = 0, weight_decay: float | Tensor = 0, nesterov: bool = False, *, "
    )
    assert "params" not in md.split("```")[1] and "collections.abc" not in md


def test_the_catalog_fingerprint_reads_files_that_exist() -> None:
    """A moved module left the name rules out of the fingerprint silently: the cached catalog
    was not rebuilt when they changed."""
    from arcgraph.worker.client import fingerprint_sources

    missing = [str(p) for p in fingerprint_sources() if not p.is_file()]
    assert missing == []
