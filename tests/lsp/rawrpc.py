"""A bare JSON-RPC client over the server's stdio, for what pytest-lsp's typed client cannot
send (positions that are no LSP `uinteger`, requests before `initialize`) and to read the
server's whole stderr once it has exited."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
from pathlib import Path
from typing import Any

from .conftest import SERVER_DIR


def _answer(request: dict[str, Any]) -> Any:
    """What a client with no settings answers to the server's requests."""
    if request["method"] == "workspace/configuration":
        return [None for _ in request["params"]["items"]]
    return None


class RawServer:
    """`arcgraph lsp` as a subprocess; `request` answers the server's response message."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.ids = itertools.count(1)
        self.waiting: dict[Any, asyncio.Future[dict[str, Any]]] = {}
        self.notifications: list[dict[str, Any]] = []
        self.stderr = bytearray()
        self.bodies: dict[Any, bytes] = {}  # each response's body as it came, by id
        self.tasks = [
            asyncio.ensure_future(self._read_stdout()),
            asyncio.ensure_future(self._read_stderr()),
        ]

    @classmethod
    async def start(cls, cache_dir: Path) -> RawServer:
        env = dict(os.environ)
        env["ARCGRAPH_CACHE_DIR"] = str(cache_dir)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(SERVER_DIR), env.get("PYTHONPATH", "")) if p
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "arcgraph",
            "lsp",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        return cls(process)

    async def _read_stdout(self) -> None:
        out = self.process.stdout
        assert out is not None
        while True:
            length = 0
            while True:
                line = await out.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            body = await out.readexactly(length)
            message = json.loads(body)
            if "method" in message:
                self.notifications.append(message)
                if "id" in message:  # a request of the server's: answer it plainly
                    self._write({"jsonrpc": "2.0", "id": message["id"], "result": _answer(message)})
                continue
            self.bodies[message.get("id")] = body
            future = self.waiting.pop(message.get("id"), None)
            if future is not None and not future.done():
                future.set_result(message)

    async def _read_stderr(self) -> None:
        err = self.process.stderr
        assert err is not None
        while chunk := await err.read(4096):
            self.stderr += chunk

    def _write(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode()
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def notify(self, method: str, params: Any = None) -> None:
        self._write({"jsonrpc": "2.0", "method": method, "params": params})

    async def request(self, method: str, params: Any = None, timeout: float = 30) -> dict:
        """The response message (`result` or `error`); AssertionError when none comes."""
        msg_id = next(self.ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiting[msg_id] = future
        self._write({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        try:
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"no answer to {method} {json.dumps(params)}") from None

    async def initialize(
        self, capabilities: dict[str, Any], root: Path, options: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        answer = await self.request(
            "initialize",
            {
                "processId": None,
                "rootUri": root.resolve().as_uri(),
                "capabilities": capabilities,
                "workspaceFolders": [{"uri": root.resolve().as_uri(), "name": "ws"}],
                "initializationOptions": {"probes": False} if options is None else options,
            },
        )
        self.notify("initialized", {})
        return answer

    async def stop(self) -> str:
        """Shut down and exit; the server's whole stderr."""
        if self.process.returncode is None:
            await self.request("shutdown")
            self.notify("exit")
            await asyncio.wait_for(self.process.wait(), 30)
        await asyncio.wait_for(asyncio.gather(*self.tasks), 30)
        return self.stderr.decode("utf-8", "replace")

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        for t in self.tasks:
            t.cancel()
