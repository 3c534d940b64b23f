"""Compare Arc's verdicts (tests/arc/verdicts.json) with `arcgraph check` on the corpus.

Adds to each verdict what we expect of `check` ("clean" or "error", and why when that is
not simply Arc's verdict) and, where `check` does not do that today, the cause: the
label under which tests/arc/test_arc_corpus.py marks the file xfail. Prints the
comparison table (markdown) for docs/arc-compatibility.md.

Usage (project venv, repo root): python scripts/arc_compare.py [--check-json FILE]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

from arcgraph.engine.schema import property_order
from arcgraph.engine.spec_version import V11_KEYS

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "arc" / "corpus"
VERDICTS = ROOT / "tests" / "arc" / "verdicts.json"

CAUSES = [
    "open top level",
    "categorical inputs",
    "loss class",
    "nested output index",
    "unified/wrapper forms",
    "loss shape",
    "shape check skipped",
    "other",
]


# trainer_spec.md 3.3: the schema's config keys less those spec v1.1 added
TRAINER_CONFIG = set(property_order("trainer", ("config",))) - {
    path[1] for path in V11_KEYS if path[0] == "config"
}
TRAINER_REQUIRED = {"epochs", "batch_size", "validation_split", "shuffle"}


def trainer_off_docs(data: dict[str, Any]) -> list[str]:
    """Where an Arc trainer file leaves trainer_spec.md (Arc's code accepts all of these)."""
    out = []
    if "loss" in data:
        out.append("`loss` in the trainer (the docs put it in the model spec)")
    opt = data.get("optimizer") or {}
    if "lr" not in opt:
        out.append("no optimizer.lr")
    if "lr" in (opt.get("params") or {}):
        out.append("lr under optimizer.params")
    config = data.get("config") or {}
    if TRAINER_REQUIRED - config.keys():
        out.append(f"config lacks {sorted(TRAINER_REQUIRED - config.keys())}")
    if config.keys() - TRAINER_CONFIG:
        out.append(f"config keys the docs do not have: {sorted(config.keys() - TRAINER_CONFIG)}")
    return out


# Files whose loss cannot take the output and the target as the trainer builds it, where
# Arc stopped before its loss step (so its verdict does not say): check reports AG314 on `loss`.
LOSS_SHAPE_BEYOND_ARC = {
    "graph-model-spec-03.yaml": (
        "the output is [B, 257, 10000] (every position projected) and cross_entropy with one "
        "next_item_id per row refuses it; Arc's builder fails earlier, on `_target_` (which "
        "Arc's docs use and torch builds)"
    ),
}


def expectation(name: str, v: dict[str, Any]) -> tuple[str, str | None]:
    """What `check` must say, and why where Arc's code and Arc's docs disagree."""
    msg, note = v.get("arc_message", ""), v.get("arc_note", "")
    data = yaml.safe_load((CORPUS / name).read_text(encoding="utf-8"))
    if v["kind"] == "wrapper":
        return "recognised", (
            "the `model:`/`trainer:` wrapper of Arc's docs (arc-graph.md 2) has no loader "
            "in Arc's code; check must say what the file is"
        )
    if v["kind"] == "trainer":
        off = trainer_off_docs(data)
        if off:
            return "error", "trainer_spec.md: " + "; ".join(off)
        if v["arc"] == "refused" and "trainer.loss required" not in msg:
            return "error", None
        return "clean", (
            "Arc's trainer code requires trainer.loss; its trainer_spec.md puts the loss "
            "in the model spec: we follow the docs"
        ) if v["arc"] == "refused" else None
    if v["arc"] == "ok":
        if "is no output of the model" in note:
            return "error", (
                "loss.inputs.input must name an output (Arc's schema, model_spec.md 4); "
                "Arc's dry run silently takes another output"
            )
        if "modules" in data and data["modules"] is None:
            return (
                "error",
                "`modules: null`: Arc's schema types modules as an object; Arc's code takes null as none",
            )
        return "clean", None
    if name in LOSS_SHAPE_BEYOND_ARC:
        return "error", LOSS_SHAPE_BEYOND_ARC[name]
    if "must be Tensor, not dict" in msg and v.get("arc_stage") == "forward":
        return "clean", (
            "a named output of a module node (`self_attention.attended`): model_spec.md "
            "documents `<node>.<output>` for modules with several outputs, and torch runs it; "
            "Arc's builder hands torch.add the module's whole output dict"
        )
    if "dict is not a Module subclass" in msg:
        return "clean", (
            "`_target_` objects as params: Arc's docs use them (generative recommender), "
            "its builder passes the mapping through to torch"
        )
    return "error", None


def codes(diags: list[dict[str, Any]], severity: str = "error") -> list[str]:
    return sorted({d["code"] for d in diags if d["severity"] == severity})


def cause_of(name: str, v: dict[str, Any], diags: list[dict[str, Any]]) -> str | None:
    """Why `check` does not meet the expectation today; None when it does."""
    errors = [d for d in diags if d["severity"] == "error"]
    if v["kind"] in ("unified", "wrapper"):
        recognised = any(d["severity"] != "error" and d["code"] != "AG322" for d in diags)
        if not recognised:
            return "unified/wrapper forms"
        if v["kind"] == "wrapper":
            return None  # recognised is all a wrapper expects
        # a unified file's model part is checked: its misses have the model's causes
    if v["expect"] == "clean":
        if not errors:
            return None
        msgs = " ".join(d["message"] for d in errors)
        if re.search(r"unknown key '(categorical|embedding_dim|vocab_size)'", msgs):
            return "categorical inputs"
        if "unknown key" in msgs and "in the top level" in msgs:
            return "open top level"
        if "is not a torch loss function" in msgs:  # before loss classes were accepted
            return "loss class"
        if re.search(r"\.output\.\d+\.\d+", msgs):
            return "nested output index"
        return "other"
    if not errors:
        stage = v.get("arc_stage")
        return "loss shape" if stage == "loss" else "other"
    if v.get("shape_error") and "AG314" not in codes(diags):
        return "shape check skipped"
    return None


def run_check() -> list[dict[str, Any]]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "arcgraph",
            "check",
            "--format",
            "json",
            str(CORPUS.relative_to(ROOT)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check-json", help="reuse a saved `check --format json` of the corpus")
    args = ap.parse_args()
    diags = json.loads(Path(args.check_json).read_text()) if args.check_json else run_check()
    by_file: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for d in diags:
        by_file[Path(d["path"]).name].append(d)
    verdicts = json.loads(VERDICTS.read_text(encoding="utf-8"))
    rows = defaultdict(list)
    for name, v in verdicts.items():
        if name.startswith("_"):
            continue
        v["expect"], why = expectation(name, v)
        v.pop("shape_error", None)
        forward = v["arc"] == "refused" and v["arc_stage"] == "forward"
        loss_shape = name in LOSS_SHAPE_BEYOND_ARC
        if (forward and v["arc_message"].startswith("RuntimeError")) or loss_shape:
            v["shape_error"] = True
        v.pop("why", None)
        if why:
            v["why"] = why
        v.pop("cause", None)
        cause = cause_of(name, v, by_file[name])
        if cause:
            v["cause"] = cause
        rows[cause or "agree"].append((name, v, codes(by_file[name])))
    VERDICTS.write_text(json.dumps(verdicts, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print("| cause | file | kind | Arc | Arc's message / note | expect | our errors today |")
    print("|---|---|---|---|---|---|---|")
    for cause in [*CAUSES, "agree"]:
        for name, v, errs in sorted(rows.get(cause, [])):
            msg = (v.get("arc_message") or v.get("arc_note") or "").replace("|", "\\|")[:90]
            print(
                f"| {cause} | `{name}` | {v['kind']} | {v['arc']} ({v['arc_stage']}) | {msg} "
                f"| {v['expect']} | {', '.join(errs) or '-'} |"
            )
    summary = {c: len(rows[c]) for c in [*CAUSES, "agree"] if rows.get(c)}
    print(json.dumps(summary), file=sys.stderr)


if __name__ == "__main__":
    main()
