"""Position conversion and the indentation outline, without a server."""

from __future__ import annotations

import pytest
from lsprotocol import types

from arcgraph.engine.diagnostics import Diagnostic, Related, Severity, Span
from arcgraph.lsp import convert
from arcgraph.lsp.outline import outline

LINE = "a\U0001f600b\u00e9c"  # a, emoji (2 UTF-16 units, 4 bytes), b, é (1 unit, 2 bytes), c


@pytest.mark.parametrize(
    ("encoding", "cols"),
    [
        ("utf-16", [0, 1, 3, 4, 5, 6]),
        ("utf-8", [0, 1, 5, 6, 8, 9]),
        ("utf-32", [0, 1, 2, 3, 4, 5]),
    ],
)
def test_columns_round_trip(encoding: str, cols: list[int]):
    lines = ["x", LINE]
    assert [convert.to_position(lines, 1, i, encoding) for i in range(6)] == [
        types.Position(1, c) for c in cols
    ]
    assert [convert.from_position(lines, types.Position(1, c), encoding) for c in cols] == [
        (1, i) for i in range(6)
    ]


def test_column_inside_a_surrogate_pair_and_past_the_end():
    lines = [LINE, "abc"]
    assert convert.from_position(lines, types.Position(0, 2)) == (0, 2)  # mid-emoji: after it
    assert convert.to_position(lines, 0, 9) == types.Position(0, 6)  # the line's end
    asked = types.Position(0, 10)
    assert convert.from_position(lines, asked) == (0, 5)  # the line's end, not one before
    assert convert.from_position(lines, types.Position(1, 4), "utf-8") == (1, 3)
    assert asked == types.Position(0, 10)  # the request's position is left as it was


def test_encoding_names():
    assert convert.normalize_encoding(None) == "utf-16"
    assert convert.normalize_encoding(types.PositionEncodingKind.Utf8) == "utf-8"
    assert convert.normalize_encoding("utf-32") == "utf-32"
    assert convert.normalize_encoding("latin-1") == "utf-16"


def test_diagnostic_conversion(tmp_path):
    other = tmp_path / "m.model.yaml"
    other.write_text("loss:\n  type: \U0001f600x\n", encoding="utf-8")
    d = Diagnostic(
        "AG111",
        "unknown key",
        Span(0, 1, 0, 3),
        Severity.WARNING,
        "/x.yaml",
        (Related(str(other), Span(1, 8, 1, 10), "the model's loss"),),
        {"fix": "remove_key", "key": "x"},
    )
    out = convert.to_lsp_diagnostic(d, [LINE], "utf-16")
    assert out.range == types.Range(types.Position(0, 1), types.Position(0, 4))
    assert out.severity == types.DiagnosticSeverity.Warning
    assert out.code == "AG111"
    assert out.code_description.href.endswith("codes.md#ag111")
    assert out.source == "arcgraph"
    assert out.data == {"fix": "remove_key", "key": "x"}
    (rel,) = out.related_information
    assert rel.message == "the model's loss"
    assert rel.location.uri == other.resolve().as_uri()
    assert rel.location.range == types.Range(types.Position(1, 8), types.Position(1, 11))


def test_a_related_place_in_the_same_file_is_read_from_the_open_text(tmp_path):
    """The open document (maybe unsaved, maybe edited since) converts a related place in its
    own file, not the disk's copy (none here: it was 0:0)."""
    path = str(tmp_path / "never-saved.trainer.yaml")
    lines = ["config:", "  device: \U0001f600cpu", "  backend: nccl"]
    d = Diagnostic(
        "AG270",
        "nccl needs CUDA",
        Span(2, 11, 2, 15),
        Severity.ERROR,
        path,
        (Related(path, Span(1, 10, 1, 14), "the device is 'cpu'"),),
    )
    (rel,) = convert.to_lsp_diagnostic(d, lines, "utf-16").related_information
    assert rel.location.range == types.Range(types.Position(1, 10), types.Position(1, 15))


def _cur(text: str, line: int, col: int):
    c = outline(text, (line, col)).cursor
    assert c is not None
    return c


def test_outline_paths_of_block_flow_and_compact_lists():
    text = (
        "graph:\n"
        "- name: a\n"
        "  type: torch.nn.Linear\n"
        "  params: {in_features: 2, out_features: 3}\n"
        "- name: b\n"
        "  inputs: [a.output]\n"
        "outputs:\n"
        "  y: b.output  # the result\n"
    )
    o = outline(text)
    assert o.value_of(("graph", "1", "name")) == "b"
    assert o.value_of(("graph", "0", "params", "out_features")) == "3"
    assert o.items_at(("graph",)) == ["0", "1"]
    assert o.keys_at(("outputs",)) == ["y"]
    assert o.value_of(("outputs", "y")) == "b.output"
    item = next(e for e in o.entries if e.path == ("graph", "1", "inputs", "0"))
    assert (item.value, item.line, item.value_start) == ("a.output", 5, 11)


def test_cursor_contexts_in_broken_text():
    text = "optimizer:\n  type: torch.optim.\n  params: { momentum: 0.9, nes\nconfig:\n  \n"
    c = _cur(text, 1, 20)
    assert (c.path, c.on, c.key, c.prefix) == (("optimizer",), "value", "type", "torch.optim.")
    c = _cur(text, 2, 32)
    assert (c.path, c.on, c.prefix, c.has_colon) == (("optimizer", "params"), "key", "nes", False)
    c = _cur(text, 2, 24)
    assert (c.value_path, c.on, c.word) == (("optimizer", "params", "momentum"), "value", "0.9")
    c = _cur(text, 4, 2)
    assert (c.path, c.on, c.indent) == (("config",), "key", 2)
    c = _cur(text, 5, 0)
    assert (c.path, c.on) == ((), "key")


def test_cursor_in_list_items_and_comments():
    text = "inputs:\n  x:\n    columns:\n      - a\n      - b  # last\n"
    c = _cur(text, 4, 9)
    assert (c.path, c.on, c.word) == (("inputs", "x", "columns", "1"), "item", "b")
    c = _cur(text, 4, 13)
    assert c.on == "comment"


def test_block_scalars_are_skipped():
    text = "config:\n  note: |\n    epochs: 3\n    seed: 1\n  seed: 2\n"
    o = outline(text)
    assert o.keys_at(("config",)) == ["note", "seed"]
    assert o.value_of(("config", "seed")) == "2"


def test_server_process_never_imports_torch(cache_dir, has_catalog):
    """Building the server, loading a catalog and checking a spec leave torch unimported."""
    import subprocess
    import sys
    from pathlib import Path

    server_dir = Path(__file__).resolve().parents[2] / "server"
    script = (
        "import sys\n"
        "from arcgraph.lsp.server import build_server\n"
        "from arcgraph.lsp.settings import Settings\n"
        "s = build_server()\n"
        "s.index.configure(Settings())\n"
        f"assert s.index.load_cached_catalog() is {has_catalog}\n"
        "a = s.index.engine.analyze('x.trainer.yaml', 'model_ref: a-v1\\n')\n"
        "s.index.engine.check_structure(a)\n"
        "s.index.shutdown()\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    env = {"PYTHONPATH": str(server_dir), "ARCGRAPH_CACHE_DIR": str(cache_dir), "PATH": ""}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=60)


def test_quoted_values_are_unquoted():
    text = 'optimizer:\n  type: "torch.optim.SGD"\n  params: {betas: [\'a\', "b"]}\n'
    o = outline(text)
    assert o.value_of(("optimizer", "type")) == "torch.optim.SGD"
    assert [e.value for e in o.entries if e.path[:-1] == ("optimizer", "params", "betas")] == [
        "a",
        "b",
    ]


def test_pathological_lines_stay_fast():
    import time

    texts = [
        "a" + " " * 100_000 + "b\n",
        "x: " + "[" * 100_000 + "\n",
        "x: " + "{a: " * 30_000,
        "".join(" " * i + "k:\n" for i in range(3000)),
    ]
    for text in texts:
        start = time.perf_counter()
        lines = text.split("\n")
        outline(text, (len(lines) - 1, len(lines[-1])))
        outline(text, (0, min(len(lines[0]), 50_000)))
        assert time.perf_counter() - start < 2.0


def test_large_graph_outline_and_symbols_are_linear():
    import time
    from pathlib import Path

    from arcgraph.lsp.document import DocumentView
    from arcgraph.lsp.symbols import _Symbols

    nodes = "".join(
        f"  - name: n{i}\n    type: torch.nn.ReLU\n    inputs: {{ input: n{i - 1}.output }}\n"
        for i in range(3000)
    )
    text = "inputs:\n  x:\n    dtype: float32\ngraph:\n" + nodes + "outputs:\n  y: n2999.output\n"
    start = time.perf_counter()
    o = outline(text, (6, 20))
    refs = [o.value_of(("graph", idx, "name")) for idx in o.items_at(("graph",))]
    doc = DocumentView("file:///big.model.yaml", Path("/big.model.yaml"), text, 1, "utf-16")
    symbols = _Symbols(doc).sections()
    assert time.perf_counter() - start < 3.0
    assert len(refs) == 3000 and refs[-1] == "n2999"
    assert len(symbols[1].children) == 3000
