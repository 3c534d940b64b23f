"""The model a trainer's optimizer probe is given is analysed once per model text; the cache
keys that text by a digest (it is kept for the session: never the whole text)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from arcgraph.engine.core import Engine
from arcgraph.engine.registry import Registry

from .conftest import MODEL, TRAINER


def test_probe_model_is_cached_by_a_digest_of_the_model_text(tmp_path: Path) -> None:
    model = tmp_path / "models" / "tiny-v1.model.yaml"
    model.parent.mkdir()
    model.write_text(MODEL)
    registry = Registry([tmp_path])
    registry.rescan()
    engine = Engine(registry)
    trainer = engine.analyze(tmp_path / "t.trainer.yaml", TRAINER)

    first = engine.probe_model(trainer)
    assert first is not None and first[0].text == MODEL
    assert engine.probe_model(trainer) is first  # the same text: analysed once
    digest = hashlib.blake2b(MODEL.encode(), digest_size=16).digest()
    assert list(engine._probe_models) == [(str(model.resolve()), digest, id(None))]

    changed = MODEL + "# edited\n"
    registry.update(model.resolve(), changed)  # unsaved text in the editor
    second = engine.probe_model(trainer)
    assert second is not None and second is not first and second[0].text == changed
    assert [key[1] for key in engine._probe_models] == [
        hashlib.blake2b(changed.encode(), digest_size=16).digest()
    ]
