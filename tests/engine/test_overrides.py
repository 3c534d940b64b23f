"""`--set` overrides applied to a spec's text: every other line keeps its number, missing keys
join their mapping, list items are indexed, and what cannot apply says why."""

from __future__ import annotations

import pytest
import yaml

from arcgraph.engine.diagnostics import Diagnostic, Span
from arcgraph.engine.overrides import OverrideError, apply_overrides, parse_override

SPEC = """\
model_ref: m  # the model
optimizer:
  type: torch.optim.SGD
  params:
    momentum: 0.9
    nesterov: true
config: {epochs: 3}
callbacks:
  - type: arc.callbacks.LearningRateMonitor
empty:
"""


def apply(*overrides: str) -> str:
    return apply_overrides(SPEC, [parse_override(o) for o in overrides]).text


def test_a_block_value_is_replaced_and_the_lines_below_keep_their_numbers() -> None:
    text = apply("optimizer.params={momentum: 0.5}")
    assert text.splitlines()[3:7] == ["  params:", "    {momentum: 0.5}", "", "config: {epochs: 3}"]
    assert yaml.safe_load(text)["optimizer"]["params"] == {"momentum": 0.5}


def test_missing_keys_join_their_mapping_block_or_flow() -> None:
    text = apply("optimizer.lr=0.1", "config.device=cpu", "empty.a=1", "scheduler.interval=step")
    spec = yaml.safe_load(text)
    assert spec["optimizer"]["lr"] == 0.1
    assert spec["config"] == {"device": "cpu", "epochs": 3}
    assert spec["empty"] == {"a": 1}
    assert spec["scheduler"] == {"interval": "step"}
    assert text.splitlines()[0] == "model_ref: m  # the model"  # comments stay


def test_list_items_are_indexed() -> None:
    spec = yaml.safe_load(apply("callbacks.0.params={log_dir: tb}"))
    assert spec["callbacks"] == [
        {"type": "arc.callbacks.LearningRateMonitor", "params": {"log_dir": "tb"}}
    ]
    with pytest.raises(OverrideError) as err:
        apply("callbacks.1.type=x")
    assert str(err.value) == (
        "--set callbacks.1.type=x: callbacks is a list of 1 item; '1' is not one of its indices (0-0)"
    )


def test_values_are_yaml() -> None:
    spec = yaml.safe_load(apply("model_ref='7'", "config.epochs=5", "config.seed="))
    assert (spec["model_ref"], spec["config"]["epochs"], spec["config"]["seed"]) == ("7", 5, None)


def test_diagnostics_go_back_to_the_files_lines_naming_the_override() -> None:
    applied = apply_overrides(SPEC, [parse_override("optimizer.lr=abc")])  # inserted: line 6
    d = Diagnostic("AG112", "'optimizer.lr' must be a positive number", Span(6, 6, 6, 9))
    back = applied.locate(d)
    assert (back.message, back.span) == (
        "--set optimizer.lr=abc: 'optimizer.lr' must be a positive number",
        Span(1, 0, 1, 9),  # not in the file: its section's key
    )
    below = applied.locate(Diagnostic("AG111", "x", Span(7, 0, 7, 6)))  # config: one line down
    assert (below.message, below.span) == ("x", Span(6, 0, 6, 6))
