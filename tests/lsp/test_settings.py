"""The server's settings: one shape (docs/clients.md), parsed in one place, wrong types said
in words and ignored, the old spellings read with a deprecation message."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from arcgraph.lsp.settings import Checks, Client, Registry, Seconds, Settings, parse
from arcgraph.lsp.workspace_index import WorkspaceIndex

from .conftest import IRIS_TRAINER as TRAINER  # a clean trainer spec
from .conftest import start_client, stop_client, uri_of


def missing_python(path: str) -> str:
    return f"torch checks are off: Python interpreter {path} not found; structure checks still run"


# -- parsing -----------------------------------------------------------------------------------
def test_the_spec_version_reaches_the_checks():
    """`arcgraph.spec: "1.0"`: the engine flags trainer spec v1.1 keys (AG265)."""
    parsed = parse({"arcgraph": {"spec": "1.0"}})
    assert (parsed.problems, parsed.settings.spec) == ([], "1.0")
    index = WorkspaceIndex(parsed.settings)
    assert index.engine.options.spec == "1.0"
    assert WorkspaceIndex().engine.options.spec == "1.1"


def test_the_vscode_client_options():
    """What the extension sends: its settings as one nested object, plus its own section's
    keys the server has no use for (ignored, said nothing)."""
    init = {
        "arcgraph": {
            "interpreter": "/venv/bin/python",
            "registry": {"folders": [], "include": ["**/*.model.yaml"]},
            "checks": {"shape": False},
            "torchTimeout": 30,
            "trace": {"server": "off"},
            "contributeSchemasToYamlExtension": False,
            "client": {"showsTrainResult": True, "trainProgressOnWorkDoneToken": True},
        }
    }
    parsed = parse(init)
    assert parsed.problems == []
    assert parsed.settings == Settings(
        interpreter="/venv/bin/python",
        checks=Checks(shape=False),
        torch_timeout=Seconds(30.0),
        registry=Registry(folders=(), include=("**/*.model.yaml",)),
        client=Client(shows_train_result=True),
    )
    rs = parsed.settings.registry_settings()
    assert (rs.folders, rs.include) == (["."], ["**/*.model.yaml"])  # no folders: every folder


def test_later_sources_apply_key_by_key():
    """A configuration answer over the initialization options: the keys it names change, the
    others stay; an empty interpreter names none (the earlier one holds)."""
    base = parse({"interpreter": "/venv/bin/python", "probes": False}).settings
    pushed = {
        "arcgraph": {
            "interpreter": "",
            "registry": {"folders": ["models"], "include": []},
            "checks": {"shape": False},
        }
    }
    parsed = base.merged(pushed)
    assert parsed.problems == []
    assert parsed.settings == Settings(
        interpreter="/venv/bin/python",
        probes=False,
        checks=Checks(shape=False),
        registry=Registry(folders=("models",), include=()),
    )
    assert parsed.settings.registry_settings().include == ["*.yaml", "*.yml"]
    # the flat form (Neovim's init_options) is the same as the wrapped one
    assert base.merged(pushed["arcgraph"]) == parsed
    assert parse(None) == parse({}) == parse({"arcgraph": {}})
    assert parse(None).settings == Settings() and parse(None).problems == []


@pytest.mark.parametrize(
    "given, problem",
    [
        (
            {"checks": {"shape": "no"}},
            'Arc-Graph setting "checks.shape" must be true or false; got "no": ignored (still true)',
        ),
        (
            {"checks": True},
            'Arc-Graph setting "checks" must be an object; got true: ignored (still {"shape": true})',
        ),
        (
            {"torchTimeout": "5"},
            'Arc-Graph setting "torchTimeout" must be a number of seconds greater than 0; '
            'got "5": ignored (still 20.0)',
        ),
        (
            {"torchTimeout": 0},
            'Arc-Graph setting "torchTimeout" must be a number of seconds greater than 0; '
            "got 0: ignored (still 20.0)",
        ),
        (
            {"torchTimeout": True},
            'Arc-Graph setting "torchTimeout" must be a number of seconds greater than 0; '
            "got true: ignored (still 20.0)",
        ),
        (
            {"spec": "2.0"},
            'Arc-Graph setting "spec" must be "1.0" or "1.1"; got "2.0": ignored (still "1.1")',
        ),
        (
            {"registry": {"folders": "models"}},
            'Arc-Graph setting "registry.folders" must be a list of strings; got "models": '
            "ignored (still [])",
        ),
        (
            {"registry": {"include": ["*.yaml", 3]}},
            'Arc-Graph setting "registry.include" must be a list of strings; got ["*.yaml", 3]: '
            "ignored (still [])",
        ),
        (
            {"interpreter": ["/usr/bin/python3"]},
            'Arc-Graph setting "interpreter" must be a string; got ["/usr/bin/python3"]: '
            "ignored (still unset)",
        ),
        (
            {"probes": 1},
            'Arc-Graph setting "probes" must be true or false; got 1: ignored (still true)',
        ),
        (
            {"client": {"showsTrainResult": "yes"}},
            'Arc-Graph setting "client.showsTrainResult" must be true or false; got "yes": '
            "ignored (still false)",
        ),
    ],
)
def test_a_wrong_type_is_said_and_ignored_the_rest_applies(given: dict, problem: str):
    parsed = parse({"arcgraph": {**given, "torch": False}})
    assert parsed.problems == [problem]
    assert parsed.settings == Settings(torch=False)


def test_several_wrong_types_each_said_once():
    parsed = parse({"checks": {"shape": 0}, "pullDiagnostics": "false", "torch": False})
    assert parsed.problems == [
        'Arc-Graph setting "checks.shape" must be true or false; got 0: ignored (still true)',
        'Arc-Graph setting "pullDiagnostics" must be true or false; got "false": '
        "ignored (still true)",
    ]
    assert parsed.settings == Settings(torch=False)


def test_settings_that_are_no_object():
    for given in (3, "x", [1], {"arcgraph": 3}):
        parsed = parse(given)
        assert parsed.settings == Settings()
        assert len(parsed.problems) == 1
        assert parsed.problems[0].startswith("Arc-Graph settings must be an object of keys; got ")


def test_the_old_spellings_are_read_with_a_deprecation_message():
    parsed = parse({"python": "/old/python", "shapeCheck": False})
    assert parsed.settings == Settings(interpreter="/old/python", checks=Checks(shape=False))
    assert parsed.problems == [
        'Arc-Graph setting "python" is deprecated: write "interpreter" instead (docs/clients.md)',
        'Arc-Graph setting "shapeCheck" is deprecated: write "checks.shape" instead '
        "(docs/clients.md)",
    ]
    # both spellings at once: today's wins
    both = parse(
        {"python": "/old", "interpreter": "/new", "shapeCheck": True, "checks": {"shape": False}}
    )
    assert (both.settings.interpreter, both.settings.checks.shape) == ("/new", False)


def test_torch_timeout_reaches_the_worker_without_a_new_one():
    assert Settings().torch_timeout == 20.0
    index = WorkspaceIndex()
    try:
        index.configure(parse({"torchTimeout": 2.5}).settings)
        worker = index.worker
        assert worker is not None and worker.timeout == 2.5
        # only the timeout changed: the same worker (no new process), a new limit
        assert index.reconfigure(parse({"torchTimeout": 7}).settings) is False
        assert index.worker is worker and worker.timeout == 7.0
    finally:
        index.shutdown()


# -- over stdio: said as window/logMessage, never a crash -----------------------------------------
def _warnings(client) -> list[str]:
    return [m.message for m in client.log_messages if m.type == types.MessageType.Warning]


async def test_wrong_types_in_initialization_options_are_logged(cache_dir: Path, workspace: Path):
    nopy = str(workspace / "no-such-python")
    options = {"arcgraph": {"interpreter": nopy, "checks": {"shape": "no"}, "probes": "off"}}
    c = await start_client(cache_dir, workspace, "neovim", options=options)
    try:
        uri = uri_of(workspace / "trainers" / "settings-init.trainer.yaml")
        c.open(uri, TRAINER)
        diags = await c.wait_for_diagnostics(uri, 1, lambda d: [x.code for x in d] == ["AG400"])
        assert diags[0].message == missing_python(nopy)  # the good key applied
        assert _warnings(c) == [
            'Arc-Graph setting "probes" must be true or false; got "off": ignored (still true)',
            'Arc-Graph setting "checks.shape" must be true or false; got "no": ignored (still true)',
        ]
    finally:
        await stop_client(c)


async def test_configuration_answers_with_old_and_wrong_keys(cache_dir: Path, workspace: Path):
    """workspace/configuration at `initialized`, then a pushed didChangeConfiguration: the old
    spelling applies with a deprecation message, a wrong type is said, the server goes on."""
    config = {"arcgraph": {"python": "/no/such/python", "registry": {"folders": "models"}}}
    c = await start_client(cache_dir, workspace, configuration=config)
    try:
        uri = uri_of(workspace / "trainers" / "settings-config.trainer.yaml")
        c.open(uri, TRAINER)
        diags = await c.wait_for_diagnostics(
            uri, 1, lambda d: [x.code for x in d] == ["AG400"] and "/no/such/" in d[0].message
        )
        assert diags[0].message == missing_python("/no/such/python")
        assert _warnings(c) == [
            'Arc-Graph setting "python" is deprecated: write "interpreter" instead '
            "(docs/clients.md)",
            'Arc-Graph setting "registry.folders" must be a list of strings; got "models": '
            "ignored (still [])",
        ]
        seen = c.count(uri)
        c.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(
                settings={"arcgraph": {"interpreter": "/other/python", "torchTimeout": "1"}}
            )
        )
        diags = await c.wait_for_diagnostics(
            uri, 1, lambda d: "/other/" in d[0].message if d else False, after=seen
        )
        assert diags[0].message == missing_python("/other/python")
        assert _warnings(c)[2:] == [
            'Arc-Graph setting "torchTimeout" must be a number of seconds greater than 0; '
            'got "1": ignored (still 20.0)',
        ]
    finally:
        await stop_client(c)
