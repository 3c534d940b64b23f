"""The model builder's exceptions: each names the node at fault so a user can fix the spec.

`TrainError` is defined here, not in the trainer, because the builder's errors are trainer
errors too (`arcgraph train` reports them as one line, exit 1) while the builder must not
import the trainer (the torch worker uses it with torch alone). `arcgraph.training.errors`
re-exports all three.
"""

from __future__ import annotations


class TrainError(Exception):
    """Base of every error the trainer reports to a user (CLI exit code 1)."""


class SpecBuildError(TrainError):
    """A model spec that cannot be turned into a torch module.

    `node` is the graph node at fault (None for spec-level problems); `module` is the
    `modules` entry whose inner graph holds that node, when it is not the main graph.
    """

    def __init__(self, node: str | None, message: str, *, module: str | None = None) -> None:
        self.node = node
        self.message = message
        self.module = module
        where = ""
        if node is not None:
            where = f"node '{node}'" + (f" in module '{module}'" if module else "") + ": "
        super().__init__(where + message)


class NodeRuntimeError(TrainError):
    """A torch exception raised by one node during forward, with the node that raised it.

    `node` is the node in the main graph; `path` the nested node names below it when the
    failure happened inside a `module.X` or `arc.stack` node; `message` is torch's message.
    `output` is set when the failure is a graph output's reference to an element of `node`'s
    result that does not exist (`outputs: {h: lstm.output.1.5}`).
    """

    def __init__(
        self, node: str, message: str, *, path: tuple[str, ...] = (), output: str | None = None
    ) -> None:
        self.node = node
        self.message = message
        self.path = path
        self.output = output
        where = f"output '{output}'" if output else "node '" + ".".join((node, *path)) + "'"
        super().__init__(f"{where}: {message}")
