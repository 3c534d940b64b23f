"""The Train action: `arcgraph.train` runs the bundled trainer and shows its progress.

The trainer runs as a subprocess (`python -m arcgraph train --events -`) in the configured
interpreter, so the server never imports torch and a crash of the trainer is only a message.
Its JSON event stream becomes `window/workDoneProgress` (epoch n/N, losses; cancellable:
cancel sends the trainer SIGINT, which finishes the step, saves a checkpoint and stops), its
log lines `window/logMessage`, and its end a `window/showMessage` naming the run directory and
the best metric. Entry points: the command, a code lens on `model_ref`, a source action.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from arcgraph.engine.datafiles import is_data_file
from arcgraph.engine.kinds import SpecKind, detect_kind
from arcgraph.engine.registry import DEFAULT_EXCLUDE, walk_files, workspace_root_for
from arcgraph.engine.source import YMap, parse_yaml
from arcgraph.lsp import convert, shape_lens
from arcgraph.lsp.feature import on

if TYPE_CHECKING:
    from arcgraph.lsp.server import ArcGraphServer

log = logging.getLogger(__name__)

COMMAND = "arcgraph.train"
MAX_DATA_CHOICES = 6


@dataclass
class Run:
    """One training subprocess and what its events said."""

    trainer: Path
    process: asyncio.subprocess.Process | None = None
    epochs: int = 0
    run_dir: str | None = None
    summary: dict[str, Any] | None = None
    error: str | None = None
    stderr_tail: list[str] = field(default_factory=list)
    cancelled: bool = False


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def epoch_message(event: dict[str, Any], epochs: int) -> str:
    """`epoch 3/30  train_loss 0.21  val_loss 0.25  val_accuracy 0.95`."""
    metrics = "  ".join(
        f"{k} {_fmt(v)}" for k, v in event.items() if k not in ("event", "epoch", "duration_s")
    )
    return f"epoch {event.get('epoch')}/{epochs}  {metrics}".rstrip()


def end_message(summary: dict[str, Any]) -> str:
    status = summary.get("status", "finished")
    best = summary.get("best_metric")
    monitor = summary.get("monitor", "metric")
    where = summary.get("run_dir", "")
    best_text = (
        f"best {monitor} {_fmt(best)} at epoch {summary.get('best_epoch')}"
        if best is not None
        else ""
    )
    parts = [f"Training {status.replace('_', ' ')}", best_text, f"run: {where}"]
    return "; ".join(p for p in parts if p)


def data_candidates(
    trainer: Path, exclude: Iterable[str] = DEFAULT_EXCLUDE, limit: int = MAX_DATA_CHOICES
) -> list[Path]:
    """Data tables in the trainer's workspace, nearest folders first. Blocking (a walk of the
    workspace): run it off the event loop. Walks as the registry does: `exclude` and hidden
    folders (`.venv`, `node_modules`, `runs`, ...) are never entered."""
    root = workspace_root_for(trainer)
    found = [p for p in walk_files(root, exclude) if is_data_file(p) and p.is_file()]
    found.sort(key=lambda p: (len(p.relative_to(root).parts), str(p)))
    return found[:limit]


class TrainFeature:
    def __init__(self, server: ArcGraphServer) -> None:
        self.server = server
        self.runs: dict[Path, Run] = {}

    def register(self, server: ArcGraphServer) -> None:
        @server.command(COMMAND)
        async def train(ls: Any, *args: Any) -> dict[str, Any]:
            request_id = server.protocol.msg_id  # its `$/cancelRequest` stops the run
            try:
                return await self.train(args[0] if args else None, request_id)
            except Exception as exc:  # never let a failure reach the client as a crash
                log.exception("arcgraph.train failed")
                self._show(types.MessageType.Error, f"Training could not start: {exc}")
                return {"status": "error", "error": str(exc)}

        on(server, types.TEXT_DOCUMENT_CODE_LENS, self.code_lens)

    # -- entry points ------------------------------------------------------------------------
    def code_lens(self, params: types.CodeLensParams) -> list[types.CodeLens]:
        """`▶ Train` above `model_ref` in a trainer spec; a model spec's totals on `graph:`."""
        if params.text_document.uri not in self.server.workspace.text_documents:
            return []  # not open (or closed meanwhile): nothing, not an error
        doc = self.server.workspace.get_text_document(params.text_document.uri)
        path = convert.uri_to_path(doc.uri) or Path(doc.uri)
        parsed = parse_yaml(doc.source)
        kind = detect_kind(path, parsed.root, doc.source)
        if kind == SpecKind.MODEL:  # the totals on `graph:` (lsp/shape_lens.py)
            return shape_lens.code_lenses(self.server, path, parsed.root)
        if kind != SpecKind.TRAINER:
            return []
        key = parsed.root.key_node("model_ref") if isinstance(parsed.root, YMap) else None
        line = key.span.start_line if key is not None else 0
        running = path.resolve() in self.runs
        title = "$(loading~spin) Training…" if running else "▶ Train"
        return [
            types.CodeLens(
                range=types.Range(types.Position(line, 0), types.Position(line, 0)),
                command=types.Command(
                    title=title, command=COMMAND, arguments=[{"trainer": doc.uri}]
                ),
            )
        ]

    @staticmethod
    def code_action(uri: str, text: str) -> types.CodeAction | None:
        """A source action on trainer specs (the code actions feature offers it)."""
        path = convert.uri_to_path(uri) or Path(uri)
        parsed = parse_yaml(text)
        if detect_kind(path, parsed.root, text) != SpecKind.TRAINER:
            return None
        return types.CodeAction(
            title="Train this model (arcgraph)",
            kind=types.CodeActionKind.Source + ".arcgraph.train",
            command=types.Command(title="Train", command=COMMAND, arguments=[{"trainer": uri}]),
        )

    # -- the command -------------------------------------------------------------------------
    async def train(self, arg: Any, request_id: Any = None) -> dict[str, Any]:
        arg = arg if isinstance(arg, dict) else {}
        trainer_uri = arg.get("trainer") or arg.get("uri")
        trainer = convert.uri_to_path(trainer_uri) if isinstance(trainer_uri, str) else None
        if trainer is None or not trainer.exists():
            return self._refuse(
                f"arcgraph.train needs the URI of a saved trainer spec; got {trainer_uri!r}"
            )
        trainer = trainer.resolve()
        if trainer in self.runs:
            return self._refuse(f"{trainer.name} is already training; cancel that run first")
        run = Run(trainer)
        # cancelling the request is the progress' Cancel: the trainer checkpoints and stops
        # (pygls only drops the answer; the run would go on and block the next Train)
        on_cancel = getattr(self.server.protocol, "on_cancel", None)
        if on_cancel is not None:
            on_cancel(request_id, lambda: self._cancel(run))
        data = arg.get("data")
        if not data:
            data = await self._ask_for_data(trainer)
            if data is None:
                return {"status": "refused", "error": "no data file"}
        data_path = Path(data)
        if not data_path.is_absolute():
            data_path = (trainer.parent / data_path).resolve()
        if run.cancelled:  # while the data table was asked for
            return {"status": "cancelled", "error": "the request was cancelled"}
        self.runs[trainer] = run
        try:
            overrides = arg.get("overrides")
            if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
                overrides = []  # `--set KEY=VALUE` texts (the client's "run on the CPU")
            processes = arg.get("processes")  # the Train flow's process count (default 1)
            if not isinstance(processes, int) or isinstance(processes, bool) or processes < 1:
                processes = 1
            return await self._run(
                run, data_path, arg.get("target"), arg.get("model"), overrides, processes
            )
        finally:
            self.runs.pop(trainer, None)
            self.server.refresh_code_lenses()

    def _refuse(self, message: str) -> dict[str, Any]:
        self._show(types.MessageType.Warning, message)
        return {"status": "refused", "error": message}

    async def data_choices(self, trainer: Path) -> list[Path]:
        """The data tables to offer, found on the scan lane: a workspace walk (with a `.venv`
        in it, once 0.4 s) must not hold the event loop, and the lane keeps file system walks
        one at a time."""
        registry = self.server.index.registry
        exclude = list(registry.settings.exclude if registry is not None else DEFAULT_EXCLUDE)
        walk = self.server.index.scan_lane.submit(data_candidates, trainer, exclude)
        return await asyncio.wrap_future(walk)

    async def _ask_for_data(self, trainer: Path) -> str | None:
        """No data path given: offer the tables found in the workspace, or say what is missing."""
        choices = await self.data_choices(trainer)
        if not choices:
            self._show(
                types.MessageType.Error,
                f"To train {trainer.name}, pass a data table (CSV or Parquet): no .csv/.parquet "
                "file was found in the workspace",
            )
            return None
        root = workspace_root_for(trainer)
        names = {str(p.relative_to(root)): p for p in choices}
        try:
            picked = await self.server.window_show_message_request_async(
                types.ShowMessageRequestParams(
                    type=types.MessageType.Info,
                    message=f"Train {trainer.name} on which data table?",
                    actions=[types.MessageActionItem(title=n) for n in names],
                )
            )
        except Exception:  # a client without showMessageRequest
            picked = None
        if picked is None:
            self._show(
                types.MessageType.Warning,
                f"Training {trainer.name} needs a data table; none was chosen",
            )
            return None
        return str(names[picked.title])

    def _interpreter(self) -> str:
        return self.server.index.settings.interpreter or sys.executable

    async def _run(
        self,
        run: Run,
        data: Path,
        target: Any,
        model: Any,
        overrides: list[str],
        processes: int = 1,
    ) -> dict[str, Any]:
        from arcgraph.worker.client import child_env

        out = workspace_root_for(run.trainer) / "runs"
        cmd = [
            self._interpreter(),
            "-m",
            "arcgraph",
            "train",
            "--trainer",
            str(run.trainer),
            "--data",
            str(data),
            "--out",
            str(out),
            "--events",
            "-",
            "--quiet",
        ]
        if isinstance(target, str) and target:
            cmd += ["--target", target]
        if isinstance(model, str) and model:
            cmd += ["--model", model]
        for override in overrides:
            cmd += ["--set", override]
        if processes > 1:  # torchrun's W processes; the spec's world_size otherwise
            cmd += ["--nproc-per-node", str(processes)]
        self._log(f"arcgraph: {' '.join(cmd)}")
        token = await self._begin_progress(run)
        try:
            run.process = await asyncio.create_subprocess_exec(
                *cmd,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=child_env(),
                start_new_session=True,
            )
        except OSError as exc:
            self._end_progress(token, "could not start")
            return self._refuse(f"could not start the trainer with {cmd[0]}: {exc}")
        if run.cancelled:  # cancelled while the process started
            self._cancel(run)
        if token is not None:
            self._watch_cancel(token, run)
        await asyncio.gather(self._read_events(run, token), self._read_log(run))
        code = await run.process.wait()
        return self._finish(run, token, code)

    async def _begin_progress(self, run: Run) -> str | None:
        caps = self.server.client_capabilities.window
        if caps is None or not caps.work_done_progress:
            return None
        token = f"arcgraph-train-{uuid.uuid4().hex[:12]}"
        try:
            await self.server.work_done_progress.create_async(token)
        except Exception:
            log.exception("window/workDoneProgress/create failed")
            return None
        self.server.work_done_progress.begin(
            token,
            types.WorkDoneProgressBegin(
                title=f"Training {run.trainer.name}",
                cancellable=True,
                message="starting",
                percentage=0,
            ),
        )
        return token

    def _watch_cancel(self, token: str, run: Run) -> None:
        future = self.server.work_done_progress.tokens.get(token)
        if future is None:
            return

        def cancelled(f: Any) -> None:
            if f.cancelled():
                self._cancel(run)

        future.add_done_callback(cancelled)

    def _cancel(self, run: Run) -> None:
        """The progress' Cancel or `$/cancelRequest`: SIGINT, on which the trainer finishes
        the step, saves a checkpoint and stops (before the process exists: it never starts)."""
        run.cancelled = True
        if run.process is not None and run.process.returncode is None:
            self._log(
                f"arcgraph: cancelling {run.trainer.name}: asking the trainer to checkpoint and stop"
            )
            with contextlib.suppress(ProcessLookupError):
                run.process.send_signal(signal.SIGINT)

    def _report(self, token: str | None, message: str, percentage: int | None = None) -> None:
        if token is not None:
            self.server.work_done_progress.report(
                token, types.WorkDoneProgressReport(message=message, percentage=percentage)
            )

    def _end_progress(self, token: str | None, message: str) -> None:
        if token is not None:
            self.server.work_done_progress.end(token, types.WorkDoneProgressEnd(message=message))

    async def _read_events(self, run: Run, token: str | None) -> None:
        assert run.process is not None and run.process.stdout is not None
        async for raw in run.process.stdout:
            try:
                event = json.loads(raw)
            except ValueError:
                self._log(raw.decode("utf-8", "replace").rstrip())
                continue
            kind = event.get("event")
            if kind == "start":
                run.epochs = int(event.get("epochs") or 0)
                run.run_dir = event.get("run_dir")
                self._report(
                    token, f"{event.get('model_id')} on {event.get('device')}: run {run.run_dir}", 0
                )
            elif kind == "epoch":
                pct = int(100 * int(event.get("epoch", 0)) / run.epochs) if run.epochs else None
                self._report(token, epoch_message(event, run.epochs), pct)
            elif kind == "early_stop":
                self._log(f"arcgraph: early stop: {json.dumps(event)}")
            elif kind == "end":
                run.summary = event.get("summary") or {}
            elif kind == "error":
                run.error = str(event.get("message"))
            elif kind in ("info", "checkpoint"):
                self._log(f"arcgraph: {kind}: {event.get('message') or event.get('path')}")

    async def _read_log(self, run: Run) -> None:
        assert run.process is not None and run.process.stderr is not None
        async for raw in run.process.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                run.stderr_tail = [*run.stderr_tail, line][-20:]
                self._log(line)

    def _finish(self, run: Run, token: str | None, code: int) -> dict[str, Any]:
        if run.summary is not None and code == 0:
            message = end_message(run.summary)
            self._end_progress(token, message)
            self._show(types.MessageType.Info, message)
            return {"status": run.summary.get("status", "finished"), **run.summary}
        if run.error is not None:  # the trainer stopped and said why (bad data, interrupt, ...)
            message = f"Training stopped: {run.error}"
            if run.run_dir:
                message += f" (run: {run.run_dir})"
            self._end_progress(token, "stopped")
            self._show(
                types.MessageType.Warning if run.cancelled else types.MessageType.Error, message
            )
            status = "interrupted" if run.cancelled else "error"
            return {"status": status, "error": run.error, "run_dir": run.run_dir, "exit_code": code}
        tail = "\n".join(run.stderr_tail[-5:])
        message = f"The trainer crashed (exit code {code})" + (f":\n{tail}" if tail else "")
        if run.run_dir:
            message += f"\nIts last checkpoint is in {run.run_dir} (resume with --resume)."
        self._end_progress(token, "crashed")
        self._show(types.MessageType.Error, message)
        return {"status": "crashed", "exit_code": code, "run_dir": run.run_dir, "error": message}

    def _client_shows_result(self) -> bool:
        """A client that shows the command's result itself (the VS Code extension says so in
        `initializationOptions.arcgraph.client.showsTrainResult`) gets no second message."""
        return self.server.index.settings.client.shows_train_result

    def _show(self, kind: types.MessageType, message: str) -> None:
        if self._client_shows_result():
            self._log(message)
            return
        self.server.window_show_message(types.ShowMessageParams(type=kind, message=message))

    def _log(self, message: str) -> None:
        self.server.window_log_message(
            types.LogMessageParams(type=types.MessageType.Log, message=message)
        )
