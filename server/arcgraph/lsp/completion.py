"""Completion from the raw text's outline, so half-typed documents complete too.

Keys come from the schema at the cursor's key path (minus those present), or from the
catalog signature for `optimizer.params`, a node's `params` and `loss.params`. Values come
from the schema's enums, the registry (`model_ref`), the catalog (optimizer, node and loss
types) and the document itself (input names, `<node>.output`, output names).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from arcgraph.engine.callbacks_catalog import CALLBACKS
from arcgraph.engine.catalog import CallableInfo
from arcgraph.engine.kinds import SpecKind
from arcgraph.lsp import callback_docs, lr_schedulers, specpaths
from arcgraph.lsp.document import DocumentView, view_or_none
from arcgraph.lsp.feature import on
from arcgraph.lsp.outline import Cursor, Outline

if TYPE_CHECKING:
    from arcgraph.lsp.server import ArcGraphServer

TRIGGERS = [":", " ", "."]
_CONTAINER_TYPES = {"object", "array"}


class CompletionFeature:
    def __init__(self, server: ArcGraphServer) -> None:
        self.server = server

    def register(self, server: ArcGraphServer) -> None:
        on(
            server,
            types.TEXT_DOCUMENT_COMPLETION,
            self.complete,
            types.CompletionOptions(trigger_characters=TRIGGERS, resolve_provider=False),
        )

    def complete(self, params: types.CompletionParams) -> types.CompletionList:
        doc = view_or_none(self.server, params.text_document.uri)
        if doc is None:  # not open (or closed meanwhile): nothing, not an error
            return types.CompletionList(is_incomplete=False, items=[])
        o = doc.outline_at(params.position)
        c = o.cursor
        kind = doc.kind
        if c is None or kind == SpecKind.NONE:
            return types.CompletionList(is_incomplete=False, items=[])
        completer = _Completer(self.server, doc, kind, o, c)
        items = completer.items()
        return types.CompletionList(is_incomplete=completer.narrowed, items=items)


class _Completer:
    def __init__(
        self, server: ArcGraphServer, doc: DocumentView, kind: SpecKind, o: Outline, c: Cursor
    ) -> None:
        self.server = server
        self.doc = doc
        self.kind = kind
        self.o = o
        self.c = c
        self.catalog = server.index.catalog
        self.out: list[types.CompletionItem] = []
        self.seen: set[str] = set()
        # Long catalog lists are cut to the dotted namespace typed so far (`torch.nn.`);
        # the list is then incomplete: deleting back past a dot asks again.
        prefix = c.prefix
        self.namespace = prefix[: prefix.rfind(".") + 1] if "." in prefix else ""
        self.narrowed = False
        # Every item replaces the same word: one range for all (a catalog list is hundreds
        # of items; fewer objects per answer, fewer garbage collections in the server).
        self.word_range = doc.range(c.line, c.start, c.end)
        line = doc.lines[c.line] if c.line < len(doc.lines) else ""
        self.after_colon = c.start > 0 and line[c.start - 1] == ":"

    def in_namespace(self, name: str) -> bool:
        if not self.namespace or name.startswith(self.namespace):
            return True
        self.narrowed = True
        return False

    def items(self) -> list[types.CompletionItem]:
        c = self.c
        if c.on == "key":
            self.keys(c.path)
        elif c.on == "value":
            self.values(c.value_path)
        elif c.on == "item":  # a list item: a scalar, or the first key of a mapping item
            schema = specpaths.schema_at(self.kind, c.path)
            if schema is not None and "object" in specpaths.schema_types(self.kind, schema):
                self.keys(c.path)
            self.values(c.path)
        return self.out

    # -- building items --------------------------------------------------------------------
    def add(
        self,
        label: str,
        kind: types.CompletionItemKind,
        *,
        detail: str | None = None,
        doc: str | None = None,
        insert: str | None = None,
        rank: int = 5,
    ) -> None:
        if label in self.seen:
            return
        self.seen.add(label)
        text = insert if insert is not None else label
        if self.after_colon:
            text = " " + text  # `type:|` -> `type: torch.optim.Adam`
        self.out.append(
            types.CompletionItem(
                label=label,
                kind=kind,
                detail=detail,
                documentation=_markdown(doc) if doc else None,
                sort_text=f"{rank}{len(self.out):05d}",
                # no filterText: clients then match the label, and Neovim's omnifunc (0.7)
                # takes the word to complete from the edit's range, not from 'iskeyword'
                text_edit=types.TextEdit(self.word_range, text),
            )
        )

    # -- keys ------------------------------------------------------------------------------
    def keys(self, path: tuple[str, ...]) -> None:
        c = self.c
        present = set(self.o.keys_at(path))
        if c.key is not None and c.on == "key" and c.prefix:
            present.discard(c.key)  # being typed (at its first column it is an existing key)
        owner = specpaths.callable_for(self.o, path, self.catalog)
        if owner is not None and owner[0] is not None:
            self.param_keys(path, owner[0], owner[1], present)
        if self.kind == SpecKind.TRAINER:
            self.callback_param_keys(path, present)
        args, owner_name = specpaths.node_input_args(self.o, path, self.catalog)
        if args:
            node = specpaths.node_of(path)
            taken = present | set(self.o.keys_at((*node, "params"))) if node else present
            for p in args:
                if p.name in taken:
                    continue
                insert = p.name if c.has_colon else f"{p.name}: "
                self.add(
                    p.name,
                    types.CompletionItemKind.Variable,
                    detail=p.annotation or None,
                    doc=specpaths.param_markdown(p, owner_name),
                    insert=insert,
                    rank=0,
                )
        if specpaths.stack_params(self.o, path):
            for name, detail in (("module", "a module of `modules`"), ("count", "integer >= 1")):
                if name not in present:
                    insert = name if c.has_colon else f"{name}: "
                    self.add(name, types.CompletionItemKind.Field, detail=detail, insert=insert)
        schema = specpaths.schema_at(self.kind, path)
        if schema is None:
            return
        for name, sub in specpaths.properties(self.kind, schema).items():
            if name in present:
                continue
            types_ = specpaths.schema_types(self.kind, sub)
            default = sub.get("default")
            detail = f"default: {specpaths.yaml_scalar(default)}" if "default" in sub else None
            if detail is None and types_:
                detail = " | ".join(sorted(types_))
            self.add(
                name,
                types.CompletionItemKind.Property,
                detail=detail,
                doc=specpaths.schema_markdown(sub),
                insert=self.key_insert(name, types_, default, "default" in sub),
                rank=1,
            )

    def key_insert(self, name: str, types_: set[str], default: Any, has_default: bool) -> str:
        if self.c.has_colon:
            return name
        if types_ == {"object"}:
            return f"{name}:\n{' ' * (self.c.indent + 2)}"
        if types_ == {"array"} and name in ("graph", "callbacks"):
            return f"{name}:\n{' ' * (self.c.indent + 2)}- "
        if has_default:
            return f"{name}: {specpaths.yaml_scalar(default)}"
        return f"{name}: "

    def param_keys(
        self, path: tuple[str, ...], info: CallableInfo, owner: str, present: set[str]
    ) -> None:
        skip = set(present)
        if path == ("optimizer", "params"):
            skip |= {"params", "lr"}
        if lr_schedulers.is_params_path(path):
            skip.add("optimizer")  # the trainer's
        node = specpaths.node_of(path)
        if node is not None:
            skip |= set(self.o.keys_at((*node, "inputs")))
        for i, p in enumerate(info.params):
            if p.name in skip or not p.keyword:
                continue
            if info.kind == "function" and i == 0 and not p.has_default:
                continue  # the tensor argument comes from `inputs`
            detail = p.annotation or ""
            if p.has_default:
                detail = f"{detail} = {p.default_repr}".strip()
            insert = p.name if self.c.has_colon else f"{p.name}: "
            if p.has_default and not self.c.has_colon and p.default is not None:
                # the default as YAML (`[0.9, 0.999]`, `1.0e-08`), never Python's repr; a
                # default with no JSON form (None, `torch.float32`, inf) is left to the user
                insert = f"{p.name}: {specpaths.yaml_scalar(p.default)}"
            self.add(
                p.name,
                types.CompletionItemKind.Field,
                detail=detail or None,
                doc=specpaths.param_markdown(p, owner),
                insert=insert,
                rank=0,
            )

    def callback_param_keys(self, path: tuple[str, ...], present: set[str]) -> None:
        """callbacks.<i>.params: the callback's own params, each with its default as YAML."""
        info = callback_docs.callback_for_params(self.o, path)
        for p in info.params if info else ():
            if p.name in present:
                continue
            insert = p.name if self.c.has_colon else f"{p.name}: {specpaths.yaml_scalar(p.default)}"
            self.add(
                p.name,
                types.CompletionItemKind.Field,
                detail=f"{p.type} = {specpaths.yaml_scalar(p.default)}",
                doc=p.markdown(info.name) if info else None,
                insert=insert,
                rank=0,
            )

    # -- values ----------------------------------------------------------------------------
    def values(self, path: tuple[str, ...]) -> None:
        schema = specpaths.schema_at(self.kind, path)
        if schema is not None:
            for v in schema.get("enum", []):
                self.add(specpaths.yaml_scalar(v), types.CompletionItemKind.EnumMember, rank=0)
            if "boolean" in specpaths.schema_types(self.kind, schema):
                for v in ("true", "false"):
                    self.add(v, types.CompletionItemKind.Value, rank=0)
        if self.kind == SpecKind.TRAINER:
            self.trainer_values(path)
        else:
            self.model_values(path)

    def trainer_values(self, path: tuple[str, ...]) -> None:
        index = self.server.index
        if path == ("model_ref",):
            for mid in index.model_ids():
                where = index.model_path(mid)
                self.add(
                    mid,
                    types.CompletionItemKind.Reference,
                    detail=where.name if where else None,
                    rank=1,
                )
        elif callback_docs.is_type_path(path):
            for info in CALLBACKS.values():
                self.add(
                    info.name,
                    types.CompletionItemKind.Class,
                    detail=info.summary,
                    doc=info.markdown(),
                    rank=1,
                )
        elif lr_schedulers.is_type_path(path) and self.catalog is not None:
            for name, info in lr_schedulers.offered(self.catalog):
                if self.in_namespace(name):
                    self.add(
                        name,
                        types.CompletionItemKind.Class,
                        detail=info.signature,
                        doc=lr_schedulers.type_markdown(self.catalog, name),
                        rank=1,
                    )
        elif path == ("optimizer", "type") and self.catalog is not None:
            for name in self.catalog.optimizer_names():
                if not self.in_namespace(name):
                    continue
                info = self.catalog.optimizer(name)
                self.add(
                    name,
                    types.CompletionItemKind.Class,
                    detail=info.signature if info else None,
                    doc=info.summary if info else None,
                    rank=1,
                )
        elif path == ("config", "amp_backend"):
            # The only backend (the schema leaves the value open so that AG251 can say why
            # `apex` is refused).
            self.add(
                "native",
                types.CompletionItemKind.EnumMember,
                detail="torch.autocast + torch.amp.GradScaler",
                rank=0,
            )

    def model_values(self, path: tuple[str, ...]) -> None:
        cat = self.catalog
        node = specpaths.node_of(path)
        if node is not None and path == (*node, "type"):
            if cat is not None:
                for names, lookup, kind, rank in (
                    (cat.module_names(), cat.module, types.CompletionItemKind.Class, 2),
                    (cat.function_names(), cat.function, types.CompletionItemKind.Function, 3),
                ):
                    for name in names:
                        if not self.in_namespace(name):
                            continue
                        info = lookup(name)
                        self.add(
                            name,
                            kind,
                            detail=info.signature if info else None,
                            doc=info.summary if info else None,
                            rank=rank,
                        )
            for mod in self.o.keys_at(("modules",)):
                self.add(f"module.{mod}", types.CompletionItemKind.Module, rank=1)
            self.add(
                "arc.stack",
                types.CompletionItemKind.Keyword,
                detail="repeat a module: params {module, count}",
                rank=1,
            )
        elif node is not None and path == (*node, "params", "module"):
            if specpaths.stack_params(self.o, path[:-1]):
                for mod in self.o.keys_at(("modules",)):
                    self.add(mod, types.CompletionItemKind.Module, rank=1)
        elif node is not None and _in_node_inputs(path, node, self.c.on):
            self.references(specpaths.graph_of(node), exclude=self.o.value_of((*node, "name")))
        elif path == ("loss", "type") and cat is not None:
            for name in cat.loss_names():
                if not self.in_namespace(name):
                    continue
                loss = cat.loss(name)
                info = loss.function if loss is not None else None
                self.add(
                    name,
                    types.CompletionItemKind.Class
                    if info is not None and info.kind == "class"
                    else types.CompletionItemKind.Function,
                    detail=info.signature if info else None,
                    doc=info.summary if info else None,
                    rank=1,
                )
        elif path == ("loss", "inputs", "input"):
            for name in self.o.keys_at(("outputs",)):
                self.add(name, types.CompletionItemKind.Reference, detail="model output", rank=1)
        elif len(path) == 2 and path[0] == "outputs":
            self.references(("graph",), exclude=None, inputs=False)
        elif len(path) == 4 and path[0] == "modules" and path[2] == "outputs":
            self.references(("modules", path[1], "graph"), exclude=None, inputs=False)

    def references(
        self, graph: tuple[str, ...], exclude: str | None, *, inputs: bool = True
    ) -> None:
        if inputs:
            if graph == ("graph",):
                names = self.o.keys_at(("inputs",))
            else:  # a module's graph: the module's input names
                names = [e.value for e in self.o.values_in((*graph[:-1], "inputs"))]
            for name in names:
                self.add(name, types.CompletionItemKind.Variable, detail="model input", rank=1)
        for idx in self.o.items_at(graph):
            name = self.o.value_of((*graph, idx, "name"))
            if name and name != exclude:
                ntype = self.o.value_of((*graph, idx, "type"))
                self.add(
                    f"{name}.output",
                    types.CompletionItemKind.Reference,
                    detail=ntype or "node output",
                    rank=2,
                )


@lru_cache(maxsize=4096)
def _markdown(text: str) -> types.MarkupContent:
    """Item docs (catalog summaries: the same few hundred texts on every request), made once
    and shared by the answers, which only serialize them."""
    return types.MarkupContent(types.MarkupKind.Markdown, text)


def _in_node_inputs(path: tuple[str, ...], node: tuple[str, ...], on: str) -> bool:
    """A value bound to a node input: `inputs: {input: |}`, `inputs: [|]`, `inputs: |`."""
    if len(path) == len(node) + 2 and path[len(node)] == "inputs":
        return True
    return path == (*node, "inputs") and on == "value"
