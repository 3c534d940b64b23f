"""Hover and completion know Arc's categorical input keys (from the model schema)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import RecordingClient, uri_of
from .test_features import _open, complete, find, hover

pytestmark = pytest.mark.asyncio(loop_scope="module")

HALF_TYPED = """\
inputs:
  color:
    dtype: long
    shape: [null]
    columns: [color]
    $
graph:
  - name: fc
    type: torch.nn.Linear
    params: { in_features: 4, out_features: 1 }
    inputs: { input: color }
outputs:
  prediction: fc.output
""".replace("$", "")


async def test_hover_on_the_categorical_keys(client: RecordingClient, workspace: Path) -> None:
    path = workspace / "models" / "iris-petal-length-v1.model.yaml"
    uri = uri_of(path)
    text = path.read_text()
    await _open(client, uri, text)
    categorical = await hover(client, uri, find(text, "    categ"))
    assert categorical is not None and categorical.startswith("**Categorical input**")
    assert "`torch.nn.Embedding(vocab_size + 1, embedding_dim)`" in categorical
    vocab = await hover(client, uri, find(text, "    vocab"))
    assert vocab is not None and vocab.startswith("**Vocabulary size** of a categorical input")
    dim = await hover(client, uri, find(text, "    embedding"))
    assert dim is not None and dim.startswith("**Embedding size** of a categorical input")


async def test_completion_offers_the_categorical_keys(
    client: RecordingClient, workspace: Path
) -> None:
    uri = uri_of(workspace / "models" / "half-categorical.model.yaml")
    await _open(client, uri, HALF_TYPED)
    keys = await complete(client, uri, find(HALF_TYPED, "columns: [color]\n    "))
    assert {"categorical", "vocab_size", "embedding_dim"} <= set(keys)
    assert {"dtype", "shape", "columns"}.isdisjoint(keys)  # already given
    doc = keys["vocab_size"].documentation
    assert doc is not None and not isinstance(doc, str)
    assert doc.value.startswith("**Vocabulary size**")
