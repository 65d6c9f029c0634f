"""Faults: the data vanishing, becoming unreadable or huge, and builds that cannot write."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT


def _reloaded(app) -> None:
    live = app.extensions["feeds"]
    live.reload()


def _app(data_dir: Path):
    from feeds.serve.app import create_app

    return create_app({"DATA_DIR": str(data_dir), "RELOAD_INTERVAL": 0, "TESTING": True})


def test_vanishing_data_dir_keeps_serving_the_last_good_feeds(data_dir: Path, tmp_path: Path):
    app = _app(data_dir)
    client = app.test_client()
    good = client.get("/feeds/all.atom").data
    data_dir.rename(tmp_path / "moved")
    _reloaded(app)
    assert client.get("/feeds/all.atom").data == good
    health = client.get("/healthz").get_json()
    assert health["status"] == "degraded" and "cannot read the data directory" in health["errors"][0]
    (tmp_path / "moved").rename(data_dir)
    (data_dir / "articles.txt").touch()
    _reloaded(app)
    assert client.get("/healthz").get_json()["status"] == "ok"


def test_an_unreadable_file_keeps_the_last_good_feeds(data_dir: Path):
    app = _app(data_dir)
    client = app.test_client()
    good = client.get("/feeds/all.rss").data
    (data_dir / "more.txt").symlink_to(data_dir / "does-not-exist.txt")
    _reloaded(app)
    assert client.get("/feeds/all.rss").data == good
    errors = client.get("/healthz").get_json()["errors"]
    assert any("more.txt" in e and "cannot read the file" in e for e in errors)


def test_a_huge_file_is_refused_and_the_last_good_feeds_stay(data_dir: Path):
    app = _app(data_dir)
    client = app.test_client()
    good = client.get("/feeds/all.json").data
    with open(data_dir / "huge.txt", "wb") as handle:
        handle.truncate(65 * 1024 * 1024)
    _reloaded(app)
    assert client.get("/feeds/all.json").data == good
    errors = client.get("/healthz").get_json()["errors"]
    assert any("huge.txt" in e and "the limit is" in e for e in errors)


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (4000, 4000))


def test_a_build_that_cannot_write_leaves_the_previous_output(data_dir: Path, tmp_path: Path):
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "feeds.cli", "build", str(out), "--base-url", "https://x.example", "--data-dir"]
    subprocess.run(cmd + [str(data_dir)], check=True, cwd=ROOT, capture_output=True)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    listing = data_dir / "articles.txt"
    listing.write_text(listing.read_text("utf-8").replace("Regime", "Government"), "utf-8")
    failed = subprocess.run(
        cmd + [str(data_dir)], cwd=ROOT, capture_output=True, text=True, preexec_fn=_limit_file_size
    )
    assert failed.returncode == 1
    assert "cannot write the output" in failed.stderr and "is unchanged" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sorted(os.listdir(tmp_path)) == ["data", "out"]


def test_a_symlink_to_a_fifo_never_blocks_the_reload_and_is_reported(data_dir: Path, tmp_path: Path):
    import threading

    app = _app(data_dir)
    client = app.test_client()
    good = client.get("/feeds/all.atom").data
    os.mkfifo(tmp_path / "pipe")
    (data_dir / "more.txt").symlink_to(tmp_path / "pipe")
    reload = threading.Thread(target=_reloaded, args=(app,), daemon=True)
    reload.start()
    reload.join(60)
    assert not reload.is_alive(), "the reload is blocked opening the FIFO"
    assert client.get("/feeds/all.atom").data == good
    health = client.get("/healthz").get_json()
    assert health["status"] == "degraded"
    assert any("more.txt" in e and "not a regular file (a FIFO)" in e for e in health["errors"])


def test_a_listing_saved_again_while_it_was_read_is_neither_published_nor_recorded(data_dir: Path):
    """The service loads a version once it has held still; one saved again between that check and the
    read (``unchanged`` says so) mints no id and writes no ledger, and the next load takes it."""
    from feeds.pipeline.load import Changed, load

    load(data_dir)
    ledger = (data_dir / "ledger.json").read_bytes()
    listing = data_dir / "articles.txt"
    listing.write_text("Chile: Dockers Strike in Valparaíso\n\nPorts stop.\n\n" + listing.read_text("utf-8"), "utf-8")
    with pytest.raises(Changed):
        load(data_dir, unchanged=lambda: False)
    assert (data_dir / "ledger.json").read_bytes() == ledger
    loaded = load(data_dir, unchanged=lambda: True)
    assert loaded.site.articles[0].title == "Chile: Dockers Strike in Valparaíso"
    assert (data_dir / "ledger.json").read_bytes() != ledger
