"""The text itself: YAML errors, duplicates, several documents, binary data, kinds."""

from __future__ import annotations

from itertools import pairwise

from arcgraph.engine.core import Engine
from arcgraph.engine.kinds import SpecKind
from arcgraph.engine.source import YMap, YScalar, YSeq, parse_yaml, to_python

from .conftest import TRAINER, rows


def test_every_key_and_value_keeps_its_exact_range() -> None:
    text = 'optimizer: { type: "torch.optim.SGD", lr: 0.1 }  # flow style\n"config":\n  epochs: 3\n'
    root = parse_yaml(text).root
    assert isinstance(root, YMap)
    opt = root.get("optimizer")
    assert isinstance(opt, YMap) and opt.flow
    t = opt.get("type")
    assert isinstance(t, YScalar) and t.value == "torch.optim.SGD"
    assert (t.span.start_line, t.span.start_col, t.span.end_col) == (0, 19, 36)
    key = root.key_node("config")
    assert key is not None and (key.span.start_col, key.span.end_col) == (0, 8)


def test_anchors_and_aliases_resolve_to_the_anchored_value() -> None:
    root = parse_yaml("base: &b {lr: 0.1}\nother: *b\nmerged:\n  <<: *b\n  x: 1\n").root
    assert isinstance(root, YMap)
    assert root.get("other") is root.get("base")
    merged = root.get("merged")
    assert isinstance(merged, YMap) and merged.keys() == ["x", "lr"]


def test_syntax_error_is_one_diagnostic_at_its_position(check_text) -> None:
    text = "model_ref: tiny-v1\noptimizer:\n  type: [torch.optim.Adam\n  lr: 0.01\n"
    assert rows(check_text(text)) == [
        (
            "AG100",
            "YAML syntax error: did not find expected ',' or ']' "
            "(while parsing a flow sequence started on line 3)",
            (3, 4, 3, 10),
        )
    ]


def test_duplicate_key_is_reported_on_the_second_key(check_text) -> None:
    text = TRAINER.replace("  epochs: 3\n", "  epochs: 3\n  epochs: 4\n")
    assert rows(check_text(text)) == [
        (
            "AG101",
            "duplicate key 'epochs' (first defined on line 6); remove one of them",
            (6, 2, 6, 8),
        )
    ]


def test_second_document_is_one_diagnostic(check_text) -> None:
    assert rows(check_text(TRAINER + "---\nmodel_ref: other-v1\n")) == [
        (
            "AG102",
            "a spec file holds one YAML document; this is a second one (move it to its own file)",
            (9, 0, 9, 3),
        )
    ]


def test_not_a_mapping(check_text) -> None:
    assert rows(check_text("- model_ref\n- optimizer\n")) == [
        ("AG103", "a trainer spec is a mapping of sections (key: value), not a list", (0, 0, 2, 0))
    ]


def test_empty_spec_file(check_text) -> None:
    assert rows(check_text("# nothing yet\n", "empty.model.yaml")) == [
        (
            "AG104",
            "this model spec is empty; start with the required sections (inputs, graph, outputs, loss)",
            (0, 0, 0, 0),
        )
    ]


def test_binary_file_is_one_diagnostic(workspace) -> None:
    path = workspace / "blob.trainer.yaml"
    data = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
    path.write_bytes(data)
    diags = Engine().check(path, data)
    assert rows(diags) == [
        (
            "AG105",
            "this is not a text file (it contains NUL bytes); a spec must be UTF-8 YAML",
            (0, 0, 0, 1),
        )
    ]


def test_latin1_file_is_not_utf8(workspace) -> None:
    data = "model_ref: caf\xe9-v1\n".encode("latin-1")
    diags = Engine().check(workspace / "x.trainer.yaml", data)
    assert rows(diags) == [
        (
            "AG105",
            "the file is not UTF-8 text (byte 0xe9 at offset 14); save it as UTF-8",
            (0, 0, 0, 1),
        )
    ]


def test_unrelated_yaml_gets_nothing(check_text) -> None:
    assert check_text("on: [push]\njobs: {build: {runs-on: ubuntu}}\n", "ci.yaml") == []
    assert check_text("key: [unclosed\n", "k8s.yaml") == []


def test_kind_detection_by_name_and_keys() -> None:
    e = Engine()
    assert e.analyze("a.yaml", "graph: []\n").kind is SpecKind.MODEL
    assert e.analyze("a.yaml", "model_ref: x-v1\n").kind is SpecKind.TRAINER
    assert e.analyze("a.yaml", "optimizer: {}\n").kind is SpecKind.TRAINER
    assert e.analyze("a.model.yaml", "x: 1\n").kind is SpecKind.MODEL
    assert e.analyze("a.trainer.yml", "x: 1\n").kind is SpecKind.TRAINER
    assert e.analyze("a.yaml", "model_ref: [x\n").kind is SpecKind.TRAINER  # broken text
    assert e.analyze("a.yaml", "name: x\n").kind is SpecKind.NONE


def test_recursive_alias_does_not_hang() -> None:
    parsed = parse_yaml("a: &x [1, *x]\n")
    assert [d.code for d in parsed.diagnostics] == ["AG106"]


def test_syntax_error_at_the_end_stays_inside_the_text(check_text) -> None:
    got = check_text("model_ref: [\n")
    assert [(d.code, tuple(d.span)) for d in got] == [("AG100", (1, 0, 1, 0))]


def test_registry_include_patterns_accept_path_globs(tmp_path) -> None:
    from arcgraph.engine.registry import Registry, RegistrySettings

    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "a-v1.model.yaml").write_text("graph: []\n")
    (tmp_path / "b-v1.model.yaml").write_text("graph: []\n")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "c-v1.yaml").write_text("graph: []\n")
    reg = Registry.scan([tmp_path], RegistrySettings(include=["**/*.model.yaml"]))
    assert reg.ids() == ["a-v1", "b-v1"]
    reg = Registry.scan([tmp_path], RegistrySettings(include=["other/*.yaml"]))
    assert reg.ids() == ["c-v1"]
    reg = Registry.scan([tmp_path])
    assert reg.ids() == ["a-v1", "b-v1", "c-v1"]


def _nested_anchors(levels: int) -> str:
    """`a: &a [x × 9]`, `b: &b [*a × 9]`, …: each level multiplies the expansion by nine."""
    names = "abcdefghi"[:levels]
    lines = ["a: &a [" + ", ".join(["x"] * 9) + "]"]
    lines += [f"{n}: &{n} [" + ", ".join([f"*{p}"] * 9) + "]" for p, n in pairwise(names)]
    return "\n".join(lines) + "\n"


def _count(data: object) -> int:
    return 1 + sum(_count(i) for i in data) if isinstance(data, list) else 1


def test_an_alias_bomb_is_one_diagnostic_on_the_alias_and_stays_small() -> None:
    parsed = parse_yaml(_nested_anchors(9))
    # a..e expand to 74,718 nodes; f's first `*e` would add 66,430 more
    assert rows(parsed.diagnostics) == [
        (
            "AG107",
            "this alias '*e' would expand the document past 100,000 nodes (nested anchors "
            "multiply); it and any later ones like it are left out: write the values out, "
            "or nest fewer aliases",
            (5, 7, 5, 9),
        )
    ]
    data = to_python(parsed.root)
    assert isinstance(data, dict)
    assert data["f"] == [None] * 9  # every `*e` of f left out, each a null where it stands
    assert _count(data) < 100_000 + len(_nested_anchors(9))
    f = parsed.root.get("f") if isinstance(parsed.root, YMap) else None
    assert isinstance(f, YSeq)
    assert [i.span.start_col for i in f.items] == [7 + 4 * k for k in range(9)]


def test_aliases_under_the_limit_expand_in_full() -> None:
    parsed = parse_yaml(_nested_anchors(5))  # 74,718 nodes through aliases
    assert parsed.diagnostics == []
    data = to_python(parsed.root)
    assert isinstance(data, dict) and _count(data["e"]) == 66_430


def test_a_merge_of_an_aliased_list_of_mappings() -> None:
    parsed = parse_yaml("bases: &bs [{lr: 0.1}, {eps: 1}]\nopt:\n  <<: *bs\n  x: 2\n")
    assert parsed.diagnostics == []
    assert to_python(parsed.root)["opt"] == {"x": 2, "lr": 0.1, "eps": 1}
