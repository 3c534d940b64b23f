"""The workspace's model registry: model spec files by ID, with unsaved editor text on top.

Arc keeps its registry in a database; an editor has files. A model's ID is its file name
(model-spec.md, workspace conventions). Scanning reads file names and, for plain `.yaml` files,
looks for a top-level `graph:` line without parsing; parsing happens only when a model is
asked for, and is cached by text.
"""

from __future__ import annotations

import fnmatch
import os
import re
import threading
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from arcgraph.engine.files import not_regular, read_regular, read_regular_text
from arcgraph.engine.kinds import (
    MODEL_SUFFIXES,
    TRAINER_SUFFIXES,
    YAML_SUFFIXES,
    model_id_of,
)
from arcgraph.engine.source import ParsedYaml, parse_yaml

DEFAULT_EXCLUDE = (
    ".git",
    ".hg",
    ".svn",
    "node_modules",
    ".venv",
    "venv",
    "__pycache__",
    "runs",
    ".cache",
)
_MODEL_LINE = re.compile(r"^graph\s*:", re.MULTILINE)
# A top-level `model_ref: value` (plain or quoted): which trainers use which model.
_MODEL_REF_LINE = re.compile(
    r"^model_ref[ \t]*:[ \t]*(?:\"([^\"\n]*)\"|'([^'\n]*)'|([^\s#]+))", re.MULTILINE
)
_MAX_SCAN_BYTES = 4 * 1024 * 1024


@dataclass
class RegistrySettings:
    """Which folders (relative to each root) and name patterns make up the registry."""

    folders: list[str] = field(default_factory=lambda: ["."])
    include: list[str] = field(default_factory=lambda: ["*.yaml", "*.yml"])
    exclude: list[str] = field(default_factory=lambda: list(DEFAULT_EXCLUDE))


def looks_like_model_file(path: Path, text: str | None = None) -> bool:
    name = path.name.lower()
    if name.endswith(MODEL_SUFFIXES):
        return True
    if name.endswith(TRAINER_SUFFIXES) or not name.endswith(YAML_SUFFIXES):
        return False
    if text is None:
        text = _read_capped(path)
    return text is not None and bool(_MODEL_LINE.search(text))


class Registry:
    """Model IDs -> files. Thread-safe: the LSP updates it from watcher events."""

    def __init__(
        self,
        roots: Iterable[Path] = (),
        settings: RegistrySettings | None = None,
        *,
        index_trainers: bool = False,
    ) -> None:
        self.roots = [Path(r).resolve() for r in roots]
        self.settings = settings or RegistrySettings()
        # The language server's find-references needs which file names which model; the
        # checker and the trainer do not, and skip reading every YAML file for it.
        self.index_trainers = index_trainers
        self._models: dict[Path, str] = {}  # path -> model id
        self._overlay: dict[Path, str] = {}  # unsaved editor text wins over the disk
        self._parsed: dict[Path, tuple[str, ParsedYaml]] = {}
        self._trainers: dict[Path, str] = {}  # YAML file under a root -> its `model_ref`
        # YAML-named paths that are no regular file (a FIFO, a device): skipped, never read
        self._skipped: dict[Path, str] = {}  # path -> what it is ("FIFO")
        self._lock = threading.RLock()

    @classmethod
    def scan(
        cls,
        roots: Iterable[Path],
        settings: RegistrySettings | None = None,
        *,
        index_trainers: bool = False,
    ) -> Registry:
        reg = cls(roots, settings, index_trainers=index_trainers)
        reg.rescan()
        return reg

    def rescan(self) -> None:
        texts: dict[Path, str | None] = {}  # read for the trainer index, reused for models
        trainers: dict[Path, str] = {}
        for path in self.yaml_files() if self.index_trainers else ():
            texts[path] = text = self._text(path)
            ref = model_ref_of(text)
            if ref is not None:
                trainers[path] = ref
        found: dict[Path, str] = {}
        skipped: dict[Path, str] = {}
        for path in self.candidate_files():
            kind = None if path in self._overlay else not_regular(path)
            if kind is not None:
                if path.name.lower().endswith(YAML_SUFFIXES):
                    skipped[path] = kind
                continue
            if looks_like_model_file(path, texts.get(path, self._overlay.get(path))):
                found[path] = model_id_of(path)
        with self._lock:
            self._models = found
            self._skipped = skipped
            self._trainers = trainers
            self._parsed = {p: v for p, v in self._parsed.items() if p in found}

    def yaml_files(self) -> Iterable[Path]:
        """Every .yaml/.yml file under the roots (trainers may live outside the registry's
        folders), minus the excluded and hidden folders."""
        for root in self.roots:
            for path in self._walk(root):
                if path.name.endswith(YAML_SUFFIXES):
                    yield path.resolve()

    def candidate_files(self) -> Iterable[Path]:
        for root in self.roots:
            for folder in self.settings.folders:
                base = (root / folder).resolve()
                for path in self._walk(base):
                    if self.included(path.relative_to(base).as_posix()):
                        yield path

    def _walk(self, base: Path) -> Iterable[Path]:
        return walk_files(base, self.settings.exclude)

    def included(self, rel: str) -> bool:
        """Does a path (relative to a registry folder) match an include pattern? Patterns
        without '/' match the file name (`*.yaml`); others the path, as editors write globs
        (`**/*.model.yaml`, `models/*.yaml`), `**/` also matching no folder at all."""
        name = rel.rsplit("/", 1)[-1]
        for pat in self.settings.include:
            if "/" not in pat:
                if fnmatch.fnmatch(name, pat):
                    return True
            elif fnmatch.fnmatch(rel, pat) or (
                pat.startswith("**/") and fnmatch.fnmatch(rel, pat[3:])
            ):
                return True
        return False

    def contains(self, path: Path) -> bool:
        path = Path(path).resolve()
        return any(path.is_relative_to(r) for r in self.roots)

    def update(self, path: Path, text: str | None = None) -> None:
        """A file was created/changed (text: its unsaved content, if open in an editor)."""
        path = Path(path).resolve()
        with self._lock:
            if text is not None:
                self._overlay[path] = text
            self._parsed.pop(path, None)
            trainer_indexed = (
                self.index_trainers and path.name.endswith(YAML_SUFFIXES) and self.contains(path)
            )
            # read the disk at most once, for both indexes
            current = self._text(path) if trainer_indexed else self._overlay.get(path)
            kind = None if path in self._overlay else not_regular(path)
            if kind is None:
                self._skipped.pop(path, None)
            elif path.name.lower().endswith(YAML_SUFFIXES):
                self._skipped[path] = kind
            if kind is not None:
                self._models.pop(path, None)
            elif looks_like_model_file(path, current):
                self._models[path] = model_id_of(path)
            else:
                self._models.pop(path, None)
            if trainer_indexed:
                ref = model_ref_of(current)
                if ref is not None:
                    self._trainers[path] = ref
                else:
                    self._trainers.pop(path, None)

    def close_overlay(self, path: Path) -> None:
        """The editor closed the file: the disk is the truth again."""
        path = Path(path).resolve()
        with self._lock:
            self._overlay.pop(path, None)
        self.update(path) if path.exists() else self.remove(path)

    def remove(self, path: Path) -> None:
        path = Path(path).resolve()
        with self._lock:
            self._models.pop(path, None)
            self._parsed.pop(path, None)
            self._overlay.pop(path, None)
            self._trainers.pop(path, None)
            self._skipped.pop(path, None)

    def _text(self, path: Path) -> str | None:
        """The editor's unsaved text, else the file's (None: unreadable or too large)."""
        with self._lock:
            if path in self._overlay:
                return self._overlay[path]
        return _read_capped(path)

    def ids(self) -> list[str]:
        with self._lock:
            return sorted(set(self._models.values()))

    def paths_of(self, model_id: str) -> list[Path]:
        with self._lock:
            return sorted(p for p, i in self._models.items() if i == model_id)

    def skipped_of(self, model_id: str) -> list[tuple[Path, str]]:
        """Files that would be `model_id` but are no regular file: (path, what it is)."""
        with self._lock:
            return sorted((p, k) for p, k in self._skipped.items() if model_id_of(p) == model_id)

    def trainers_of(self, model_id: str) -> list[Path]:
        """The YAML files under the roots whose top-level `model_ref` is `model_id`."""
        with self._lock:
            return sorted(p for p, ref in self._trainers.items() if ref == model_id)

    def path_of(self, model_id: str) -> Path | None:
        paths = self.paths_of(model_id)
        return paths[0] if paths else None

    def text_of(self, path: Path) -> str | None:
        path = Path(path).resolve()
        with self._lock:
            if path in self._overlay:
                return self._overlay[path]
        try:  # a FIFO or device is never opened for reading (NotRegularFile)
            data = read_regular(path)
            return None if data is None else data.decode("utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def parsed(self, path: Path) -> ParsedYaml | None:
        """The parsed model file, cached by its text."""
        path = Path(path).resolve()
        text = self.text_of(path)
        if text is None:
            return None
        with self._lock:
            hit = self._parsed.get(path)
            if hit and hit[0] == text:
                return hit[1]
        parsed = parse_yaml(text)
        with self._lock:
            self._parsed[path] = (text, parsed)
        return parsed


def model_ref_of(text: str | None) -> str | None:
    """The top-level `model_ref` value of a YAML text, read without parsing (None: none)."""
    if not text or "model_ref" not in text:
        return None
    m = _MODEL_REF_LINE.search(text)
    if m is None:
        return None
    return next(g for g in m.groups() if g is not None)


def _read_capped(path: Path) -> str | None:
    try:  # a FIFO or device is never opened for reading (NotRegularFile)
        return read_regular_text(path, _MAX_SCAN_BYTES)
    except OSError:
        return None


def workspace_root_for(path: Path) -> Path:
    """The nearest ancestor with a `models/` folder or a `.git`, else the file's folder."""
    path = Path(path).resolve()
    start = path if path.is_dir() else path.parent
    for folder in (start, *start.parents):
        if (folder / "models").is_dir() or (folder / ".git").exists():
            return folder
    return start


def walk_files(base: Path, exclude: Iterable[str] = DEFAULT_EXCLUDE) -> Iterator[Path]:
    """The files below `base` as a workspace walk sees them: excluded and hidden folders are
    not entered (the registry's scan, the server's data-file search)."""
    if not base.is_dir():
        return
    skip = frozenset(exclude)
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = [d for d in dirnames if walked_into(d, skip)]
        for fname in filenames:
            yield Path(dirpath, fname)


def walked_into(folder: str, exclude: Container[str]) -> bool:
    """Does a registry walk (and the language server's own file polling) enter this folder?
    Not an excluded one (`.venv`, `node_modules`, ...), nor a hidden one."""
    return folder not in exclude and not folder.startswith(".")
