"""The service as a user runs it: `musicgenie run` in a process of its own, on a free port."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
ADMIN_KEY = "live-test-key"


def musicgenie() -> list[str]:
    script = Path(sys.executable).parent / "musicgenie"
    return [str(script)] if script.exists() else [sys.executable, "-m", "app"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    """A running `musicgenie run` and what it writes."""

    base: str
    process: subprocess.Popen[bytes]
    data: Path
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def rows(self) -> dict[str, dict[str, Any]]:
        """The generations in the SQLite file, by id (read directly, as the next start would)."""
        with sqlite3.connect(self.data / "musicgenie.db") as connection:
            connection.row_factory = sqlite3.Row
            return {
                row["generation_id"]: dict(row)
                for row in connection.execute("SELECT * FROM music_generations")
            }

    def stop(self, sig: signal.Signals = signal.SIGINT, timeout: float = 60) -> float:
        """Send `sig` and wait for the process to end; seconds it took."""
        return stop_process(self.process, sig, timeout, lambda: f"the server\n{self.log()[-4000:]}")


def stop_process(
    process: subprocess.Popen[bytes], sig: signal.Signals, timeout: float, describe: Callable[[], str]
) -> float:
    """Send `sig` and wait for `process` to end; seconds it took. Past `timeout` it is killed and the
    assertion names it (`describe`: what it is, with its log)."""
    started = time.monotonic()
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise AssertionError(f"outlived {sig.name} by {timeout} s: {describe()}") from None
    return time.monotonic() - started


def env_for(data: Path, model_cache_dir: Path, **overrides: str) -> dict[str, str]:
    """The environment of a server on its own SQLite file under `data`, with the tiny-random model."""
    return {
        **os.environ,
        "MODEL": "tiny-random",
        "BACKEND": "reference",
        "DEVICE": "cpu",
        "PRECISION": "float32",
        "MODEL_CACHE_DIR": str(model_cache_dir),
        "DATABASE_URL": f"sqlite:///{data / 'musicgenie.db'}",
        "AUDIO_DIR": str(data / "audio"),
        "ADMIN_API_KEY": ADMIN_KEY,
        **overrides,
    }


@contextmanager
def live_server(data: Path, model_cache_dir: Path, **overrides: str) -> Iterator[LiveServer]:
    """Serve on a free port (no prior `database upgrade`: start-up migrates SQLite); stop afterwards."""
    data.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = data / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [*musicgenie(), "run", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO,
            env=env_for(data, model_cache_dir, **overrides),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", process, data, log_path)
    try:
        wait_ready(server)
        yield server
    finally:
        server.stop()


def wait_ready(server: LiveServer, within: float = 120) -> None:
    """Poll `/health` (60 a minute: once a second) until the model is ready."""
    deadline = time.monotonic() + within
    while True:
        assert server.process.poll() is None, server.log()[-4000:]
        try:
            health = httpx.get(f"{server.base}/health", timeout=2)
            if health.status_code == 200 and health.json()["model"]["status"] == "ready":
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, server.log()[-4000:]
        time.sleep(1.0)
