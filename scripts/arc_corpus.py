"""Extract every model and trainer spec that Arc ships into tests/arc/corpus/.

Arc (github.com/Non-linear-AI/Arc) writes specs in its docs (markdown code blocks), its
agent templates, its YAML fixtures and its tests (YAML in Python string literals, and
dict literals). This script reads one commit of a bare clone of Arc (`fetch` gives one),
finds every complete spec there, normalises it to the documented form (loss at the top
level of the model spec, `<node>.output` references), drops exact duplicates and writes
one file per spec with its origin in a header comment.

Usage: python scripts/arc_corpus.py GIT_DIR [--commit SHA] [--out tests/arc/corpus]
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import subprocess
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = "Non-linear-AI/Arc"
# Where Arc keeps specs: docs, agent templates and examples, fixtures, tests, README.
SOURCES = re.compile(
    r"^(README\.md|docs/.*\.md|src/.*\.(md|j2|yaml|yml|py)|tests/.*\.(py|yaml|yml))$"
)
FENCE = re.compile(r"^```(?:ya?ml)?[^\n]*\n(.*?)^```", re.M | re.S)
PLACEHOLDER = re.compile(
    r"\{\s*\.\.\.\s*\}|\[\s*\.\.\.\s*\]|<[a-zA-Z_ ]+>|\{\{|\{%|^\s*(-\s*)?\.\.\.\s*(#.*)?$|:\s*\.\.\.\s*(#.*)?$",
    re.M,
)


@dataclass
class Found:
    """One spec found in Arc, before normalisation."""

    path: str
    line: int
    how: str  # "yaml file", "markdown block", "python string", "python dict"
    data: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def git(git_dir: str, *args: str) -> str:
    return subprocess.run(
        ["git", f"--git-dir={git_dir}", *args], check=True, capture_output=True, text=True
    ).stdout


def kind_of(data: dict[str, Any]) -> str | None:
    """Arc's four file forms, or None for YAML that is no spec (fragments, configs)."""
    if isinstance(data.get("model"), dict) and "graph" in data["model"]:
        return "wrapper"
    if {"inputs", "graph", "outputs"} <= data.keys():
        return "unified" if isinstance(data.get("training"), dict) else "model"
    if "model_ref" in data and isinstance(data.get("optimizer"), dict):
        return "trainer"
    return None


def load_yaml(text: str) -> dict[str, Any] | None:
    if PLACEHOLDER.search(text):
        return None  # a template with placeholders, not a spec
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) and kind_of(data) else None


def from_markdown(path: str, text: str) -> list[Found]:
    out = []
    for m in FENCE.finditer(text):
        data = load_yaml(m.group(1))
        if data is not None:
            out.append(Found(path, text.count("\n", 0, m.start()) + 2, "markdown block", data))
    return out


def from_python(path: str, text: str) -> list[Found]:
    """YAML in string literals and spec-shaped dict literals (outermost only)."""
    out = []
    tree = ast.parse(text)
    inside: set[int] = set()
    for node in ast.walk(tree):
        if id(node) in inside:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "\n" in node.value:
            data = load_yaml(textwrap.dedent(node.value))
            if data is not None:
                out.append(Found(path, node.lineno, "python string", data))
        elif isinstance(node, ast.Dict):
            try:
                data = ast.literal_eval(node)
            except ValueError:
                continue
            if isinstance(data, dict) and all(isinstance(k, str) for k in data) and kind_of(data):
                out.append(Found(path, node.lineno, "python dict", data))
                inside.update(id(n) for n in ast.walk(node))
    return out


def find_all(git_dir: str, commit: str) -> list[Found]:
    found: list[Found] = []
    for path in git(git_dir, "ls-tree", "-r", "--name-only", commit).splitlines():
        if not SOURCES.match(path):
            continue
        text = git(git_dir, "show", f"{commit}:{path}")
        if path.endswith((".md", ".j2")):
            found += from_markdown(path, text)
        elif path.endswith(".py"):
            found += from_python(path, text)
        else:
            data = load_yaml(text)
            if data is not None:
                found.append(Found(path, 1, "yaml file", data))
    return found


def node_names(graph: Any) -> set[str]:
    if not isinstance(graph, list):
        return set()
    return {n["name"] for n in graph if isinstance(n, dict) and isinstance(n.get("name"), str)}


def output_ref(ref: Any, nodes: set[str], notes: list[str]) -> Any:
    """A bare node name means `<node>.output` in Arc's code; the docs write the latter."""
    if isinstance(ref, str) and ref in nodes:
        notes.append(f"reference '{ref}' written as '{ref}.output'")
        return f"{ref}.output"
    return ref


def normalise_graph(graph: Any, outputs: Any, notes: list[str]) -> None:
    nodes = node_names(graph)
    for node in graph if isinstance(graph, list) else []:
        if not isinstance(node, dict):
            continue
        ins = node.get("inputs")
        if isinstance(ins, dict):
            node["inputs"] = {k: output_ref(v, nodes, notes) for k, v in ins.items()}
        elif isinstance(ins, list):
            node["inputs"] = [output_ref(v, nodes, notes) for v in ins]
    if isinstance(outputs, dict):
        for k, v in outputs.items():
            outputs[k] = output_ref(v, nodes, notes)


def spell_out_columns(model: dict[str, Any], notes: list[str]) -> None:
    """Arc's docs elide columns (`[age, bmi, ...]`); spell them out to match the shape."""
    for name, spec in (model.get("inputs") or {}).items():
        if not isinstance(spec, dict):
            continue
        cols, shape = spec.get("columns"), spec.get("shape")
        if isinstance(cols, list) and "..." in cols and isinstance(shape, list):
            width = shape[-1] if shape and isinstance(shape[-1], int) else len(cols)
            known = [c for c in cols if c != "..."]
            spec["columns"] = known + [f"{name}_{i}" for i in range(len(known), width)]
            notes.append(f"inputs.{name}.columns: '...' spelled out to {width} columns")


def add_columns(model: dict[str, Any], notes: list[str]) -> None:
    """Arc's code takes `columns` as optional, its docs and schema require them: name them.

    As many as the last dimension (the rule of AG317); one for a shape `[null]`.
    """
    for name, spec in (model.get("inputs") or {}).items():
        if not isinstance(spec, dict) or spec.get("columns"):
            continue
        shape = spec.get("shape")
        if not isinstance(shape, list) or not shape:
            continue
        last = shape[-1] if len(shape) > 1 or shape[0] is not None else None
        width = last if isinstance(last, int) and last > 0 else 1
        spec["columns"] = [name] if width == 1 else [f"{name}_{i}" for i in range(width)]
        notes.append(f"inputs.{name}.columns: added ({width}; Arc's docs require them)")


def normalise_model(model: dict[str, Any], notes: list[str]) -> None:
    add_columns(model, notes)
    normalise_graph(model.get("graph"), model.get("outputs"), notes)
    for mod in (model.get("modules") or {}).values():
        if isinstance(mod, dict):
            normalise_graph(mod.get("graph"), mod.get("outputs"), notes)
    spell_out_columns(model, notes)


def normalise(found: Found) -> list[tuple[str, dict[str, Any], list[str]]]:
    """(kind, data, notes) for each corpus file this find yields.

    A unified file yields its documented form (training.loss lifted to the top level,
    the rest of `training` dropped) and, kept as Arc writes it, the unified form itself.
    """
    data = json.loads(json.dumps(found.data))  # deep copy, plain types
    kind = kind_of(data)
    notes = list(found.notes)
    if kind == "trainer":
        return [("trainer", data, notes)]
    if kind == "wrapper":
        normalise_model(data["model"], notes)
        return [("wrapper", data, notes)]
    normalise_model(data, notes)
    if kind == "model":
        return [("model", data, notes)]
    unified = json.loads(json.dumps(data))
    training = data.pop("training")
    documented_notes = [*notes, "unified form: training section dropped"]
    if "loss" in training and "loss" not in data:
        data["loss"] = training["loss"]
        documented_notes[-1] = (
            "unified form: training.loss lifted to the top level, rest of training dropped"
        )
    return [("model", data, documented_notes), ("unified", unified, notes)]


class FlowListDumper(yaml.SafeDumper):
    """Block style, except lists of scalars (shapes, columns) on one line."""


def _list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.Node:
    flow = all(not isinstance(v, (dict, list)) for v in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


FlowListDumper.add_representer(list, _list)


def slug(path: str) -> str:
    stem = re.sub(r"\.(md|py|ya?ml|j2)$", "", path)
    stem = re.sub(r"^(src/arc/|tests/)", "", stem)
    stem = re.sub(r"core/agents/|templates/|resources/knowledge/", "", stem)
    return re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("git_dir")
    ap.add_argument("--commit", default="HEAD")
    ap.add_argument("--out", default="tests/arc/corpus")
    args = ap.parse_args()
    commit = git(args.git_dir, "rev-parse", args.commit).strip()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.yaml"):
        old.unlink()
    seen: dict[str, str] = {}
    counts: dict[str, int] = {}
    index: dict[str, int] = {}
    for found in find_all(args.git_dir, commit):
        for kind, data, notes in normalise(found):
            key = json.dumps(data, sort_keys=True)
            if key in seen:
                continue
            base = slug(found.path)
            index[base] = index.get(base, 0) + 1
            suffix = {"trainer": ".trainer", "unified": ".unified", "wrapper": ".wrapper"}.get(
                kind, ""
            )
            name = f"{base}-{index[base]:02d}{suffix}.yaml"
            seen[key] = name
            counts[kind] = counts.get(kind, 0) + 1
            header = [
                f"# origin: {REPO}@{commit}:{found.path}",
                f"# at: line {found.line} ({found.how}); kind: {kind}",
                *(f"# normalised: {n}" for n in dict.fromkeys(notes)),
            ]
            body = yaml.dump(data, Dumper=FlowListDumper, sort_keys=False, width=100)
            (out / name).write_text("\n".join(header) + "\n" + body, encoding="utf-8")
    print(json.dumps({"commit": commit, "files": len(seen), "by_kind": counts}))


if __name__ == "__main__":
    main()
