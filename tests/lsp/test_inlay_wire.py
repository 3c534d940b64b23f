"""Inlay hints go out from their kept JSON-ready forms (lsp/wire.py), byte for byte what
pygls sends with lsprotocol's own converter: the real server over stdio, its raw bodies
compared with lsprotocol's encoding of the same hints (whole file, a range, after an edit)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.protocol import default_converter
from pygls.protocol.json_rpc import JsonRPCResponseMessage

from arcgraph.lsp import wire

from .conftest import uri_of
from .rawrpc import RawServer
from .shape_helpers import vscode_with_inlay_hints

LSPROTOCOL = default_converter()


def lsprotocol_body(message: dict[str, Any]) -> bytes:
    """The body pygls sends for this inlay-hint answer with lsprotocol's converter (its
    `_send_response` and `_send_data`: `json.dumps(response, default=converter.unstructure)`)."""
    hints = LSPROTOCOL.structure(message["result"], list[types.InlayHint])
    response = JsonRPCResponseMessage(id=message["id"], jsonrpc="2.0", result=hints)
    return json.dumps(response, default=LSPROTOCOL.unstructure).encode()


def test_a_prepared_answer_sends_its_kept_forms() -> None:
    hint = types.InlayHint(types.Position(3, 20), "→ [B, 4] · 8 params", padding_left=True)
    form = wire.unstructured(hint, types.InlayHint)
    assert form == LSPROTOCOL.unstructure(hint)
    kept = {**form, "label": "kept"}  # not the hint's: shows which one is sent
    response = JsonRPCResponseMessage(id=4, jsonrpc="2.0", result=wire.Prepared([hint], [kept]))
    assert wire.converter_factory().unstructure(response) == {
        "id": 4,
        "jsonrpc": "2.0",
        "result": [kept],
    }
    plain = JsonRPCResponseMessage(id=4, jsonrpc="2.0", result=[hint])  # as pygls does
    assert wire.converter_factory().unstructure(plain) == LSPROTOCOL.unstructure(plain)


@pytest.mark.asyncio(loop_scope="function")
async def test_inlay_hint_bodies_are_lsprotocols_bytes(
    cache_dir: Path, workspace: Path, has_catalog: bool
) -> None:
    if not has_catalog:
        pytest.skip("torch is not installed")
    raw = await RawServer.start(cache_dir)
    try:
        caps = LSPROTOCOL.unstructure(vscode_with_inlay_hints())
        await raw.initialize(caps, workspace, {"probes": True})
        model = workspace / "models" / "iris-classifier-v1.model.yaml"
        uri, text = uri_of(model), model.read_text()
        raw.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": text}},
        )
        deadline = asyncio.get_running_loop().time() + 60
        while not any(n["method"] == "workspace/inlayHint/refresh" for n in raw.notifications):
            assert asyncio.get_running_loop().time() < deadline, "no inlayHint/refresh"
            await asyncio.sleep(0.05)

        async def body(l1: int, l2: int) -> tuple[bytes, int]:
            rng = {"start": {"line": l1, "character": 0}, "end": {"line": l2, "character": 0}}
            message = await raw.request(
                "textDocument/inlayHint", {"textDocument": {"uri": uri}, "range": rng}
            )
            got = raw.bodies[message["id"]]
            assert got == lsprotocol_body(message)
            return got, len(message["result"])

        whole, n = await body(0, len(text.splitlines()) + 1)
        assert n == 7 and b"\\u2192 [B, 16] \\u00b7 80 params" in whole
        again, _ = await body(0, len(text.splitlines()) + 1)  # from the kept forms
        assert again.replace(b'"id": 3,', b'"id": 2,') == whole
        assert (await body(14, 22))[1] == 3
        raw.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": uri, "version": 2},
                "contentChanges": [{"text": "# one line more\n" + text}],
            },
        )
        assert (await body(0, len(text.splitlines()) + 2))[1] == 7  # the moved hints
    finally:
        await raw.stop()
