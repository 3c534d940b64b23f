"""Completion, hover, definition and document symbols over LSP, on half-typed documents too."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from arcgraph.engine.schema import load_schema
from arcgraph.engine.spec_version import V11_KEYS

from .conftest import RecordingClient, text_edits, uri_of

# The optional top-level sections of trainer spec v1.1 the schema has (offered until present).
V11_SECTIONS = {path[0] for path in V11_KEYS if len(path) == 1} & set(
    load_schema("trainer")["properties"]
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

# Half-typed and not valid YAML (the unclosed `[` on the last line).
TRAINER = """\
model_ref: iris
optimizer:
  type: torch.optim.SGD
  lr: 0.1
  params:
    mom
config:
  epochs: 3
  device:$
  $
  batch_size: [
""".replace("$", " ")

MODEL = """\
inputs:
  features:
    dtype:$
    shape: [null, 4]
    columns: [a, b, c, d]
modules:
  block:
    inputs: [x]
    graph:
      - name: inner
        type: torch.nn.Linear
        params: { in_features: 4, out_features: 4 }
        inputs: { input:  }
    outputs:
      out: inner.output
graph:
  - name: hidden
    type: torch.nn.Linear
    params: { in_features: 4,  }
    inputs: { input: features }
  - name: act
    type: torch.nn.
    inputs: { input:  }
  - name: blk
    type: module.block
    inputs: [hidden.output]
outputs:
  logits: act.output
loss:
  type: torch.nn.functional.
  inputs:
    input:$
    target: y
  params: {
""".replace("$", " ")


def pos(text: str, line: int, after: str, nth: int = 0) -> types.Position:
    """The position just after the `nth` occurrence of `after` on `line` (ASCII lines)."""
    ln = text.split("\n")[line]
    i = -1
    for _ in range(nth + 1):
        i = ln.index(after, i + 1)
    return types.Position(line, i + len(after))


def find(text: str, after: str, nth: int = 0) -> types.Position:
    """The position just after the `nth` occurrence of `after` in the text."""
    i = -1
    for _ in range(nth + 1):
        i = text.index(after, i + 1)
    end = i + len(after)
    line = text.count("\n", 0, end)
    return types.Position(line, end - (text.rfind("\n", 0, end) + 1))


async def complete(
    client: RecordingClient, uri: str, p: types.Position
) -> dict[str, types.CompletionItem]:
    result = await client.text_document_completion_async(
        types.CompletionParams(types.TextDocumentIdentifier(uri), p)
    )
    items = result.items if isinstance(result, types.CompletionList) else (result or [])
    return {i.label: i for i in items}


async def hover(client: RecordingClient, uri: str, p: types.Position) -> str | None:
    result = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), p)
    )
    if result is None:
        return None
    assert isinstance(result.contents, types.MarkupContent)
    assert result.contents.kind == types.MarkupKind.Markdown
    return result.contents.value


async def definition(client: RecordingClient, uri: str, p: types.Position) -> list:
    result = await client.text_document_definition_async(
        types.DefinitionParams(types.TextDocumentIdentifier(uri), p)
    )
    if result is None:
        return []
    return result if isinstance(result, list) else [result]


async def until(ask: Any, ok: Any, tries: int = 200) -> Any:
    """Ask again (the registry is scanned in the background) until the answer is ok."""
    answer = None
    for _ in range(tries):
        answer = await ask()
        if ok(answer):
            return answer
        await asyncio.sleep(0.05)
    return answer


@pytest.fixture(scope="module")
def catalog_needed(has_catalog: bool) -> None:
    if not has_catalog:
        pytest.skip("torch is not installed: no catalog")


async def _open(client: RecordingClient, uri: str, text: str) -> None:
    client.open(uri, text)
    await client.wait_for_diagnostics(uri, 1)


# -- completion ----------------------------------------------------------------------------


async def test_trainer_completion_half_typed(
    client: RecordingClient, workspace: Path, catalog_needed: None
):
    uri = uri_of(workspace / "trainers" / "typing.trainer.yaml")
    await _open(client, uri, TRAINER)
    # the server may still be scanning the registry: ask until the IDs are there
    ids = await until(
        lambda: complete(client, uri, pos(TRAINER, 0, "iris")),
        lambda items: "iris-classifier-v1" in items,
    )
    assert {"iris-classifier-v1", "diabetes-logistic-v1", "deep-mlp-v2"} <= set(ids)
    item = ids["iris-classifier-v1"]
    assert item.text_edit.new_text == "iris-classifier-v1"
    assert item.text_edit.range == types.Range(types.Position(0, 11), types.Position(0, 15))

    opts = await complete(client, uri, pos(TRAINER, 2, "torch.optim."))
    assert {"torch.optim.Adam", "torch.optim.AdamW", "torch.optim.SGD"} <= set(opts)
    assert opts["torch.optim.SGD"].detail.startswith("(params")
    # the whole word is replaced, the prefix typed so far filters
    assert opts["torch.optim.SGD"].text_edit.range == types.Range(
        types.Position(2, 8), types.Position(2, 23)
    )

    params = await complete(client, uri, pos(TRAINER, 5, "mom"))
    assert {"momentum", "nesterov", "weight_decay", "dampening"} <= set(params)
    assert "lr" not in params and "params" not in params
    assert "= 0" in (params["momentum"].detail or "")

    device = await complete(client, uri, pos(TRAINER, 8, "device: "))
    assert {"auto", "cpu", "cuda", "mps"} <= set(device)

    keys = await complete(client, uri, types.Position(9, 2))
    assert {"validation_split", "shuffle", "seed", "early_stopping_patience"} <= set(keys)
    assert "epochs" not in keys and "device" not in keys and "batch_size" not in keys
    assert keys["log_every"].text_edit.new_text == "log_every: 10"
    assert keys["log_every"].detail == "default: 10"

    top = await complete(client, uri, types.Position(11, 0))
    assert set(top) == V11_SECTIONS  # every v1.0 top-level key is there


async def test_empty_spec_offers_every_section(client: RecordingClient, workspace: Path):
    uri = uri_of(workspace / "trainers" / "new.trainer.yaml")
    await _open(client, uri, "")
    keys = await complete(client, uri, types.Position(0, 0))
    assert set(keys) == {"model_ref", "optimizer", "config", *V11_SECTIONS}
    assert keys["model_ref"].text_edit.new_text == "model_ref: "
    muri = uri_of(workspace / "models" / "new.model.yaml")
    await _open(client, muri, "")
    keys = await complete(client, muri, types.Position(0, 0))
    assert set(keys) == {"inputs", "modules", "graph", "outputs", "loss"}
    assert keys["graph"].text_edit.new_text == "graph:\n  - "


async def test_arc_stack(client: RecordingClient, workspace: Path):
    uri = uri_of(workspace / "models" / "stack.model.yaml")
    text = (
        "modules:\n  block:\n    inputs: [x]\n"
        "graph:\n  - name: s\n    type: arc.stack\n    params:\n      module: \n      \n"
    )
    await _open(client, uri, text)
    keys = await complete(client, uri, types.Position(8, 6))
    assert set(keys) == {"count"}
    mods = await complete(client, uri, types.Position(7, 14))
    assert set(mods) == {"block"}
    md = await hover(client, uri, types.Position(5, 12))
    assert md is not None and md.startswith("**arc.stack**")


async def test_trainer_top_level_keys(client: RecordingClient, workspace: Path):
    uri = uri_of(workspace / "trainers" / "empty.trainer.yaml")
    text = "model_ref: iris-classifier-v1\n\n"
    await _open(client, uri, text)
    keys = await complete(client, uri, types.Position(1, 0))
    assert set(keys) == {"optimizer", "config", *V11_SECTIONS}
    assert keys["optimizer"].text_edit.new_text == "optimizer:\n  "
    assert keys["optimizer"].documentation.value.startswith("**Optimizer**")


async def test_model_completion_half_typed(
    client: RecordingClient, workspace: Path, catalog_needed: None
):
    uri = uri_of(workspace / "models" / "typing.model.yaml")
    await _open(client, uri, MODEL)

    types_ = await complete(client, uri, find(MODEL, "act\n    type: torch.nn."))
    assert {
        "torch.nn.ReLU",
        "torch.nn.Linear",
        "torch.nn.functional.relu",
        "module.block",
        "arc.stack",
    } <= set(types_)
    assert types_["torch.nn.Linear"].kind == types.CompletionItemKind.Class
    assert not [t for t in types_ if t.startswith("torch.") and not t.startswith("torch.nn.")]
    raw = await client.text_document_completion_async(
        types.CompletionParams(
            types.TextDocumentIdentifier(uri), find(MODEL, "act\n    type: torch.nn.")
        )
    )
    assert raw.is_incomplete  # cut to `torch.nn.`: deleting the dot asks again
    assert types_["torch.nn.functional.relu"].kind == types.CompletionItemKind.Function

    refs = await complete(client, uri, find(MODEL, "torch.nn.\n    inputs: { input: "))
    assert {"features", "hidden.output", "blk.output"} <= set(refs)
    assert "act.output" not in refs  # not its own output
    assert "inner.output" not in refs  # another graph

    inner = await complete(client, uri, find(MODEL, "inputs: { input: "))
    assert set(inner) >= {"x"} and "features" not in inner and "inner.output" not in inner

    flow_params = await complete(client, uri, find(MODEL, "in_features: 4, ", nth=1))
    assert {"bias", "out_features"} <= set(flow_params)
    assert "in_features" not in flow_params

    dtype = await complete(client, uri, find(MODEL, "dtype: "))
    assert {"float32", "int64", "bool"} <= set(dtype)

    losses = await complete(client, uri, find(MODEL, "torch.nn.functional."))
    assert {"torch.nn.functional.cross_entropy", "torch.nn.functional.mse_loss"} <= set(losses)
    assert "torch.nn.functional.relu" not in losses

    loss_input = await complete(client, uri, find(MODEL, "inputs:\n    input: "))
    assert set(loss_input) == {"logits"}

    outputs = await complete(client, uri, find(MODEL, "logits: "))
    assert {"hidden.output", "act.output", "blk.output"} <= set(outputs)

    loss_params = await complete(client, uri, find(MODEL, "params: {", nth=2))
    assert "reduction" in loss_params

    node_keys = await complete(client, uri, types.Position(25, 4))
    assert {"params"} <= set(node_keys)
    assert not {"name", "type", "inputs"} & set(node_keys)


async def test_colon_trigger_inserts_space(
    client: RecordingClient, workspace: Path, catalog_needed: None
):
    uri = uri_of(workspace / "trainers" / "colon.trainer.yaml")
    text = "model_ref: iris-classifier-v1\noptimizer:\n  type:\n"
    await _open(client, uri, text)
    items = await complete(client, uri, types.Position(2, 7))
    assert items["torch.optim.Adam"].text_edit.new_text == " torch.optim.Adam"


# -- hover ---------------------------------------------------------------------------------


async def test_hover_trainer(client: RecordingClient, workspace: Path, catalog_needed: None):
    path = workspace / "trainers" / "sgd-momentum.trainer.yaml"
    uri = uri_of(path)
    text = path.read_text()
    await _open(client, uri, text)
    lines = text.split("\n")

    def at(key: str, offset: int = 1) -> types.Position:
        n = next(i for i, ln in enumerate(lines) if ln.strip().startswith(key))
        return types.Position(n, lines[n].index(key) + offset)

    lr = await hover(client, uri, at("lr:"))
    assert lr is not None and lr.startswith("**Learning rate**, a number > 0.")

    opt = await hover(client, uri, at("type:", 8))
    assert opt is not None and opt.startswith("```python\ntorch.optim.SGD(")
    assert "[PyTorch docs](" in opt

    momentum = await hover(client, uri, at("momentum:"))
    assert momentum is not None and momentum.startswith("**momentum**")
    assert "argument of `torch.optim.SGD`" in momentum

    ref = await until(lambda: hover(client, uri, at("model_ref:", 12)), bool)
    model_line = next(ln for ln in lines if ln.startswith("model_ref:"))
    model_id = model_line.split(":", 1)[1].split("#")[0].strip()
    assert ref is not None and ref.startswith(f"**Model `{model_id}`**")
    assert "Inputs: `" in ref and "Outputs: `" in ref and "Loss: `torch.nn" in ref
    assert f"({uri_of(workspace / 'models' / (model_id + '.model.yaml'))})" in ref


async def test_hover_schema_default_and_enum(client: RecordingClient, workspace: Path):
    uri = uri_of(workspace / "trainers" / "hover-config.trainer.yaml")
    text = "config:\n  device: cpu\n"
    await _open(client, uri, text)
    md = await hover(client, uri, types.Position(1, 4))
    assert md is not None
    assert "Default: `auto`" in md
    assert "Allowed values: `auto`, `cpu`, `cuda`, `mps`" in md


async def test_hover_model(client: RecordingClient, workspace: Path, catalog_needed: None):
    path = workspace / "models" / "iris-classifier-v1.model.yaml"
    uri = uri_of(path)
    text = path.read_text()
    await _open(client, uri, text)
    lines = text.split("\n")
    n = next(i for i, ln in enumerate(lines) if "type: torch.nn.Linear" in ln)
    md = await hover(client, uri, types.Position(n, lines[n].index("Linear")))
    assert md is not None and md.startswith("```python\ntorch.nn.Linear(")
    p = next(i for i, ln in enumerate(lines) if "in_features: 4" in ln)
    md = await hover(client, uri, types.Position(p, lines[p].index("in_features") + 2))
    assert md is not None and md.startswith("**in_features**")
    assert "argument of `torch.nn.Linear`" in md
    loss = next(i for i, ln in enumerate(lines) if "type: torch.nn.functional.cross" in ln)
    md = await hover(client, uri, types.Position(loss, lines[loss].index("cross_entropy")))
    assert md is not None and md.startswith("```python\ntorch.nn.functional.cross_entropy(")
    # nothing in a comment
    c = next(i for i, ln in enumerate(lines) if ln.startswith("#") and "cross_entropy" in ln)
    assert await hover(client, uri, types.Position(c, lines[c].index("cross_entropy"))) is None


LOSS_CLASS = """\
inputs:
  x: {dtype: float32, shape: [null, 2], columns: [a, b]}
graph:
  - {name: fc, type: torch.nn.Linear, params: {in_features: 2, out_features: 1}, inputs: [x]}
outputs:
  logits: fc.output
loss:
  type: torch.nn.BCEWithLogitsLoss
  inputs: {input: logits, target: y}
  params: {pos_weight: [2.0], }
"""


async def test_loss_type_offers_classes_and_functions(
    client: RecordingClient, workspace: Path, catalog_needed: None
):
    """loss.type: torch.nn.*Loss classes beside the functional losses (issue 11); hover and
    params completion read the class's constructor."""
    uri = uri_of(workspace / "models" / "losscls-v1.model.yaml")
    typing = LOSS_CLASS.replace("torch.nn.BCEWithLogitsLoss", "torch.nn.")
    await _open(client, uri, typing)
    losses = await complete(client, uri, find(typing, "type: torch.nn.", nth=1))
    assert losses["torch.nn.BCEWithLogitsLoss"].kind == types.CompletionItemKind.Class
    assert losses["torch.nn.functional.mse_loss"].kind == types.CompletionItemKind.Function
    assert {"torch.nn.CrossEntropyLoss", "torch.nn.MSELoss"} <= set(losses)
    assert "torch.nn.Linear" not in losses and "torch.nn.functional.relu" not in losses

    client.replace(uri, LOSS_CLASS, 2)
    await client.wait_for_diagnostics(uri, 2)
    md = await hover(client, uri, find(LOSS_CLASS, "type: torch.nn.BCE"))
    assert md is not None and md.startswith("```python\ntorch.nn.BCEWithLogitsLoss(")
    assert "pos_weight" in md
    params = await complete(client, uri, find(LOSS_CLASS, "[2.0], "))
    assert {"reduction", "weight"} <= set(params)  # the constructor's, not forward's


# -- definition ----------------------------------------------------------------------------


async def test_definition(client: RecordingClient, workspace: Path):
    uri = uri_of(workspace / "trainers" / "def.trainer.yaml")
    await _open(client, uri, "model_ref: iris-classifier-v1\n")
    # the registry is scanned in the background: wait for it
    locs = await until(lambda: definition(client, uri, types.Position(0, 15)), bool)
    model = workspace / "models" / "iris-classifier-v1.model.yaml"
    assert [(loc.uri, loc.range) for loc in locs] == [
        (uri_of(model), types.Range(types.Position(0, 0), types.Position(0, 0)))
    ]

    muri = uri_of(workspace / "models" / "def.model.yaml")
    await _open(client, muri, MODEL)
    # `hidden.output` in blk's inputs -> `name: hidden`
    locs = await definition(client, muri, find(MODEL, "[hid"))
    assert [(loc.uri, loc.range) for loc in locs] == [
        (muri, types.Range(types.Position(16, 10), types.Position(16, 16)))
    ]
    # `features` -> the input's key
    locs = await definition(client, muri, find(MODEL, "input: fea"))
    assert [loc.range for loc in locs] == [types.Range(types.Position(1, 2), types.Position(1, 10))]
    # module.block -> the module
    locs = await definition(client, muri, find(MODEL, "module.bl"))
    assert [loc.range for loc in locs] == [types.Range(types.Position(6, 2), types.Position(6, 7))]
    # a module output -> the node in the module's graph
    locs = await definition(client, muri, find(MODEL, "out: inn"))
    assert [loc.range for loc in locs] == [
        types.Range(types.Position(9, 14), types.Position(9, 19))
    ]
    # nothing on a key
    assert await definition(client, muri, types.Position(0, 2)) == []


async def test_definition_loss_input(client: RecordingClient, workspace: Path):
    path = workspace / "models" / "iris-classifier-v1.model.yaml"
    uri = uri_of(path)
    text = path.read_text()
    await _open(client, uri, text)
    lines = text.split("\n")
    n = next(i for i, ln in enumerate(lines) if ln.strip() == "input: logits")
    locs = await definition(client, uri, types.Position(n, lines[n].index("logits") + 1))
    o = next(i for i, ln in enumerate(lines) if ln.strip().startswith("logits:"))
    assert [loc.range for loc in locs] == [types.Range(types.Position(o, 2), types.Position(o, 8))]


# -- symbols -------------------------------------------------------------------------------


async def test_document_symbols(client: RecordingClient, workspace: Path):
    path = workspace / "models" / "iris-classifier-v1.model.yaml"
    uri = uri_of(path)
    await _open(client, uri, path.read_text())
    result = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(types.TextDocumentIdentifier(uri))
    )
    assert [s.name for s in result] == ["inputs", "graph", "outputs", "loss"]
    graph = result[1]
    assert [(n.name, n.detail) for n in graph.children] == [
        ("input_norm", "torch.nn.BatchNorm1d"),
        ("hidden", "torch.nn.Linear"),
        ("activation", "torch.nn.ReLU"),
        ("classifier", "torch.nn.Linear"),
        ("probabilities", "torch.nn.functional.softmax"),
    ]
    assert [c.name for c in result[2].children] == ["logits", "probabilities"]
    assert graph.range.start.line == 9 and graph.range.end.line == 28
    assert graph.children[0].selection_range == types.Range(
        types.Position(10, 10), types.Position(10, 20)
    )

    muri = uri_of(workspace / "models" / "sym.model.yaml")
    await _open(client, muri, MODEL)
    result = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(types.TextDocumentIdentifier(muri))
    )
    modules = next(s for s in result if s.name == "modules")
    assert [m.name for m in modules.children] == ["block"]
    assert [n.name for n in modules.children[0].children] == ["inner"]


async def test_new_list_item_offers_node_keys(client: RecordingClient, workspace: Path):
    uri = uri_of(workspace / "models" / "item.model.yaml")
    text = "graph:\n  - name: a\n    type: torch.nn.ReLU\n  - \n"
    await _open(client, uri, text)
    keys = await complete(client, uri, types.Position(3, 4))
    assert {"name", "type", "inputs", "params"} <= set(keys)
    assert keys["name"].text_edit.new_text == "name: "


async def test_hover_references(client: RecordingClient, workspace: Path, catalog_needed: None):
    path = workspace / "models" / "iris-classifier-v1.model.yaml"
    uri = uri_of(path)
    text = path.read_text()
    await _open(client, uri, text)
    md = await hover(client, uri, find(text, "input: input_n"))
    assert md is not None
    assert md.startswith("**Node `input_norm`** \u2014 `torch.nn.BatchNorm1d` (line 11)")
    assert "```python\ntorch.nn.BatchNorm1d(" in md
    md = await hover(client, uri, find(text, "{ input: feat"))
    assert md == (
        "**Input `features`** (line 5)\n\ndtype: `float32`\n\nshape: `[null, 4]`\n\n"
        "columns: `sepal_length`, `sepal_width`, `petal_length`, `petal_width`"
    )
    md = await hover(client, uri, find(text, "input: logi"))
    assert md == "**Output `logits`** = `classifier.output`"


# -- quick fixes ---------------------------------------------------------------------------


def apply(text: str, edits: list[types.TextEdit]) -> str:
    """Apply edits given in ASCII-only positions."""
    lines = text.split("\n")
    offsets = [0]
    for ln in lines:
        offsets.append(offsets[-1] + len(ln) + 1)

    def off(p: types.Position) -> int:
        return offsets[p.line] + p.character if p.line < len(lines) else len(text)

    for e in sorted(
        edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True
    ):
        text = text[: off(e.range.start)] + e.new_text + text[off(e.range.end) :]
    return text


async def test_quick_fixes(client: RecordingClient, workspace: Path):
    uri = uri_of(workspace / "trainers" / "fix.trainer.yaml")
    text = (
        "model_ref: iris-classifier-v1\n"
        "optimizer:\n  type: torch.optim.Adam\n  lr: 0.01\n"
        "config:\n  epochs: 10\n  batch_size: 16\n  validation_split: 0.2\n  shuffle: true\n"
        "  devise: cpu  # where\n"
    )
    client.open(uri, text)
    diags = await client.wait_for_diagnostics(uri, 1, lambda d: len(d) == 1)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            types.TextDocumentIdentifier(uri),
            diags[0].range,
            types.CodeActionContext(diagnostics=diags),
        )
    )
    # The last entry is the Train source action (lsprotocol's client-side hook reads any
    # action that carries a command as a bare Command).
    assert [(a.title, a.kind, a.is_preferred) for a in actions[:2]] == [
        ("Rename to 'device'", types.CodeActionKind.QuickFix, True),
        ("Remove 'devise'", types.CodeActionKind.QuickFix, False),
    ]
    assert [a.title for a in actions[2:]] == ["Train this model (arcgraph)"]
    rename = text_edits(client, actions[0].edit, uri, 1)
    assert apply(text, rename) == text.replace("devise", "device")
    removed = apply(text, text_edits(client, actions[1].edit, uri, 1))
    assert "devise" not in removed and removed.endswith("  shuffle: true\n")


def units(text: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    if encoding == "utf-32":
        return len(text)
    return len(text.encode("utf-16-le")) // 2


async def test_positions_after_non_ascii_text(client: RecordingClient, workspace: Path):
    """Requests and answers count in the negotiated encoding, not in code points."""
    uri = uri_of(workspace / "models" / "emoji.model.yaml")
    text = (
        "inputs:\n  x:\n    dtype: float32\n"
        "graph:\n"
        "  - name: hidden\n    type: torch.nn.ReLU\n    inputs: { input: x }\n"
        '  - name: out\n    type: torch.nn.ReLU\n    inputs: ["\U0001f600", hidden.output]\n'
    )
    await _open(client, uri, text)
    line = text.split("\n")[9]
    enc = client.position_encoding
    at = types.Position(9, units(line[: line.index("hidden") + 2], enc))
    locs = await definition(client, uri, at)
    assert [loc.range for loc in locs] == [
        types.Range(types.Position(4, 10), types.Position(4, 16))
    ]
    md = await hover(client, uri, at)
    assert md is not None and md.startswith("**Node `hidden`**")
    result = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), at)
    )
    start = units(line[: line.index("hidden")], enc)
    assert result.range == types.Range(
        types.Position(9, start), types.Position(9, start + len("hidden.output"))
    )


async def test_node_input_arguments(client: RecordingClient, workspace: Path, catalog_needed: None):
    uri = uri_of(workspace / "models" / "args.model.yaml")
    text = (
        "inputs:\n  x:\n    dtype: float32\n"
        "graph:\n"
        "  - name: lin\n    type: torch.nn.Linear\n    inputs: { input: x }\n"
        "  - name: loss_like\n    type: torch.nn.functional.mse_loss\n"
        "    params: { reduction: sum }\n    inputs:\n      input: lin.output\n      \n"
    )
    await _open(client, uri, text)
    md = await hover(client, uri, find(text, "inputs: { inp"))
    assert md is not None and md.startswith("**input**")
    assert "argument of `torch.nn.Linear.forward`" in md
    keys = await complete(client, uri, types.Position(12, 6))
    assert "target" in keys
    assert "input" not in keys and "reduction" not in keys
