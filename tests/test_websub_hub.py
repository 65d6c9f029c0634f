"""WebSub end to end with an independently written hub: flask-websub.

The hub runs in a thread under werkzeug's ``make_server``, as flask-websub's own tests run it,
with Celery in eager mode. ``feeds serve`` runs as a subprocess with two workers; a callback
server is the subscriber (W3C WebSub 5.3: it echoes ``hub.challenge``; 7.1: it checks
``X-Hub-Signature``). No request is sent to the service between an edit and the deliveries:
the reload timer finds the change, and the one notifier pings once every worker serves it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import feedparser
import pytest

from feeds.pipeline.load import load

from .conftest import Server, free_port

pytestmark = pytest.mark.system

NEW = "Chile: Dockworkers Strike in Valparaíso\n\nPort workers in Chile walked out over wages.\n\n"
LATER = "Chile: Copper Miners Join the Dockworkers\n\nMiners in Antofagasta stopped work in support.\n\n"
ATOM = "application/atom+xml; charset=utf-8"
FORMATS = ("atom", "rss", "json")
SUBSCRIBED = ("all", "countries/chile", "countries/peru")  # Peru's feed is never changed here
SECRET = "a shared secret of this subscriber"


def _require_flask_websub() -> None:
    try:
        import celery  # noqa: F401
        import flask_websub.hub  # noqa: F401
    except ImportError as exc:
        reason = f"flask-websub or celery is not installed ({exc}; pip install -e '.[test]')"
        if os.environ.get("FEEDS_REQUIRE_SYSTEM_TESTS") == "1":
            pytest.fail(reason + " and FEEDS_REQUIRE_SYSTEM_TESTS=1")
        pytest.skip(reason)


class Hub:
    """flask-websub's hub, which can be stopped and started again on the same port."""

    def __init__(self, tmp: Path) -> None:
        from celery import Celery
        from flask import Flask, request
        from flask_websub.hub import Hub as WebSubHub
        from flask_websub.hub import SQLite3HubStorage

        celery = Celery("hub", broker="memory://")
        celery.conf.update(task_always_eager=True)
        self.app = Flask("hub")
        self.app.config["PUBLISH_SUPPORTED"] = True
        self.hub = WebSubHub(SQLite3HubStorage(str(tmp / "hub.db")), celery, MAX_ATTEMPTS=2, BACKOFF_BASE=0.1)
        self.app.register_blueprint(self.hub.build_blueprint(url_prefix="/hub"))
        self.published: list[str] = []  # hub.topic of every publish request

        @self.app.before_request
        def record() -> None:
            if request.method == "POST" and request.form.get("hub.mode") == "publish":
                self.published.append(request.form.get("hub.topic", ""))

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hub"
        self.server = None
        self.start()

    def start(self) -> None:
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Delivery:
    topic: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Subscriber:
    """A callback server: one callback URL per topic."""

    port: int = field(default_factory=free_port)
    topics: dict[str, str] = field(default_factory=dict)  # callback name -> topic URL
    verified: list[str] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)

    def __post_init__(self) -> None:
        from werkzeug.serving import make_server
        from werkzeug.wrappers import Request, Response

        @Request.application
        def app(request: Request) -> Response:
            name = request.path.strip("/")
            topic = self.topics.get(name)
            if topic is None:
                return Response("unknown callback", 404)
            if request.method == "GET":  # verification of intent (5.3)
                if request.args.get("hub.mode") != "subscribe" or request.args.get("hub.topic") != topic:
                    return Response("not mine", 404)
                self.verified.append(topic)
                return Response(request.args["hub.challenge"], 200, content_type="text/plain")
            self.deliveries.append(Delivery(topic, dict(request.headers), request.get_data()))
            return Response("", 204)

        self.server = make_server("127.0.0.1", self.port, app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def subscribe(self, hub: Hub, topic: str) -> None:
        name = f"cb{len(self.topics)}"
        self.topics[name] = topic
        form = {
            "hub.mode": "subscribe",
            "hub.topic": topic,
            "hub.callback": f"http://127.0.0.1:{self.port}/{name}",
            "hub.secret": SECRET,
            "hub.lease_seconds": "3600",
        }
        with urllib.request.urlopen(hub.url, urllib.parse.urlencode(form).encode(), timeout=10) as response:
            assert response.status == 202
        assert topic in self.verified, "the hub did not verify the subscription"

    def of(self, topic: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.topic == topic]


class Service(Server):
    """``feeds serve`` with two workers, naming its feeds by its own loopback URL."""

    def __init__(self, data_dir: Path, hub: Hub) -> None:
        port = free_port()
        env = {
            "FEEDS_BASE_URL": f"http://127.0.0.1:{port}",
            "FEEDS_WEBSUB_HUB": hub.url,
            "FEEDS_WORKERS": "2",
            "FEEDS_RELOAD_INTERVAL": "0.5",
            "FEEDS_ACCESS_LOG": "0",
        }
        super().__init__(data_dir, env, port=port, wait=60)

    def feed(self, key: str, fmt: str = "atom") -> str:
        return f"{self.url}/feeds/{key}.{fmt}"

    def snapshot(self, keys) -> dict[str, bytes]:
        """The bytes of every subscription feed, by URL."""
        out = {}
        for key in keys:
            for fmt in FORMATS:
                with urllib.request.urlopen(self.feed(key, fmt), timeout=10) as response:
                    out[self.feed(key, fmt)] = response.read()
        return out


@pytest.fixture
def setup(data_dir: Path, tmp_path: Path) -> Iterator[tuple[Hub, Subscriber, Service]]:
    _require_flask_websub()
    hub = Hub(tmp_path)
    subscriber = Subscriber()
    service = Service(data_dir, hub)
    try:
        yield hub, subscriber, service
    finally:
        service.stop()
        subscriber.server.shutdown()
        with contextlib.suppress(Exception):
            hub.stop()


def _wait(predicate, what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def _edit(listing: Path, change) -> None:
    listing.write_text(change(listing.read_text("utf-8")), "utf-8")


def _check_round(hub: Hub, subscriber: Subscriber, service: Service, keys, before, marker: str) -> None:
    """One edit's outcome: one delivery per changed subscription, fresh and signed; one ping per changed URL."""
    changed_topics = [service.feed(k) for k in SUBSCRIBED if k != "countries/peru"]
    _wait(
        lambda: all(subscriber.of(t) for t in changed_topics),
        f"no delivery of {changed_topics}; server log:\n" + service.log.read_text(),
    )
    after = service.snapshot(keys)
    changed = {url for url in after if after[url] != before[url]}
    _wait(lambda: changed <= set(hub.published), "not every changed feed was pinged")
    time.sleep(2)  # long enough for a second worker's or a repeated ping to arrive, were there one
    assert sorted(hub.published) == sorted(changed)  # exactly one ping per URL whose bytes changed
    for topic in changed_topics:
        (delivery,) = subscriber.of(topic)  # one, and the first one already new
        assert delivery.headers["Content-Type"] == ATOM
        assert f'<{topic}>; rel="self"' in delivery.headers["Link"]
        assert f'<{hub.url}>; rel="hub"' in delivery.headers["Link"]
        algorithm, _, signature = delivery.headers["X-Hub-Signature"].partition("=")
        expected = hmac.new(SECRET.encode(), delivery.body, getattr(hashlib, algorithm)).hexdigest()
        assert hmac.compare_digest(signature, expected)
        feed = feedparser.parse(delivery.body)
        assert marker in feed.entries[0].title + str(feed.entries[0].get("author", ""))
        assert delivery.body == after[topic]
    assert subscriber.of(service.feed("countries/peru")) == []
    hub.published.clear()
    subscriber.deliveries.clear()


def test_flask_websub_delivers_each_change_once_and_fresh(setup, data_dir: Path):
    hub, subscriber, service = setup
    keys = list(load(data_dir, persist=False).site.feeds)
    for key in SUBSCRIBED:
        subscriber.subscribe(hub, service.feed(key))
    listing = data_dir / "articles.txt"

    # A new article, and no request to the service until it has been delivered.
    before = service.snapshot(keys)
    _edit(listing, lambda text: NEW + text)
    _check_round(hub, subscriber, service, keys, before, "Valparaíso")

    # A metadata-only edit: the article's author.
    before = service.snapshot(keys)
    _edit(listing, lambda text: text.replace(NEW.split("\n")[0] + "\n", NEW.split("\n")[0] + "\n@author: Ana Rojas\n"))
    _check_round(hub, subscriber, service, keys, before, "Ana Rojas")

    # The hub is down when the data changes, and comes back.
    hub.stop()
    before = service.snapshot(keys)
    _edit(listing, lambda text: LATER + text)
    _wait(lambda: "not reached" in service.log.read_text(), "the notifier never tried the hub that is down")
    hub.start()
    _check_round(hub, subscriber, service, keys, before, "Copper Miners")
