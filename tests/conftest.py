"""Shared fixtures: a private copy of the shipped data, the app, a live server."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "data"
SEED_TITLES = [line for i, line in enumerate((SHIPPED / "articles.txt").read_text("utf-8").split("\n\n")) if i % 2 == 0]


def require_program(name: str) -> str:
    """Path of a real program; skip (or fail under FEEDS_REQUIRE_SYSTEM_TESTS=1) where missing."""
    path = shutil.which(name) or (f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None)
    if path is None:
        reason = f"{name} is not installed (apt-get install {name})"
        if os.environ.get("FEEDS_REQUIRE_SYSTEM_TESTS") == "1":
            pytest.fail(reason + " and FEEDS_REQUIRE_SYSTEM_TESTS=1")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session", autouse=True)
def _private_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Compiled tagging tables go to a directory of this test run (child processes too), not ~/.cache."""
    previous = os.environ.get("FEEDS_CACHE_DIR")
    os.environ["FEEDS_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if previous is None:
        os.environ.pop("FEEDS_CACHE_DIR", None)
    else:
        os.environ["FEEDS_CACHE_DIR"] = previous


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A writable copy of the shipped data (listing, ledger and tables)."""
    target = tmp_path / "data"
    shutil.copytree(SHIPPED, target, ignore=shutil.ignore_patterns("*.lock"))
    return target


@pytest.fixture
def app(data_dir: Path):
    from feeds.serve.app import create_app

    return create_app({"DATA_DIR": str(data_dir), "TESTING": True, "RELOAD_INTERVAL": 0})


@pytest.fixture
def client(app):
    return app.test_client()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(
        self, data_dir: Path, extra_env: dict[str, str] | None = None, port: int | None = None, wait: float = 30
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / f"server-{self.port}.log"
        env = {**os.environ, "FEEDS_DATA_DIR": str(data_dir), **(extra_env or {})}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "feeds.cli", "serve", "--port", str(self.port)],
            env=env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,  # its own process group: stop() reaches the server's workers too
        )
        deadline = time.monotonic() + wait
        while True:
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=2).read()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("server did not start:\n" + self.log.read_text()) from None
                time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM to the server and its workers, SIGKILL to whatever is left after 10 s."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


@pytest.fixture
def server(data_dir: Path) -> Iterator[Server]:
    """The service under its production server on a free loopback port."""
    srv = Server(data_dir)
    yield srv
    srv.stop()
