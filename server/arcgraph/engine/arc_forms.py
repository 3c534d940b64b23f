"""Arc's two other file forms: what they are, the model part we check, and the split.

Arc writes a "unified" model spec (its loss and training setup under `training:`) and an
older wrapper (`model:` and `trainer:` at the top, which no Arc loader reads). A unified
file is checked as the model spec it holds, `training.loss` standing in for the top-level
`loss`; a wrapper is only named. Both split into a model spec (the file itself) and a new
trainer spec beside it, by text edits on the original lines so every comment is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from arcgraph.engine import codes
from arcgraph.engine.diagnostics import Diagnostic, Severity, Span
from arcgraph.engine.kinds import SpecForm, model_id_of
from arcgraph.engine.schema import load_schema
from arcgraph.engine.source import YMap, YNode, YSeq, key_text

# Required trainer config keys a split adds when the Arc file has none (Arc's own defaults;
# the trainer spec's examples use the same): epochs and batch_size are left to AG110.
_CONFIG_FILL = {"shuffle": "true", "validation_split": "0.2"}


def model_part(root: YMap) -> YMap:
    """A unified file as the model spec it holds: `training` left out, `training.loss` as
    the loss when there is no top-level one (its nodes keep their places in the file)."""
    training = root.get("training")
    pairs = [(k, v) for k, v in root.pairs if key_text(k) != "training"]
    if isinstance(training, YMap) and root.get("loss") is None:
        key, loss = training.key_node("loss"), training.get("loss")
        if key is not None and loss is not None:
            pairs.append((key, loss))
    return YMap(root.span, pairs, root.flow)


def form_diagnostics(path: Path, root: YMap | None, form: SpecForm) -> list[Diagnostic]:
    """One located diagnostic saying what a unified or wrapper file is and what happens to it."""
    if root is None or form is SpecForm.PLAIN:
        return []
    if form is SpecForm.UNIFIED:
        key = root.key_node("training")
        training = root.get("training")
        assert key is not None and isinstance(training, YMap)
        loss = "training.loss as its loss"
        if root.get("loss") is not None:
            loss = "its top-level loss (training.loss is ignored)"
        elif training.get("loss") is None:
            loss = "no loss (training has none)"
        return [
            Diagnostic(
                codes.ARC_UNIFIED_FORM,
                f"Arc unified spec: the model part is checked, with {loss}; its training section"
                " belongs in a trainer spec (quick fix: split into this model spec and a trainer"
                " spec)",
                key.span,
                Severity.INFO,
                str(path),
                data={"fix": "split_arc"},
            )
        ]
    key = root.key_node("model")
    assert key is not None
    return [
        Diagnostic(
            codes.ARC_WRAPPER_FORM,
            "Arc's older model:/trainer: wrapper: no Arc loader reads it and arcgraph does not"
            " check it (quick fix: split into a model spec and a trainer spec)",
            key.span,
            Severity.WARNING,
            str(path),
            data={"fix": "split_arc"},
        )
    ]


# -- the split ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SplitResult:
    """The original file's new text range and text, and the trainer spec to create."""

    span: Span
    model_text: str
    trainer_path: Path
    trainer_text: str


@dataclass(frozen=True, slots=True)
class _Chunk:
    """One entry of a block mapping as lines: its comments above, its key, its value."""

    name: str
    first: int  # the first line (a comment above the key, if any)
    last: int  # the value's last line
    indent: int
    node: YNode


def _is_blank_or_comment(line: str) -> bool:
    s = line.strip()
    return not s or s.startswith("#")


def _last_line(node: YNode, lines: list[str]) -> int:
    """The last line a value occupies (a block collection's end mark sits on the next token);
    comment and blank lines after it belong to what follows."""
    end = node.span.end_line
    block = isinstance(node, YMap | YSeq) and not node.flow
    if block and (end >= len(lines) or lines[end][: node.span.end_col].strip() == ""):
        end -= 1
    start = node.span.start_line
    while end > start and _is_blank_or_comment(lines[end]):
        end -= 1
    return end


def _chunks(mapping: YMap, first: int, lines: list[str]) -> list[_Chunk] | None:
    """A block mapping's entries as line ranges from `first`; None where one shares a line
    with another (flow style, `- key:` items): text edits would cut through it."""
    if mapping.flow:
        return None
    out: list[_Chunk] = []
    at = first
    for name, key, value in mapping.items():
        line = key.span.start_line
        if line < at or lines[line][: key.span.start_col].strip():
            return None
        last = max(_last_line(value, lines), line)
        out.append(_Chunk(name, at, last, key.span.start_col, value))
        at = last + 1
    return out


def _reindent(lines: list[str], drop: int, add: int = 0) -> list[str]:
    """Lines moved `drop` columns left (no further than their own indentation) and `add` right."""
    out = []
    for line in lines:
        lead = len(line) - len(line.lstrip(" "))
        body = line[min(lead, drop) :]
        out.append(" " * add + body if body.strip() else "")
    return out


def _comment_out(lines: list[str]) -> list[str]:
    return [
        line if line.lstrip().startswith("#") or not line.strip() else f"# {line}" for line in lines
    ]


def split(path: Path, text: str, root: YMap, form: SpecForm) -> SplitResult | None:
    """The split of a unified or wrapper file: the file keeps the model spec, the training
    section becomes `<model ID>.trainer.yaml` beside it; None where the layout is not plain
    block style (then the user splits by hand)."""
    lines = text.split("\n")
    top = _chunks(root, 0, lines)
    if top is None:
        return None
    section = "training" if form is SpecForm.UNIFIED else "trainer"
    train = next((c for c in top if c.name == section), None)
    loss: list[str] = []
    trainer_body: list[str] = []
    if train is not None:
        if not isinstance(train.node, YMap) or train.indent != 0:
            return None
        parts = _trainer_parts(train, lines, top_loss=root.get("loss") is not None)
        if parts is None:
            return None
        loss, trainer_body = parts
    if form is SpecForm.UNIFIED:
        if train is None:
            return None
        first = train.first  # blank lines above `training:` stay where they are
        while first < train.last and not lines[first].strip():
            first += 1
        span = Span(first, 0, train.last, len(lines[train.last]))
        model_text = "\n".join(loss)
        if not loss:  # the lines go, with their line break
            end = train.last + 1 if train.last + 1 < len(lines) else train.last
            span = Span(first, 0, end, 0 if end > train.last else len(lines[end]))
    else:
        new_model: list[str] = []
        for c in top:
            if c is train:
                continue
            if c.name != "model":
                new_model += lines[c.first : c.last + 1]
                continue
            key = _key_line(c, lines)
            inner = _chunks(c.node, key + 1, lines) if isinstance(c.node, YMap) else None
            if inner is None:
                return None
            new_model += lines[c.first : key]  # the comments over `model:`
            for ic in inner:
                new_model += _reindent(lines[ic.first : ic.last + 1], ic.indent)
            new_model += loss  # Arc's trainer.loss: the model spec's loss
        end = top[-1].last
        span = Span(0, 0, end, len(lines[end]))
        model_text = "\n".join(new_model)
    model_id = model_id_of(path)
    header = [
        f"# Trainer spec split from {path.name} (Arc {form.value} spec) by arcgraph.",
        f"model_ref: {model_id}",
    ]
    trainer_text = "\n".join(header + trainer_body) + "\n"
    return SplitResult(span, model_text, _free_trainer_path(path, model_id), trainer_text)


def _key_line(c: _Chunk, lines: list[str]) -> int:
    """The line of a chunk's key (after the comments above it)."""
    return next(i for i in range(c.first, c.last + 1) if not _is_blank_or_comment(lines[i]))


def _trainer_parts(
    train: _Chunk, lines: list[str], *, top_loss: bool
) -> tuple[list[str], list[str]] | None:
    """(the loss lines for the model spec's top level, the trainer spec's lines after
    model_ref): optimizer as it is, trainer config keys under `config`, the rest commented."""
    assert isinstance(train.node, YMap)
    key = _key_line(train, lines)
    entries = _chunks(train.node, key + 1, lines)
    if entries is None:
        return None
    config_keys = set(load_schema("trainer")["properties"]["config"]["properties"])
    above = lines[train.first : key]  # comments over `training:`
    while above and not above[0].strip():
        above = above[1:]
    loss: list[str] = []
    optimizer: list[str] = []
    config: list[str] = []
    config_names: list[str] = []
    rest: list[str] = []
    for e in entries:
        own = _reindent(lines[e.first : e.last + 1], e.indent)
        if e.name == "loss" and not top_loss:
            loss = own
        elif e.name == "optimizer":
            optimizer = own
        elif e.name == "config" and isinstance(e.node, YMap):
            ekey = _key_line(e, lines)
            inner = _chunks(e.node, ekey + 1, lines)
            if inner is None:
                return None
            config += _reindent(lines[e.first : ekey], e.indent, 2)  # comments over `config:`
            for ic in inner:
                block = _reindent(lines[ic.first : ic.last + 1], ic.indent, 2)
                if ic.name in config_keys:
                    config += block
                    config_names.append(ic.name)
                else:
                    rest += _comment_out(_reindent(block, 2))
        elif e.name in config_keys:
            config += _reindent(own, 0, 2)
            config_names.append(e.name)
        else:
            rest += _comment_out(own)
    for name, value in _CONFIG_FILL.items():
        if name not in config_names:
            config.append(f"  {name}: {value}  # added by the split: the trainer spec requires it")
    body = above + optimizer + ["config:"] + config
    if rest:
        body += ["# Arc's training keys with no place in a trainer spec, kept as comments:", *rest]
    return loss, body


def _free_trainer_path(path: Path, model_id: str) -> Path:
    """`<model ID>.trainer.yaml` beside the file, or `<model ID>-2.trainer.yaml`, ... if taken."""
    folder = path.parent
    candidate = folder / f"{model_id}.trainer.yaml"
    n = 2
    while candidate.exists():
        candidate = folder / f"{model_id}-{n}.trainer.yaml"
        n += 1
    return candidate
