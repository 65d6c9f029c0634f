"""The path a new user takes: build the wheel, install it into a fresh venv outside the checkout,
make a site with ``feeds init``, check it, build it and serve it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import tomllib
import urllib.request
import zipfile
from pathlib import Path

import feedparser
import pytest

from .conftest import ROOT, free_port

pytestmark = pytest.mark.system

NEW_ARTICLES = """
General Strike Brings France to a Standstill
@date: 2025-06-10 07:00

Trains, schools and refineries stopped across France as the unions' general strike against the pension \
reform began; marches filled the streets of Paris, Marseille and Lyon.

Brazilian Teachers Vote to Continue Their Strike
@date: 2025-06-09

Public school teachers in São Paulo voted to stay on strike until the state government opens talks on pay.

Dock Workers in Piraeus Stop Work after a Fatal Accident
@date: 2025-06-08

Dock workers at the port of Piraeus walked out after a colleague was killed, demanding safety measures.
"""


def _env() -> dict[str, str]:
    """The user's environment: nothing that points into the checkout or at a data directory."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE")}
    for name in ("FEEDS_DATA_DIR", "FEEDS_BASE_URL"):
        env.pop(name, None)
    return env


def _run(args: list[str | Path], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def test_a_new_user_installs_the_wheel_and_publishes_a_site(tmp_path: Path):
    # 1. The wheel and the sdist, without a warning from the build backend (pip's own notices aside).
    dist = tmp_path / "dist"
    built = _run([sys.executable, "-m", "build", "--outdir", dist, ROOT], cwd=ROOT)
    backend_warnings = [
        line for line in (built.stdout + built.stderr).splitlines() if "Warning" in line or line.startswith("warning")
    ]
    assert not backend_warnings, backend_warnings
    (wheel,) = dist.glob("feeds-*.whl")
    assert len(list(dist.glob("feeds-*.tar.gz"))) == 1
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in ("templates", "static", "starter", "tagging/tables", "tagging/corpus"):
        wanted = {f"feeds/{shipped}/{p.name}" for p in (ROOT / "feeds" / shipped).glob("*") if p.is_file()}
        assert wanted and wanted <= names, f"the wheel lacks {sorted(wanted - names) or 'feeds/' + shipped}"

    # 2. A fresh venv outside the checkout; dependencies from the index (pip's cache keeps this quick).
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv], cwd=tmp_path)
    bin_dir = venv / "bin"
    _run([bin_dir / "python", "-m", "pip", "install", "--quiet", wheel], cwd=tmp_path)
    where = _run([bin_dir / "python", "-c", "import feeds; print(feeds.__file__)"], cwd=tmp_path).stdout.strip()
    assert Path(where).is_relative_to(venv) and not Path(where).is_relative_to(ROOT)
    version = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["version"]
    assert _run([bin_dir / "python", "-m", "feeds", "--version"], cwd=tmp_path).stdout.split()[-1] == version

    # 3-4. A new site, and three articles of the user's own added to its listing.
    feeds = bin_dir / "feeds"
    work = tmp_path / "work"
    work.mkdir()
    _run([feeds, "init", "site"], cwd=work)
    site = work / "site"
    with (site / "articles.txt").open("a", encoding="utf-8") as listing:
        listing.write(NEW_ARTICLES)

    # 5. check, build, serve: each finds the site in the current directory.
    checked = _run([feeds, "check"], cwd=site)
    assert "6 articles, 0 errors, 0 warnings" in checked.stdout
    _run([feeds, "build", "out"], cwd=site)
    built_feed = feedparser.parse((site / "out" / "feeds" / "countries" / "france.atom").read_bytes())
    assert [e.title for e in built_feed.entries] == ["General Strike Brings France to a Standstill"]
    assert built_feed.entries[0].link.startswith("https://news.example.org/")  # base_url of site.toml

    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [str(feeds), "serve", "--port", str(port)],
        cwd=site,
        env=_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopping it reaches its workers too
    )
    try:
        body = _fetch(f"http://127.0.0.1:{port}/feeds/countries/france.atom", server, tmp_path / "serve.log")
        # 6. The country feed, as a feed reader reads it.
        parsed = feedparser.parse(body)
        assert not parsed.bozo, parsed.bozo_exception
        assert parsed.feed.title.endswith("France")
        assert [e.title for e in parsed.entries] == ["General Strike Brings France to a Standstill"]
        assert parsed.entries[0].link.startswith(f"http://127.0.0.1:{port}/")  # the request's own host
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
    assert (site / "ledger.json").is_file()  # the ids were minted in the site, to be committed with it


def _fetch(url: str, server: subprocess.Popen[bytes], log: Path, wait: float = 60) -> bytes:
    """The body of ``url`` once the server answers; fails with its log if it stops or never does."""
    deadline = time.monotonic() + wait
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read()
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"feeds serve did not answer {url}:\n{log.read_text('utf-8', 'replace')}")
            time.sleep(0.2)
