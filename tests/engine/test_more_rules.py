"""The remaining rules: formats, lengths, input keywords, recursive aliases, a failing worker."""

from __future__ import annotations

from pathlib import Path

from arcgraph.engine.checks.context import CheckOptions
from arcgraph.engine.core import Engine
from arcgraph.engine.registry import Registry
from arcgraph.worker.client import TorchWorker

from .conftest import MODEL, TRAINER, rows

NAME = "models/m-v1.model.yaml"


def test_node_type_form_has_its_own_words(check_full) -> None:
    got = check_full(MODEL.replace("type: torch.nn.Linear", "type: nn.Linear"), NAME)
    assert rows(got) == [
        (
            "AG115",
            "node type 'nn.Linear' must be torch.nn.<Module>, torch.<function>, "
            "torch.nn.functional.<function>, module.<Name> or arc.stack; did you mean 'torch.nn.Linear'?",
            (7, 10, 7, 19),
        ),
    ]


def test_names_must_be_identifiers(check_text) -> None:
    got = check_text(
        MODEL.replace("- name: fc\n", "- name: fc-1\n").replace("fc.output", "fc-1.output"), NAME
    )
    assert [(c, r) for c, _, r in rows(got)] == [
        ("AG115", (6, 10, 6, 14)),
        ("AG305", (12, 20, 12, 31)),
    ]


def test_columns_need_at_least_one_entry(check_text) -> None:
    got = check_text(
        MODEL.replace("columns: [a, b, c]", "columns: []").replace("[null, 3]", "[null, 0]"), NAME
    )
    assert (
        "AG116",
        "'inputs.features.columns' needs at least 1 item(s); it has 0",
        (4, 13, 4, 15),
    ) in rows(got)


def test_unknown_keyword_in_node_inputs(check_full) -> None:
    got = check_full(MODEL.replace("inputs: {input: features}", "inputs: {inputs: features}"), NAME)
    assert rows(got) == [
        (
            "AG320",
            "torch.nn.Linear.forward takes no argument 'inputs'; did you mean 'input'?",
            (9, 13, 9, 19),
        ),
    ]


def test_recursive_alias_is_reported_by_the_engine(check_text) -> None:
    got = check_text(TRAINER + "extra: &a [1, *a]\n")
    assert [d.code for d in got][:1] == ["AG106"]


def test_a_hung_worker_is_reported_once_not_waited_on(
    workspace: Path, catalog, tmp_path: Path
) -> None:
    worker = TorchWorker(cache_dir=tmp_path, timeout=0.01, start_timeout=60)
    try:
        engine = Engine(Registry.scan([workspace]), worker, CheckOptions(), catalog=catalog)
        text = TRAINER.replace("  lr: 0.01\n", "  lr: 0.01\n  params: {momentum: 0.5}\n").replace(
            "torch.optim.Adam", "torch.optim.SGD"
        )
        got = engine.check(workspace / "t.trainer.yaml", text)
        assert [(d.code, d.severity.label) for d in got] == [("AG401", "warning")]
        assert got[0].message.startswith("torch check skipped: ")
    finally:
        worker.close()
