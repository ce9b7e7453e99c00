"""A throwaway Chroma server for tests: ``chroma run --path TMPDIR --port FREE_PORT`` (the
``chroma`` executable next to this interpreter), ready once its heartbeat answers, then
stopped (terminate, then kill) and its folder removed.

``ChromaServer`` is a context manager; ``chroma_server`` is a module-scoped fixture, imported
by a test module with ``from chroma_server import chroma_server  # noqa: F401``.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

START_DEADLINE_S = 60.0  # a server not answering by then fails the test, with its log
POLL_S = 0.05  # between two heartbeats the server process is waited on for this long


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chroma_executable() -> Path:
    """``chroma`` in this interpreter's ``bin`` folder (the venv's, not the one on PATH)."""
    exe = Path(sys.executable).with_name("chroma")
    if not exe.exists():
        raise RuntimeError(f"no chroma executable next to {sys.executable} (chromadb installs it)")
    return exe


def client(port: int):  # noqa: ANN201 - a chromadb client
    """A client with the settings modellake's index uses (Chroma refuses two clients of one
    server with different settings in a process)."""
    import chromadb
    from chromadb.config import Settings

    return chromadb.HttpClient(host="127.0.0.1", port=port, settings=Settings(anonymized_telemetry=False))


class ChromaServer:
    """One running server on 127.0.0.1, its data in a new folder (under ``parent`` if
    given); ``url`` is what ``--index`` takes."""

    def __init__(self, parent: Path | None = None) -> None:
        if parent is not None:
            parent.mkdir(parents=True, exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(prefix="modellake-chroma-", dir=parent))
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = open(self.dir / "log", "wb")  # noqa: SIM115 - closed by stop()
        self.proc = subprocess.Popen(
            [str(chroma_executable()), "run", "--path", str(self.dir / "db"), "--host", "127.0.0.1",
             "--port", str(self.port)], stdout=self._log, stderr=subprocess.STDOUT)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        """Poll the heartbeat until it answers; between tries, wait on the process (a server
        that exits, e.g. on a port taken meanwhile, fails at once with its log)."""
        deadline = time.monotonic() + START_DEADLINE_S
        while True:
            try:
                client(self.port).heartbeat()
                return
            except Exception as exc:  # noqa: BLE001 - not listening yet
                last = exc
            try:
                code = self.proc.wait(timeout=POLL_S)
            except subprocess.TimeoutExpired:
                code = None
            if code is not None or time.monotonic() > deadline:
                log = (self.dir / "log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"chroma run did not come up on port {self.port} "
                                   f"(exit {code}, last error {last}): {log}")

    def stop(self) -> None:
        """Terminate the server (kill it if it lingers) and remove its folder."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> ChromaServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture(scope="module")
def chroma_server():
    """A Chroma server for the test module."""
    server = ChromaServer()
    try:
        yield server
    finally:
        server.stop()
