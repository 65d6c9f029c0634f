"""WebSub: hub links in feeds and publish pings for exactly the feeds that changed."""

from __future__ import annotations

import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner

from feeds.cli import main


class Hub:
    """A stand-in hub on loopback that records every publish notification."""

    def __init__(self) -> None:
        self.received: list[str] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length", 0))
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                if form.get("hub.mode") == ["publish"]:
                    hub.received.extend(form["hub.url"])
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def hub():
    h = Hub()
    yield h
    h.close()


BASE = "https://news.example.org"
NEW = "Chile: Dockworkers Strike in Valparaíso\n\nPort workers in Chile walked out over wages.\n\n"


def test_feeds_advertise_the_hub(data_dir: Path, hub: Hub):
    from feeds.serve.app import create_app

    app = create_app({"DATA_DIR": str(data_dir), "BASE_URL": BASE, "WEBSUB_HUB": hub.url, "RELOAD_INTERVAL": 0})
    response = app.test_client().get("/feeds/all.atom")
    rels = {link.rel: link.href for link in feedparser.parse(response.data).feed.links}
    assert rels["hub"] == hub.url and rels["self"] == BASE + "/feeds/all.atom"
    assert f'<{hub.url}>; rel="hub"' in response.headers["Link"]
    doc = app.test_client().get("/feeds/all.json").get_json()
    assert doc["hubs"] == [{"type": "WebSub", "url": hub.url}]


def _expected(paths: list[str]) -> set[str]:
    return {f"{BASE}/feeds/{p}.{fmt}" for p in paths for fmt in ("atom", "rss", "json")}


def test_service_pings_exactly_the_changed_feeds(data_dir: Path, hub: Hub):
    from feeds.serve.app import create_app

    app = create_app({"DATA_DIR": str(data_dir), "BASE_URL": BASE, "WEBSUB_HUB": hub.url, "RELOAD_INTERVAL": 0})
    live = app.extensions["feeds"]
    listing = data_dir / "articles.txt"
    listing.write_text(NEW + listing.read_text("utf-8"), "utf-8")
    assert live.reload()
    live.hub_thread.join(10)
    tags = live.version.loaded.site.articles[0]
    assert tags.countries == ("CL",)
    keys = ["all", "countries/chile"] + [f"topics/{t}" for t in tags.topics]
    assert set(hub.received) == _expected(keys)
    assert len(hub.received) == len(set(hub.received))


def test_build_pings_the_feeds_it_rewrote(data_dir: Path, tmp_path: Path, hub: Hub):
    out = tmp_path / "out"
    args = ["build", str(out), "--base-url", BASE, "--data-dir", str(data_dir), "--websub-hub", hub.url, "-q"]
    assert CliRunner().invoke(main, args).exit_code == 0
    hub.received.clear()
    assert CliRunner().invoke(main, args).exit_code == 0
    assert hub.received == []  # nothing changed, nothing announced
    listing = data_dir / "articles.txt"
    listing.write_text(NEW + listing.read_text("utf-8"), "utf-8")
    assert CliRunner().invoke(main, args).exit_code == 0
    deadline = time.monotonic() + 5
    while not hub.received and time.monotonic() < deadline:
        time.sleep(0.05)
    assert {u for u in hub.received if "/feeds/all." in u} == _expected(["all"])
    assert any("/feeds/countries/chile." in u for u in hub.received)
    assert not any("/feeds/countries/peru." in u for u in hub.received)
