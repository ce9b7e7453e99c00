"""A throwaway PostgreSQL server for tests: ``initdb`` into a temporary folder, ``pg_ctl``
start on a free port (loopback and a private socket folder), a fresh database per test,
``pg_ctl stop`` and the folder removed after.

The server binaries come from the machine (Debian's ``postgresql`` package; ``.ci/run``
installs it where missing: a test never installs system software). ``initdb`` refuses to
run as root, so under root the cluster belongs to the ``postgres`` system user.
``MODELLAKE_TEST_PG`` names an existing server instead (``postgresql://user@host:port``).
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

ENV = "MODELLAKE_TEST_PG"


def pg_bin() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl`` (the newest installed PostgreSQL), or None."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(d.split("/")[-2]))
    return Path(dirs[-1]) if dirs and Path(dirs[-1], "initdb").exists() else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    """One running cluster; ``url(db)`` gives a database's URL, ``new_database()`` a fresh one."""

    def __init__(self) -> None:
        self.base_url = os.environ.get(ENV, "").rstrip("/")
        self.dir: Path | None = None
        if self.base_url:
            return
        bindir = pg_bin()
        if bindir is None:
            raise RuntimeError("no PostgreSQL server binaries (initdb, pg_ctl) on this machine: "
                               "install Debian's postgresql (.ci/run does), or set "
                               f"{ENV}=postgresql://USER@HOST:PORT")
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="modellake-pg-"))
        self.port = _free_port()
        self._as_user: list[str] = []
        if os.geteuid() == 0:  # initdb will not run as root
            shutil.chown(self.dir, "postgres")
            self._as_user = ["runuser", "-u", "postgres", "--"]
        data = self.dir / "data"
        self._run([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "modellake",
                   "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"])
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60")
        self._run([str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(self.dir / "log"),
                   "-w", "-t", "60", "start"])
        self.base_url = f"postgresql://modellake@127.0.0.1:{self.port}"

    def _run(self, cmd: list[str]) -> None:
        res = subprocess.run([*self._as_user, *cmd], capture_output=True, text=True, timeout=120)
        if res.returncode != 0:
            raise RuntimeError(f"{Path(cmd[0]).name} failed: {res.stderr.strip() or res.stdout.strip()}")

    def url(self, db: str) -> str:
        return f"{self.base_url}/{db}"

    def new_database(self) -> str:
        """A new, empty database's URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url("postgres"), autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.dir is None:
            return
        try:
            self._run([str(self.bindir / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate",
                       "-w", "stop"])
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
