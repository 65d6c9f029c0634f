"""Replicas that agree: service instances on separate copies of one data directory, the ledger read-only."""

from __future__ import annotations

import json
import shutil
import time
import urllib.request
from pathlib import Path

from click.testing import CliRunner

from feeds.cli import main
from feeds.pipeline.ledger import LEDGER_NAME

from .conftest import SHIPPED, Server

NEW = "Chile: Copper Miners Strike\n\nMiners at the largest copper mine walked out over pay.\n\n"
NEW_TITLE = "Chile: Copper Miners Strike"


def _copy(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(SHIPPED, target, ignore=shutil.ignore_patterns("*.lock"))
    return target


def _replica(data: Path, cache: Path):
    from feeds.serve.app import create_app

    config = {"DATA_DIR": str(data), "CACHE_DIR": str(cache), "RELOAD_INTERVAL": 0, "TESTING": True}
    return create_app({**config, "LEDGER": "read-only"})


def _everything(app) -> dict[tuple[str, str], tuple[int, bytes, str | None]]:
    """Every document the replica serves, in every content coding: status, bytes and ETag."""
    client = app.test_client()
    paths = list(app.extensions["feeds"].publisher("http://localhost").paths())
    assert len(paths) > 100
    out = {}
    for path in paths:
        for coding in ("identity", "gzip", "br"):
            response = client.get(path, headers={"Accept-Encoding": coding})
            out[(path, coding)] = (response.status_code, response.data, response.headers.get("ETag"))
    return out


def _prepend(data: Path, text: str) -> None:
    listing = data / "articles.txt"
    listing.write_text(text + listing.read_text("utf-8"), "utf-8")


def _titles(app) -> list[str]:
    return [item["title"] for item in app.test_client().get("/feeds/all.json").get_json()["items"]]


def test_replicas_with_a_read_only_ledger_serve_the_same_bytes_and_hold_back_new_articles(tmp_path: Path):
    a, b = _copy(tmp_path, "a"), _copy(tmp_path, "b")
    one, two = _replica(a, tmp_path / "cache-a"), _replica(b, tmp_path / "cache-b")
    first = _everything(one)
    assert first == _everything(two)
    assert {status for status, _, _ in first.values()} == {200}
    assert len({etag for _, _, etag in first.values()}) > 100

    # An article added to both copies without a record is published by neither, and waits for an id.
    ledger = (a / LEDGER_NAME).read_bytes()
    time.sleep(0.01)  # a new mtime for the reload to see
    for data in (a, b):
        _prepend(data, NEW)
    for app in (one, two):
        app.extensions["feeds"].reload()
        assert NEW_TITLE not in _titles(app)
        health = app.test_client().get("/healthz").get_json()
        assert health["status"] == "ok"
        assert health["waiting_for_id"] == [f"{app.extensions['feeds'].data_dir / 'articles.txt'}:1: {NEW_TITLE}"]
    assert (a / LEDGER_NAME).read_bytes() == ledger == (b / LEDGER_NAME).read_bytes()
    assert _everything(one) == _everything(two)

    # One writer mints the id; the ledger is shipped to the other copy; both publish the same bytes.
    minted = CliRunner().invoke(main, ["ids", "--data-dir", str(a), "--cache-dir", str(tmp_path / "cache-ids")])
    assert minted.exit_code == 0, minted.output
    (line,) = minted.stdout.splitlines()
    tag_id, location, title = line.split("\t")
    assert tag_id.startswith("tag:") and location == f"{a / 'articles.txt'}:1" and title == NEW_TITLE
    assert "1 ids minted" in minted.stderr
    shutil.copy2(a / LEDGER_NAME, b / LEDGER_NAME)
    for app in (one, two):
        app.extensions["feeds"].reload()
        assert _titles(app)[0] == NEW_TITLE
        assert app.test_client().get("/healthz").get_json()["waiting_for_id"] == []
    after = _everything(one)
    assert after == _everything(two)
    assert after != first
    feed = json.loads(after[("/feeds/all.json", "identity")][1])
    assert feed["items"][0]["id"] == tag_id


def test_a_pinned_id_the_ledger_has_no_record_of_also_waits(tmp_path: Path):
    from feeds.pipeline.load import load

    a = _copy(tmp_path, "a")
    _prepend(a, "Chile: Strike\n@id: tag:example.org,2026:chile\n\nMiners stop.\n\n")
    loaded = load(a, read_only_ledger=True, cache_dir=None)
    assert [e.title for e in loaded.waiting] == ["Chile: Strike"]
    assert "tag:example.org,2026:chile" not in {article.id for article in loaded.site.articles}
    assert [tag_id for tag_id, _ in loaded.minted] == ["tag:example.org,2026:chile"]


def test_feeds_ids_mints_nothing_for_a_listing_with_errors(tmp_path: Path):
    a = _copy(tmp_path, "a")
    ledger = (a / LEDGER_NAME).read_bytes()
    _prepend(a, "Chile: Strike\n@bogus: 1\n\nMiners stop.\n\n")
    result = CliRunner().invoke(main, ["ids", "--data-dir", str(a), "--cache-dir", "off"])
    assert result.exit_code == 1
    assert "unknown metadata key @bogus" in result.stderr and "the ledger is unchanged" in result.stderr
    assert (a / LEDGER_NAME).read_bytes() == ledger


def test_the_production_server_reads_feeds_ledger_from_the_environment(tmp_path: Path):
    a = _copy(tmp_path, "a")
    ledger = (a / LEDGER_NAME).read_bytes()
    _prepend(a, NEW)
    server = Server(a, {"FEEDS_LEDGER": "read-only"})
    try:
        with urllib.request.urlopen(server.url + "/healthz", timeout=10) as response:
            health = json.load(response)
        with urllib.request.urlopen(server.url + "/feeds/all.json", timeout=10) as response:
            titles = [item["title"] for item in json.load(response)["items"]]
    finally:
        server.stop()
    assert health["waiting_for_id"] == [f"{a / 'articles.txt'}:1: {NEW_TITLE}"]
    assert NEW_TITLE not in titles
    assert (a / LEDGER_NAME).read_bytes() == ledger
