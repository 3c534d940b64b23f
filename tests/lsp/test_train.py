"""The Train action end to end: real server, real trainer subprocess, real data."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from .conftest import RecordingClient, start_client, stop_client, uri_of

pytest.importorskip("torch")
pytestmark = pytest.mark.asyncio(loop_scope="module")

IRIS_TRAINER = """\
model_ref: iris-classifier-v1
optimizer:
  type: torch.optim.Adam
  lr: 0.05
config:
  epochs: {epochs}
  batch_size: 16
  validation_split: 0.2
  shuffle: true
  seed: 3
  verbose: false
"""


def _trainer(workspace: Path, name: str, epochs: int) -> Path:
    path = workspace / "trainers" / f"{name}.trainer.yaml"
    path.write_text(IRIS_TRAINER.format(epochs=epochs))
    return path


def _reports(client: RecordingClient) -> list:
    return [v for values in client.progress_reports.values() for v in values]


async def test_train_reports_progress_and_ends_with_the_run(cache_dir: Path, workspace: Path):
    trainer = _trainer(workspace, "lsp-iris", epochs=3)
    client = await start_client(cache_dir, workspace)
    try:
        result = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(
                command="arcgraph.train",
                arguments=[
                    {"trainer": uri_of(trainer), "data": str(workspace / "data" / "iris.csv")}
                ],
            )
        )
        values = _reports(client)
        assert isinstance(values[0], types.WorkDoneProgressBegin)
        assert values[0].title == "Training lsp-iris.trainer.yaml" and values[0].cancellable
        epochs = [
            v.message
            for v in values
            if isinstance(v, types.WorkDoneProgressReport)
            and (v.message or "").startswith("epoch ")
        ]
        assert [m.split("  ")[0] for m in epochs] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
        assert "train_loss" in epochs[0] and "val_accuracy" in epochs[0]
        assert [v.percentage for v in values if isinstance(v, types.WorkDoneProgressReport)][
            -1
        ] == 100
        assert isinstance(values[-1], types.WorkDoneProgressEnd)
        run_dir = Path(result["run_dir"])
        assert result["status"] == "completed" and run_dir.is_dir()
        assert run_dir.parent.parent == workspace / "runs"
        assert (run_dir / "summary.json").exists() and (run_dir / "loss.png").exists()
        shown = client.messages[-1]
        assert shown.type == types.MessageType.Info
        assert shown.message.startswith("Training completed; best val_loss ")
        assert shown.message.endswith(f"run: {run_dir}")
        assert any("arcgraph: " in m.message for m in client.log_messages)
    finally:
        await stop_client(client)


async def test_without_data_the_server_offers_the_workspace_tables(
    cache_dir: Path, workspace: Path
):
    trainer = _trainer(workspace, "lsp-ask", epochs=1)
    client = await start_client(cache_dir, workspace)
    client.answer_message_request = lambda p: next(
        a for a in p.actions if a.title == "data/iris.csv"
    )
    try:
        result = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(
                command="arcgraph.train", arguments=[{"trainer": uri_of(trainer)}]
            )
        )
        asked = client.message_requests[0]
        assert asked.message == "Train lsp-ask.trainer.yaml on which data table?"
        assert [a.title for a in asked.actions] == [
            "data/breast_cancer.csv",
            "data/diabetes.csv",
            "data/iris.csv",
        ]
        assert result["status"] == "completed"
    finally:
        await stop_client(client)


async def test_cancel_checkpoints_and_stops_and_a_second_run_is_refused(
    cache_dir: Path, workspace: Path
):
    trainer = _trainer(workspace, "lsp-long", epochs=2000)
    client = await start_client(cache_dir, workspace)
    try:
        params = types.ExecuteCommandParams(
            command="arcgraph.train",
            arguments=[{"trainer": uri_of(trainer), "data": str(workspace / "data" / "iris.csv")}],
        )
        task = asyncio.ensure_future(client.workspace_execute_command_async(params))
        await client.wait_for(
            lambda: any(
                isinstance(v, types.WorkDoneProgressReport)
                and (v.message or "").startswith("epoch 2/")
                for v in _reports(client)
            ),
            timeout=60,
            what="two epochs",
        )
        second = await client.workspace_execute_command_async(params)
        assert second == {
            "status": "refused",
            "error": "lsp-long.trainer.yaml is already training; cancel that run first",
        }
        token = next(iter(client.progress_reports))
        client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
        result = await asyncio.wait_for(task, 60)
        assert result["status"] == "interrupted" and result["exit_code"] == 130
        run_dir = Path(result["run_dir"])
        assert list((run_dir / "checkpoints").glob("*.pt"))
        assert client.messages[-1].message.startswith("Training stopped: ")
    finally:
        await stop_client(client)


async def test_cancelling_the_request_stops_the_run(cache_dir: Path, workspace: Path):
    """`$/cancelRequest` of the Train command is the progress' Cancel: the trainer checkpoints
    and stops, and the next Train of the same trainer runs (not "already training")."""
    trainer = _trainer(workspace, "lsp-cancel-request", epochs=2000)
    client = await start_client(cache_dir, workspace, "neovim@v0.7.0")
    try:
        args = {"trainer": uri_of(trainer), "data": str(workspace / "data" / "iris.csv")}
        params = types.ExecuteCommandParams(command="arcgraph.train", arguments=[args])
        request = asyncio.wrap_future(
            client.protocol.send_request(
                types.WORKSPACE_EXECUTE_COMMAND, params, msg_id="train-to-cancel"
            )
        )
        await client.wait_for(
            lambda: any(
                isinstance(v, types.WorkDoneProgressReport)
                and (v.message or "").startswith("epoch 2/")
                for v in _reports(client)
            ),
            timeout=60,
            what="two epochs",
        )
        client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="train-to-cancel"))
        with pytest.raises(JsonRpcException) as answer:
            await asyncio.wait_for(request, 30)
        assert answer.value.code == -32800  # RequestCancelled
        await client.wait_for(
            lambda: any(isinstance(v, types.WorkDoneProgressEnd) for v in _reports(client)),
            timeout=60,
            what="the run to stop",
        )
        # the show-message may come after the progress' end: wait for it, not for the order
        (stopped,) = await client.wait_for(
            lambda: [m for m in client.messages if m.message.startswith("Training stopped: ")],
            timeout=30,
            what="the message saying the run stopped",
        )
        assert stopped.type == types.MessageType.Warning
        start = next(
            v.message
            for v in _reports(client)
            if isinstance(v, types.WorkDoneProgressReport) and " run " in (v.message or "")
        )
        run_dir = Path(start.split(": run ", 1)[1])
        assert list((run_dir / "checkpoints").glob("*.pt"))
        _trainer(workspace, "lsp-cancel-request", epochs=1)
        again = await client.workspace_execute_command_async(params)
        assert again["status"] == "completed"
    finally:
        await stop_client(client)


async def test_a_crashed_trainer_is_reported(cache_dir: Path, workspace: Path, tmp_path: Path):
    fake = tmp_path / "python"
    fake.write_text(
        "#!/bin/sh\n"
        'echo \'{"event": "start", "epochs": 5, "run_dir": "/tmp/r", "model_id": "m", "device": "cpu"}\'\n'
        "echo 'Segmentation fault (core dumped)' >&2\nexit 139\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    trainer = _trainer(workspace, "lsp-crash", epochs=1)
    client = await start_client(
        cache_dir, workspace, options={"interpreter": str(fake), "torch": False}
    )
    try:
        result = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(
                command="arcgraph.train",
                arguments=[
                    {"trainer": uri_of(trainer), "data": str(workspace / "data" / "iris.csv")}
                ],
            )
        )
        assert result["status"] == "crashed" and result["exit_code"] == 139
        assert client.messages[-1].type == types.MessageType.Error
        assert client.messages[-1].message == (
            "The trainer crashed (exit code 139):\nSegmentation fault (core dumped)\n"
            "Its last checkpoint is in /tmp/r (resume with --resume)."
        )
    finally:
        await stop_client(client)


async def test_bad_data_is_reported_with_the_trainers_words(
    cache_dir: Path, workspace: Path, tmp_path: Path
):
    bad = tmp_path / "bad.csv"
    bad.write_text("sepal_length,sepal_width,petal_length,petal_width,species\n1,2,x,4,setosa\n")
    trainer = _trainer(workspace, "lsp-bad", epochs=1)
    client = await start_client(cache_dir, workspace)
    try:
        result = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(
                command="arcgraph.train", arguments=[{"trainer": uri_of(trainer), "data": str(bad)}]
            )
        )
        assert result["status"] == "error" and result["exit_code"] == 1
        assert "petal_length" in result["error"]
        assert client.messages[-1].type == types.MessageType.Error
    finally:
        await stop_client(client)


async def test_code_lens_on_model_ref(client: RecordingClient, workspace: Path):
    path = workspace / "trainers" / "iris.trainer.yaml"
    uri = uri_of(path)
    client.open(uri, path.read_text())
    lenses = await client.text_document_code_lens_async(
        types.CodeLensParams(types.TextDocumentIdentifier(uri))
    )
    line = next(
        i for i, ln in enumerate(path.read_text().splitlines()) if ln.startswith("model_ref")
    )
    assert [
        (lens.range.start.line, lens.command.title, lens.command.command) for lens in lenses
    ] == [(line, "▶ Train", "arcgraph.train")]
    assert (
        json.loads(json.dumps(lens.command.arguments)) == [{"trainer": uri}]
        if (lens := lenses[0])
        else False
    )


async def test_a_client_that_shows_the_result_gets_no_second_message(
    cache_dir: Path, workspace: Path
):
    trainer = _trainer(workspace, "lsp-quiet", epochs=1)
    options = {"probes": False, "arcgraph": {"client": {"showsTrainResult": True}}}
    client = await start_client(cache_dir, workspace, options=options)
    try:
        result = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(
                command="arcgraph.train",
                arguments=[
                    {"trainer": uri_of(trainer), "data": str(workspace / "data" / "iris.csv")}
                ],
            )
        )
        assert result["status"] == "completed"
        assert client.messages == []
        assert any(m.message.startswith("Training completed; ") for m in client.log_messages)
    finally:
        await stop_client(client)
