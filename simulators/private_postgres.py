"""A PostgreSQL server of the simulator's own, which it may crash and restart (the ``pgrestart`` fault) or
freeze for a while (``pgpause``).

The server gets a fresh data directory, trust authentication on 127.0.0.1 and a port the OS picked. PostgreSQL
refuses to run as root, so under root it runs as the ``postgres`` user (``runuser``). A crash is
``pg_ctl stop -m immediate``: no checkpoint, WAL replay at the next start, as after a power cut.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

START_TIMEOUT_S = 60


def _bin_dir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    if not found:
        raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
    return found[-1].parent


class PrivatePostgres:
    def __init__(self, port: int) -> None:
        self.port = port
        self.directory = Path(tempfile.mkdtemp(prefix="tongban-pg-"))
        self._bin = _bin_dir()
        self._as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.restarts = 0
        self.pauses = 0

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        subprocess.run(  # noqa: S603 - PostgreSQL's own tools, with arguments we built
            [*self._as_postgres, *command], check=True, capture_output=True, timeout=START_TIMEOUT_S
        )

    def start(self) -> None:
        data = self.directory / "data"
        if not data.exists():
            if self._as_postgres:
                shutil.chown(self.directory, "postgres", "postgres")
            self._run(
                str(self._bin / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8"
            )
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} -c fsync=on"
        log = self.directory / "server.log"
        self._run(str(self._bin / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start")

    def crash(self) -> None:
        self._run(str(self._bin / "pg_ctl"), "-D", str(self.directory / "data"), "-m", "immediate", "stop")

    def pause(self) -> None:
        """SIGSTOP the postmaster and every process it started: connections stay open, nothing answers."""
        for pid in self._processes():
            _signal(pid, signal.SIGSTOP)
        self.pauses += 1

    def resume(self) -> None:
        for pid in self._processes():
            _signal(pid, signal.SIGCONT)

    def _processes(self) -> list[int]:
        """The postmaster (first line of postmaster.pid) and its children (their parent in /proc)."""
        postmaster = int((self.directory / "data" / "postmaster.pid").read_text().split()[0])
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:  # the process ended meanwhile
                continue
            if int(fields[1]) == postmaster:
                children.append(int(stat.parent.name))
        return [postmaster, *children]

    def restart_after_crash(self) -> None:
        self.start()
        self.restarts += 1

    def stop(self) -> None:
        data = self.directory / "data"
        if data.exists():
            subprocess.run(  # noqa: S603 - as in _run, but a server already down is no error here
                [*self._as_postgres, str(self._bin / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
                capture_output=True,
                timeout=START_TIMEOUT_S,
                check=False,
            )
        shutil.rmtree(self.directory, ignore_errors=True)


def _signal(pid: int, number: signal.Signals) -> None:
    """Signal one process of the server; one that ended since it was listed (a backend whose client left)
    needs nothing."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, number)
