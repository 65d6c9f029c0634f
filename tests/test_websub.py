"""WebSub: hub links in feeds, and publish pings for exactly the feeds whose bytes changed.

The stand-in hub here answers as told (202, a 4xx, a 503); tests/test_websub_hub.py runs the
whole chain against a real hub with two server workers.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner

from feeds.cli import main


class Hub:
    """A stand-in hub on loopback that records every publish notification."""

    def __init__(self) -> None:
        self.forms: list[dict[str, list[str]]] = []
        self.status = 202
        self.answer = b"Request received: publish\n"
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length", 0))
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                hub.forms.append(form)
                self.send_response(hub.status)
                self.send_header("Content-Length", str(len(hub.answer)))
                self.end_headers()
                self.wfile.write(hub.answer)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def received(self) -> list[str]:
        """The topics pinged; every ping names its URL as both hub.topic and hub.url."""
        for form in self.forms:
            assert form["hub.mode"] == ["publish"] and form["hub.topic"] == form["hub.url"], form
        return [form["hub.topic"][0] for form in self.forms]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hub():
    h = Hub()
    yield h
    h.close()


BASE = "https://news.example.org"
NEW = "Chile: Dockworkers Strike in Valparaíso\n\nPort workers in Chile walked out over wages.\n\n"
FORMATS = ("atom", "rss", "json")


def _app(data_dir: Path, hub: Hub, **config):
    from feeds.serve.app import create_app

    settings = {"DATA_DIR": str(data_dir), "BASE_URL": BASE, "WEBSUB_HUB": hub.url, "RELOAD_INTERVAL": 0}
    return create_app({**settings, **config})


def _idle(app) -> None:
    assert app.extensions["feeds"].notifier.wait_idle(30), "the notifier still has pings to send"


def _feed_bytes(app) -> dict[str, bytes]:
    """Every subscription feed's bytes, by URL."""
    client = app.test_client()
    site = app.extensions["feeds"].version.loaded.site
    return {f"{BASE}/feeds/{k}.{f}": client.get(f"/feeds/{k}.{f}").data for k in site.feeds for f in FORMATS}


def _changed(before: dict[str, bytes], after: dict[str, bytes]) -> set[str]:
    return {url for url in after if before.get(url) != after[url]}


def test_feeds_advertise_the_hub(data_dir: Path, hub: Hub):
    app = _app(data_dir, hub)
    response = app.test_client().get("/feeds/all.atom")
    rels = {link.rel: link.href for link in feedparser.parse(response.data).feed.links}
    assert rels["hub"] == hub.url and rels["self"] == BASE + "/feeds/all.atom"
    assert response.headers["Link"] == f'<{hub.url}>; rel="hub", <{BASE}/feeds/all.atom>; rel="self"'
    doc = app.test_client().get("/feeds/all.json").get_json()
    assert doc["hubs"] == [{"type": "WebSub", "url": hub.url}]


@pytest.mark.parametrize("fmt", FORMATS)
def test_filtered_feeds_name_themselves_and_advertise_no_hub(data_dir: Path, hub: Hub, fmt: str):
    """Filtered feeds are never pinged: no hub in the document or the header; rel=self is the filtered URL."""
    client = _app(data_dir, hub).test_client()
    response = client.get(f"/feeds/all.{fmt}?topic=strikes&country=fr")
    url = f"{BASE}/feeds/all.{fmt}?country=fr&topic=strikes"
    assert response.status_code == 200
    assert response.headers["Link"] == f'<{url}>; rel="self"'
    if fmt == "json":
        doc = response.get_json()
        assert "hubs" not in doc and doc["feed_url"] == url
    else:
        feed = feedparser.parse(response.data).feed
        rels = {link.rel: link.href for link in feed.get("links", [])}
        assert "hub" not in rels and rels.get("self") == url
    assert hub.url.encode() not in response.data


def test_service_pings_exactly_the_feeds_whose_bytes_changed(data_dir: Path, hub: Hub):
    app = _app(data_dir, hub)
    live = app.extensions["feeds"]
    before = _feed_bytes(app)
    listing = data_dir / "articles.txt"
    listing.write_text(NEW + listing.read_text("utf-8"), "utf-8")
    assert live.reload()
    _idle(app)
    article = live.version.loaded.site.articles[0]
    assert article.countries == ("CL",)
    expected = _changed(before, _feed_bytes(app))
    keys = ["all", "countries/chile"] + [f"topics/{t}" for t in article.topics]
    assert expected == {f"{BASE}/feeds/{k}.{f}" for k in keys for f in FORMATS}
    assert sorted(hub.received) == sorted(expected)  # each once


@pytest.mark.parametrize(
    "line",
    ["@author: José Martínez", "@countries: +Belgium"],
)
def test_metadata_only_edits_ping_every_feed_whose_bytes_changed(data_dir: Path, hub: Hub, line: str):
    app = _app(data_dir, hub)
    before = _feed_bytes(app)
    listing = data_dir / "articles.txt"
    title = "France: The Struggle Must Advance!"
    text = listing.read_text("utf-8")
    assert title + "\n\n" in text
    listing.write_text(text.replace(title + "\n\n", f"{title}\n{line}\n\n", 1), "utf-8")
    assert app.extensions["feeds"].reload()
    _idle(app)
    changed = _changed(before, _feed_bytes(app))
    assert f"{BASE}/feeds/all.atom" in changed and f"{BASE}/feeds/countries/france.json" in changed
    assert sorted(hub.received) == sorted(changed)
    if "Belgium" in line:
        assert f"{BASE}/feeds/countries/belgium.rss" in changed


def test_a_refusing_hub_is_logged_with_its_answer_and_not_asked_again(
    data_dir: Path, hub: Hub, caplog: pytest.LogCaptureFixture
):
    hub.status, hub.answer = 400, b"Missing form argument: hub.something\n"
    app = _app(data_dir, hub)
    listing = data_dir / "articles.txt"
    listing.write_text(NEW + listing.read_text("utf-8"), "utf-8")
    with caplog.at_level(logging.ERROR, logger="feeds.serve.websub"):
        assert app.extensions["feeds"].reload()
        _idle(app)
    assert len(hub.received) == len(set(hub.received)) == 12  # all, chile, two topics: once each
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 12 and all("400 Missing form argument: hub.something" in m for m in refusals)


def test_failed_pings_are_retried_once_the_hub_is_back_and_after_a_restart(data_dir: Path, hub: Hub):
    hub.status = 503
    app = _app(data_dir, hub)
    live = app.extensions["feeds"]
    listing = data_dir / "articles.txt"
    listing.write_text(NEW + listing.read_text("utf-8"), "utf-8")
    assert live.reload()
    deadline = time.monotonic() + 30
    while len(hub.forms) < 2:  # the first try and one after the backoff
        assert time.monotonic() < deadline, "the notifier did not try again"
        time.sleep(0.05)
    assert set(hub.received) == {hub.received[0]}  # one URL at a time while the hub fails
    state = json.loads((live.notifier.directory / "state.json").read_text("utf-8"))
    assert state["hub"] == hub.url and f"{BASE}/feeds/all.atom" in state["announced"]
    live.close()  # the service stops with 12 pings not sent

    hub.forms.clear()
    hub.status = 202
    app = _app(data_dir, hub)  # the same data and cache directories: the failed pings are still due
    _idle(app)
    assert len(hub.received) == 12 and f"{BASE}/feeds/countries/chile.json" in hub.received
    hub.forms.clear()
    app.extensions["feeds"].close()
    app = _app(data_dir, hub)
    _idle(app)
    assert hub.received == []  # announced once, never again
    app.extensions["feeds"].close()


def test_the_timer_reloads_and_pings_without_requests_and_survives_bad_data(data_dir: Path, hub: Hub):
    app = _app(data_dir, hub, RELOAD_INTERVAL=0.2)
    client = app.test_client()
    listing = data_dir / "articles.txt"
    good = listing.read_text("utf-8")
    listing.write_text(NEW + good, "utf-8")
    deadline = time.monotonic() + 30
    while len(hub.forms) < 12:  # no request is sent to the service meanwhile
        assert time.monotonic() < deadline, "no ping without a request"
        time.sleep(0.05)
    listing.write_text("Broken Date\n@date: 9999-12-31T23:59:59-14:00\n\nText of it.\n\n" + good, "utf-8")
    while client.get("/healthz").get_json()["status"] != "degraded":
        assert time.monotonic() < deadline + 30, "/healthz did not report the bad data"
        time.sleep(0.1)
    listing.write_text(good, "utf-8")
    while b"Valpara" in client.get("/feeds/all.atom").data:
        assert time.monotonic() < deadline + 60, "the timer stopped after bad data"
        time.sleep(0.1)
    assert client.get("/healthz").get_json()["status"] == "ok"
    app.extensions["feeds"].close()


def test_a_listing_saved_in_place_is_loaded_only_when_complete(data_dir: Path):
    """An editor saving in place: truncate, then the new text in 150-byte pieces every 0.12 s."""
    from feeds.serve.app import create_app

    app = create_app({"DATA_DIR": str(data_dir), "RELOAD_INTERVAL": 0.3})
    client = app.test_client()
    listing, ledger = data_dir / "articles.txt", data_dir / "ledger.json"
    records = json.loads(ledger.read_text("utf-8"))["articles"]

    def titles() -> tuple[str, ...]:
        return tuple(item["title"] for item in client.get("/feeds/all.json").get_json()["items"])

    old = titles()
    new_bytes = (NEW + listing.read_text("utf-8")).encode()

    def write() -> None:
        with open(listing, "r+b") as handle:
            handle.truncate(0)
            handle.flush()
            for start in range(0, len(new_bytes), 150):
                time.sleep(0.12)
                handle.write(new_bytes[start : start + 150])
                handle.flush()

    writer = threading.Thread(target=write)
    writer.start()
    seen = {old}
    deadline = time.monotonic() + 60
    while writer.is_alive() or len(seen) < 2:
        seen.add(titles())
        assert time.monotonic() < deadline, "the complete new listing was never served"
        time.sleep(0.02)
    writer.join()
    new = (NEW.split("\n")[0], *old)
    assert seen == {old, new}
    after = json.loads(ledger.read_text("utf-8"))["articles"]
    assert len(after) == len(records) + 1 and [r for r in after if r not in records][0]["title"] == new[0]
    assert all(r in after for r in records), "an unchanged article's record was edited"
    app.extensions["feeds"].close()


def test_build_pings_the_feeds_it_rewrote(data_dir: Path, tmp_path: Path, hub: Hub):
    out = tmp_path / "out"
    args = ["build", str(out), "--base-url", BASE, "--data-dir", str(data_dir), "--websub-hub", hub.url, "-q"]
    assert CliRunner().invoke(main, args).exit_code == 0
    hub.forms.clear()
    assert CliRunner().invoke(main, args).exit_code == 0
    assert hub.received == []  # nothing changed, nothing announced
    listing = data_dir / "articles.txt"
    listing.write_text(NEW + listing.read_text("utf-8"), "utf-8")
    assert CliRunner().invoke(main, args).exit_code == 0
    assert {u for u in hub.received if "/feeds/all." in u} == {f"{BASE}/feeds/all.{f}" for f in FORMATS}
    assert any("/feeds/countries/chile." in u for u in hub.received)
    assert not any("/feeds/countries/peru." in u for u in hub.received)


def test_the_checks_open_no_fifo_or_device(data_dir: Path):
    """The timer's checks only stat non-regular files: a FIFO cannot block them."""
    import os

    from feeds.pipeline.load import signature
    from feeds.serve.live import content_digest

    os.mkfifo(data_dir / "pipe.txt")
    (data_dir / "zero.txt").symlink_to("/dev/zero")
    results = []
    checker = threading.Thread(
        target=lambda: results.append(content_digest(data_dir, signature(data_dir))), daemon=True
    )
    checker.start()
    checker.join(10)
    assert not checker.is_alive() and len(results) == 1, "a check blocked on the FIFO"
    kinds = {name: kind for name, kind, *_ in signature(data_dir)}
    assert kinds["articles.txt"] != kinds["pipe.txt"] != kinds["zero.txt"]
