"""Formatting specs (engine/formatting.py): order, indentation, comments kept, idempotent."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arcgraph.engine.formatting import (
    CONFIG_ORDER,
    MODEL_ORDER,
    NODE_ORDER,
    TRAINER_ORDER,
    comments_of,
    format_spec,
)
from arcgraph.engine.kinds import SpecKind, detect_kind
from arcgraph.engine.source import YMap, YNode, YSeq, parse_yaml

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted(
    p
    for pattern in ("examples/**/*.yaml", "tests/**/*.yaml", "tests/**/*.yml")
    for p in ROOT.glob(pattern)
)
T = SpecKind.TRAINER
M = SpecKind.MODEL


def test_the_corpus_is_found() -> None:
    assert len([p for p in FILES if p.parts[-3] == "examples"]) >= 20
    assert len([p for p in FILES if "corpus" in p.parts]) >= 30


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_file_keeps_its_data_and_comments_and_is_stable(path: Path) -> None:
    text = path.read_text(encoding="utf-8", errors="replace")
    parsed = parse_yaml(text)
    kind = detect_kind(path, parsed.root, text)
    out = format_spec(text, kind, 2)
    if kind is SpecKind.NONE or parsed.diagnostics or ("&" in text and "*" in text):
        return  # not formattable; only those may refuse
    for tab in (2, 4):
        out = format_spec(text, kind, tab)
        assert out is not None
        assert yaml.safe_load(out) == yaml.safe_load(text)
        assert comments_of(out) == comments_of(text)
        assert _flow_texts(out) == _flow_texts(text)  # `{ a: 1 }` stays `{ a: 1 }`
        assert format_spec(out, kind, tab) == out


def test_trainer_keys_reorder_with_their_comments() -> None:
    text = (
        "# header of the file\n"
        "\n"
        "config:\n"
        "  seed: 1 # eol of seed\n"
        "  # above epochs\n"
        "  epochs: 3\n"
        "  # end of the config block\n"
        "# above optimizer\n"
        "optimizer:\n"
        "  type: torch.optim.Adam\n"
        "  params: {betas: [0.9, 0.99]}\n"
        "  lr: 0.1\n"
        "model_ref: m-v1   # the model\n"
    )
    assert format_spec(text, T, 4) == (
        "# header of the file\n"
        "\n"
        "model_ref: m-v1   # the model\n"
        "# above optimizer\n"
        "optimizer:\n"
        "    type: torch.optim.Adam\n"
        "    params: {betas: [0.9, 0.99]}\n"
        "    lr: 0.1\n"
        "config:\n"
        "    # above epochs\n"
        "    epochs: 3\n"
        "    seed: 1 # eol of seed\n"
        "    # end of the config block\n"
    )


def test_node_keys_reorder_onto_the_dash_line() -> None:
    text = (
        "inputs:\n"
        "  x: {dtype: float32, shape: [null, 4]}\n"
        "graph:\n"
        "- type: torch.nn.Linear # the layer\n"
        "  inputs: {input: x}\n"
        "  # the name\n"
        "  name: fc\n"
        "  params: {in_features: 4, out_features: 2}\n"
        "outputs:\n"
        "  y: fc.output\n"
    )
    assert format_spec(text, M, 2) == (
        "inputs:\n"
        "  x: {dtype: float32, shape: [null, 4]}\n"
        "graph:\n"
        "  # the name\n"
        "  - name: fc\n"
        "    type: torch.nn.Linear # the layer\n"
        "    params: {in_features: 4, out_features: 2}\n"
        "    inputs: {input: x}\n"
        "outputs:\n"
        "  y: fc.output\n"
    )


FLOWS = (
    "model_ref: m-v1\n"
    "optimizer: { type: torch.optim.SGD,  lr: 0.1 }   # c\n"
    "config:\n"
    "    epochs: 3            # block value\n"
    "    extra: [ 1,2 ,  'x y' ]  # flow value\n"
    "    more: {a: [ 1 ],\n"
    "           # inside\n"
    '           b: "é" }  # after\n'
    "scheduler: {type: torch.optim.lr_scheduler.StepLR, params: {step_size: 1}} # long\n"
)


def test_flow_collections_are_kept_exactly_as_written() -> None:
    """Spacing, quoting and line breaks inside a flow collection stay; its continuation
    lines move with its opening bracket; an end-of-line comment after it keeps its column,
    as ruamel keeps a block value's (`epochs`)."""
    assert format_spec(FLOWS, T, 2) == (
        "model_ref: m-v1\n"
        "optimizer: { type: torch.optim.SGD,  lr: 0.1 }   # c\n"
        "scheduler: {type: torch.optim.lr_scheduler.StepLR, params: {step_size: 1}} # long\n"
        "config:\n"
        "  epochs: 3              # block value\n"
        "  extra: [ 1,2 ,  'x y' ]    # flow value\n"
        "  more: {a: [ 1 ],\n"
        "         # inside\n"
        '         b: "é" }    # after\n'
    )
    assert format_spec(FLOWS, T, 4) == (
        "model_ref: m-v1\n"
        "optimizer: { type: torch.optim.SGD,  lr: 0.1 }   # c\n"
        "scheduler: {type: torch.optim.lr_scheduler.StepLR, params: {step_size: 1}} # long\n"
        "config:\n"
        "    epochs: 3            # block value\n"
        "    extra: [ 1,2 ,  'x y' ]  # flow value\n"
        "    more: {a: [ 1 ],\n"
        "           # inside\n"
        '           b: "é" }  # after\n'
    )
    for tab in (2, 4):
        out = format_spec(FLOWS, T, tab)
        assert out is not None and format_spec(out, T, tab) == out


def test_a_comment_the_value_grows_into_keeps_one_space_after_a_flow_as_after_a_block() -> None:
    text = "config:\n  extra: [ 1,2 ] # flow\n  epochs: 3 # block\n"
    assert format_spec(text, T, 4) == (
        "config:\n    epochs: 3 # block\n    extra: [ 1,2 ] # flow\n"
    )


def test_a_node_written_as_a_flow_mapping_is_not_reordered() -> None:
    """'flow mappings kept as the user wrote them' (issue 14): its keys keep their order;
    the block node beside it is reordered."""
    text = (
        "graph:\n"
        "- {type: torch.nn.ReLU,  name: act, inputs: { input: x }}  # flow node\n"
        "-   type: torch.nn.Linear\n"
        "    name: fc\n"
        "    params: { in_features: 4,\n"
        "              out_features: 2 }  # sizes\n"
        "    inputs: [ act ]\n"
    )
    assert format_spec(text, M, 4) == (
        "graph:\n"
        "    - {type: torch.nn.ReLU,  name: act, inputs: { input: x }} # flow node\n"
        "    - name: fc\n"
        "      type: torch.nn.Linear\n"
        "      params: { in_features: 4,\n"
        "                out_features: 2 } # sizes\n"
        "      inputs: [ act ]\n"
    )


def test_a_comment_line_above_a_flow_node_is_kept() -> None:
    """ruamel alone drops a comment line above a flow item that follows a block item (the
    document was refused); the comment lines are put back around ruamel."""
    text = (
        "graph:\n"
        "  - inputs: { input: x }\n"
        "    name: n1\n"
        "  # the activation\n"
        "  - {  name: act, type: torch.nn.ReLU } # flow\n"
        "# the outputs\n"
        "outputs:\n"
        "  y: act.output\n"
    )
    assert format_spec(text, M, 4) == (
        "graph:\n"
        "    - name: n1\n"
        "      inputs: { input: x }\n"
        "    # the activation\n"
        "    - {  name: act, type: torch.nn.ReLU } # flow\n"
        "# the outputs\n"
        "outputs:\n"
        "    y: act.output\n"
    )


@pytest.mark.parametrize(
    "text",
    [
        "model_ref: [unclosed\n",
        "model_ref: a\nmodel_ref: b\n",
        "a: &x {lr: 1}\nmodel_ref: m\noptimizer: *x\n",
        "model_ref: !!str m\n",
        "model_ref: m\n---\nmodel_ref: n\n",
        "- just a list\n",
    ],
)
def test_text_that_is_not_formatted(text: str) -> None:
    assert format_spec(text, T, 2) is None


def test_not_a_spec_and_an_alias_bomb_are_refused_before_ruamel() -> None:
    assert format_spec("model_ref: m\n", SpecKind.NONE, 2) is None
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    assert format_spec("model_ref: m\n" + bomb, T, 2) is None
    assert format_spec("model_ref: m\n" + "x" * 1_000_001, T, 2) is None


# -- property: generated trainer specs with comments ------------------------------------------

_word = st.text("abcdefgh xyz", min_size=1, max_size=10).map(str.strip).filter(bool)
_scalar = st.one_of(st.integers(-5, 100), st.booleans(), st.sampled_from(["cpu", "m-v1", "x y"]))
_quoted = st.sampled_from(["'x y'", '"cpu"', "'m-v1'", '"a # b"'])


def _flow(draw: st.DrawFn, items: list[str], mapping: bool, col: int) -> str:
    """`items` in `{}` or `[]`, spaced, broken and commented at random; continuation lines
    indented past `col` (the key's column)."""
    pad = draw(st.sampled_from(["", " ", "  "]))
    out = ("{" if mapping else "[") + pad
    for n, item in enumerate(items):
        if n:
            cont = "\n" + " " * (col + draw(st.integers(1, 6)))
            out += draw(
                st.sampled_from([",", ", ", " ,  ", "," + cont, f",  # {draw(_word)}" + cont])
            )
        out += item
    return out + pad + ("}" if mapping else "]")


@st.composite
def _specs(draw: st.DrawFn) -> str:
    """Trainer specs in any key order with comments everywhere, written at 2 or 4 spaces,
    with flow mappings and sequences spaced oddly, quoted, broken over lines, with comments
    inside them and after them."""
    lines: list[str] = []
    ind = draw(st.sampled_from(["  ", "    "]))

    def comment(indent: str) -> None:
        if draw(st.booleans()):
            lines.append(f"{indent}# {draw(_word)}")

    def eol() -> str:
        gap = " " * draw(st.integers(1, 6))
        return f"{gap}# {draw(_word)}" if draw(st.booleans()) else ""

    def val(v: object) -> str:
        return yaml.safe_dump(v, default_flow_style=True).strip().removesuffix("...").strip()

    def scalar() -> str:
        return draw(_quoted) if draw(st.integers(0, 3)) == 0 else val(draw(_scalar))

    def flow(items: list[str], mapping: bool, col: int) -> str:
        return _flow(draw, items, mapping, col)

    def entries(keys: Sequence[str]) -> list[str]:
        return [f"{k}:{draw(st.sampled_from([' ', '  ']))}{scalar()}" for k in keys]

    top = draw(st.permutations([*TRAINER_ORDER, "extra"]))
    for key in top[: draw(st.integers(1, 6))]:
        comment("")
        if key in ("config", "optimizer"):
            sub = CONFIG_ORDER if key == "config" else ("type", "lr", "params")
            keys = draw(st.permutations(sub))[: draw(st.integers(1, 5))]
            if draw(st.booleans()):  # flow style
                lines.append(f"{key}: {flow(entries(keys), True, 0)}{eol()}")
                continue
            lines.append(f"{key}:{eol()}")
            for k in keys:
                comment(ind)
                if draw(st.booleans()):
                    v = flow([scalar() for _ in range(draw(st.integers(0, 3)))], False, len(ind))
                else:
                    v = scalar()
                lines.append(f"{ind}{k}: {v}{eol()}")
            comment(ind)
        elif key == "callbacks":
            lines.append(f"{key}:")
            for _ in range(draw(st.integers(1, 2))):
                comment(ind)
                keys = draw(st.permutations(["type", "params"]))
                params = flow(["null", str(draw(st.integers(0, 9)))], False, len(ind) + 2)
                first, second = (scalar(), params) if keys[0] == "type" else (params, scalar())
                lines.append(f"{ind}- {keys[0]}: {first}{eol()}")
                lines.append(f"{ind}  {keys[1]}: {second}{eol()}")
        else:
            lines.append(f"{key}: {scalar()}{eol()}")
    return "\n".join(lines) + "\n"


def _flow_texts(text: str) -> Counter[str]:
    """The text of every outermost flow collection (its continuation lines without their
    indentation, which moves with the block around it)."""
    lines = text.split("\n")
    found: Counter[str] = Counter()

    def walk(node: YNode) -> None:
        if isinstance(node, YMap | YSeq) and node.flow:
            sl, sc, el, ec = node.span
            part = [lines[sl][sc:ec] if sl == el else lines[sl][sc:]]
            part += [lines[i][: ec if i == el else None].lstrip(" ") for i in range(sl + 1, el + 1)]
            found["\n".join(part)] += 1
        elif isinstance(node, YMap):
            for k, v in node.pairs:
                walk(k)
                walk(v)
        elif isinstance(node, YSeq):
            for item in node.items:
                walk(item)

    root = parse_yaml(text).root
    assert root is not None
    walk(root)
    return found


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_specs(), tab=st.sampled_from([2, 4]))
def test_generated_specs_keep_data_and_comments_and_are_stable(text: str, tab: int) -> None:
    out = format_spec(text, T, tab)
    assert out is not None, text
    assert yaml.safe_load(out) == yaml.safe_load(text)
    assert comments_of(out) == comments_of(text)
    assert _flow_texts(out) == _flow_texts(text)
    assert format_spec(out, T, tab) == out
    data = yaml.safe_load(out)
    assert list(data) == sorted(data, key=lambda k: [*TRAINER_ORDER, k].index(k))
    if "config:\n" in text:  # block style (a flow mapping is kept as written)
        cfg = list(data["config"])
        assert cfg == sorted(cfg, key=CONFIG_ORDER.index)


@st.composite
def _models(draw: st.DrawFn) -> str:
    """Model specs: top keys in any order, graph nodes as block mappings (keys in any order,
    the first on the dash line or below a lone dash) or as flow mappings, flow params and
    inputs spaced oddly, comments everywhere."""
    ind = draw(st.sampled_from(["  ", "    "]))
    lines: list[str] = []

    def comment(indent: str) -> None:
        if draw(st.booleans()):
            lines.append(f"{indent}# {draw(_word)}")

    def eol() -> str:
        gap = " " * draw(st.integers(1, 6))
        return f"{gap}# {draw(_word)}" if draw(st.booleans()) else ""

    def colon() -> str:
        return draw(st.sampled_from([": ", ":  "]))

    names = [f"n{i}" for i in range(draw(st.integers(1, 3)))]
    for key in draw(st.permutations(["inputs", "graph", "outputs"])):
        comment("")
        if key == "inputs":
            lines.append("inputs:")
            shape = _flow(draw, ["null", "4"], False, len(ind))
            lines.append(
                f"{ind}x: {_flow(draw, ['dtype: float32', f'shape: {shape}'], True, len(ind))}{eol()}"
            )
        elif key == "outputs":
            lines.append(f"outputs:{eol()}")
            lines.append(f"{ind}y: {names[-1]}.output{eol()}")
        else:
            lines.append(f"graph:{eol()}")
            prev = "x"
            for name in names:
                fields = {
                    "name": name,
                    "type": "torch.nn.Linear",
                    "params": _flow(
                        draw,
                        [f"in_features{colon()}4", f"out_features{colon()}4"],
                        True,
                        len(ind) + 4,
                    ),
                    "inputs": _flow(draw, [f"input{colon()}{prev}"], True, len(ind) + 4),
                }
                prev = f"{name}.output"
                keys = draw(st.permutations(list(fields)))
                comment(ind)
                if draw(st.integers(0, 3)) == 0:  # the node as a flow mapping
                    node = _flow(
                        draw, [f"{k}{colon()}{fields[k]}" for k in keys], True, len(ind) + 2
                    )
                    lines.append(f"{ind}- {node}{eol()}")
                    continue
                if draw(st.booleans()):
                    lines.append(f"{ind}-{eol()}")
                    first = f"{ind}  "
                else:
                    first = f"{ind}- "
                for n, k in enumerate(keys):
                    if n:
                        comment(ind + "  ")
                    lines.append(f"{first if n == 0 else ind + '  '}{k}: {fields[k]}{eol()}")
    return "\n".join(lines) + "\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_models(), tab=st.sampled_from([2, 4]))
def test_generated_models_keep_data_comments_and_flows_and_are_stable(text: str, tab: int) -> None:
    out = format_spec(text, M, tab)
    assert out is not None, text
    assert yaml.safe_load(out) == yaml.safe_load(text)
    assert comments_of(out) == comments_of(text)
    assert _flow_texts(out) == _flow_texts(text)
    assert format_spec(out, M, tab) == out
    data = yaml.safe_load(out)
    assert list(data) == sorted(data, key=MODEL_ORDER.index)
    before = {n["name"]: list(n) for n in yaml.safe_load(text)["graph"]}
    root = parse_yaml(out).root
    graph = root.get("graph") if isinstance(root, YMap) else None
    assert isinstance(graph, YSeq)
    for node, flow in zip(data["graph"], graph.items, strict=True):
        # a block node's keys are in the canonical order, a flow node's as written
        assert isinstance(flow, YMap)
        want = before[node["name"]] if flow.flow else sorted(node, key=NODE_ORDER.index)
        assert list(node) == want


def test_node_order_constant() -> None:
    assert NODE_ORDER == ("name", "type", "params", "inputs")


def test_config_keys_follow_the_schema_order_including_the_distributed_keys() -> None:
    text = "config:\n  seed: 1\n  world_size: 2\n  distributed: true\n  epochs: 3\n"
    assert format_spec(text, T) == (
        "config:\n  epochs: 3\n  distributed: true\n  world_size: 2\n  seed: 1\n"
    )
