"""Arc's open top level and its unified and wrapper files (issue 11): what check says of
them, where, and the split of a unified file into a model spec and a trainer spec."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from arcgraph.engine.diagnostics import Severity
from arcgraph.engine.fixes import fixes_for
from edits import apply_edits

from .conftest import MODEL, rows

CORPUS = Path(__file__).resolve().parents[1] / "arc" / "corpus"

# MODEL with its loss under Arc's `training:` section, as Arc's unified files have it.
UNIFIED = MODEL.replace(
    "loss:\n  type: torch.nn.functional.binary_cross_entropy\n  inputs: {input: prediction, target: label}\n",
    "# how Arc trains it\n"
    "training:\n"
    "  # the loss: the model's own\n"
    "  loss:\n"
    "    type: torch.nn.functional.binary_cross_entropy\n"
    "    inputs: {input: prediction, target: label}\n"
    "  optimizer:\n"
    "    type: torch.optim.Adam  # Arc's default\n"
    "    lr: 0.01\n"
    "  epochs: 3  # a quick run\n"
    "  batch_size: 8\n"
    "  metrics: [accuracy]\n",
)

WRAPPER = (
    "model:\n"
    + "".join(f"  {line}\n" for line in MODEL.splitlines())
    + ("trainer:\n  optimizer:\n    type: torch.optim.Adam\n    lr: 0.01\n")
)


def _severities(diags) -> list[Severity]:
    return [d.severity for d in diags]


def test_unknown_top_level_keys_are_infos(check_text) -> None:
    text = "name: tiny\n" + MODEL + "data_table: diabetes\n"
    diags = check_text(text, "models/tiny-v1.model.yaml")
    assert rows(diags) == [
        ("AG117", "'name' is not a model spec key; ignored by arcgraph", (0, 0, 0, 4)),
        ("AG117", "'data_table' is not a model spec key; ignored by arcgraph", (19, 0, 19, 10)),
    ]
    assert _severities(diags) == [Severity.INFO, Severity.INFO]


def test_misspelled_spec_key_is_a_warning_with_did_you_mean(check_text) -> None:
    text = MODEL.replace("graph:\n", "grpah:\n")
    diags = check_text(text, "models/tiny-v1.model.yaml")
    assert rows(diags) == [
        (
            "AG110",
            "missing required key 'graph' in the spec; add `graph: []`",
            (0, 0, 0, 6),
        ),
        (
            "AG118",
            "'grpah' is not a model spec key and is ignored; did you mean 'graph'?",
            (5, 0, 5, 5),
        ),
        (
            "AG309",
            "output 'prediction' refers to 'prob.output', which is no node of graph; write"
            " <node>.output",
            (14, 14, 14, 25),
        ),
    ]
    assert _severities(diags) == [Severity.ERROR, Severity.WARNING, Severity.ERROR]
    typo = diags[1]
    (rename,) = [f for f in fixes_for(text, typo) if f.preferred]
    fixed = apply_edits(text, rename.edits)
    assert fixed == MODEL
    assert check_text(fixed, "models/tiny-v1.model.yaml") == []


def test_unknown_keys_of_trainer_specs_stay_errors(check_text) -> None:
    from .conftest import TRAINER

    diags = check_text(TRAINER + "name: fast\n")
    assert [(d.code, d.severity) for d in diags] == [("AG111", Severity.ERROR)]


def test_unified_file_is_recognised_and_its_model_part_checked(check_text) -> None:
    diags = check_text(UNIFIED, "models/tiny-v1.model.yaml")
    assert rows(diags) == [
        (
            "AG119",
            "Arc unified spec: the model part is checked, with training.loss as its loss; its"
            " training section belongs in a trainer spec (quick fix: split into this model spec"
            " and a trainer spec)",
            (16, 0, 16, 8),
        )
    ]
    assert _severities(diags) == [Severity.INFO]
    # the loss under training is the model's loss: its errors are reported where it is
    broken = UNIFIED.replace("target: label}", "targt: label}")
    assert sorted((d.code, d.span.start_line) for d in check_text(broken, "m-v1.model.yaml")) == [
        ("AG110", 20),
        ("AG111", 20),
        ("AG119", 16),
    ]


def test_wrapper_file_is_recognised_and_not_checked(check_text) -> None:
    diags = check_text(WRAPPER, "arc-wrapper.yaml")
    assert rows(diags) == [
        (
            "AG120",
            "Arc's older model:/trainer: wrapper: no Arc loader reads it and arcgraph does not"
            " check it (quick fix: split into a model spec and a trainer spec)",
            (0, 0, 0, 5),
        )
    ]
    assert _severities(diags) == [Severity.WARNING]
    # a Lightning CLI config has `model:` and `trainer:` too, but no Arc model in it
    lightning = "model:\n  class_path: my.Model\ntrainer:\n  max_epochs: 3\n"
    assert check_text(lightning, "config.yaml") == []


def test_split_of_a_unified_file_exact(check_text, workspace: Path) -> None:
    name = "models/tiny-v1.model.yaml"
    d = next(d for d in check_text(UNIFIED, name) if d.code == "AG119")
    (fix,) = fixes_for(UNIFIED, d)
    assert fix.title == "Split into a model spec and a trainer spec (tiny-v1.trainer.yaml)"
    assert apply_edits(UNIFIED, fix.edits) == MODEL.replace(
        "loss:\n", "# the loss: the model's own\nloss:\n"
    )
    (new,) = fix.creates
    assert new.path == workspace / "models" / "tiny-v1.trainer.yaml"
    assert new.text == (
        "# Trainer spec split from tiny-v1.model.yaml (Arc unified spec) by arcgraph.\n"
        "model_ref: tiny-v1\n"
        "# how Arc trains it\n"
        "optimizer:\n"
        "  type: torch.optim.Adam  # Arc's default\n"
        "  lr: 0.01\n"
        "config:\n"
        "  epochs: 3  # a quick run\n"
        "  batch_size: 8\n"
        "  shuffle: true  # added by the split: the trainer spec requires it\n"
        "  validation_split: 0.2  # added by the split: the trainer spec requires it\n"
        "# Arc's training keys with no place in a trainer spec, kept as comments:\n"
        "# metrics: [accuracy]\n"
    )
    # a trainer spec of that name exists already: the next free name
    (workspace / "models" / "tiny-v1.trainer.yaml").write_text("# mine\n")
    (fix,) = fixes_for(UNIFIED, d)
    assert fix.creates[0].path.name == "tiny-v1-2.trainer.yaml"


def test_split_of_a_wrapper_file(check_text) -> None:
    d = next(d for d in check_text(WRAPPER, "tiny-v1.yaml") if d.code == "AG120")
    (fix,) = fixes_for(WRAPPER, d)
    assert apply_edits(WRAPPER, fix.edits) == MODEL
    assert fix.creates[0].text.startswith(
        "# Trainer spec split from tiny-v1.yaml (Arc wrapper spec) by arcgraph.\n"
        "model_ref: tiny-v1\noptimizer:\n  type: torch.optim.Adam\n  lr: 0.01\nconfig:\n"
    )


def _comments(text: str) -> list[str]:
    return [line.split("#", 1)[1].strip() for line in text.splitlines() if "#" in line]


def test_split_of_a_corpus_file_checks_clean_and_keeps_comments(check_full, workspace) -> None:
    """Arc's own unified MLP (src/arc/resources/knowledge/mlp.md), comments added in its
    training section, split; both files checked with torch."""
    text = (CORPUS / "mlp-08.unified.yaml").read_text(encoding="utf-8")
    text = text.replace("training:\n", "# Arc's training setup\ntraining:\n")
    text = text.replace("  optimizer:\n", "  # AdamW, decoupled decay\n  optimizer:\n")
    text = text.replace("  epochs: 50\n", "  epochs: 50  # Arc's agent default\n")
    name = "models/diabetes-mlp-v1.yaml"
    diags = check_full(text, name)
    assert [(d.code, d.severity) for d in diags] == [("AG119", Severity.INFO)]
    (fix,) = fixes_for(text, diags[0])
    model = apply_edits(text, fix.edits)
    (trainer,) = fix.creates
    assert trainer.path == workspace / "models" / "diabetes-mlp-v1.trainer.yaml"
    kept = Counter(_comments(model)) + Counter(_comments(trainer.text))
    assert Counter(_comments(text)) <= kept  # every comment, in one file or the other
    assert "metrics: [accuracy, auroc, f1, precision, recall]" in _comments(trainer.text)
    assert check_full(model, name) == []
    (workspace / name).write_text(model)  # the model the trainer references, on disk
    assert check_full(trainer.text, "models/diabetes-mlp-v1.trainer.yaml") == []


def test_check_json_lists_the_split(workspace: Path) -> None:
    (workspace / "tiny-v2.yaml").write_text(UNIFIED)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "arcgraph",
            "check",
            "--no-torch",
            "--format",
            "json",
            "tiny-v2.yaml",
        ],
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    (unified,) = [d for d in json.loads(out.stdout) if d["code"] == "AG119"]
    (fix,) = unified["fixes"]
    assert fix["title"] == "Split into a model spec and a trainer spec (tiny-v2.trainer.yaml)"
    assert fix["edits"] == [
        {
            "line": 16,
            "column": 1,
            "end_line": 27,
            "end_column": 22,
            "new_text": "  # the loss: the model's own\n".lstrip()
            + "loss:\n  type: torch.nn.functional.binary_cross_entropy\n"
            "  inputs: {input: prediction, target: label}",
        }
    ]
    assert [c["path"] for c in fix["create"]] == ["tiny-v2.trainer.yaml"]
    assert fix["create"][0]["text"].startswith("# Trainer spec split from tiny-v2.yaml")
    assert out.returncode == 0


def test_a_trainer_of_a_unified_model_finds_its_loss(check_text) -> None:
    """The trainer's model_ref check reads the model part too: no 'has no loss' (AG203)."""
    from .conftest import TRAINER

    unified = {"models/tiny-v1.model.yaml": UNIFIED}
    assert check_text(TRAINER, extra=unified) == []
    no_loss = {"models/tiny-v1.model.yaml": UNIFIED.replace("  loss:", "  los:")}
    assert [d.code for d in check_text(TRAINER, extra=no_loss)] == ["AG203"]
