"""The registry's index of which YAML file names which model (`model_ref`), read without
parsing and kept current by `update`/`remove`."""

from __future__ import annotations

from pathlib import Path

import pytest

from arcgraph.engine.registry import Registry, model_ref_of


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("model_ref: iris-v1\n", "iris-v1"),
        ('optimizer: {}\nmodel_ref: "iris-v1"  # quoted\n', "iris-v1"),
        ("model_ref:   'iris v1'\n", "iris v1"),
        ("model_ref: iris-v1 # comment\n", "iris-v1"),
        ("config:\n  model_ref: nested-v1\n", None),  # not top-level
        ("# model_ref: commented-v1\n", None),
        ("model_ref:\n", None),
        ("", None),
    ],
)
def test_model_ref_of(text: str, ref: str | None) -> None:
    assert model_ref_of(text) == ref


def test_trainers_of_follows_updates(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "iris-v1.model.yaml").write_text("graph: []\n")
    a = tmp_path / "a.trainer.yaml"
    b = tmp_path / "sub" / "b.yml"
    b.parent.mkdir()
    a.write_text("model_ref: iris-v1\n")
    b.write_text("model_ref: iris-v1\n")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "c.yaml").write_text("model_ref: iris-v1\n")  # excluded
    assert Registry.scan([tmp_path]).trainers_of("iris-v1") == []  # the checker's: no index
    reg = Registry.scan([tmp_path], index_trainers=True)
    assert reg.trainers_of("iris-v1") == [a.resolve(), b.resolve()]
    reg.update(a, "model_ref: other-v1\n")  # unsaved editor text
    assert reg.trainers_of("iris-v1") == [b.resolve()]
    assert reg.trainers_of("other-v1") == [a.resolve()]
    reg.close_overlay(a)  # the disk again
    assert reg.trainers_of("iris-v1") == [a.resolve(), b.resolve()]
    b.unlink()
    reg.remove(b)
    assert reg.trainers_of("iris-v1") == [a.resolve()]
