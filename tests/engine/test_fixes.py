"""Quick fixes: exact edits, comments kept, and the diagnostic gone after applying them."""

from __future__ import annotations

from arcgraph.engine.fixes import fixes_for
from edits import apply_edits

from .conftest import MODEL, TRAINER


def _fix(diags, code: str, text: str, index: int = 0) -> str:
    d = next(d for d in diags if d.code == code)
    fixes = fixes_for(text, d)
    assert fixes, f"no fix for {code}"
    return apply_edits(text, fixes[index].edits)


def test_rename_unknown_key_keeps_comments(check_text) -> None:
    text = TRAINER.replace("  batch_size: 8\n", "  batchsize: 8  # per device\n")
    fixed = _fix(check_text(text), "AG111", text)
    assert fixed == TRAINER.replace("  batch_size: 8\n", "  batch_size: 8  # per device\n")
    assert check_text(fixed) == []


def test_remove_unknown_key_removes_its_lines_only(check_text) -> None:
    text = TRAINER + "  # tuning\n  warmup:\n    steps: 3\n  seed: 1\n"
    d = next(d for d in check_text(text) if d.code == "AG111")
    fixes = fixes_for(text, d)
    assert [f.title for f in fixes] == ["Remove 'warmup'"]
    fixed = apply_edits(text, fixes[0].edits)
    assert fixed == TRAINER + "  # tuning\n  seed: 1\n"


def test_remove_key_in_flow_mapping(check_text) -> None:
    text = TRAINER.replace(
        "config:\n  epochs: 3\n  batch_size: 8\n  validation_split: 0.2\n  shuffle: true\n",
        "config: {epochs: 3, batch_size: 8, turbo: 9, validation_split: 0.2, shuffle: true}\n",
    )
    fixed = _fix(check_text(text), "AG111", text)
    assert fixed.endswith(
        "config: {epochs: 3, batch_size: 8, validation_split: 0.2, shuffle: true}\n"
    )
    assert check_text(fixed) == []


def test_remove_first_and_only_key_in_flow_mapping(check_text) -> None:
    block = "config:\n  epochs: 3\n  batch_size: 8\n  validation_split: 0.2\n  shuffle: true\n"
    first = TRAINER.replace(block, "config: {turbo: 9, epochs: 3, batch_size: 8}\n")
    assert _fix(check_text(first), "AG111", first).endswith("config: {epochs: 3, batch_size: 8}\n")
    only = TRAINER.replace(block, "config: {turbo: 9}\n")
    assert _fix(check_text(only), "AG111", only).endswith("config: {}\n")


def test_replace_value_keeps_quotes(check_text) -> None:
    text = TRAINER + '  device: "cpuu"\n'
    fixed = _fix(check_text(text), "AG114", text)
    assert fixed == TRAINER + '  device: "cpu"\n'


def test_model_ref_did_you_mean(check_text) -> None:
    text = TRAINER.replace("tiny-v1", "tiny-v2")
    assert _fix(check_text(text), "AG201", text) == TRAINER


def test_add_missing_required_key_with_default(check_text) -> None:
    text = TRAINER.replace("  shuffle: true\n", "")
    fixed = _fix(check_text(text), "AG110", text)
    assert fixed == TRAINER
    text2 = TRAINER.replace("  lr: 0.01\n", "")
    fixed2 = _fix(check_text(text2), "AG110", text2)
    assert fixed2 == TRAINER.replace("  lr: 0.01\n", "").replace(
        "  type: torch.optim.Adam\n", "  type: torch.optim.Adam\n  lr: 0.001\n"
    )
    assert check_text(fixed2) == []


def test_add_key_to_a_file_without_final_newline(check_text) -> None:
    text = TRAINER.replace("  shuffle: true\n", "").rstrip("\n")
    fixed = _fix(check_text(text), "AG110", text)
    assert fixed == TRAINER.rstrip("\n")


def test_unknown_param_fix(check_full) -> None:
    text = MODEL.replace("out_features: 1}", "out_feature: 1}")
    fixed = _fix(check_full(text, "models/m-v1.model.yaml"), "AG303", text)
    assert fixed == MODEL


def test_node_type_fix(check_full) -> None:
    text = MODEL.replace("torch.nn.Linear", "torch.nn.Linaer")
    assert _fix(check_full(text, "models/m-v1.model.yaml"), "AG301", text) == MODEL


def test_lr_in_params_fix(check_text) -> None:
    text = TRAINER.replace(
        "  lr: 0.01\n", "  lr: 0.01\n  params:\n    lr: 0.1\n    foreach: false\n"
    )
    fixed = _fix(check_text(text), "AG214", text)
    assert fixed == TRAINER.replace("  lr: 0.01\n", "  lr: 0.01\n  params:\n    foreach: false\n")


def test_lr_only_in_params_is_moved_up_not_lost(check_text) -> None:
    text = TRAINER.replace("  lr: 0.01\n", "  params:\n    lr: 0.1\n    foreach: false\n")
    d = next(d for d in check_text(text) if d.code == "AG214")
    fixes = fixes_for(text, d)
    assert [f.title for f in fixes] == ["Move 'lr: 0.1' up to optimizer.lr"]
    fixed = apply_edits(text, fixes[0].edits)
    assert fixed == TRAINER.replace("  lr: 0.01\n", "  params:\n    foreach: false\n  lr: 0.1\n")
    assert check_text(fixed) == []


def test_loss_in_trainer_fix_removes_the_block(check_text) -> None:
    text = (
        TRAINER + "loss:\n  type: torch.nn.functional.mse_loss\n  inputs: {input: p, target: y}\n"
    )
    assert _fix(check_text(text), "AG200", text) == TRAINER


def test_yaml_scalar_reads_back_as_the_same_value() -> None:
    """Inserted values (fixes, completion defaults) parse back to what was meant: YAML 1.1
    floats need a dot (`1e-08` is a string), strings that look like numbers are quoted."""
    from arcgraph.engine.fixes import yaml_scalar
    from arcgraph.engine.source import parse_yaml

    cases = {
        1e-08: "1.0e-08",
        1e16: "1.0e+16",
        0.001: "0.001",
        (0.9, 0.999): "[0.9, 0.999]",
        (None, 0.001): "[null, 0.001]",
        "1": '"1"',
        "yes": '"yes"',
        "- x": '"- x"',
        "mean": "mean",
        True: "true",
        3: "3",
    }
    for value, text in cases.items():
        assert yaml_scalar(value) == text, value
        root = parse_yaml(f"k: {text}\n").root
        got = root.get("k").value if not isinstance(value, tuple) else None
        if got is not None:
            assert got == value and type(got) is type(value), (value, got)
        else:
            assert [i.value for i in root.get("k").items] == list(value)


def test_no_fix_when_the_span_is_not_what_the_diagnostic_was_about(check_text) -> None:
    """A diagnostic whose span no longer sits on its key (an edit moved the text, a client
    echoed other columns) gets no edit rather than a corrupting one."""
    from dataclasses import replace

    from arcgraph.engine.diagnostics import Span

    text = TRAINER.replace("  batch_size: 8\n", "  batchsize: 8\n")
    d = next(d for d in check_text(text) if d.code == "AG111")
    assert next(f.title for f in fixes_for(text, d)) == "Rename to 'batch_size'"
    line = d.span.start_line
    for span in (
        Span(line, d.span.start_col + 2, line, d.span.end_col + 2),  # shifted by two
        Span(line, d.span.start_col, line, d.span.end_col - 1),  # part of the key
        Span(line, 0, line, 2),  # the indentation
    ):
        assert fixes_for(text, replace(d, span=span)) == [], span
    removed = replace(d, data={"fix": "remove_key", "key": "seed"})
    assert fixes_for(text, removed) == []  # the key there is not the one named
