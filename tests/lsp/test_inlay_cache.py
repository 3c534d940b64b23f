"""Inlay hints are kept per text and per probe answer (lsp/inlay_hints.py): a request's range
is honoured exactly (both ends included), an edit moves and drops hints at once from the last
probe's answer (the next probe is held by the gate of test_probe_idle), and a new probe answer
relabels them. Nothing is timed: the test waits for refreshes and held probe requests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from lsprotocol import types

from .conftest import rng, uri_of
from .shape_helpers import GatedHintClient, hint_rows
from .test_probe_idle import requests

IRIS_ROWS = [
    (10, 20, "→ [B, 4] · 8 params"),  # input_norm
    (14, 16, "→ [B, 16] · 80 params"),  # hidden
    (18, 20, "→ [B, 16] · 0 params"),  # activation
    (21, 20, "→ [B, 3] · 51 params"),  # classifier
    (25, 23, "→ [B, 3] · 0 params"),  # probabilities
    (31, 27, "→ [B, 3]"),  # outputs.logits
    (32, 37, "→ [B, 3]"),  # outputs.probabilities
]


def edited(text: str) -> str:
    """A comment line on top; `activation` renamed `act`; hidden 16 -> 8 wide."""
    text = text.replace("  - name: activation\n", "  - name: act\n")
    text = text.replace("{ input: activation.output }", "{ input: act.output }")
    text = text.replace("in_features: 4, out_features: 16", "in_features: 4, out_features: 8")
    text = text.replace("in_features: 16, out_features: 3", "in_features: 8, out_features: 3")
    return "# a comment line moves every hint down\n" + text


@pytest.mark.asyncio(loop_scope="function")
@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX shell script as interpreter")
async def test_ranges_edits_and_new_probe_answers(
    gated_hints: GatedHintClient, workspace: Path
) -> None:
    c, refreshes = gated_hints.client, gated_hints.refreshes
    log, hold = gated_hints.log, gated_hints.hold

    async def hints(r: types.Range) -> list[tuple[int, int, str]]:
        return hint_rows(await c.text_document_inlay_hint_async(types.InlayHintParams(doc, r)))

    model = workspace / "models" / "iris-classifier-v1.model.yaml"
    uri, text = uri_of(model), model.read_text()
    doc = types.TextDocumentIdentifier(uri)
    whole = rng(0, 0, len(text.splitlines()) + 1, 0)
    c.open(uri, text)
    await c.wait_for(lambda: refreshes, 60, "workspace/inlayHint/refresh")
    assert await hints(whole) == IRIS_ROWS

    # ranges: both ends included, a position just past a hint leaves it out
    assert await hints(rng(14, 16, 21, 20)) == IRIS_ROWS[1:4]
    assert await hints(rng(14, 17, 21, 19)) == IRIS_ROWS[2:3]
    assert await hints(rng(0, 0, 12, 0)) == IRIS_ROWS[:1]
    assert await hints(rng(31, 27, 31, 27)) == IRIS_ROWS[5:6]
    assert await hints(rng(33, 0, 40, 0)) == []
    assert await hints(whole) == IRIS_ROWS  # the kept hints, after partial requests

    # an edit, its probe held: the last answer's labels at the new text's places
    hold.touch()
    probes = len(requests(log, "probe_shapes"))
    new_text = edited(text)
    c.replace(uri, new_text, 2)
    moved = [(line + 1, col, label) for line, col, label in IRIS_ROWS]
    assert await hints(whole) == [moved[i] for i in (0, 1, 3, 4, 5, 6)]  # `act`: unknown
    assert await hints(rng(15, 0, 23, 0)) == [moved[1], moved[3]]
    await c.wait_for(
        lambda: len(requests(log, "probe_shapes")) > probes, 60, "the edit's probe, held"
    )
    assert await hints(whole) == [moved[i] for i in (0, 1, 3, 4, 5, 6)]

    # the probe answers: the new labels, `act` included
    seen = len(refreshes)
    hold.unlink()
    expected = [
        (11, 20, "→ [B, 4] · 8 params"),
        (15, 16, "→ [B, 8] · 40 params"),
        (19, 13, "→ [B, 8] · 0 params"),
        (22, 20, "→ [B, 3] · 27 params"),
        (26, 23, "→ [B, 3] · 0 params"),
        (32, 27, "→ [B, 3]"),
        (33, 37, "→ [B, 3]"),
    ]
    got: list[tuple[int, int, str]] = []
    for _ in range(5):  # the held probes answer one after the other, each refreshes
        await c.wait_for(lambda n=seen: len(refreshes) > n, 60, "a refresh after the probe")
        seen = len(refreshes)
        got = await hints(whole)
        if got == expected:
            break
    assert got == expected
    assert await hints(rng(19, 13, 19, 13)) == expected[2:3]
