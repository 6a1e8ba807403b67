"""Start and stop real ``tongban node`` processes on loopback, with ports the OS picks.

Used by the demo and by the end-to-end tests. Each node's output is kept in memory and in a log file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from node.auth import Role, load_private_key, mint_token
from node.signing import Ed25519Signer

YANGTZE_RIVER_DELTA = ("310000", "320000", "330000", "340000")


def prepare_keys(data_dir: Path, provinces: tuple[str, ...]) -> Path:
    """Create (once) the dev token issuer key pair and each node's signing key; return the issuer key."""
    issuer_key = data_dir / "token-issuer.key"
    if not issuer_key.exists():
        Ed25519Signer.generate().write_key_pair(issuer_key, issuer_key.with_suffix(".pub"))
    for province in provinces:
        signing_key = data_dir / province / "signing.key"
        if not signing_key.exists():
            Ed25519Signer.generate().write_key_pair(signing_key, signing_key.with_suffix(".pub"))
    return issuer_key


def token_for(
    issuer_key: Path, province: str, role: Role, office: str = "OFFICE01", operator: str = "op-001"
) -> str:
    return mint_token(
        load_private_key(issuer_key), province=province, office_code=office, operator_id=operator, role=role
    )


# Notified on every line of every node process, for waits on whichever node logs a line first.
_ANY_NEW_LINE = threading.Condition()


def wait_for_any_line(
    nodes: Sequence[NodeProcess], since: Sequence[int], *fragments: str, timeout_s: float = 30.0
) -> list[NodeProcess]:
    """Block until some node logs, from its line ``since[i]`` on, a line containing every one of
    ``fragments``; the nodes that have (empty when the timeout passes first)."""

    def found() -> list[NodeProcess]:
        return [
            node
            for node, start in zip(nodes, since, strict=True)
            if any(all(f in line for f in fragments) for line in node.lines[start:])
        ]

    with _ANY_NEW_LINE:
        _ANY_NEW_LINE.wait_for(found, timeout_s)
    return found()


class NodeProcess:
    """One node subprocess. ``start()`` returns once the node logged ``node.started`` with its ports."""

    def __init__(self, province: str, data_dir: Path, extra_env: dict[str, str] | None = None) -> None:
        self.province = province
        self.data_dir = data_dir
        self.extra_env = extra_env or {}
        self.lines: list[str] = []
        self.log_path = data_dir / province / "node.log"
        self.http_port = 0
        self.grpc_port = 0
        self.federation_port: int | None = None  # set when the node serves federation (mutual TLS)
        self._process: subprocess.Popen[str] | None = None
        self._new_line = threading.Condition()
        self._reader: threading.Thread | None = None

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def start(self, timeout_s: float = 60.0) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        # The caller's own TONGBAN_* settings stay out: an exported TONGBAN_POSTGRES_URL would otherwise
        # switch this node to PostgreSQL unnoticed. Only the settings below and extra_env configure the node.
        inherited = {name: value for name, value in os.environ.items() if not name.startswith("TONGBAN_")}
        env = {
            **inherited,
            "TONGBAN_DATA_DIR": str(self.data_dir),
            "TONGBAN_HTTP_PORT": "0",
            "TONGBAN_GRPC_PORT": "0",
            "TONGBAN_LOG_FORMAT": "json",
            **self.extra_env,
        }
        # An event of this start's own: the reader of a process killed before may still be draining its
        # output, and its end must not pass for this start.
        started = threading.Event()
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "node", "node", "--province", self.province],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        self._reader = threading.Thread(
            target=self._read, args=(self._process, started), name=f"node-{self.province}-log", daemon=True
        )
        self._reader.start()
        if not started.wait(timeout_s) or self._process.poll() is not None:
            self.stop()
            tail = "\n".join(self.lines[-20:])
            raise RuntimeError(f"node {self.province} did not start within {timeout_s}s:\n{tail}")

    def _read(self, process: subprocess.Popen[str], started: threading.Event) -> None:
        if process.stdout is None:
            return
        with self.log_path.open("a") as log:
            for line in process.stdout:
                with self._new_line:
                    self.lines.append(line.rstrip("\n"))
                    self._new_line.notify_all()
                with _ANY_NEW_LINE:
                    _ANY_NEW_LINE.notify_all()
                log.write(line)
                log.flush()
                if '"node.started"' in line:
                    announced = json.loads(line)
                    self.http_port, self.grpc_port = announced["http_port"], announced["grpc_port"]
                    self.federation_port = announced.get("federation_port")
                    started.set()
        started.set()  # the process ended: wake start() so it can report the failure

    def wait_for_line(self, *fragments: str, timeout_s: float = 30.0, since: int = 0) -> bool:
        """Block until a log line from line ``since`` on contains every one of ``fragments`` (True), or the
        timeout passes (False)."""

        def seen() -> bool:
            return any(all(f in line for f in fragments) for line in self.lines[since:])

        with self._new_line:
            return self._new_line.wait_for(seen, timeout_s)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The node process's id while it runs (a profiler attaches to it), else None."""
        return self._process.pid if self._process is not None and self.running else None

    def peak_rss_mb(self) -> float | None:
        """The process's peak resident memory (VmHWM), while it runs; None when it does not."""
        if self._process is None or not self.running:
            return None
        for line in Path(f"/proc/{self._process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return None

    def send_signal(self, sig: signal.Signals) -> None:
        if self._process is not None:
            self._process.send_signal(sig)

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout_s: float = 30.0) -> int | None:
        """Send ``sig`` and wait for the exit; SIGKILL if it does not exit in time. Returns the exit code."""
        if self._process is None:
            return None
        if self._process.poll() is None:
            self._process.send_signal(sig)
            try:
                self._process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout_s)
        if self._reader is not None:
            self._reader.join(timeout_s)
        return self._process.returncode
