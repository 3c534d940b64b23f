"""Formatting specs (engine/formatting.py): order, indentation, comments kept, idempotent."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arcgraph.engine.formatting import (
    CONFIG_ORDER,
    NODE_ORDER,
    TRAINER_ORDER,
    comments_of,
    format_spec,
)
from arcgraph.engine.kinds import SpecKind, detect_kind
from arcgraph.engine.source import parse_yaml

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
    assert out is not None
    assert yaml.safe_load(out) == yaml.safe_load(text)
    assert comments_of(out) == comments_of(text)
    assert format_spec(out, kind, 2) == out


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


@st.composite
def _specs(draw: st.DrawFn) -> str:
    lines: list[str] = []

    def comment(indent: str) -> None:
        if draw(st.booleans()):
            lines.append(f"{indent}# {draw(_word)}")

    def eol() -> str:
        return f"  # {draw(_word)}" if draw(st.booleans()) else ""

    def val(v: object) -> str:
        return yaml.safe_dump(v, default_flow_style=True).strip().removesuffix("...").strip()

    top = draw(st.permutations([*TRAINER_ORDER, "extra"]))
    for key in top[: draw(st.integers(1, 6))]:
        comment("")
        if key in ("config", "optimizer"):
            sub = CONFIG_ORDER if key == "config" else ("type", "lr", "params")
            keys = draw(st.permutations(sub))[: draw(st.integers(1, 5))]
            if draw(st.booleans()):  # flow style
                body = ", ".join(f"{k}: {val(draw(_scalar))}" for k in keys)
                lines.append(f"{key}: {{{body}}}{eol()}")
                continue
            lines.append(f"{key}:{eol()}")
            for k in keys:
                comment("  ")
                lines.append(f"  {k}: {val(draw(_scalar))}{eol()}")
            comment("  ")
        elif key == "callbacks":
            lines.append(f"{key}:")
            for _ in range(draw(st.integers(1, 2))):
                comment("  ")
                keys = draw(st.permutations(["type", "params"]))
                lines.append(f"  - {keys[0]}: {val(draw(_scalar))}{eol()}")
                lines.append(f"    {keys[1]}: [null, {draw(st.integers(0, 9))}]{eol()}")
        else:
            lines.append(f"{key}: {val(draw(_scalar))}{eol()}")
    return "\n".join(lines) + "\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_specs(), tab=st.sampled_from([2, 4]))
def test_generated_specs_keep_data_and_comments_and_are_stable(text: str, tab: int) -> None:
    out = format_spec(text, T, tab)
    assert out is not None, text
    assert yaml.safe_load(out) == yaml.safe_load(text)
    assert comments_of(out) == comments_of(text)
    assert format_spec(out, T, tab) == out
    data = yaml.safe_load(out)
    assert list(data) == sorted(data, key=lambda k: [*TRAINER_ORDER, k].index(k))
    if "config:\n" in text:  # block style (a flow mapping is kept as written)
        cfg = list(data["config"])
        assert cfg == sorted(cfg, key=CONFIG_ORDER.index)


def test_node_order_constant() -> None:
    assert NODE_ORDER == ("name", "type", "params", "inputs")


def test_config_keys_follow_the_schema_order_including_the_distributed_keys() -> None:
    text = "config:\n  seed: 1\n  world_size: 2\n  distributed: true\n  epochs: 3\n"
    assert format_spec(text, T) == (
        "config:\n  epochs: 3\n  distributed: true\n  world_size: 2\n  seed: 1\n"
    )
