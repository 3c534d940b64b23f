"""Every request gets an answer, in raw JSON-RPC as clients send it: positions that are no
LSP `uinteger` (-1, 2**31), positions past the text, requests before `initialize`; refused
renames answer an error and print nothing on stderr."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import pytest_asyncio
from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import client_capabilities

from .conftest import uri_of
from .rawrpc import RawServer

pytestmark = pytest.mark.asyncio(loop_scope="module")

CAPABILITY_SETS = ("neovim@v0.7.0", "neovim@v0.11.0", "visual-studio-code@v1.65.2")
INVALID = [(-1, 0), (0, -1), (2**31, 0), (0, 2**31), (-1, -1)]
PAST_THE_TEXT = [(10_000, 0), (0, 10_000), (2**31 - 1, 2**31 - 1)]
INVALID_PARAMS, SERVER_NOT_INITIALIZED, REQUEST_FAILED = -32602, -32002, -32803


def capabilities(spec: str) -> dict[str, Any]:
    return default_converter().unstructure(client_capabilities(spec))


def registered_requests(spec: str) -> list[str]:
    """The request methods a server initialized by this client answers (features, built-ins
    and the pull diagnostics registered at initialize), bar the lifecycle ones."""
    from arcgraph.lsp.server import build_server

    server = build_server()
    params = types.InitializeParams(capabilities=client_capabilities(spec))
    server.diagnostics.choose_model(params)
    fm = server.protocol.fm
    methods = set(fm.features) | set(fm.builtin_features)
    return sorted(
        m
        for m in methods
        if m in types.METHOD_TO_TYPES
        and types.METHOD_TO_TYPES[m][1] is not None  # a response type: a request
        and m not in (types.INITIALIZE, types.SHUTDOWN)
    )


def params_for(method: str, uri: str, line: int, character: int) -> dict[str, Any]:
    """Params of `method` with every required field filled, positions at (line, character)."""
    pos = {"line": line, "character": character}
    values: dict[str, Any] = {
        "text_document": {"uri": uri},
        "position": pos,
        "range": {"start": pos, "end": pos},
        "new_name": "renamed",
        "options": {"tabSize": 2, "insertSpaces": True},  # formatting
        "command": "arcgraph.no-such-command",
    }
    contexts = {
        types.TEXT_DOCUMENT_CODE_ACTION: {"diagnostics": []},
        types.TEXT_DOCUMENT_REFERENCES: {"includeDeclaration": True},
    }
    cls = types.METHOD_TO_TYPES[method][2]
    out: dict[str, Any] = {}
    for f in attrs.fields(cls):
        if f.default is not attrs.NOTHING:
            continue
        name = f.name
        if name == "context":
            out["context"] = contexts[method]
            continue
        assert name in values, f"the test has no value for {cls.__name__}.{name}"
        camel = name.split("_")[0] + "".join(p.title() for p in name.split("_")[1:])
        out[camel] = values[name]
    return out


def takes_a_position(method: str) -> bool:
    names = {f.name for f in attrs.fields(types.METHOD_TO_TYPES[method][2])}
    return bool(names & {"position", "range"})


@pytest_asyncio.fixture(loop_scope="module", params=CAPABILITY_SETS)
async def raw(request: pytest.FixtureRequest, cache_dir: Path) -> AsyncIterator[RawServer]:
    server = await RawServer.start(cache_dir)
    server.spec = request.param  # type: ignore[attr-defined]
    try:
        yield server
    finally:
        await server.kill()


def open_doc(raw: RawServer, path: Path) -> str:
    uri = uri_of(path)
    raw.notify(
        "textDocument/didOpen",
        {
            "textDocument": {
                "uri": uri,
                "languageId": "yaml",
                "version": 1,
                "text": path.read_text(),
            }
        },
    )
    return uri


async def test_every_request_is_answered_at_any_position(raw: RawServer, workspace: Path):
    spec = raw.spec  # type: ignore[attr-defined]
    await raw.initialize(capabilities(spec), workspace)
    model = open_doc(raw, workspace / "models" / "iris-classifier-v1.model.yaml")
    trainer = open_doc(raw, workspace / "trainers" / "iris.trainer.yaml")
    methods = registered_requests(spec)
    assert {"textDocument/hover", "textDocument/rename", "textDocument/codeAction"} <= set(methods)
    answered = 0
    for method in methods:
        for uri in (model, trainer):
            if not takes_a_position(method):
                answer = await raw.request(method, params_for(method, uri, 0, 0))
                assert answer.get("error", {}).get("code") != -32603, (method, answer)
                answered += 1
                continue
            for line, character in INVALID:
                answer = await raw.request(method, params_for(method, uri, line, character))
                error = answer.get("error")
                assert error is not None and error["code"] == INVALID_PARAMS, (method, answer)
                assert "should be in range [0:2147483647]" in error["message"], error
                answered += 1
            for line, character in PAST_THE_TEXT:
                answer = await raw.request(method, params_for(method, uri, line, character))
                if "error" in answer:  # a rename of nothing is refused, never a crash
                    assert method in (
                        types.TEXT_DOCUMENT_RENAME,
                        types.TEXT_DOCUMENT_PREPARE_RENAME,
                    )
                    assert answer["error"]["code"] == REQUEST_FAILED, answer
                answered += 1
    assert answered >= 2 * 7 * (len(INVALID) + len(PAST_THE_TEXT))
    assert await raw.stop() == ""  # nothing for the client to log as an error


async def test_requests_before_initialize_are_refused(raw: RawServer, workspace: Path):
    path = workspace / "trainers" / "iris.trainer.yaml"
    pos = {"textDocument": {"uri": uri_of(path)}, "position": {"line": 2, "character": 3}}
    for method, params in (
        ("textDocument/hover", pos),
        ("textDocument/completion", pos),
        ("textDocument/documentSymbol", {"textDocument": {"uri": uri_of(path)}}),
        ("shutdown", None),
    ):
        answer = await raw.request(method, params)
        assert answer["error"]["code"] == SERVER_NOT_INITIALIZED, (method, answer)
        assert answer["error"]["message"] == (
            f"arcgraph: {method} before initialize; send initialize first"
        )
    open_doc(raw, path)  # a notification before initialize: dropped
    result = await raw.initialize(capabilities(raw.spec), workspace)  # type: ignore[attr-defined]
    assert result["result"]["serverInfo"]["name"] == "arcgraph"
    answer = await raw.request("textDocument/hover", pos)
    assert answer == {"jsonrpc": "2.0", "id": answer["id"], "result": None}  # never opened
    open_doc(raw, path)
    answer = await raw.request("textDocument/hover", pos)
    assert answer["result"]["contents"]["kind"] == "markdown", answer
    assert await raw.stop() == ""


async def test_refused_renames_answer_an_error_and_print_nothing(raw: RawServer, workspace: Path):
    await raw.initialize(capabilities(raw.spec), workspace)  # type: ignore[attr-defined]
    path = workspace / "models" / "iris-classifier-v1.model.yaml"
    uri = open_doc(raw, path)
    lines = path.read_text().split("\n")
    first = next(i for i, ln in enumerate(lines) if ln.strip().startswith("- name: "))
    second = next(
        i for i, ln in enumerate(lines) if i > first and ln.strip().startswith("- name: ")
    )
    node_col = lines[first].index("name: ") + len("name: ")
    other = lines[second].split("name: ")[1].strip()
    cases = [
        ((0, 0, "x"), (REQUEST_FAILED, "arcgraph: only node names can be renamed")),
        ((10_000, 0, "x"), (REQUEST_FAILED, "arcgraph: only node names can be renamed")),
        (
            (first, node_col, "bad name"),
            (
                INVALID_PARAMS,
                "arcgraph: 'bad name' is not a valid node name (letters, digits and _ only)",
            ),
        ),
        (
            (first, node_col, other),
            (INVALID_PARAMS, f"arcgraph: {other!r} is already the name of a node or input"),
        ),
    ]
    for (line, character, new), (code, message) in cases:
        pos = {"line": line, "character": character}
        params = {"textDocument": {"uri": uri}, "position": pos, "newName": new}
        answer = await raw.request("textDocument/rename", params)
        assert answer["error"] == {"code": code, "message": message}, answer
        if new == "x":
            del params["newName"]
            answer = await raw.request("textDocument/prepareRename", params)
            assert answer["error"] == {"code": code, "message": message}, answer
    assert await raw.stop() == ""
