"""The server's settings: one typed object, parsed here and nowhere else.

They come from `initializationOptions` at `initialize`, then from the client's answer to
`workspace/configuration` (section `arcgraph`) and from `workspace/didChangeConfiguration`
pushes; each later source applies over the earlier ones key by key. The shape is the VS Code
settings under `arcgraph.` as one nested object (docs/clients.md):

    {"interpreter": "/venv/bin/python", "torch": true, "probes": true, "torchTimeout": 20,
     "checks": {"shape": true}, "registry": {"folders": ["models"], "include": ["*.yaml"]},
     "pullDiagnostics": true, "client": {"showsTrainResult": false}}

Unknown keys are ignored (VS Code sends its whole section: `trace`, ...). A value of the wrong
type is reported in words and ignored, the rest still applies: settings never stop the server.
The spellings older Neovim setups used (`python`, `shapeCheck`) are still read, with a
deprecation message naming the new key.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NewType, get_origin

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from arcgraph.engine.registry import RegistrySettings
from arcgraph.engine.spec_version import LATEST, SPEC_VERSIONS

Seconds = NewType("Seconds", float)
SpecVersion = NewType("SpecVersion", str)  # one of engine.spec_version.SPEC_VERSIONS

# The spellings read before the settings had one shape: old key -> the key path that replaced it.
DEPRECATED: dict[str, tuple[str, ...]] = {
    "python": ("interpreter",),
    "shapeCheck": ("checks", "shape"),
}


@attrs.frozen
class Checks:
    shape: bool = True  # the shape check of model specs (needs torch and `probes`)


@attrs.frozen
class Registry:
    """Empty tuples: the registry's defaults (every folder; `*.yaml`, `*.yml`)."""

    folders: tuple[str, ...] = ()  # relative to each workspace folder
    include: tuple[str, ...] = ()  # file name patterns (`*.yaml`) or path globs (`**/*.model.yaml`)


@attrs.frozen
class Client:
    """What the client does itself (initialization options only)."""

    shows_train_result: bool = False  # shows `arcgraph.train`'s outcome: no showMessage from here


@attrs.frozen
class Settings:
    interpreter: str | None = None  # the Python with torch; None: the one running the server
    torch: bool = True  # False: structure checks only, no torch worker
    probes: bool = True  # ask torch to construct the optimizer / run the shape check
    torch_timeout: Seconds = Seconds(20.0)  # one torch request; then the worker is restarted
    checks: Checks = Checks()
    registry: Registry = Registry()
    pull_diagnostics: bool = True  # False: push diagnostics even to a client that could pull
    client: Client = Client()
    spec: SpecVersion = SpecVersion(LATEST)  # "1.0": trainer spec v1.1 keys are errors (AG265)

    def registry_settings(self) -> RegistrySettings:
        rs = RegistrySettings()
        if self.registry.folders:
            rs.folders = list(self.registry.folders)
        if self.registry.include:
            rs.include = list(self.registry.include)
        return rs

    def merged(self, options: Any) -> Parsed:
        """These settings with the keys given in `options` applied (either the section itself
        or `{"arcgraph": section}`); what could not be applied is said in `problems`."""
        return merge(self, options)


for _cls in (Checks, Registry, Client, Settings):
    attrs.resolve_types(_cls)  # real types in `attrs.fields` (the messages read them)


@dataclass(frozen=True)
class Parsed:
    settings: Settings
    problems: list[str]  # one sentence each, for window/logMessage


def parse(options: Any) -> Parsed:
    """Settings from `initializationOptions` (None: all defaults, said nothing)."""
    return merge(Settings(), options)


def merge(base: Settings, options: Any) -> Parsed:
    if options is None:
        return Parsed(base, [])
    section = options.get("arcgraph", options) if isinstance(options, Mapping) else options
    if not isinstance(section, Mapping):
        return Parsed(
            base,
            [f"Arc-Graph settings must be an object of keys; got {_show(section)}: ignored"],
        )
    problems: list[str] = []
    given = _spelled_today(dict(section), problems)
    current = _converter.unstructure(base)
    for _ in range(32):  # each round drops at least one bad key; the base alone always structures
        try:
            return Parsed(_converter.structure(_deep_merge(current, given), Settings), problems)
        except cattrs.ClassValidationError as exc:
            bad = list(_leaves(exc, ()))
        dropped = False
        for keys in bad:
            problems.append(_wrong_type(keys, given, current))
            dropped = _drop(given, keys) or dropped
        if not dropped:
            break
    return Parsed(base, [*problems, "Arc-Graph settings could not be applied: kept the previous"])


# -- the converter: camelCase keys, strict types ------------------------------------------------
def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w.title() for w in rest)


def _strict(kind: type, words: str) -> Any:
    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise TypeError(f"expected {words}")
        return value

    return structure


def _seconds(value: Any, _: Any) -> Seconds:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise TypeError("expected a number of seconds greater than 0")
    return Seconds(float(value))


def _spec_version(value: Any, _: Any) -> SpecVersion:
    if value not in SPEC_VERSIONS:
        raise TypeError(f"expected {_SPEC_WORDS}")
    return SpecVersion(value)


_SPEC_WORDS = " or ".join(f'"{v}"' for v in SPEC_VERSIONS)


def _names(value: Any, _: Any) -> tuple[str, ...]:
    """A list of strings (a string alone is no list of names; empty items are left out)."""
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise TypeError("expected a list of strings")
    return tuple(v for v in value if v)


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=False)
    conv.register_structure_hook(bool, _strict(bool, "true or false"))
    conv.register_structure_hook(str, _strict(str, "a string"))
    conv.register_structure_hook(Seconds, _seconds)
    conv.register_structure_hook(SpecVersion, _spec_version)
    conv.register_structure_hook_func(lambda t: t == tuple[str, ...], _names)
    conv.register_unstructure_hook(Seconds, float)

    def renames(cls: type) -> dict[str, Any]:
        return {a.name: override(rename=_camel(a.name)) for a in attrs.fields(cls)}

    conv.register_structure_hook_factory(
        attrs.has, lambda cls: make_dict_structure_fn(cls, conv, **renames(cls))
    )
    conv.register_unstructure_hook_factory(
        attrs.has, lambda cls: make_dict_unstructure_fn(cls, conv, **renames(cls))
    )
    return conv


_converter = _make_converter()


# -- old spellings, merging, reporting -----------------------------------------------------------
def _spelled_today(given: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """The old spellings moved to their keys of today (a key given both ways: today's wins);
    an empty `interpreter` is no interpreter given."""
    for old, new in DEPRECATED.items():
        if old not in given:
            continue
        value = given.pop(old)
        problems.append(
            f'Arc-Graph setting "{old}" is deprecated: write "{".".join(new)}" instead '
            "(docs/clients.md)"
        )
        if len(new) == 1:
            given.setdefault(new[0], value)
            continue
        inner = given.get(new[0], {})
        if isinstance(inner, Mapping):  # otherwise reported as the wrong type it is
            given[new[0]] = {new[1]: value, **inner}
    if given.get("interpreter") == "":
        del given["interpreter"]
    return given


def _deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _leaves(exc: BaseException, keys: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    """The settings keys (camelCase) of every value cattrs refused."""
    if not isinstance(exc, cattrs.ClassValidationError):
        yield keys
        return
    with_notes, without = exc.group_exceptions()
    for sub, note in with_notes:
        yield from _leaves(sub, (*keys, _camel(note.name)))
    if without:
        yield keys


def _drop(given: dict[str, Any], keys: tuple[str, ...]) -> bool:
    holder: Any = given
    for key in keys[:-1]:
        if not isinstance(holder, dict) or not isinstance(holder.get(key), Mapping):
            return False
        holder[key] = dict(holder[key])
        holder = holder[key]
    if keys and isinstance(holder, dict) and keys[-1] in holder:
        del holder[keys[-1]]
        return True
    return False


def _wrong_type(keys: tuple[str, ...], given: Mapping[str, Any], current: Mapping[str, Any]) -> str:
    """`Arc-Graph setting "checks.shape" must be true or false; got "yes": ignored (still true)`."""
    value: Any = given
    kept: Any = current
    for key in keys:
        value = value.get(key) if isinstance(value, Mapping) else None
        kept = kept.get(key) if isinstance(kept, Mapping) else None
    return (
        f'Arc-Graph setting "{".".join(keys)}" must be {_expected(keys)}; '
        f"got {_show(value)}: ignored (still {'unset' if kept is None else _show(kept)})"
    )


def _expected(keys: tuple[str, ...]) -> str:
    """In words, from the field's type (`a list of strings`, `true or false`, ...)."""
    cls: Any = Settings
    kind: Any = None
    for key in keys:
        fields = {_camel(f.name): f for f in attrs.fields(cls)} if attrs.has(cls) else {}
        if key not in fields:
            return "another value"
        kind = cls = fields[key].type
    return _type_words(kind)


def _type_words(kind: Any) -> str:
    if kind is bool:
        return "true or false"
    if kind is Seconds:
        return "a number of seconds greater than 0"
    if kind is SpecVersion:
        return _SPEC_WORDS
    if kind in (str, str | None):
        return "a string"
    if get_origin(kind) is tuple:
        return "a list of strings"
    if attrs.has(kind):
        return "an object"
    return "another value"


def _show(value: Any) -> str:
    text = json.dumps(value) if _jsonable(value) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
