"""Formatting over stdio: whole document (tab size 2 and 4), a range, a YAML error."""

from __future__ import annotations

import pytest
from lsprotocol import types

from .conftest import RecordingClient, rng

pytestmark = pytest.mark.asyncio(loop_scope="module")

UNORDERED = (
    "config:\n"  # 0
    "  epochs: 3  # three\n"  # 1
    "# the model\n"  # 2
    "model_ref: m-v1\n"  # 3
    "optimizer:\n"  # 4
    "  type: torch.optim.SGD\n"  # 5
    "  lr: 0.1\n"  # 6
)


async def _format(client: RecordingClient, uri: str, tab: int) -> list[types.TextEdit] | None:
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(
            types.TextDocumentIdentifier(uri), types.FormattingOptions(tab, True)
        )
    )
    return None if edits is None else list(edits)


def _apply(text: str, edits: list[types.TextEdit]) -> str:
    lines = text.splitlines(keepends=True)
    for e in sorted(edits, key=lambda e: e.range.start.line, reverse=True):
        assert e.range.start.character == e.range.end.character == 0
        lines[e.range.start.line : e.range.end.line] = [e.new_text]
    return "".join(lines)


@pytest.mark.parametrize("tab", [2, 4])
async def test_document_formatting(client: RecordingClient, tab: int) -> None:
    uri = f"file:///fmt/tab{tab}.trainer.yaml"
    client.open(uri, UNORDERED)
    try:
        edits = await _format(client, uri, tab)
        assert edits
        pad = " " * tab
        # ruamel keeps an end-of-line comment's column (at least one space after the value)
        gap = "  " if tab == 2 else " "
        assert _apply(UNORDERED, edits) == (
            "# the model\n"
            "model_ref: m-v1\n"
            "optimizer:\n"
            f"{pad}type: torch.optim.SGD\n"
            f"{pad}lr: 0.1\n"
            "config:\n"
            f"{pad}epochs: 3{gap}# three\n"
        )
    finally:
        client.text_document_did_close(
            types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri))
        )


async def _format_range(
    client: RecordingClient, uri: str, r: types.Range, tab: int = 2
) -> list[types.TextEdit] | None:
    edits = await client.text_document_range_formatting_async(
        types.DocumentRangeFormattingParams(
            types.TextDocumentIdentifier(uri), r, types.FormattingOptions(tab, True)
        )
    )
    return None if edits is None else list(edits)


async def test_formatted_document_and_yaml_error_get_no_edits(client: RecordingClient) -> None:
    uri = "file:///fmt/bad.trainer.yaml"
    client.open(uri, "model_ref: [open\noptimizer: {type: x}\n")
    shown = len(client.messages)
    try:
        assert await _format(client, uri, 2) == []
        assert await _format_range(client, uri, rng(0, 0, 1, 5)) == []
        assert client.messages[shown:] == []  # no error popup (it would precede the answer)
        client.replace(uri, "model_ref: m-v1\noptimizer:\n  type: x\n", 2)
        assert await _format(client, uri, 2) == []
    finally:
        client.text_document_did_close(
            types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri))
        )


async def test_range_formatting(client: RecordingClient) -> None:
    text = "model_ref: m-v1\noptimizer:\n    type: x\n    lr: 0.1\nconfig:\n  epochs: 3\n"
    uri = "file:///fmt/range.trainer.yaml"
    client.open(uri, text)
    try:

        async def in_range(r: types.Range) -> list[types.TextEdit] | None:
            edits = await client.text_document_range_formatting_async(
                types.DocumentRangeFormattingParams(
                    types.TextDocumentIdentifier(uri), r, types.FormattingOptions(2, True)
                )
            )
            return None if edits is None else list(edits)

        assert await in_range(rng(2, 0, 3, 5)) == [
            types.TextEdit(rng(2, 0, 4, 0), "  type: x\n  lr: 0.1\n")
        ]
        assert await in_range(rng(4, 0, 5, 3)) == []  # already formatted there
        # a key that would move across the range's edge: no edits (the data must not change)
        client.replace(uri, "config:\n  epochs: 3\nmodel_ref: m-v1\n", 2)
        assert await in_range(rng(0, 0, 0, 3)) == []
    finally:
        client.text_document_did_close(
            types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri))
        )


FLOWS = (
    "model_ref: m-v1\n"  # 0
    "optimizer:\n"  # 1
    "    type: torch.optim.Adam\n"  # 2
    "    params: { betas: [ 0.9, 0.99 ],\n"  # 3
    "              eps: 1.0e-8 }  # flow\n"  # 4
    "scheduler: { type: torch.optim.lr_scheduler.StepLR,  params: {step_size: 1} }  # c\n"  # 5
)


async def test_flow_collections_are_kept_by_document_and_range_formatting(
    client: RecordingClient,
) -> None:
    """A flow collection keeps its text, its continuation lines move with its bracket, and
    the comment after it keeps its column (as after a block value), whole document or range;
    a line whose only difference would be a flow's spacing gets no edit."""
    uri = "file:///fmt/flows.trainer.yaml"
    client.open(uri, FLOWS)
    try:
        expected = (
            "  type: torch.optim.Adam\n"
            "  params: { betas: [ 0.9, 0.99 ],\n"
            "            eps: 1.0e-8 }    # flow\n"
        )
        assert await _format(client, uri, 2) == [types.TextEdit(rng(2, 0, 5, 0), expected)]
        assert await _format_range(client, uri, rng(4, 3, 4, 9)) == [
            types.TextEdit(rng(2, 0, 5, 0), expected)
        ]
        assert await _format_range(client, uri, rng(5, 0, 5, 20)) == []
        assert await _format(client, uri, 4) == []
    finally:
        client.text_document_did_close(
            types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri))
        )
