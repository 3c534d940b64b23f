"""Requests as each recorded client sends them (Neovim 0.7, 0.10, 0.11, VS Code): hover at a
key's first column, quick fixes from the server's own ranges, completion items that Neovim's
omnifunc keeps and whose inserted values the checker accepts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from lsprotocol import types

from .conftest import RecordingClient, rng, start_client, stop_client, uri_of

pytestmark = pytest.mark.asyncio(loop_scope="module")

CLIENT_SETS = (
    "neovim@v0.7.0",
    "neovim@v0.10.0",
    "neovim@v0.11.0",
    "visual-studio-code@v1.65.2",
)


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=CLIENT_SETS)
async def client(
    request: pytest.FixtureRequest, cache_dir: Path, workspace: Path
) -> AsyncIterator[RecordingClient]:
    c = await start_client(cache_dir, workspace, request.param)
    c.spec = request.param  # type: ignore[attr-defined]
    yield c
    await stop_client(c)


def units(client: RecordingClient, text: str) -> int:
    """The length of `text` in the client's position units."""
    if client.position_encoding == "utf-8":
        return len(text.encode("utf-8"))
    if client.position_encoding == "utf-32":
        return len(text)
    return len(text.encode("utf-16-le")) // 2


async def hover(client: RecordingClient, uri: str, line: int, character: int) -> types.Hover | None:
    return await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(line, character))
    )


HOVER_TRAINER = """\
model_ref: iris-classifier-v1
optimizer:
  type: torch.optim.Adam
  lr: 0.01
config:
  epochs: 3
"""


async def test_hover_at_the_first_column_of_a_key(client: RecordingClient, workspace: Path):
    uri = uri_of(workspace / "trainers" / "hover-first.trainer.yaml")
    client.open(uri, HOVER_TRAINER)
    root = await hover(client, uri, 4, 9)  # after `config:`: nothing
    assert root is None
    for line, col, key in ((0, 0, "model_ref"), (2, 2, "type"), (3, 2, "lr"), (5, 2, "epochs")):
        first = await hover(client, uri, line, col)
        inside = await hover(client, uri, line, col + 1)
        assert inside is not None and inside.range == rng(line, col, line, col + len(key))
        assert first == inside, (key, first)
